//! E-mail alerts against a real SMTP server process (Python's aiosmtpd):
//! the received envelope, headers and body are checked exactly, and a dead
//! or stalled server never delays `AlertSender::send`.
//!
//! Needs `python3` with `aiosmtpd` (`pip install aiosmtpd`; `.ci/run`
//! installs it). Outside CI the tests are skipped, with a message, when it
//! is missing; in CI (`CI` set) they fail instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lvstop::config::load::{load_str, Options};
use lvstop::config::model::lvs::Protocol;
use lvstop::notify::alert::Addresses;
use lvstop::notify::smtp::{AlertSender, SmtpSettings};
use lvstop::notify::{Alert, ServiceName};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/notify");

/// Whether the SMTP server can run here; panics in CI when it cannot.
fn smtp_server_available(test: &str) -> bool {
    let found = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if found {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: python3 lacks aiosmtpd; install it with `pip install aiosmtpd`");
    }
    eprintln!("skipped {test}: python3 lacks aiosmtpd (`pip install aiosmtpd` to run it)");
    false
}

/// The aiosmtpd sink process; killed on drop.
struct SmtpSink {
    child: Child,
    port: u16,
    output: PathBuf,
}

impl SmtpSink {
    fn start(dir: &Path) -> SmtpSink {
        let output = dir.join("received.jsonl");
        let mut child = Command::new("python3")
            .arg(Path::new(FIXTURES).join("smtp_sink.py"))
            .arg(&output)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python3 smtp_sink.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("port ")
            .unwrap_or_else(|| panic!("smtp_sink.py said {line:?}"))
            .parse()
            .unwrap();
        SmtpSink {
            child,
            port,
            output,
        }
    }

    /// Waits (bounded) until `count` messages arrived, and returns them.
    async fn messages(&self, count: usize) -> Vec<Value> {
        for _ in 0..300 {
            let text = std::fs::read_to_string(&self.output).unwrap_or_default();
            let messages: Vec<Value> = text
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the SMTP server did not receive {count} message(s)");
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn settings_for(port: u16, connect_timeout: Duration) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        helo_name: "director1.example.com".into(),
        connect_timeout,
        addresses: Addresses {
            from: "lvs@localhost".into(),
            to: vec!["ops@example.com".into()],
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_alert_arrives_with_keepalived_envelope_headers_and_body() {
    if !smtp_server_available("seed_alert_arrives_with_keepalived_envelope_headers_and_body") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path());
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("seed_global.conf"))
        .unwrap()
        .replace("@PORT@", &sink.port.to_string());
    let outcome = load_str(Path::new("seed_global.conf"), &text, &Options::default());
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    let global = &outcome.config.global;
    let settings = SmtpSettings::from_global(global).expect("smtp_server and e-mails are set");
    let sender = AlertSender::spawn(settings, 16).unwrap();

    let router_id = &global.router_id.as_ref().unwrap().value;
    let rs = ServiceName::address([192, 168, 100, 82].into(), Protocol::Tcp, 80);
    let vs = ServiceName::address([192, 168, 100, 88].into(), Protocol::Tcp, 80);
    sender.send(Alert::real_server(
        router_id,
        &rs,
        &vs,
        false,
        "=> TCP CHECK failed on service <=",
    ));

    let messages = sink.messages(1).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message["helo"], "director1.example.com");
    assert_eq!(message["mail_from"], "lvs@localhost");
    assert_eq!(
        message["rcpt_tos"],
        serde_json::json!(["gencat@163.com", "ops@example.com"])
    );
    let data = message["data"].as_str().unwrap();
    let (head, body) = data
        .split_once("\r\n\r\n")
        .expect("blank line after headers");
    let headers: Vec<&str> = head.split("\r\n").collect();
    let date = headers[0]
        .strip_prefix("Date: ")
        .expect("Date first, as keepalived");
    assert!(
        date.ends_with(" +0000") && date.len() == "Thu, 01 Jan 1970 00:00:00 +0000".len(),
        "RFC 2822 date: {date:?}"
    );
    assert_eq!(
        headers[1..],
        [
            "From: lvs@localhost",
            "Subject: [LVS_DEVEL] Realserver [192.168.100.82]:tcp:80 of virtual server [192.168.100.88]:tcp:80 - DOWN",
            "X-Mailer: Keepalived",
            "To: gencat@163.com,",
            " ops@example.com",
        ]
    );
    // keepalived ends the body with CRLF and then sends CRLF.CRLF, so the
    // message keeps an empty last line; lvstop sends the same bytes.
    assert_eq!(body, "=> TCP CHECK failed on service <=\r\n\r\n");
    support::until("the alert is counted as sent", async || {
        sender.stats().sent == 1
    })
    .await;
    assert_eq!(sender.stats().failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_line_starting_with_a_dot_survives_the_smtp_transfer() {
    if !smtp_server_available("a_body_line_starting_with_a_dot_survives_the_smtp_transfer") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(dir.path());
    let sender = AlertSender::spawn(settings_for(sink.port, Duration::from_secs(30)), 16).unwrap();
    sender.send(Alert::new("dots", ".\n..two\nend"));
    let messages = sink.messages(1).await;
    let data = messages[0]["data"].as_str().unwrap();
    assert!(
        data.ends_with("\r\n\r\n.\r\n..two\r\nend\r\n\r\n"),
        "{data:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_smtp_server_never_delays_send_and_failures_are_counted() {
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sender = AlertSender::spawn(settings_for(port, Duration::from_secs(1)), 8).unwrap();
    for n in 0..1000 {
        sender.send(Alert::new(format!("alert {n}"), "body"));
    }
    let stats = sender.stats();
    assert_eq!(stats.submitted, 1000);
    // Every alert sent so far was dropped, has already failed (a refused
    // connection fails at once, so the sender may free slots while the
    // loop runs), waits (at most 8) or is being tried (at most one).
    assert!(stats.queued <= 8, "{stats:?}");
    assert!(stats.dropped + stats.failed >= 1000 - 9, "{stats:?}");
    support::until("every alert is either dropped or failed", async || {
        let stats = sender.stats();
        stats.dropped + stats.failed == 1000
    })
    .await;
    assert_eq!(sender.stats().sent, 0);
    let error = sender.last_error().unwrap();
    assert!(
        error.to_lowercase().contains("refused"),
        "the reason names the refusal: {error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_smtp_server_never_delays_send() {
    // Accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let sender = AlertSender::spawn(settings_for(port, Duration::from_secs(1)), 4).unwrap();
    for n in 0..1000 {
        sender.send(Alert::new(format!("alert {n}"), "body"));
    }
    let stats = sender.stats();
    assert_eq!(stats.submitted, 1000);
    assert!(stats.dropped >= 1000 - 5, "{stats:?}");
    assert_eq!(stats.sent, 0);
    support::until("a stalled delivery is given up and counted", async || {
        sender.stats().failed >= 1
    })
    .await;
    let error = sender.last_error().unwrap();
    assert!(error.contains("no answer within 2 s"), "{error}");
    holder.abort();
}
