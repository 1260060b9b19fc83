#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `lvstop --once` over several directors: each printed in turn under a
//! `==> director NAME (SOCKET) <==` heading, an unreachable one said so
//! (and the exit status 1) without hiding the others; `--json` an array
//! with one object per director. `--director` that is not NAME=SOCKET is
//! refused with the value quoted.

use std::process::Command;

use crate::support;

use support::daemon::{Daemon, LVSTOP};

/// A config with one virtual service on `vip`:8080 (an address of this
/// test process's own loopback block, one per test).
fn config(dir: &std::path::Path, vip: std::net::Ipv4Addr) -> std::path::PathBuf {
    let path = dir.join("keepalived.conf");
    std::fs::write(
        &path,
        format!(
            "virtual_server {vip} 8080 {{\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
             \x20   real_server 127.0.0.1 8080 {{\n        weight 1\n    }}\n}}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn once_prints_each_director_in_turn_and_says_which_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let vip = support::loopback_address(71, 88);
    let daemon = Daemon::start(&config(dir.path(), vip), dir.path());
    let absent = dir.path().join("absent.sock");
    let directors = [
        format!("--director=lb1={}", daemon.socket.display()),
        format!("--director=lb2={}", absent.display()),
    ];
    let output = Command::new(LVSTOP)
        .args(["--once", "-n"])
        .args(&directors)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let first = text.find("==> director lb1 (").expect(&text);
    let second = text.find("==> director lb2 (").expect(&text);
    assert!(first < second, "{text}");
    assert!(
        text[first..second].contains(&format!("TCP  {vip}:8080 rr")),
        "{text}"
    );
    assert!(text[second..].contains("unreachable: "), "{text}");

    let output = Command::new(LVSTOP)
        .args(["--once", "--json"])
        .args(&directors)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let list = json.as_array().expect("an array");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["director"], "lb1");
    assert!(list[0]["table"]["services"].is_array(), "{json}");
    assert_eq!(list[1]["director"], "lb2");
    assert!(list[1]["error"].is_string(), "{json}");
}

#[test]
fn a_director_that_is_not_name_equals_socket_is_refused() {
    let output = Command::new(LVSTOP)
        .args(["--once", "--director", "lb1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("'lb1' is not NAME=SOCKET"), "{stderr}");
}

#[test]
fn the_users_config_file_lists_directors_unless_a_source_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let vip = support::loopback_address(71, 89);
    let daemon = Daemon::start(&config(dir.path(), vip), dir.path());
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join("lvstop");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        format!(
            "[[directors]]\nname = \"from-file\"\nsocket = \"{}\"\n",
            daemon.socket.display()
        ),
    )
    .unwrap();
    let once = |extra: &[&str]| {
        let output = Command::new(LVSTOP)
            .args(["--once", "-n"])
            .args(extra)
            .env("XDG_CONFIG_HOME", home.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let text = once(&[]);
    assert!(text.starts_with("==> director from-file ("), "{text}");
    assert!(text.contains(&format!("TCP  {vip}:8080 rr")), "{text}");
    // --source daemon: the one daemon on --socket, as without the file.
    let socket = daemon.socket.display().to_string();
    let text = once(&["--source", "daemon", "--socket", &socket]);
    assert!(!text.contains("==> director"), "{text}");
    assert!(text.contains(&format!("TCP  {vip}:8080 rr")), "{text}");
}
