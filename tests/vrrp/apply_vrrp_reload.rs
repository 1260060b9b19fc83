#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A reload never flaps what it did not change: two directors on an
//! in-memory segment, VI_1 and VI_2 MASTER on A; a reload of A that edits
//! only VI_2 restarts VI_2 alone, while VI_1 records no transition on
//! either director. Removing and adding instances touch only those.
//! VRRPv3 with 50 ms adverts keeps it short; every wait is "until it
//! happens, or fail after seconds", never a timing assertion.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use lvstop::config::load::{load_str, Options};
use lvstop::config::model::Config;
use lvstop::vrrp::driver::{
    MemoryHost, RunnerIo, VrrpEvent, VrrpOptions, VrrpReload, VrrpService, VrrpStatus,
};
use lvstop::vrrp::machine::State;
use lvstop::vrrp::transport::memory::MemorySegment;

const A: &str = "198.51.100.1";
const B: &str = "198.51.100.2";

fn instance(name: &str, vrid: u8, priority: u8) -> String {
    format!(
        "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority {priority}\n  \
         advert_int 0.05\n  virtual_ipaddress {{\n    198.51.100.{vrid}/24\n  }}\n}}\n"
    )
}

fn config(instances: &[(&str, u8, u8)]) -> Config {
    let mut text = "global_defs {\n  vrrp_version 3\n}\n".to_string();
    for (name, vrid, priority) in instances {
        text.push_str(&instance(name, *vrid, *priority));
    }
    let outcome = load_str(Path::new("keepalived.conf"), &text, &Options::default());
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    outcome.config
}

async fn director(
    segment: &MemorySegment,
    address: &str,
    config: &Config,
) -> (VrrpService, MemoryHost) {
    let host = MemoryHost::default();
    let options = VrrpOptions {
        io: RunnerIo::Memory {
            segment: segment.clone(),
            address: address.parse().unwrap(),
            host: host.clone(),
        },
        ..Default::default()
    };
    (VrrpService::start(config, options).await.unwrap(), host)
}

/// Waits (up to 10 s) until `check` holds for the service's status.
async fn until(service: &VrrpService, what: &str, check: impl Fn(&VrrpStatus) -> bool) {
    let mut rx = service.status();
    let wait = rx.wait_for(|s| check(s));
    if tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .is_err()
    {
        panic!("{what} never happened: {:?}", *service.status().borrow());
    }
}

fn state_of(name: &'static str, state: State) -> impl Fn(&VrrpStatus) -> bool {
    move |s| s.instance(name).is_some_and(|i| i.state == state)
}

fn has_vip(host: &MemoryHost, vrid: u8) -> bool {
    let vip: IpAddr = format!("198.51.100.{vrid}").parse().unwrap();
    host.vips().iter().any(|(_, a)| *a == vip)
}

/// `(since, transitions)` of an instance: what a flap would change.
fn history(service: &VrrpService, name: &str) -> (u64, usize) {
    let status = service.status();
    let status = status.borrow();
    let i = status.instance(name).unwrap();
    (i.since_unix_ms, i.transitions.len())
}

fn events_for(rx: &mut tokio::sync::broadcast::Receiver<VrrpEvent>, name: &str) -> usize {
    let mut count = 0;
    while let Ok(event) = rx.try_recv() {
        let VrrpEvent::StateChanged { instance, .. } = event;
        if instance == name {
            count += 1;
        }
    }
    count
}

#[tokio::test]
async fn reloading_one_instance_leaves_the_other_untouched_on_both_directors() {
    let segment = MemorySegment::new();
    let (mut a, host_a) = director(
        &segment,
        A,
        &config(&[("VI_1", 11, 150), ("VI_2", 12, 150)]),
    )
    .await;
    let (mut b, host_b) = director(
        &segment,
        B,
        &config(&[("VI_1", 11, 100), ("VI_2", 12, 100)]),
    )
    .await;
    for name in ["VI_1", "VI_2"] {
        until(&a, "A MASTER", state_of(name, State::Master)).await;
        until(&b, "B BACKUP", state_of(name, State::Backup)).await;
    }
    let a_before = history(&a, "VI_1");
    let b_before = history(&b, "VI_1");
    let mut a_events = a.events();
    let mut b_events = b.events();

    // Only VI_2 changes (a lower priority, still above B's).
    let report = a
        .reload_config(&config(&[("VI_1", 11, 150), ("VI_2", 12, 140)]))
        .await;
    assert_eq!(
        report,
        VrrpReload {
            kept: vec!["VI_1".into()],
            restarted: vec!["VI_2".into()],
            ..VrrpReload::default()
        }
    );
    until(&a, "VI_2 back as MASTER with priority 140", |s| {
        s.instance("VI_2")
            .is_some_and(|i| i.state == State::Master && i.base_priority == 140)
    })
    .await;
    // B saw VI_2's priority 0 and took over until A came back.
    until(
        &b,
        "B's VI_2 back to BACKUP",
        state_of("VI_2", State::Backup),
    )
    .await;
    assert!(events_for(&mut b_events, "VI_2") >= 1, "VI_2 did restart");

    assert_eq!(history(&a, "VI_1"), a_before, "A's VI_1 flapped");
    assert_eq!(history(&b, "VI_1"), b_before, "B's VI_1 flapped");
    assert_eq!(events_for(&mut a_events, "VI_1"), 0);
    assert_eq!(events_for(&mut b_events, "VI_1"), 0);
    assert!(has_vip(&host_a, 11) && !has_vip(&host_b, 11));

    // Removing VI_2 stops it with priority 0: B takes it at once; VI_1
    // is still untouched. Adding VI_3 starts only VI_3.
    let report = a
        .reload_config(&config(&[("VI_1", 11, 150), ("VI_3", 13, 150)]))
        .await;
    assert_eq!(report.kept, ["VI_1"]);
    assert_eq!(report.removed, ["VI_2"]);
    assert_eq!(report.added, ["VI_3"]);
    until(&b, "B takes VI_2", state_of("VI_2", State::Master)).await;
    until(&a, "A's VI_3 MASTER", state_of("VI_3", State::Master)).await;
    assert!(!has_vip(&host_a, 12), "the removed instance left its VIP");
    assert!(a.status().borrow().instance("VI_2").is_none());
    assert_eq!(history(&a, "VI_1"), a_before, "A's VI_1 flapped");
    assert_eq!(history(&b, "VI_1"), b_before, "B's VI_1 flapped");

    a.stop().await;
    b.stop().await;
    assert!(!has_vip(&host_a, 11) && !has_vip(&host_a, 13));
}

#[tokio::test]
async fn failover_reaches_the_instance_in_whichever_runner_holds_it() {
    let segment = MemorySegment::new();
    let (mut a, _) = director(
        &segment,
        A,
        &config(&[("VI_1", 21, 150), ("VI_2", 22, 150)]),
    )
    .await;
    let (mut b, _) = director(
        &segment,
        B,
        &config(&[("VI_1", 21, 100), ("VI_2", 22, 100)]),
    )
    .await;
    until(&a, "A's VI_2 MASTER", state_of("VI_2", State::Master)).await;
    until(&b, "B's VI_2 BACKUP", state_of("VI_2", State::Backup)).await;
    a.runner()
        .unwrap()
        .force_failover("VI_2", Duration::from_secs(30))
        .await
        .unwrap();
    until(&b, "B takes VI_2", state_of("VI_2", State::Master)).await;
    assert_eq!(
        a.force_failover("VI_9", Duration::ZERO)
            .await
            .unwrap_err()
            .to_string(),
        "no vrrp_instance named 'VI_9'"
    );
    a.stop().await;
    b.stop().await;
}

/// The operator's priority (`failover --priority`) moves the VIP by
/// election, holds across a reload that restarts the instance, goes with
/// the instance when a reload removes it, and "configured" clears it.
#[tokio::test]
async fn operator_priority_moves_the_vip_and_holds_across_a_restarting_reload() {
    let segment = MemorySegment::new();
    let (mut a, _) = director(&segment, A, &config(&[("VI_1", 31, 150)])).await;
    let (mut b, _) = director(&segment, B, &config(&[("VI_1", 31, 100)])).await;
    until(&a, "A's VI_1 MASTER", state_of("VI_1", State::Master)).await;
    until(&b, "B's VI_1 BACKUP", state_of("VI_1", State::Backup)).await;

    a.set_priority("VI_1", Some(50)).await.unwrap();
    until(
        &b,
        "B preempts the lowered A",
        state_of("VI_1", State::Master),
    )
    .await;
    until(&a, "A BACKUP at 50", |s| {
        s.instance("VI_1").is_some_and(|i| {
            i.state == State::Backup
                && i.operator_priority == Some(50)
                && i.effective_priority == 50
        })
    })
    .await;

    // VI_1 edited (advert sequence restarts): the operator's 50 carries over.
    let edited = config(&[("VI_1", 31, 160)]);
    let report = a.reload_config(&edited).await;
    assert_eq!(report.restarted, ["VI_1"], "{report:?}");
    until(&a, "the restarted VI_1 at the operator's 50", |s| {
        s.instance("VI_1")
            .is_some_and(|i| i.operator_priority == Some(50) && i.base_priority == 50)
    })
    .await;
    assert!(b
        .status()
        .borrow()
        .instance("VI_1")
        .is_some_and(|i| i.state == State::Master));

    a.set_priority("VI_1", None).await.unwrap();
    until(
        &a,
        "A preempts back at 160",
        state_of("VI_1", State::Master),
    )
    .await;
    assert!(a
        .status()
        .borrow()
        .instance("VI_1")
        .is_some_and(|i| i.operator_priority.is_none() && i.effective_priority == 160));

    // Removed and added again: the instance starts at its configured priority.
    a.set_priority("VI_1", Some(40)).await.unwrap();
    a.reload_config(&config(&[("VI_2", 32, 150)])).await;
    a.reload_config(&edited).await;
    until(&a, "VI_1 back at its configured 160", |s| {
        s.instance("VI_1")
            .is_some_and(|i| i.operator_priority.is_none() && i.base_priority == 160)
    })
    .await;
    assert_eq!(
        a.set_priority("VI_9", Some(50))
            .await
            .unwrap_err()
            .to_string(),
        "no vrrp_instance named 'VI_9'"
    );
    a.stop().await;
    b.stop().await;
}
