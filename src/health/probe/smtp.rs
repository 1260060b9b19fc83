//! SMTP_CHECK: connect, expect a 220 greeting, say `HELO <helo_name>`,
//! expect 250, then QUIT (keepalived.conf(5), "SMTP healthchecker";
//! RFC 5321 §4.1.1.1, §4.2). Each `host { }` block is one more server to
//! check with its own connection options; all must pass. Each host's
//! exchange is bounded by `connect_timeout`.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{connect, down, within_timeout, ProbeSpec};
use crate::config::model::lvs::{Connection, SmtpCheck};
use crate::health::outcome::{Reason, Verdict};

/// keepalived's HELO name when `helo_name` is unset.
pub const DEFAULT_HELO_NAME: &str = "smtpchecker.keepalived.org";
/// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets.
const MAX_REPLY_LINE: u64 = 512;

pub(super) async fn probe(spec: &ProbeSpec, smtp: &SmtpCheck) -> Verdict {
    let helo = smtp
        .helo_name
        .as_ref()
        .map_or(DEFAULT_HELO_NAME, |h| h.value.as_str());
    if smtp.hosts.is_empty() {
        return within_timeout(spec.connect_timeout, check_host(spec.clone(), helo)).await;
    }
    for host in &smtp.hosts {
        let host_spec = for_host(spec, &host.value);
        let verdict = within_timeout(spec.connect_timeout, check_host(host_spec, helo)).await;
        if matches!(verdict, Verdict::Down { .. }) {
            return verdict;
        }
    }
    Verdict::Up
}

/// A `host { }` block's connection options over the checker's.
fn for_host(spec: &ProbeSpec, host: &Connection) -> ProbeSpec {
    let mut host_spec = spec.clone();
    host_spec.destination = SocketAddr::new(
        host.connect_ip.map_or(spec.destination.ip(), |ip| ip.value),
        host.connect_port
            .map_or(spec.destination.port(), |p| p.value),
    );
    if let Some(bindto) = host.bindto {
        host_spec.bind_address = Some(bindto.value);
    }
    if let Some(port) = host.bind_port {
        host_spec.bind_port = Some(port.value);
    }
    if let Some(interface) = &host.bind_if {
        host_spec.bind_interface = Some(interface.value.clone());
    }
    host_spec
}

async fn check_host(spec: ProbeSpec, helo: &str) -> Verdict {
    match converse(&spec, helo).await {
        Ok(()) => Verdict::Up,
        Err(reason) => down(reason),
    }
}

async fn converse(spec: &ProbeSpec, helo: &str) -> Result<(), Reason> {
    let stream = connect::tcp(spec, spec.destination).await?;
    let mut stream = BufReader::new(stream);
    expect(&mut stream, 220, "greeting").await?;
    send(&mut stream, &format!("HELO {helo}\r\n")).await?;
    expect(&mut stream, 250, "HELO").await?;
    // The server passed; a polite QUIT, whose answer does not matter.
    if send(&mut stream, "QUIT\r\n").await.is_ok() {
        let _ = expect(&mut stream, 221, "QUIT").await;
    }
    Ok(())
}

async fn send(stream: &mut BufReader<TcpStream>, line: &str) -> Result<(), Reason> {
    stream
        .get_mut()
        .write_all(line.as_bytes())
        .await
        .map_err(|e| connect::reason_for(&e))
}

/// Reads one reply (RFC 5321 §4.2.1: lines `NNN-text` continue, the line
/// `NNN text` ends it) and checks its code.
async fn expect(stream: &mut BufReader<TcpStream>, code: u16, step: &str) -> Result<(), Reason> {
    loop {
        let mut line = String::new();
        let read = (&mut *stream)
            .take(MAX_REPLY_LINE)
            .read_line(&mut line)
            .await
            .map_err(|e| connect::reason_for(&e))?;
        if read == 0 {
            return Err(Reason::Protocol {
                detail: format!("SMTP server closed the connection before the {step} reply"),
            });
        }
        let line = line.trim_end();
        let got = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        if got != Some(code) {
            return Err(Reason::Protocol {
                detail: format!("SMTP {step}: expected {code}, got '{line}'"),
            });
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}
