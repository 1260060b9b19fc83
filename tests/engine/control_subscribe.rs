#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Subscriptions over the control socket of a real `lvstop daemon`
//! (userspace dataplane, loopback): ten subscribers receive snapshots and
//! every operator action while commands arrive; a real server whose
//! listener goes away shows up as a check event with its reason; hostile
//! input gets error replies and never disturbs the daemon or the other
//! clients.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::daemon::Daemon;
use support::loopback_address as address;

fn backend(addr: std::net::Ipv4Addr, stop: Arc<AtomicBool>) -> SocketAddr {
    support::backends::accept_and_close(addr, stop)
}

struct Setup {
    dir: tempfile::TempDir,
    daemon: Daemon,
    vip: SocketAddr,
    a: SocketAddr,
    b_stop: Arc<AtomicBool>,
}

fn setup(block: u8) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let a = backend(address(block, 10), Arc::new(AtomicBool::new(false)));
    let b_stop = Arc::new(AtomicBool::new(false));
    let b = backend(address(block, 11), Arc::clone(&b_stop));
    let vip_addr = address(block, 1);
    let port = TcpListener::bind((vip_addr, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let vip = SocketAddr::new(vip_addr.into(), port);
    let mut text = format!(
        "virtual_server {} {} {{\n    delay_loop 1\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n",
        vip.ip(),
        vip.port()
    );
    for (rs, weight) in [(a, 2), (b, 3)] {
        text.push_str(&format!(
            "    real_server {} {} {{\n        weight {weight}\n        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n",
            rs.ip(),
            rs.port()
        ));
    }
    text.push_str("}\n");
    let config = dir.path().join("keepalived.conf");
    std::fs::write(&config, text).unwrap();
    let daemon = Daemon::start(&config, dir.path());
    Setup {
        dir,
        daemon,
        vip,
        a,
        b_stop,
    }
}

/// A raw NDJSON client.
struct Raw {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Raw {
    fn connect(socket: &std::path::Path) -> Raw {
        let stream = UnixStream::connect(socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Raw {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, line: &[u8]) {
        self.writer.write_all(line).unwrap();
        self.writer.write_all(b"\n").unwrap();
    }

    fn next(&mut self) -> Value {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).unwrap();
        assert!(n > 0, "the daemon closed the connection");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Read until `done` says so (or 30 s pass: fail with `what`).
    fn until(&mut self, what: &str, mut done: impl FnMut(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            let message = self.next();
            if done(&message) {
                return message;
            }
        }
    }
}

fn subscribe(socket: &std::path::Path, id: u64) -> Raw {
    let mut client = Raw::connect(socket);
    let request = json!({"id": id, "method": "subscribe", "params": {"interval_ms": 200}});
    client.send(request.to_string().as_bytes());
    let first = client.next();
    assert_eq!(first["id"], id);
    assert_eq!(first["result"], "subscribed", "{first}");
    client
}

fn weight_in_snapshot(snapshot: &Value, rs: SocketAddr) -> Option<i64> {
    snapshot["data"]["table"]["services"]
        .as_array()?
        .iter()
        .flat_map(|s| s["dests"].as_array().cloned().unwrap_or_default())
        .find(|d| {
            d["config"]["key"]["addr"] == rs.ip().to_string()
                && d["config"]["key"]["port"] == rs.port()
        })
        .and_then(|d| d["config"]["weight"].as_i64())
}

fn operator_event(message: &Value, action_text: &str) -> bool {
    message["result"] == "events"
        && message["data"]["events"].as_array().is_some_and(|events| {
            events.iter().any(|e| {
                e["kind"]["type"] == "operator"
                    && e["message"]
                        .as_str()
                        .is_some_and(|m| m.contains(action_text))
            })
        })
}

#[test]
fn ten_subscribers_see_every_action_while_commands_arrive() {
    let s = setup(40);
    let mut subscribers: Vec<Raw> = (1..=10).map(|id| subscribe(&s.daemon.socket, id)).collect();
    for sub in &mut subscribers {
        let snapshot = sub.until("a first snapshot", |m| m["result"] == "snapshot");
        assert_eq!(snapshot["data"]["director"]["dataplane"], "userspace");
        assert_eq!(weight_in_snapshot(&snapshot, s.a), Some(2), "{snapshot}");
    }
    let vip = s.vip.to_string();
    let a = s.a.to_string();
    for weight in ["5", "6", "7"] {
        let output = s
            .daemon
            .ctl(&["weight", "-t", &vip, "-r", &a, "-w", weight]);
        assert!(output.status.success(), "{output:?}");
    }
    let output = s
        .daemon
        .ctl(&["disable", "-t", &vip, "-r", &a, "--reason", "maintenance"]);
    assert!(output.status.success(), "{output:?}");
    for (n, sub) in subscribers.iter_mut().enumerate() {
        sub.until("the last weight event", |m| operator_event(m, "-> 7"));
        sub.until("the disable event", |m| operator_event(m, "maintenance"));
        let snapshot = sub.until("a snapshot with the override", |m| {
            m["result"] == "snapshot"
                && m["data"]["overrides"]
                    .as_array()
                    .is_some_and(|o| !o.is_empty())
        });
        let overrides = &snapshot["data"]["overrides"][0];
        assert_eq!(
            overrides["weight"]["weight"], 7,
            "subscriber {n}: {snapshot}"
        );
        assert_eq!(overrides["disabled"][0]["reason"], "maintenance");
        assert_eq!(
            weight_in_snapshot(&snapshot, s.a),
            None,
            "a disabled real server leaves the table"
        );
        assert!(snapshot["data"]["last_event_seq"].as_u64() >= Some(4));
    }
}

#[test]
fn a_real_server_that_stops_answering_becomes_a_check_event_with_its_reason() {
    let s = setup(41);
    let mut sub = subscribe(&s.daemon.socket, 1);
    sub.until("both checks up", |m| {
        m["result"] == "snapshot"
            && m["data"]["checks"]["snapshot"]["virtual_servers"][0]["real_servers"]
                .as_array()
                .is_some_and(|rs| rs.iter().all(|r| r["up"] == true))
    });
    s.b_stop.store(true, Ordering::SeqCst);
    let event = sub.until("the check event", |m| {
        m["result"] == "events"
            && m["data"]["events"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["kind"]["type"] == "check"))
    });
    let check = event["data"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"]["type"] == "check")
        .unwrap()
        .clone();
    assert_eq!(check["kind"]["up"], false, "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("is down (TCP_CHECK"),
        "the reason names the checker: {message}"
    );
    // The timeline is also there for a client that asks later.
    let mut late = Raw::connect(&s.daemon.socket);
    late.send(br#"{"id":9,"method":"events","params":{"since":0}}"#);
    let events = late.next();
    assert_eq!(events["result"], "events");
    assert!(events["data"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"]["type"] == "check"));
}

#[test]
fn hostile_input_gets_errors_and_never_disturbs_the_daemon_or_other_clients() {
    let s = setup(42);
    let mut watcher = subscribe(&s.daemon.socket, 1);
    watcher.until("a snapshot", |m| m["result"] == "snapshot");

    let mut hostile = Raw::connect(&s.daemon.socket);
    let bad_lines: [&[u8]; 7] = [
        b"this is not json",
        br#"{"id":5,"method":"frobnicate"}"#,
        br#"{"id":6,"method":"command","params":{"command":"set_weight","weight":"many"}}"#,
        br#"{"id":7,"method":"subscribe","params":{"interval_ms":-1}}"#,
        b"\x00\xff\xfe{{{{",
        br#"[1,2,3]"#,
        br#"{"id":8,"method":"events","params":{"since":"yesterday"}}"#,
    ];
    for line in bad_lines {
        hostile.send(line);
        let reply = hostile.next();
        assert_eq!(reply["result"], "error", "{reply}");
        assert_eq!(reply["data"]["kind"], "bad_request", "{reply}");
    }
    // Ids that could be read are echoed.
    hostile.send(br#"{"id":5,"method":"frobnicate"}"#);
    assert_eq!(hostile.next()["id"], 5);
    // The connection still works after all that.
    hostile.send(br#"{"id":10,"method":"hello"}"#);
    let hello = hostile.next();
    assert_eq!(hello["result"], "hello");
    assert_eq!(hello["data"]["protocol"], 2);

    // An oversized line is refused and that connection closed.
    let mut huge = Raw::connect(&s.daemon.socket);
    let big = vec![b'x'; lvstop::control::protocol::MAX_REQUEST_BYTES + 1024];
    let _ = huge.writer.write_all(&big);
    let reply = huge.next();
    assert_eq!(reply["data"]["kind"], "bad_request", "{reply}");
    let mut rest = Vec::new();
    let _ = huge.reader.read_to_end(&mut rest);

    // A client that vanishes mid-line is nobody's problem.
    {
        let mut gone = Raw::connect(&s.daemon.socket);
        gone.writer.write_all(br#"{"id":1,"meth"#).unwrap();
    }

    // The subscriber kept receiving, and the daemon still answers.
    let before = Instant::now();
    watcher.until("a snapshot after the abuse", |m| {
        m["result"] == "snapshot" && before.elapsed() > Duration::from_millis(1)
    });
    let listing = s.daemon.once_text(&["-n"]);
    assert!(listing.contains(&format!("-> {}", s.a)), "{listing}");
    assert!(s.dir.path().exists());
}

/// What the console uses to watch a daemon: snapshots, commands and the
/// connection table through `control::remote`.
#[test]
fn the_remote_attachment_brings_snapshots_commands_and_connections() {
    use lvstop::engine::channel::Update;
    use lvstop::engine::command::{Command, Outcome};
    use lvstop::engine::overrides::Actor;
    use lvstop::ipvs::model::{DestKey, ServiceKey};

    let s = setup(43);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut remote =
            lvstop::control::remote::attach(&s.daemon.socket, Duration::from_millis(200))
                .await
                .unwrap();
        let first = loop {
            match remote.updates.recv().await.unwrap() {
                Update::Snapshot(snapshot) => break snapshot,
                Update::Events { .. } => continue,
                Update::Lost(why) => panic!("lost: {why}"),
            }
        };
        assert_eq!(first.table.services.len(), 1);
        let outcome = remote
            .commands
            .execute(
                Actor {
                    uid: 0,
                    name: "ignored".into(),
                },
                Command::SetWeight {
                    service: ServiceKey::tcp(s.vip),
                    server: DestKey::new(s.a),
                    weight: 9,
                    reason: Some("remote".into()),
                },
            )
            .await
            .unwrap();
        assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
        let weighted = loop {
            if let Update::Snapshot(snapshot) = remote.updates.recv().await.unwrap() {
                let weight = snapshot.table.services[0]
                    .dests
                    .iter()
                    .find(|d| d.key() == DestKey::new(s.a))
                    .map(|d| d.weight());
                if weight == Some(9) {
                    break snapshot;
                }
            }
        };
        assert_eq!(weighted.overrides.len(), 1);
        let connections = remote.connections.recv().await;
        assert!(connections.is_some(), "the connection table is polled");
    });
}
