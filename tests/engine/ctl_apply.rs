#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `lvstop ctl apply` against a running daemon (userspace dataplane,
//! loopback): a dry run lists the operations and changes nothing; an apply
//! changes the table, keeps the check state of unchanged real servers and
//! writes the file; a candidate the dataplane refuses part way is rolled
//! back whole; an invalid candidate is refused with its diagnostics; a
//! confirmed apply rolls back unless confirmed, and stays when confirmed.

use crate::support;

use std::net::{SocketAddr, TcpListener};
use std::process::Output;
use std::time::Duration;

use support::daemon::Daemon;
use support::loopback_address as address;

/// A backend that accepts and closes, for TCP_CHECK.
fn backend(addr: std::net::Ipv4Addr) -> SocketAddr {
    support::backends::accept_and_close(addr, Default::default())
}

struct Setup {
    dir: tempfile::TempDir,
    daemon: Daemon,
    vip: SocketAddr,
    a: SocketAddr,
    b: SocketAddr,
}

fn config_text(vip: SocketAddr, servers: &[(SocketAddr, u32)]) -> String {
    let mut text = format!(
        "virtual_server {} {} {{\n    delay_loop 1\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n",
        vip.ip(),
        vip.port()
    );
    for (rs, weight) in servers {
        text.push_str(&format!(
            "    real_server {} {} {{\n        weight {weight}\n        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n",
            rs.ip(),
            rs.port()
        ));
    }
    text.push_str("}\n");
    text
}

fn setup(block: u8) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let a = backend(address(block, 10));
    let b = backend(address(block, 11));
    let vip = support::free_addr(address(block, 1));
    let config = dir.path().join("keepalived.conf");
    std::fs::write(&config, config_text(vip, &[(a, 2), (b, 3)])).unwrap();
    let daemon = Daemon::start(&config, dir.path());
    Setup {
        dir,
        daemon,
        vip,
        a,
        b,
    }
}

impl Setup {
    fn candidate(&self, text: &str) -> String {
        let path = self.dir.path().join("candidate.conf");
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    fn file(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("keepalived.conf")).unwrap()
    }

    fn weight(&self, rs: SocketAddr) -> Option<u32> {
        self.daemon
            .once_text(&["-n"])
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("-> {rs} ")))
            .and_then(|l| l.split_whitespace().nth(3).and_then(|w| w.parse().ok()))
    }

    /// The `since_ms` of `rs`'s checker in `--once --json`.
    fn check_since(&self, rs: SocketAddr) -> Option<u64> {
        let json: serde_json::Value =
            serde_json::from_str(&self.daemon.once_text(&["--json"])).unwrap();
        json["checks"]["snapshot"]["virtual_servers"][0]["real_servers"]
            .as_array()?
            .iter()
            .find(|r| r["address"] == rs.to_string())
            .and_then(|r| r["checkers"][0]["since_ms"].as_u64())
    }
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_dry_run_lists_the_operations_and_an_apply_carries_them_out_keeping_check_state() {
    let s = setup(50);
    s.daemon
        .wait_for("checks to settle", || s.check_since(s.a).is_some());
    std::thread::sleep(Duration::from_millis(1500));
    let since_before = s.check_since(s.a);
    let candidate = s.candidate(&config_text(s.vip, &[(s.a, 2), (s.b, 7)]));

    let output = s.daemon.ctl(&["apply", &candidate, "--dry-run"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!("-e -t {} -r {} -m -w 7", s.vip, s.b)),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 operation(s) planned, nothing applied"),
        "{stdout}"
    );
    assert_eq!(s.weight(s.b), Some(3), "a dry run changes nothing");

    let output = s.daemon.ctl(&["apply", &candidate]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("1 operation(s) applied"), "{stdout}");
    assert_eq!(s.weight(s.b), Some(7));
    assert_eq!(s.weight(s.a), Some(2));
    assert!(s.file().contains("weight 7"), "the file holds what runs");
    assert_eq!(
        s.check_since(s.a),
        since_before,
        "an unchanged real server keeps its check state"
    );
}

#[test]
fn a_refused_operation_rolls_the_whole_apply_back() {
    let s = setup(51);
    let before = s.file();
    // The candidate changes a weight and adds a virtual service on an
    // address another socket holds: the userspace dataplane cannot listen.
    let taken = TcpListener::bind((address(51, 2), 0)).unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let mut candidate_text = config_text(s.vip, &[(s.a, 9), (s.b, 3)]);
    candidate_text.push_str(&config_text(taken_addr, &[(s.a, 1)]));
    let candidate = s.candidate(&candidate_text);
    let output = s.daemon.ctl(&["apply", &candidate]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "refused: {stderr}");
    assert!(stderr.contains("rolled back"), "{stderr}");
    assert_eq!(s.weight(s.a), Some(2), "the weight change was undone");
    let listing = s.daemon.once_text(&["-n"]);
    assert!(!listing.contains(&taken_addr.to_string()), "{listing}");
    assert_eq!(s.file(), before, "the file is untouched");
    drop(taken);
}

#[test]
fn an_invalid_candidate_is_refused_with_its_diagnostics() {
    let s = setup(52);
    let candidate = s.candidate(&format!(
        "virtual_server {} {} {{\n    lb_algo wrr\n    protocol TCP\n    real_server {} {} {{\n        weight many\n    }}\n}}\n",
        s.vip.ip(),
        s.vip.port(),
        s.a.ip(),
        s.a.port()
    ));
    let output = s.daemon.ctl(&["apply", &candidate]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("weight"),
        "the diagnostic says where: {stderr}"
    );
    assert!(stderr.contains("nothing applied"), "{stderr}");
    assert_eq!(s.weight(s.a), Some(2));
}

#[test]
fn a_confirmed_apply_rolls_back_unless_confirmed() {
    let s = setup(53);
    let candidate = s.candidate(&config_text(s.vip, &[(s.a, 5), (s.b, 3)]));
    let output = s
        .daemon
        .ctl(&["apply", &candidate, "--confirm-within", "2"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("lvstop ctl confirm"), "{stdout}");
    assert_eq!(s.weight(s.a), Some(5));
    assert!(
        !s.file().contains("weight 5"),
        "not written before confirmed"
    );
    assert!(
        support::eventually(Duration::from_secs(30), || s.weight(s.a) == Some(2)),
        "never rolled back"
    );
    let output = s.daemon.ctl(&["confirm"]);
    assert_eq!(output.status.code(), Some(1), "nothing waits any more");

    let output = s
        .daemon
        .ctl(&["apply", &candidate, "--confirm-within", "60"]);
    assert_eq!(output.status.code(), Some(0));
    let output = s.daemon.ctl(&["confirm"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("confirmed"), "{stdout}");
    assert_eq!(s.weight(s.a), Some(5));
    assert!(s.file().contains("weight 5"), "written once confirmed");
}
