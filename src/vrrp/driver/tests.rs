//! Two runners on one in-memory segment: election, crash (handle dropped),
//! clean stop (priority 0), forced failover, and the status they publish.
//! Real time with VRRPv3 and a 50 ms advert interval keeps each test
//! short; every wait is "until it happens, or fail after seconds", never
//! a timing assertion.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::load::{load_str, Options};
use crate::vrrp::machine::State;

const A: &str = "198.51.100.1";
const B: &str = "198.51.100.2";
const VIP: &str = "198.51.100.100";

fn config(priority: u8, extra: &str) -> Config {
    let text = format!(
        "global_defs {{\n  vrrp_version 3\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  \
         advert_int 0.05\n  {extra}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    );
    let outcome = load_str(Path::new("test.conf"), &text, &Options::default());
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    outcome.config
}

async fn start(
    segment: &MemorySegment,
    address: &str,
    config: &Config,
) -> (VrrpRunnerHandle, MemoryHost) {
    let host = MemoryHost::default();
    let options = VrrpOptions {
        io: RunnerIo::Memory {
            segment: segment.clone(),
            address: address.parse().unwrap(),
            host: host.clone(),
        },
        ..Default::default()
    };
    (VrrpRunner::start(config, options).await.unwrap(), host)
}

/// Waits (up to 10 s) until `instance` of `runner` is in `state`.
async fn reaches(runner: &VrrpRunnerHandle, state: State) -> VrrpStatus {
    let mut rx = runner.snapshot();
    let found = {
        let wait = rx.wait_for(|s| s.instance("VI_1").is_some_and(|i| i.state == state));
        match tokio::time::timeout(Duration::from_secs(10), wait).await {
            Ok(Ok(status)) => Some(status.clone()),
            _ => None,
        }
    };
    found.unwrap_or_else(|| panic!("VI_1 never reached {state:?}: {:?}", *rx.borrow()))
}

/// Polls `check` every 10 ms for up to 10 s.
async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..1000 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

fn has_vip(host: &MemoryHost) -> bool {
    let vip: IpAddr = VIP.parse().unwrap();
    host.vips()
        .iter()
        .any(|(ifname, a)| *a == vip && ifname == "eth0")
}

#[tokio::test]
async fn higher_priority_becomes_master_and_holds_the_vip_alone() {
    let segment = MemorySegment::new();
    let (a, host_a) = start(&segment, A, &config(150, "")).await;
    let (b, host_b) = start(&segment, B, &config(100, "")).await;
    let status = reaches(&a, State::Master).await;
    let backup = reaches(&b, State::Backup).await;
    assert!(has_vip(&host_a));
    assert!(!has_vip(&host_b));
    assert!(
        eventually(|| host_a.announcements() >= 5).await,
        "the new master sent {} gratuitous ARPs, keepalived sends 5",
        host_a.announcements()
    );
    let master = status.instance("VI_1").unwrap();
    assert_eq!(master.vips_installed, vec![VIP.parse::<IpAddr>().unwrap()]);
    assert!(master.transitions.iter().any(|t| t.to == State::Master));
    // The backup learns who the master is from its adverts.
    let mut rx = b.snapshot();
    let learnt = rx.wait_for(|s| {
        s.instance("VI_1").is_some_and(|i| {
            i.master_address == Some(A.parse().unwrap()) && i.stats["advert_rcvd"] > 0
        })
    });
    tokio::time::timeout(Duration::from_secs(10), learnt)
        .await
        .expect("the backup never saw the master's adverts")
        .unwrap();
    assert_eq!(backup.instance("VI_1").unwrap().effective_priority, 100);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn virtual_routes_and_rules_are_installed_only_on_the_master() {
    let extra = "virtual_routes {\n    198.51.100.176/28 via 198.51.100.3\n  }\n  \
                 virtual_rules {\n    to 198.51.100.208/28 table 201 preference 301\n  }";
    let segment = MemorySegment::new();
    let (a, host_a) = start(&segment, A, &config(150, extra)).await;
    let (b, host_b) = start(&segment, B, &config(100, extra)).await;
    reaches(&a, State::Master).await;
    reaches(&b, State::Backup).await;
    let (routes, rules) = host_a.routes_and_rules();
    assert_eq!(routes, ["198.51.100.176/28 via 198.51.100.3"]);
    assert_eq!(rules, ["301: from all to 198.51.100.208/28 lookup 201"]);
    assert_eq!(host_b.routes_and_rules(), (vec![], vec![]));
    a.shutdown().await;
    assert_eq!(host_a.routes_and_rules(), (vec![], vec![]));
    reaches(&b, State::Master).await;
    assert!(eventually(|| host_b.routes_and_rules().0.len() == 1).await);
    b.shutdown().await;
    assert_eq!(host_b.routes_and_rules(), (vec![], vec![]));
}

#[tokio::test]
async fn a_crashed_master_loses_the_vip_to_the_backup() {
    let segment = MemorySegment::new();
    let (a, host_a) = start(&segment, A, &config(150, "")).await;
    let (b, host_b) = start(&segment, B, &config(100, "")).await;
    reaches(&a, State::Master).await;
    reaches(&b, State::Backup).await;
    drop(a);
    reaches(&b, State::Master).await;
    assert!(has_vip(&host_b));
    // A crash removes nothing: the dead master's VIP is still there.
    assert!(has_vip(&host_a));
    b.shutdown().await;
}

#[tokio::test]
async fn a_clean_stop_sends_priority_zero_and_releases_the_vip() {
    let segment = MemorySegment::new();
    let (a, host_a) = start(&segment, A, &config(150, "")).await;
    let (b, host_b) = start(&segment, B, &config(100, "")).await;
    reaches(&a, State::Master).await;
    reaches(&b, State::Backup).await;
    let mut events = b.events();
    a.shutdown().await;
    assert!(!has_vip(&host_a), "shutdown left the VIP behind");
    let status = reaches(&b, State::Master).await;
    assert!(has_vip(&host_b));
    assert!(status.instance("VI_1").unwrap().stats["pri_zero_rcvd"] >= 1);
    let event = events.recv().await.unwrap();
    assert_eq!(
        event,
        VrrpEvent::StateChanged {
            instance: "VI_1".into(),
            transition: match &event {
                VrrpEvent::StateChanged { transition, .. } => Transition {
                    from: State::Backup,
                    to: State::Master,
                    at_unix_ms: transition.at_unix_ms,
                },
            },
        }
    );
    b.shutdown().await;
}

#[tokio::test]
async fn the_returning_master_preempts_and_the_backup_gives_the_vip_back() {
    let segment = MemorySegment::new();
    let (b, host_b) = start(&segment, B, &config(100, "")).await;
    reaches(&b, State::Master).await;
    let (a, host_a) = start(&segment, A, &config(150, "")).await;
    reaches(&a, State::Master).await;
    reaches(&b, State::Backup).await;
    assert!(has_vip(&host_a));
    assert!(!has_vip(&host_b));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn forced_failover_hands_the_vip_over_and_unknown_names_are_refused() {
    let segment = MemorySegment::new();
    let (a, host_a) = start(&segment, A, &config(150, "")).await;
    let (b, host_b) = start(&segment, B, &config(100, "")).await;
    reaches(&a, State::Master).await;
    reaches(&b, State::Backup).await;
    a.force_failover("VI_1", Duration::from_secs(30))
        .await
        .unwrap();
    reaches(&b, State::Master).await;
    reaches(&a, State::Backup).await;
    assert!(has_vip(&host_b));
    assert!(!has_vip(&host_a));
    let err = a.force_failover("VI_9", Duration::ZERO).await.unwrap_err();
    assert_eq!(err.to_string(), "no vrrp_instance named 'VI_9'");
    a.shutdown().await;
    b.shutdown().await;
}

fn v2_authenticated(priority: u8, auth_type: &str, pass: &str) -> Config {
    let text = format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  \
         advert_int 1\n  authentication {{\n    auth_type {auth_type}\n    auth_pass {pass}\n  }}\n  \
         virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n"
    );
    load_str(Path::new("t.conf"), &text, &Options::default()).config
}

#[tokio::test]
async fn mismatched_passwords_are_counted_and_both_sides_stay_master() {
    for auth_type in ["PASS", "AH"] {
        let segment = MemorySegment::new();
        let (a, _) = start(&segment, A, &v2_authenticated(150, auth_type, "secret1")).await;
        let (b, _) = start(&segment, B, &v2_authenticated(100, auth_type, "secret2")).await;
        reaches(&a, State::Master).await;
        let mut rx = b.snapshot();
        let counted = rx.wait_for(|s| {
            s.instance("VI_1")
                .is_some_and(|i| i.state == State::Master && i.stats["auth_failure"] > 0)
        });
        tokio::time::timeout(Duration::from_secs(10), counted)
            .await
            .unwrap_or_else(|_| panic!("{auth_type}: the backup never counted an auth failure"))
            .unwrap();
        a.shutdown().await;
        b.shutdown().await;
    }
}

#[tokio::test]
async fn ah_peers_with_one_password_elect_one_master() {
    let segment = MemorySegment::new();
    let (a, host_a) = start(&segment, A, &v2_authenticated(150, "AH", "secret1")).await;
    let (b, host_b) = start(&segment, B, &v2_authenticated(100, "AH", "secret1")).await;
    reaches(&a, State::Master).await;
    let mut rx = b.snapshot();
    let heard = rx.wait_for(|s| {
        s.instance("VI_1")
            .is_some_and(|i| i.state == State::Backup && i.stats["advert_rcvd"] >= 2)
    });
    tokio::time::timeout(Duration::from_secs(10), heard)
        .await
        .expect("the backup never accepted the master's AH adverts")
        .unwrap();
    let status = b.snapshot().borrow().clone();
    let vi = status.instance("VI_1").unwrap();
    assert_eq!(vi.stats["auth_failure"], 0, "{vi:?}");
    assert!(has_vip(&host_a));
    assert!(!has_vip(&host_b));
    a.shutdown().await;
    b.shutdown().await;
}

#[test]
fn vrrp_changes_are_told_apart_from_unrelated_edits() {
    let base = config(100, "");
    let moved = {
        let text = "# a comment moves every line\n".to_string();
        let mut c = config(100, "");
        let again = load_str(Path::new("x.conf"), &text, &Options::default()).config;
        c.lvs = again.lvs;
        c
    };
    assert!(!vrrp_changed(&base, &moved));
    assert!(vrrp_changed(&base, &config(101, "")));
}

#[tokio::test]
async fn reload_restarts_vrrp_only_when_its_configuration_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keepalived.conf");
    let text = |priority: u8, comment: &str| {
        format!(
            "{comment}global_defs {{\n  vrrp_version 3\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  \
             advert_int 0.05\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
        )
    };
    std::fs::write(&path, text(100, "")).unwrap();
    let config = load_str(&path, &text(100, ""), &Options::default()).config;
    let host = MemoryHost::default();
    let options = VrrpOptions {
        io: RunnerIo::Memory {
            segment: MemorySegment::new(),
            address: A.parse().unwrap(),
            host: host.clone(),
        },
        ..Default::default()
    };
    let mut service = VrrpService::start(&config, options).await.unwrap();
    let mut status = service.status();
    let master = status.wait_for(|s| s.instance("VI_1").is_some_and(|i| i.state == State::Master));
    tokio::time::timeout(Duration::from_secs(10), master)
        .await
        .unwrap()
        .unwrap();
    let since = status.borrow().instance("VI_1").unwrap().since_unix_ms;

    // A comment moves every line: nothing VRRP changed, nothing restarts.
    std::fs::write(&path, text(100, "# moved\n")).unwrap();
    service.reload(&path).await;
    let now = status.borrow().instance("VI_1").unwrap().clone();
    assert_eq!((now.state, now.since_unix_ms), (State::Master, since));
    assert!(has_vip(&host));

    // A new priority restarts VRRP on the new file.
    std::fs::write(&path, text(120, "")).unwrap();
    service.reload(&path).await;
    let restarted = status.wait_for(|s| {
        s.instance("VI_1")
            .is_some_and(|i| i.base_priority == 120 && i.state == State::Master)
    });
    tokio::time::timeout(Duration::from_secs(10), restarted)
        .await
        .unwrap()
        .unwrap();
    service.stop().await;
    assert!(!has_vip(&host), "stop left the VIP behind");
}

#[tokio::test]
async fn notify_scripts_run_in_order_with_keepalived_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("notified");
    let script = dir.path().join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let extra = format!(
        "notify_master \"{0} master\"\n  notify \"{0}\"",
        script.display()
    );
    let segment = MemorySegment::new();
    let (a, _) = start(&segment, A, &config(150, &extra)).await;
    reaches(&a, State::Master).await;
    a.shutdown().await;
    let lines = std::fs::read_to_string(&out).unwrap_or_default();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(
        lines,
        [
            "INSTANCE VI_1 BACKUP 150",
            "master",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 STOP 150",
        ],
        "notify runs, in order"
    );
}
