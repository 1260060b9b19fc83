#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Never a second director by accident (network namespaces, the real
//! keepalived): on a host where keepalived runs, `lvstop daemon` and
//! `lvstop --engine` refuse with keepalived's pid and the ways out, and
//! plain `lvstop` observes it (the header names keepalived and its pid);
//! a second lvstop engine beside a first is refused with the first's pid;
//! `--allow-other-speaker` starts anyway, saying so.

use crate::support;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use support::daemon::LVSTOP;
use support::netns::Netns;
use support::tmux::Tmux;

/// One VRRP instance on the host's link to its peer namespace.
fn vrrp_config(router_id: &str, interface: &str) -> String {
    format!(
        "global_defs {{\n    router_id {router_id}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface {interface}\n    virtual_router_id 51\n    \
         priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        198.51.100.88/32\n    }}\n}}\n"
    )
}

/// A host namespace linked to a silent peer; returns the host, the peer
/// and the host's interface.
fn host() -> (Netns, Netns, String) {
    let ns = Netns::new(&support::unique_name("lvssp"));
    let peer = Netns::new(&support::unique_name("lvspp"));
    let (interface, _) = support::netns::link(&ns, "198.51.100.80/24", &peer, "198.51.100.81/24");
    (ns, peer, interface)
}

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lvstop_in(ns: &Netns, args: &[&str], dir: &Path) -> Output {
    Command::new("ip")
        .args(["netns", "exec", &ns.name, LVSTOP])
        .args(args)
        .arg("--socket")
        .arg(dir.join("refused.sock"))
        .env("XDG_STATE_HOME", dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Wait until keepalived's VRRP child is up (it forks after start).
fn wait_for_keepalived(dir: &Path) {
    assert!(
        support::eventually(Duration::from_secs(20), || dir.join("v.pid").exists()),
        "keepalived never started"
    );
}

#[test]
fn engines_refuse_to_start_beside_keepalived_and_the_console_observes_it() {
    let Some(_group) =
        support::privileged_test(module_path!(), "engines_refuse_to_start_beside_keepalived")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ns, _peer, interface) = host();
    let keepalived = Reaped(support::keepalived::spawn(
        &ns,
        &vrrp_config("KEEPALIVED", &interface),
        dir.path(),
    ));
    wait_for_keepalived(dir.path());
    let pid = keepalived.0.id();
    let config = dir.path().join("lvstop.conf");
    std::fs::write(&config, vrrp_config("LVSTOP", &interface)).unwrap();
    let config = config.to_str().unwrap();

    let daemon = lvstop_in(
        &ns,
        &["daemon", "--dataplane", "userspace", "-f", config],
        dir.path(),
    );
    assert_eq!(daemon.status.code(), Some(1), "{}", text(&daemon));
    let said = text(&daemon);
    assert!(said.contains(&format!("keepalived (pid {pid}")), "{said}");
    assert!(said.contains("--allow-other-speaker"), "{said}");
    assert!(!dir.path().join("refused.sock").exists());

    let engine = lvstop_in(
        &ns,
        &["--engine", "--dataplane", "userspace", "-f", config],
        dir.path(),
    );
    assert_eq!(engine.status.code(), Some(1), "{}", text(&engine));
    assert!(
        text(&engine).contains(&format!("keepalived (pid {pid}")),
        "{}",
        text(&engine)
    );

    // The default source observes keepalived instead.
    let Some(tmux) = Tmux::start(&format!(
        "ip netns exec {} {LVSTOP} --socket {}/none.sock -f {config}",
        ns.name,
        dir.path().display()
    )) else {
        return;
    };
    let screen = tmux.until("the observer naming keepalived", 30, |s| {
        s.contains(&format!("observing keepalived (pid {pid})"))
    });
    assert!(!screen.contains("embedded"), "{screen}");
    // The VRRP screen: keepalived's own view of VI_1 and its adverts as
    // heard on the wire, sent by this host.
    tmux.keys(&["2"]);
    let screen = tmux.until("keepalived's VI_1 as MASTER, and its adverts", 30, |s| {
        s.lines()
            .any(|l| l.contains("VI_1") && l.contains("MASTER"))
            && s.contains("vrid 51 v2 VI_1 master")
            && s.contains("198.51.100.80 prio 100 (here)")
    });
    println!("{screen}");
    tmux.keys(&["q"]);
    tmux.until("lvstop to exit", 10, |s| s.contains("EXITED=0"));
    assert!(
        keepalived_still_runs(&keepalived),
        "keepalived stopped while lvstop observed it"
    );
}

fn keepalived_still_runs(keepalived: &Reaped) -> bool {
    Path::new(&format!("/proc/{}", keepalived.0.id())).exists()
}

#[test]
fn a_second_lvstop_engine_is_refused_and_the_override_says_what_it_does() {
    let Some(_group) =
        support::privileged_test(module_path!(), "a_second_lvstop_engine_is_refused")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ns, _peer, interface) = host();
    let config = dir.path().join("lvstop.conf");
    std::fs::write(&config, vrrp_config("FIRST", &interface)).unwrap();
    let socket = dir.path().join("first.sock");
    let first = Reaped(
        Command::new("ip")
            .args(["netns", "exec", &ns.name, LVSTOP, "daemon"])
            .args(["--dataplane", "userspace", "-f"])
            .arg(&config)
            .arg("--socket")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(
        support::eventually(Duration::from_secs(20), || socket.exists()),
        "the first daemon never started"
    );
    let config = config.to_str().unwrap();
    let second = lvstop_in(
        &ns,
        &["daemon", "--dataplane", "userspace", "-f", config],
        dir.path(),
    );
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(
        text(&second).contains(&format!("another lvstop engine (pid {})", first.0.id())),
        "{}",
        text(&second)
    );

    // Overridden, it starts and says so; stop it once it is past the guard.
    let log = dir.path().join("forced.log");
    let mut forced = Reaped(
        Command::new("ip")
            .args(["netns", "exec", &ns.name, LVSTOP, "daemon"])
            .args(["--dataplane", "userspace", "--allow-other-speaker", "-f"])
            .arg(config)
            .arg("--socket")
            .arg(dir.path().join("forced.sock"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let started = support::eventually(Duration::from_secs(20), || {
        assert!(forced.0.try_wait().unwrap().is_none(), "it exited");
        dir.path().join("forced.sock").exists()
    });
    assert!(
        started,
        "the overriding daemon never started: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        said.contains("starting anyway (--allow-other-speaker)"),
        "{said}"
    );
}
