#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Health checks in `lvstop daemon --dataplane userspace`, end to end as an
//! operator sees them: real processes started from a keepalived.conf, real
//! TCP/HTTP backends on 127.0.0.0/8, clients through the userspace
//! dataplane, `lvstop --once`, and alerts received by a real SMTP server
//! (Python's aiosmtpd, `tests/fixtures/notify/smtp_sink.py`).
//!
//! The reference deployment's third check: stopping one web server removes it from the
//! table and an e-mail says `TCP CHECK failed`; starting it again brings it
//! back. Also inhibit_on_failure, HTTP_GET on a 503, a hanging MISC_CHECK,
//! quorum loss with a sorry server, and a SIGHUP reload that keeps a down
//! server down without a second alert.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support;

use support::backends::ReplyBackend;
use support::daemon::{Daemon, LVSTOP};
use support::loopback_address as address;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/notify");

/// The aiosmtpd sink; killed on drop. `None` (and a message) when aiosmtpd
/// is missing outside CI.
struct SmtpSink {
    child: Child,
    port: u16,
    output: PathBuf,
}

impl SmtpSink {
    fn start(dir: &Path, test: &str) -> Option<SmtpSink> {
        let found = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: python3 lacks aiosmtpd (pip install aiosmtpd)"
            );
            eprintln!("skipped {test}: python3 lacks aiosmtpd (`pip install aiosmtpd`)");
            return None;
        }
        let output = dir.join("mail.jsonl");
        let mut child = Command::new("python3")
            .arg(Path::new(FIXTURES).join("smtp_sink.py"))
            .arg(&output)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("port ").unwrap().parse().unwrap();
        Some(SmtpSink {
            child,
            port,
            output,
        })
    }

    /// (subject, body) of every message received so far.
    fn messages(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        text.lines()
            .map(|line| {
                let record: serde_json::Value = serde_json::from_str(line).unwrap();
                let data = record["data"].as_str().unwrap().replace("\r\n", "\n");
                let (headers, body) = data.split_once("\n\n").unwrap();
                let subject = headers
                    .lines()
                    .find_map(|h| h.strip_prefix("Subject: "))
                    .unwrap()
                    .to_string();
                (subject, body.trim_end_matches('\n').to_string())
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `lvstop --once -n` split into the IPVS table and the checks block.
fn once(daemon: &Daemon) -> (String, String) {
    let text = daemon.once_text(&["-n"]);
    match text.split_once("\nChecks\n") {
        Some((table, checks)) => (table.to_string(), checks.to_string()),
        None => (text, String::new()),
    }
}

/// A table row for `dest` (ipvsadm's `  -> ADDR  Forward Weight …`).
fn table_row(table: &str, dest: SocketAddr) -> Option<&str> {
    let prefix = format!("  -> {dest} ");
    table.lines().find(|l| l.starts_with(&prefix))
}

/// The checks line of `dest`.
fn check_line(checks: &str, dest: SocketAddr) -> Option<String> {
    let prefix = format!("  -> {dest}  ");
    checks
        .lines()
        .find(|l| l.starts_with(&prefix))
        .map(str::to_string)
}

/// What a client through the VIP gets.
fn ask(vip: SocketAddr) -> String {
    let mut stream = TcpStream::connect_timeout(&vip, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(b"hi").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

fn smtp_globals(sink: &SmtpSink) -> String {
    format!(
        "global_defs {{\n    router_id LVS_TEST\n    notification_email {{\n        ops@example.com\n    }}\n\
         \x20   notification_email_from lvs@example.com\n    smtp_server 127.0.0.1 {}\n\
         \x20   smtp_connect_timeout 5\n}}\n",
        sink.port
    )
}

fn tcp_check() -> &'static str {
    "TCP_CHECK {\n            connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }"
}

fn vs_block(vip: SocketAddr, options: &str, real_servers: &[(SocketAddr, &str)]) -> String {
    let mut text = format!(
        "virtual_server {} {} {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n{options}",
        vip.ip(),
        vip.port()
    );
    for (rs, body) in real_servers {
        text.push_str(&format!(
            "    real_server {} {} {{\n        weight 1\n        {body}\n    }}\n",
            rs.ip(),
            rs.port()
        ));
    }
    text.push_str("}\n");
    text
}

#[test]
fn a_stopped_web_server_leaves_the_table_mails_and_returns_and_a_reload_keeps_it_down() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = SmtpSink::start(dir.path(), "seed check 3") else {
        return;
    };
    let a = ReplyBackend::tcp(address(1, 1), "A");
    let mut b = ReplyBackend::tcp(address(1, 2), "B");
    let vip = support::free_addr(address(1, 100));
    let fifo = dir.path().join("lvs.fifo");
    let marker = dir.path().join("notified");
    let script = dir.path().join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" >> {}\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let b_body = format!(
        "{}\n        notify_down \"{} down\"\n        notify_up \"{} up\"",
        tcp_check(),
        script.display(),
        script.display()
    );
    let globals = smtp_globals(&sink).replace(
        "    router_id",
        &format!("    lvs_notify_fifo {}\n    router_id", fifo.display()),
    );
    let base = format!(
        "{globals}{}",
        vs_block(vip, "", &[(a.addr, tcp_check()), (b.addr, &b_body)])
    );
    let config = dir.path().join("keepalived.conf");
    std::fs::write(&config, &base).unwrap();
    let daemon = Daemon::start(&config, dir.path());
    daemon.wait_for("both real servers checked up", || {
        let (_, checks) = once(&daemon);
        [a.addr, b.addr]
            .iter()
            .all(|rs| check_line(&checks, *rs).is_some_and(|l| l.contains("  UP  TCP_CHECK")))
    });
    let answers: Vec<String> = (0..4).map(|_| ask(vip)).collect();
    assert!(
        answers.contains(&"A".into()) && answers.contains(&"B".into()),
        "{answers:?}"
    );

    // Stop B: it leaves the table, the checks say why, clients reach A only.
    b.stop();
    daemon.wait_for("B out of the table and down in the checks", || {
        let (table, checks) = once(&daemon);
        table_row(&table, b.addr).is_none()
            && check_line(&checks, b.addr).is_some_and(|l| l.contains("  DOWN  "))
    });
    let (table, checks) = once(&daemon);
    assert!(table_row(&table, a.addr).is_some(), "{table}");
    let line = check_line(&checks, b.addr).unwrap();
    assert!(
        line.starts_with(&format!(
            "  -> {}  DOWN  TCP_CHECK  connection refused  since ",
            b.addr
        )),
        "{line}"
    );
    assert!(line.contains("  failures "), "{line}");
    for _ in 0..6 {
        assert_eq!(ask(vip), "A", "a client reaches only the live server");
    }
    let rs_name = format!("[{}]:tcp:{}", b.addr.ip(), b.addr.port());
    let vs_name = format!("[{}]:tcp:{}", vip.ip(), vip.port());
    let down_subject =
        format!("[LVS_TEST] Realserver {rs_name} of virtual server {vs_name} - DOWN");
    daemon.wait_for("the DOWN mail", || !sink.messages().is_empty());
    assert_eq!(
        sink.messages(),
        vec![(
            down_subject.clone(),
            "=> TCP CHECK failed on service <=".to_string()
        )]
    );
    assert!(
        daemon
            .log_text()
            .contains(&format!("Removing service {rs_name} from VS {vs_name}")),
        "{}",
        daemon.log_text()
    );
    daemon.wait_for("the notify_down script", || {
        std::fs::read_to_string(&marker).unwrap_or_default() == "down\n"
    });
    let mut fifo_lines = String::new();
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let _ = reader.read_to_string(&mut fifo_lines);
    assert!(
        fifo_lines.contains(&format!("RS {rs_name} {vs_name} DOWN\n")),
        "{fifo_lines:?}"
    );

    // SIGHUP with an unrelated change: B stays out, no second alert.
    let other_vip = support::free_addr(address(1, 101));
    std::fs::write(
        &config,
        format!("{base}{}", vs_block(other_vip, "", &[(a.addr, "")])),
    )
    .unwrap();
    daemon.signal("HUP");
    daemon.wait_for("the reloaded table", || {
        once(&daemon).0.contains(&format!("TCP  {other_vip} rr"))
    });
    let (table, checks) = once(&daemon);
    assert!(table_row(&table, b.addr).is_none(), "B stays out:\n{table}");
    assert!(
        check_line(&checks, b.addr)
            .unwrap()
            .contains("DOWN  TCP_CHECK  connection refused"),
        "{checks}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.messages().len(), 1, "no new alert after the reload");
    assert!(daemon
        .log_text()
        .contains("reload kept the state of 2 real server(s)"));

    // Start B again: back in the table, UP mail.
    b.start();
    daemon.wait_for("B back in the table", || {
        table_row(&once(&daemon).0, b.addr).is_some()
    });
    daemon.wait_for("the UP mail", || sink.messages().len() == 2);
    assert_eq!(
        sink.messages()[1],
        (
            format!("[LVS_TEST] Realserver {rs_name} of virtual server {vs_name} - UP"),
            "=> TCP CHECK succeed on service <=".to_string()
        )
    );
    daemon.wait_for("the notify_up script", || {
        std::fs::read_to_string(&marker).unwrap_or_default() == "down\nup\n"
    });
    let answers: Vec<String> = (0..4).map(|_| ask(vip)).collect();
    assert!(answers.contains(&"B".into()), "{answers:?}");
}

#[test]
fn inhibit_on_failure_leaves_a_weight_0_row() {
    let dir = tempfile::tempdir().unwrap();
    let a = ReplyBackend::tcp(address(2, 1), "A");
    let mut b = ReplyBackend::tcp(address(2, 2), "B");
    let vip = support::free_addr(address(2, 100));
    let config = dir.path().join("keepalived.conf");
    let b_body = format!("inhibit_on_failure\n        {}", tcp_check());
    std::fs::write(
        &config,
        vs_block(vip, "", &[(a.addr, tcp_check()), (b.addr, &b_body)]),
    )
    .unwrap();
    let daemon = Daemon::start(&config, dir.path());
    b.stop();
    daemon.wait_for("B at weight 0 and down in the checks", || {
        let (table, checks) = once(&daemon);
        table_row(&table, b.addr).is_some_and(|row| row.split_whitespace().nth(3) == Some("0"))
            && check_line(&checks, b.addr).is_some_and(|l| l.contains("  DOWN  "))
    });
    let (_, checks) = once(&daemon);
    let line = check_line(&checks, b.addr).unwrap();
    assert!(
        line.contains("DOWN  TCP_CHECK  connection refused"),
        "{line}"
    );
    assert!(line.ends_with("weight 0 (inhibit_on_failure)"), "{line}");
    assert!(daemon.log_text().contains(&format!(
        "Disabling service [{}]:tcp:{}",
        b.addr.ip(),
        b.addr.port()
    )));
    for _ in 0..4 {
        assert_eq!(ask(vip), "A", "weight 0 takes no new connections");
    }
    let json = Command::new(LVSTOP)
        .args(["--once", "--json", "--socket"])
        .arg(&daemon.socket)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let rs = &json["checks"]["snapshot"]["virtual_servers"][0]["real_servers"][1];
    assert_eq!(rs["address"], b.addr.to_string());
    assert_eq!(rs["up"], false);
    assert_eq!(rs["checkers"][0]["kind"], "TCP_CHECK");
    assert_eq!(rs["checkers"][0]["reason"], "connection refused");
}

#[test]
fn http_get_on_a_503_reads_http_503() {
    let dir = tempfile::tempdir().unwrap();
    let good = ReplyBackend::http(address(3, 1), "200 OK");
    let bad = ReplyBackend::http(address(3, 2), "503 Service Unavailable");
    let vip = support::free_addr(address(3, 100));
    let http_check = "HTTP_GET {\n            url {\n                path /\n                status_code 200\n            }\n            connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }";
    let config = dir.path().join("keepalived.conf");
    std::fs::write(
        &config,
        vs_block(vip, "", &[(good.addr, http_check), (bad.addr, http_check)]),
    )
    .unwrap();
    let daemon = Daemon::start(&config, dir.path());
    daemon.wait_for("the 503 server out of the table", || {
        let (table, checks) = once(&daemon);
        table_row(&table, bad.addr).is_none()
            && check_line(&checks, bad.addr).is_some_and(|l| l.contains("DOWN  HTTP_GET  HTTP 503"))
            && check_line(&checks, good.addr).is_some_and(|l| l.contains("  UP  HTTP_GET"))
    });
    let (table, checks) = once(&daemon);
    assert!(table_row(&table, good.addr).is_some(), "{table}");
    assert!(
        check_line(&checks, good.addr)
            .unwrap()
            .contains("  UP  HTTP_GET  since "),
        "{checks}"
    );
}

#[test]
fn a_hanging_misc_check_times_out_and_the_daemon_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let a = ReplyBackend::tcp(address(4, 1), "A");
    let b = ReplyBackend::tcp(address(4, 2), "B");
    let vip = support::free_addr(address(4, 100));
    let hang = "MISC_CHECK {\n            misc_path \"/bin/sleep 600\"\n            misc_timeout 1\n            retry 1\n            delay_before_retry 1\n        }";
    let config = dir.path().join("keepalived.conf");
    std::fs::write(
        &config,
        vs_block(vip, "", &[(a.addr, tcp_check()), (b.addr, hang)]),
    )
    .unwrap();
    let daemon = Daemon::start(&config, dir.path());
    daemon.wait_for("the hanging check's verdict", || {
        check_line(&once(&daemon).1, b.addr)
            .is_some_and(|l| l.contains("DOWN  MISC_CHECK  timeout after 1 s"))
    });
    assert!(table_row(&once(&daemon).0, b.addr).is_none());
    // Still serving: the table answers and clients get through.
    for _ in 0..3 {
        assert_eq!(ask(vip), "A");
    }
    // ...and the other checks go on meanwhile.
    daemon.wait_for("A checked up", || {
        check_line(&once(&daemon).1, a.addr).is_some_and(|l| l.contains("  UP  TCP_CHECK"))
    });
}

/// keepalived's script security for MISC_CHECK (privileged: scripts run
/// as another user): with `enable_script_security`, a world-writable
/// script that would run as root is disabled — logged in keepalived's words, its real server
/// judged on its other checkers (none: it stays served) — while a safe one
/// runs as `script_user` when the checker names no `user`.
#[test]
fn misc_check_scripts_follow_script_security_and_run_as_script_user() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "misc_check_scripts_follow_script_security_and_run_as_script_user",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let open = dir.path().join("open.sh");
    std::fs::write(&open, "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    // Passes only when run as nobody (65534), the configured script_user.
    let as_nobody = dir.path().join("as_nobody.sh");
    std::fs::write(&as_nobody, "#!/bin/sh\n[ \"$(id -u)\" = 65534 ]\n").unwrap();
    std::fs::set_permissions(&as_nobody, std::fs::Permissions::from_mode(0o755)).unwrap();

    let a = ReplyBackend::tcp(address(6, 11), "A");
    let b = ReplyBackend::tcp(address(6, 12), "B");
    let vip = support::free_addr(address(6, 110));
    let misc = |path: &Path, user: &str| {
        format!(
            "MISC_CHECK {{\n            misc_path \"{}\"\n{user}        }}",
            path.display()
        )
    };
    let config = dir.path().join("keepalived.conf");
    std::fs::write(
        &config,
        format!(
            "global_defs {{\n    enable_script_security\n    script_user nobody\n}}\n{}",
            vs_block(
                vip,
                "",
                &[
                    (a.addr, &misc(&open, "            user root\n")),
                    (b.addr, &misc(&as_nobody, ""))
                ]
            )
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&config, dir.path());
    daemon.wait_for("B's script passing as nobody", || {
        check_line(&once(&daemon).1, b.addr).is_some_and(|l| l.contains("  UP  MISC_CHECK"))
    });
    let (table, checks) = once(&daemon);
    assert!(
        table_row(&table, a.addr).is_some(),
        "A left the table:\n{table}"
    );
    assert!(
        check_line(&checks, a.addr).is_none_or(|l| !l.contains("MISC_CHECK")),
        "the insecure script still checks A:\n{checks}"
    );
    let log = daemon.log_text();
    assert!(
        log.contains(&format!(
            "Disabling misc script {} due to insecure",
            open.display()
        )),
        "{log}"
    );
    assert!(log.contains("writable by everyone"), "{log}");
}

#[test]
fn losing_the_quorum_puts_the_sorry_server_in() {
    let dir = tempfile::tempdir().unwrap();
    let a = ReplyBackend::tcp(address(5, 1), "A");
    let mut b = ReplyBackend::tcp(address(5, 2), "B");
    let sorry = ReplyBackend::tcp(address(5, 9), "SORRY");
    let vip = support::free_addr(address(5, 100));
    let options = format!(
        "    quorum 2\n    sorry_server {} {}\n",
        sorry.addr.ip(),
        sorry.addr.port()
    );
    let config = dir.path().join("keepalived.conf");
    std::fs::write(
        &config,
        vs_block(
            vip,
            &options,
            &[(a.addr, tcp_check()), (b.addr, tcp_check())],
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&config, dir.path());
    assert!(table_row(&once(&daemon).0, sorry.addr).is_none());
    b.stop();
    daemon.wait_for("the sorry server in", || {
        let (table, checks) = once(&daemon);
        table_row(&table, sorry.addr).is_some()
            && table_row(&table, a.addr).is_none()
            && checks.contains("quorum down")
    });
    let (_, checks) = once(&daemon);
    assert!(
        checks.contains(&format!(
            "quorum down  live weight 1/2  sorry {} in",
            sorry.addr
        )),
        "{checks}"
    );
    assert_eq!(ask(vip), "SORRY");
    b.start();
    daemon.wait_for("the sorry server out", || {
        let (table, _) = once(&daemon);
        table_row(&table, sorry.addr).is_none() && table_row(&table, b.addr).is_some()
    });
}
