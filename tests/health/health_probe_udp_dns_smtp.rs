//! DNS_CHECK, UDP_CHECK and SMTP_CHECK against real responders on loopback:
//! a hickory-proto DNS responder, a UDP echo server, line-based SMTP
//! servers written here and (when installed) Python's aiosmtpd.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::health_probe_common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use health_probe_common::{conf, reason, verdict};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use hickory_proto::serialize::binary::BinDecodable;
use lvstop::health::outcome::Verdict;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};

/// Queries a responder saw: (name, type).
type Seen = Arc<Mutex<Vec<(String, RecordType)>>>;

/// A DNS responder: `example.test.` and `.` answer with a record,
/// `empty.test.` answers NOERROR with no records, anything else NXDOMAIN.
/// Before each real reply it sends a decoy with another id, which a probe
/// must ignore.
async fn dns_server() -> (SocketAddr, Seen) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        let mut buffer = [0u8; 1500];
        while let Ok((length, peer)) = socket.recv_from(&mut buffer).await {
            let query = Message::from_bytes(&buffer[..length]).unwrap();
            let question = query.queries()[0].clone();
            let name = question.name().to_ascii();
            log.lock()
                .unwrap()
                .push((name.clone(), question.query_type()));
            let mut reply = Message::new();
            reply
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .set_recursion_desired(query.recursion_desired())
                .add_query(question.clone());
            match name.as_str() {
                "example.test." | "." => {
                    reply.add_answer(Record::from_rdata(
                        question.name().clone(),
                        60,
                        RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
                    ));
                }
                "empty.test." => {}
                _ => {
                    reply.set_response_code(ResponseCode::NXDomain);
                }
            }
            let mut decoy = reply.clone();
            decoy.set_id(query.id().wrapping_add(1));
            decoy.set_response_code(ResponseCode::Refused);
            let _ = socket.send_to(&decoy.to_vec().unwrap(), peer).await;
            let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
        }
    });
    (address, seen)
}

fn rs(address: SocketAddr) -> String {
    format!("{} {}", address.ip(), address.port())
}

// ---- DNS_CHECK ----

#[tokio::test]
async fn dns_check_defaults_to_an_soa_query_for_the_root() {
    let (server, seen) = dns_server().await;
    let config = conf(&rs(server), "  DNS_CHECK {\n   connect_timeout 2\n  }");
    assert_eq!(verdict(&config).await, Verdict::Up);
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [(".".to_owned(), RecordType::SOA)]
    );
}

#[tokio::test]
async fn dns_check_asks_the_configured_name_and_type() {
    let (server, seen) = dns_server().await;
    let config = conf(
        &rs(server),
        "  DNS_CHECK {\n   type A\n   name example.test\n  }",
    );
    assert_eq!(verdict(&config).await, Verdict::Up);
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [("example.test.".to_owned(), RecordType::A)]
    );
}

#[tokio::test]
async fn dns_check_passes_an_empty_noerror_answer_like_keepalived() {
    let (server, _) = dns_server().await;
    let config = conf(&rs(server), "  DNS_CHECK {\n   name empty.test\n  }");
    assert_eq!(verdict(&config).await, Verdict::Up);
}

#[tokio::test]
async fn dns_check_fails_on_an_error_rcode() {
    let (server, _) = dns_server().await;
    let config = conf(&rs(server), "  DNS_CHECK {\n   name missing.test\n  }");
    assert_eq!(
        reason(&verdict(&config).await),
        "protocol: DNS rcode 3 (Non-Existent Domain)"
    );
}

#[tokio::test]
async fn dns_check_says_connection_refused_when_no_server_listens() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = conf(&format!("127.0.0.1 {port}"), "  DNS_CHECK {\n  }");
    assert_eq!(reason(&verdict(&config).await), "connection refused");
}

// ---- UDP_CHECK ----

/// Echoes every datagram back.
async fn udp_echo() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = [0u8; 1500];
        while let Ok((length, peer)) = socket.recv_from(&mut buffer).await {
            let _ = socket.send_to(&buffer[..length], peer).await;
        }
    });
    address
}

fn udp_check(body: &str) -> String {
    format!("  UDP_CHECK {{\n   connect_timeout 1\n{body}\n  }}")
}

#[tokio::test]
async fn udp_check_passes_when_the_reply_matches() {
    let server = udp_echo().await;
    let config = conf(
        &rs(server),
        &udp_check("   payload 4c56 53 0a\n   require_reply 4c56 53 0a"),
    );
    assert_eq!(verdict(&config).await, Verdict::Up);
}

#[tokio::test]
async fn udp_check_wildcard_nibbles_match_anything() {
    let server = udp_echo().await;
    let config = conf(
        &rs(server),
        &udp_check("   payload 4c56 53 0a\n   require_reply 4x5X"),
    );
    assert_eq!(verdict(&config).await, Verdict::Up);
}

#[tokio::test]
async fn udp_check_fails_on_a_different_reply() {
    let server = udp_echo().await;
    let config = conf(
        &rs(server),
        &udp_check("   payload 4c56 53 0a\n   require_reply 4c57"),
    );
    assert_eq!(
        reason(&verdict(&config).await),
        "protocol: UDP reply does not match require_reply"
    );
}

#[tokio::test]
async fn udp_check_enforces_reply_length_limits() {
    let server = udp_echo().await;
    let config = conf(
        &rs(server),
        &udp_check("   payload 4c56 53 0a\n   require_reply\n   min_reply_length 10"),
    );
    assert_eq!(
        reason(&verdict(&config).await),
        "protocol: UDP reply of 4 bytes, expected 10-255"
    );
}

#[tokio::test]
async fn udp_check_port_unreachable_is_connection_refused() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = conf(&format!("127.0.0.1 {port}"), &udp_check("   payload 01"));
    assert_eq!(reason(&verdict(&config).await), "connection refused");
}

#[tokio::test]
async fn udp_check_silence_passes_unless_a_reply_is_required() {
    // A socket that receives and never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server = silent.local_addr().unwrap();
    let quiet = conf(&rs(server), &udp_check("   payload 01"));
    assert_eq!(verdict(&quiet).await, Verdict::Up);
    let demanding = conf(&rs(server), &udp_check("   payload 01\n   require_reply"));
    assert_eq!(reason(&verdict(&demanding).await), "timeout after 1 s");
    drop(silent);
}

// ---- SMTP_CHECK ----

/// A line-based SMTP server answering with `greeting` and `helo_reply`;
/// records the HELO lines it receives.
async fn smtp_server(
    greeting: &'static str,
    helo_reply: &'static str,
) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let helos = Arc::new(Mutex::new(Vec::new()));
    let seen = helos.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(greeting.as_bytes()).await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.starts_with("HELO") {
                        seen.lock().unwrap().push(line);
                        write.write_all(helo_reply.as_bytes()).await.unwrap();
                    } else if line == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    }
                }
            });
        }
    });
    (address, helos)
}

#[tokio::test]
async fn smtp_check_says_helo_with_keepalived_default_name() {
    let (server, helos) = smtp_server(
        "220-mail.example.test ESMTP\r\n220 ready\r\n",
        "250 mail.example.test\r\n",
    )
    .await;
    let config = conf(&rs(server), "  SMTP_CHECK {\n   connect_timeout 2\n  }");
    assert_eq!(verdict(&config).await, Verdict::Up);
    assert_eq!(
        helos.lock().unwrap().as_slice(),
        ["HELO smtpchecker.keepalived.org".to_owned()]
    );
}

#[tokio::test]
async fn smtp_check_uses_helo_name() {
    let (server, helos) = smtp_server("220 ready\r\n", "250 ok\r\n").await;
    let config = conf(
        &rs(server),
        "  SMTP_CHECK {\n   helo_name director1.example.test\n  }",
    );
    assert_eq!(verdict(&config).await, Verdict::Up);
    assert_eq!(
        helos.lock().unwrap().as_slice(),
        ["HELO director1.example.test".to_owned()]
    );
}

#[tokio::test]
async fn smtp_check_fails_on_a_refusing_greeting() {
    let (server, _) = smtp_server("554 no service here\r\n", "250 ok\r\n").await;
    let config = conf(&rs(server), "  SMTP_CHECK {\n  }");
    assert_eq!(
        reason(&verdict(&config).await),
        "protocol: SMTP greeting: expected 220, got '554 no service here'"
    );
}

#[tokio::test]
async fn smtp_check_fails_when_helo_is_rejected() {
    let (server, _) = smtp_server("220 ready\r\n", "501 go away\r\n").await;
    let config = conf(&rs(server), "  SMTP_CHECK {\n  }");
    assert_eq!(
        reason(&verdict(&config).await),
        "protocol: SMTP HELO: expected 250, got '501 go away'"
    );
}

#[tokio::test]
async fn smtp_check_needs_every_host_block() {
    let (good, _) = smtp_server("220 ready\r\n", "250 ok\r\n").await;
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host =
        |port: u16| format!("   host {{\n    connect_ip 127.0.0.1\n    connect_port {port}\n   }}");
    let both_good = conf(
        &rs(good),
        &format!(
            "  SMTP_CHECK {{\n{}\n{}\n  }}",
            host(good.port()),
            host(good.port())
        ),
    );
    assert_eq!(verdict(&both_good).await, Verdict::Up);
    let one_closed = conf(
        &rs(good),
        &format!(
            "  SMTP_CHECK {{\n{}\n{}\n  }}",
            host(good.port()),
            host(closed)
        ),
    );
    assert_eq!(reason(&verdict(&one_closed).await), "connection refused");
}

/// Kills the aiosmtpd process when the test ends, however it ends.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn smtp_check_passes_against_aiosmtpd() {
    let has_aiosmtpd = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_aiosmtpd {
        eprintln!("skipped: python3 aiosmtpd is not installed (pip install aiosmtpd)");
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = ChildGuard(
        std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .spawn()
            .unwrap(),
    );
    // Wait until it accepts connections.
    let mut ready = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "aiosmtpd did not start on port {port}");
    let config = conf(
        &format!("127.0.0.1 {port}"),
        "  SMTP_CHECK {\n   connect_timeout 5\n  }",
    );
    assert_eq!(verdict(&config).await, Verdict::Up);
}
