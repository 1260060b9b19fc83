#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The demo's surroundings on loopback: the web servers seen by lvstop's
//! own HTTP_GET checker built from the generated configuration, the
//! demo-only "stop / start a real server" actions, and the client load
//! counting answers per real server (pointed straight at web servers:
//! no director in between).

use crate::support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use lvstop::config::load::{load_str, Options};
use lvstop::demo::{DemoOptions, DemoWorld, FailureKind, LoadGenerator, LoadOptions, LoadStats};
use lvstop::health::outcome::{Reason, Verdict};
use lvstop::health::probe::{self, ProbeSpec};
use lvstop::health::target::probe_specs;

/// A free port on 127.0.<subnet>.<last>; each test uses its own subnet.
fn free_addr(subnet: u8, last: u8) -> SocketAddr {
    support::free_addr(Ipv4Addr::new(127, 0, subnet, last))
}

fn options(subnet: u8) -> DemoOptions {
    let mut options = DemoOptions {
        vip: IpAddr::V4(Ipv4Addr::new(127, 0, subnet, 88)),
        port: free_addr(subnet, 88).port(),
        ..DemoOptions::default()
    };
    options.real_servers[0].addr = free_addr(subnet, 82);
    options.real_servers[1].addr = free_addr(subnet, 83);
    options
}

/// The master's HTTP_GET checkers, as the engine would run them.
fn checkers(world: &DemoWorld) -> Vec<ProbeSpec> {
    let text = &world.directors()[0].text;
    let outcome = load_str(Path::new("master.conf"), text, &Options::default());
    assert!(!outcome.has_errors());
    let specs = probe_specs(&outcome.config, None);
    assert_eq!(specs.len(), 2);
    specs
}

async fn verdicts(specs: &[ProbeSpec]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for spec in specs {
        out.push(probe::run(spec).await.verdict);
    }
    out
}

/// Polls `stats` every 50 ms until `done` holds; fails after 30 s.
async fn until(what: &str, stats: impl Fn() -> LoadStats, done: impl Fn(&LoadStats) -> bool) {
    for _ in 0..600 {
        if done(&stats()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never saw {what}: {:#?}", stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_http_get_sees_a_stopped_real_server_refuse_and_come_back() {
    let mut world = DemoWorld::start(options(62)).await.unwrap();
    let specs = checkers(&world);
    assert_eq!(verdicts(&specs).await, [Verdict::Up, Verdict::Up]);

    world.stop_server(0).await.unwrap();
    assert!(!world.servers()[0].is_running());
    let down = Verdict::Down {
        reason: Reason::ConnectionRefused,
    };
    assert_eq!(verdicts(&specs).await, [down, Verdict::Up]);

    world.start_server(0).await.unwrap();
    assert!(world.servers()[0].is_running());
    assert_eq!(verdicts(&specs).await, [Verdict::Up, Verdict::Up]);

    assert!(world.stop_server(2).await.is_err());
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_counts_answers_per_real_server_and_failures_while_one_is_stopped() {
    let mut world = DemoWorld::start(options(63)).await.unwrap();
    let rs1 = world.servers()[0].addr();
    let rs2 = world.servers()[1].addr();
    let shape = LoadOptions {
        rate: 40,
        keepalive_connections: 2,
        keepalive_interval: Duration::from_millis(100),
        keepalive_lifetime: Duration::from_secs(1),
        ..LoadOptions::default()
    };
    let to_rs1 = LoadGenerator::start(rs1, shape.clone());
    let to_rs2 = LoadGenerator::start(rs2, shape);

    until(
        "answers from both and open keep-alive connections",
        || to_rs1.stats(),
        |s| s.total.answers_from("rs1") >= 30 && s.keepalive_open == 2,
    )
    .await;
    until(
        "answers from rs2",
        || to_rs2.stats(),
        |s| s.total.answers_from("rs2") >= 30,
    )
    .await;
    let before = to_rs1.stats();
    assert_eq!(before.total.answers.len(), 1, "{before:#?}");
    assert_eq!(before.total.total_failures(), 0, "{before:#?}");
    assert!(before.recent.answers_from("rs1") > 0);
    assert_eq!(to_rs2.stats().total.answers_from("rs1"), 0);

    // `service httpd stop` on rs1: its clients now fail, refused.
    world.stop_server(0).await.unwrap();
    until(
        "refused requests to the stopped server",
        || to_rs1.stats(),
        |s| {
            s.total
                .failures
                .get(&FailureKind::Refused)
                .copied()
                .unwrap_or(0)
                >= 10
        },
    )
    .await;
    let stopped = to_rs1.stats();

    world.start_server(0).await.unwrap();
    until(
        "answers again after start",
        || to_rs1.stats(),
        |s| s.total.answers_from("rs1") >= stopped.total.answers_from("rs1") + 20,
    )
    .await;
    assert_eq!(to_rs2.stats().total.total_failures(), 0);

    to_rs1.stop().await;
    to_rs2.stop().await;
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worlds_load_aims_at_the_vip_which_nothing_serves_without_directors() {
    let mut world = DemoWorld::start(options(64)).await.unwrap();
    let vip = world.options().virtual_service();
    assert!(!world.load_running());
    assert_eq!(world.load_stats().total.total_answers(), 0);
    world.start_load();
    assert!(world.load_running());
    until(
        "refused requests to the unserved VIP",
        || world.load_stats(),
        |s| {
            s.total
                .failures
                .get(&FailureKind::Refused)
                .copied()
                .unwrap_or(0)
                >= 5
        },
    )
    .await;
    let stats = world.load_stats();
    assert_eq!(stats.target, vip);
    assert_eq!(stats.total.total_answers(), 0);
    world.stop_load().await;
    assert!(!world.load_running());
    world.shutdown().await;
}
