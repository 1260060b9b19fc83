#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `lvstop ctl` against a running `lvstop daemon` (userspace dataplane)
//! on loopback: weights, disable/enable with reasons, a drain that waits
//! for a live connection to end and then removes the real server, restore,
//! zero, reload, and refusals that change nothing — each checked in the
//! table `lvstop --once` prints.

use crate::support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Output, Stdio};
use std::time::Duration;

use support::daemon::Daemon;

use support::loopback_address as address;

/// A backend that echoes until the client closes.
fn echo_backend(addr: std::net::Ipv4Addr) -> SocketAddr {
    let listener = TcpListener::bind((addr, 0)).unwrap();
    let local = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 256];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 || stream.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    local
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The `-> RIP:PORT` row of the listing, if any.
fn row(listing: &str, rs: SocketAddr) -> Option<String> {
    listing
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("-> {rs} ")))
        .map(str::to_string)
}

fn weight(listing: &str, rs: SocketAddr) -> Option<u32> {
    row(listing, rs).and_then(|r| r.split_whitespace().nth(3).and_then(|w| w.parse().ok()))
}

struct Setup {
    _dir: tempfile::TempDir,
    daemon: Daemon,
    vip: SocketAddr,
    a: SocketAddr,
    b: SocketAddr,
}

fn setup(block: u8) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let a = echo_backend(address(block, 10));
    let b = echo_backend(address(block, 11));
    let vip_addr = address(block, 1);
    let port = TcpListener::bind((vip_addr, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let vip = SocketAddr::new(vip_addr.into(), port);
    let config = dir.path().join("keepalived.conf");
    std::fs::write(
        &config,
        format!(
            "virtual_server {} {} {{\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n\
             \x20   real_server {} {} {{\n        weight 2\n    }}\n\
             \x20   real_server {} {} {{\n        weight 3\n    }}\n}}\n",
            vip.ip(),
            vip.port(),
            a.ip(),
            a.port(),
            b.ip(),
            b.port()
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&config, dir.path());
    Setup {
        _dir: dir,
        daemon,
        vip,
        a,
        b,
    }
}

impl Setup {
    fn listing(&self) -> String {
        self.daemon.once_text(&["-n"])
    }

    fn ctl_ok(&self, args: &[&str]) -> String {
        let output = self.daemon.ctl(args);
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(0), "ctl {args:?}: {stderr}");
        stdout
    }
}

#[test]
fn weight_disable_enable_and_restore_change_the_served_table() {
    let s = setup(1);
    let vip = s.vip.to_string();
    let a = s.a.to_string();
    let b = s.b.to_string();
    assert_eq!(weight(&s.listing(), s.a), Some(2));

    let said = s.ctl_ok(&[
        "weight", "-t", &vip, "-r", &a, "-w", "7", "--reason", "canary",
    ]);
    assert!(said.contains(": 2 -> 7 (configured 2)"), "{said}");
    assert_eq!(weight(&s.listing(), s.a), Some(7));

    s.ctl_ok(&[
        "disable",
        "-t",
        &vip,
        "-r",
        &b,
        "--reason",
        "kernel upgrade",
    ]);
    s.ctl_ok(&["disable", "-t", &vip, "-r", &b, "--reason", "disk check"]);
    assert_eq!(
        row(&s.listing(), s.b),
        None,
        "a disabled server leaves the table"
    );
    let partly = s.ctl_ok(&["enable", "-t", &vip, "-r", &b, "--reason", "disk check"]);
    assert!(
        partly.contains("stays disabled: 1 other reason(s)"),
        "{partly}"
    );
    assert_eq!(row(&s.listing(), s.b), None);
    s.ctl_ok(&["enable", "-t", &vip, "-r", &b]);
    assert_eq!(weight(&s.listing(), s.b), Some(3));

    s.ctl_ok(&["restore", "-t", &vip, "-r", &a]);
    assert_eq!(weight(&s.listing(), s.a), Some(2));

    // The daemon logs who did what (SO_PEERCRED: this test runs as
    // some user; the log names it).
    let me = nix::unistd::geteuid().as_raw();
    assert!(
        s.daemon.log_text().contains(&format!("(uid {me}): weight")),
        "{}",
        s.daemon.log_text()
    );
}

#[test]
fn a_drain_waits_for_the_live_connection_then_removes_the_server() {
    let s = setup(2);
    let vip = s.vip.to_string();
    let b = s.b.to_string();
    // Give every new connection to b, and hold one open there.
    s.ctl_ok(&["weight", "-t", &vip, "-r", &s.a.to_string(), "-w", "0"]);
    let mut held = TcpStream::connect_timeout(&s.vip, Duration::from_secs(5)).unwrap();
    held.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    held.write_all(b"ping").unwrap();
    let mut echo = [0u8; 4];
    held.read_exact(&mut echo).unwrap();
    s.daemon.wait_for("one active connection on b", || {
        row(&s.listing(), s.b).is_some_and(|r| r.split_whitespace().nth(4) == Some("1"))
    });

    let drain = s
        .daemon
        .ctl_command(&["drain", "-t", &vip, "-r", &b, "--timeout", "60", "--remove"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    s.daemon.wait_for("weight 0 on the draining server", || {
        weight(&s.listing(), s.b) == Some(0)
    });
    // The live connection still works while draining.
    held.write_all(b"pong").unwrap();
    held.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"pong");
    drop(held);

    let output = drain.wait_with_output().unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("drained: no active connections"),
        "{stdout}"
    );
    assert!(stdout.contains("removed from the table"), "{stdout}");
    assert_eq!(row(&s.listing(), s.b), None);
}

#[test]
fn refused_commands_change_nothing_and_exit_1() {
    let s = setup(3);
    let vip = s.vip.to_string();
    let before = s.listing();
    let unknown = s
        .daemon
        .ctl(&["weight", "-t", &vip, "-r", "127.0.0.99:1", "-w", "1"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown).1.contains("no real server 127.0.0.99:1"),
        "{}",
        text(&unknown).1
    );
    let range = s
        .daemon
        .ctl(&["weight", "-t", &vip, "-r", &s.a.to_string(), "-w", "70000"]);
    assert_eq!(range.status.code(), Some(1));
    assert!(
        text(&range).1.contains("a weight is 0 to 65535"),
        "{}",
        text(&range).1
    );
    let failover = s.daemon.ctl(&["failover", "VI_1"]);
    assert_eq!(failover.status.code(), Some(1));
    assert!(text(&failover).1.contains("VI_1"), "{}", text(&failover).1);
    let not_disabled = s.daemon.ctl(&["enable", "-t", &vip]);
    assert_eq!(not_disabled.status.code(), Some(1));
    assert!(text(&not_disabled).1.contains("it is not disabled"));
    assert_eq!(s.listing(), before, "nothing changed");

    // Reload and zero go through too.
    assert!(s.ctl_ok(&["reload"]).contains("reloaded"));
    assert!(s.ctl_ok(&["zero"]).contains("counters zeroed"));
    assert!(s
        .ctl_ok(&["--json", "zero", "-t", &vip])
        .starts_with(r#"{"outcome":"done""#));
}

/// "Parsed, not acted on" reaches the log of a running director at start
/// and again at each reload, not only `lvstop check`'s output.
#[test]
fn the_daemon_logs_keywords_it_does_not_act_on_at_every_load() {
    let dir = tempfile::tempdir().unwrap();
    let a = echo_backend(address(9, 10));
    let vip = address(9, 1);
    let config = dir.path().join("keepalived.conf");
    let write = |extra: &str| {
        std::fs::write(
            &config,
            format!(
                "global_defs {{\n    lvs_flush\n}}\n\
                 virtual_server {vip} 8080 {{\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n{extra}\
                 \x20   real_server {} {} {{\n        weight 1\n    }}\n}}\n",
                a.ip(),
                a.port()
            ),
        )
        .unwrap();
    };
    write("");
    let daemon = Daemon::start(&config, dir.path());
    let lvs_flush = "parsed, not acted on: 'lvs_flush'";
    daemon.wait_for("the lvs_flush warning at start", || {
        daemon.log_text().contains(lvs_flush)
    });
    write("    ha_suspend\n");
    let reload = daemon.ctl(&["reload"]);
    assert_eq!(reload.status.code(), Some(0), "{}", text(&reload).1);
    daemon.wait_for("the warnings again after the reload", || {
        let log = daemon.log_text();
        log.matches(lvs_flush).count() == 2 && log.contains("parsed, not acted on: 'ha_suspend'")
    });
    let log = daemon.log_text();
    let line = log.lines().find(|l| l.contains(lvs_flush)).unwrap();
    assert!(line.contains("WARN"), "{line}");
}
