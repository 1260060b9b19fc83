#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The demo's two directors — two real engines in this process, their
//! VRRP on one in-memory segment, each with a userspace dataplane on
//! loopback — run the reference deployment's three checks: the load is answered by both
//! real servers through the VIP; stopping the master moves the VIP to the
//! backup and the load keeps being answered; a stopped real server leaves
//! the table with a reason and comes back.

use crate::support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use lvstop::demo::directors::DemoDirectors;
use lvstop::demo::{DemoOptions, DemoWorld, LoadOptions};
use lvstop::engine::handle::Handle;
use lvstop::engine::snapshot::Snapshot;
use lvstop::vrrp::machine::State;
use support::until;

fn free_addr(last: u8) -> SocketAddr {
    support::free_addr(Ipv4Addr::new(127, 0, 66, last))
}

fn role(snapshot: &Snapshot) -> Option<State> {
    snapshot
        .vrrp
        .instances
        .iter()
        .find(|i| i.name == "VI_1")
        .map(|i| i.state)
}

fn serves(snapshot: &Snapshot, vip: SocketAddr) -> bool {
    snapshot
        .table
        .services
        .iter()
        .any(|s| s.key().socket_addr() == Some(vip))
}

async fn snapshot(handle: &Handle) -> std::sync::Arc<Snapshot> {
    handle.snapshot().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_three_checks_pass_on_two_demo_directors() {
    let mut options = DemoOptions {
        vip: IpAddr::V4(Ipv4Addr::new(127, 0, 66, 88)),
        port: free_addr(88).port(),
        load: LoadOptions {
            rate: 40,
            ..LoadOptions::default()
        },
        ..DemoOptions::default()
    };
    options.real_servers[0].addr = free_addr(82);
    options.real_servers[1].addr = free_addr(83);
    let vip = options.virtual_service();
    let mut world = DemoWorld::start(options).await.unwrap();
    let mut directors = DemoDirectors::start(world.directors()).await.unwrap();
    let master = directors.handle(0).unwrap();
    let backup = directors.handle(1).unwrap();

    until("the master serving the VIP", async || {
        let s = snapshot(&master).await;
        role(&s) == Some(State::Master) && serves(&s, vip)
    })
    .await;
    until("the backup in BACKUP, not serving", async || {
        let s = snapshot(&backup).await;
        role(&s) == Some(State::Backup) && !serves(&s, vip)
    })
    .await;

    // Check 1: both real servers answer through the VIP.
    world.start_load();
    until("answers from both real servers", async || {
        let stats = world.load_stats();
        world
            .servers()
            .iter()
            .all(|s| stats.total.answers_from(s.name()) > 0)
    })
    .await;

    // Check 2: the master goes away; the backup takes the VIP over and
    // the load is answered again.
    directors.stop_director(0).await;
    until("the backup becoming MASTER and serving", async || {
        let s = snapshot(&backup).await;
        role(&s) == Some(State::Master) && serves(&s, vip)
    })
    .await;
    let answered = world.load_stats().total.total_answers();
    until("answers through the new master", async || {
        world.load_stats().total.total_answers() > answered + 20
    })
    .await;
    let events = backup.events_since(0).0;
    assert!(
        events
            .iter()
            .any(|e| e.message == "(VI_1) Entering MASTER STATE"),
        "{events:?}"
    );

    // Check 3: a stopped web server leaves the table with a reason, and
    // comes back when started.
    let stopped = world.servers()[0].addr();
    world.stop_server(0).await.unwrap();
    until("the stopped server down in the checks", async || {
        let s = snapshot(&backup).await;
        let dests: Vec<_> = s.table.services.iter().flat_map(|s| &s.dests).collect();
        !dests.iter().any(|d| d.key().socket_addr() == stopped)
            && s.checks
                .snapshot
                .virtual_servers
                .iter()
                .flat_map(|v| &v.real_servers)
                .any(|r| r.address == stopped.to_string() && !r.up)
    })
    .await;
    let down = |backup: &Handle| {
        backup
            .events_since(0)
            .0
            .into_iter()
            .find(|e| e.message.contains(&format!("{stopped} in")) && e.message.contains("down"))
            .map(|e| e.message)
    };
    until("the check event", async || down(&backup).is_some()).await;
    let reason = down(&backup);
    assert!(
        reason.as_deref().is_some_and(|m| m.contains("(HTTP_GET: ")),
        "the event names the checker and why: {reason:?}"
    );
    world.start_server(0).await.unwrap();
    until("the server back in the table", async || {
        let s = snapshot(&backup).await;
        s.table
            .services
            .iter()
            .flat_map(|s| &s.dests)
            .any(|d| d.key().socket_addr() == stopped)
    })
    .await;

    // The old master comes back: with its higher priority it preempts.
    directors.start_director(0).await.unwrap();
    let master = directors.handle(0).unwrap();
    until("the first director MASTER again", async || {
        let s = snapshot(&master).await;
        role(&s) == Some(State::Master) && serves(&s, vip)
    })
    .await;
    until("the second director back to BACKUP", async || {
        let s = snapshot(&backup).await;
        role(&s) == Some(State::Backup) && !serves(&s, vip)
    })
    .await;

    world.stop_load().await;
    directors.shutdown().await;
    world.shutdown().await;
}
