#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The demo's load through lvstop's userspace dataplane, programmed by
//! hand with the service the demo configuration describes (no engine, no
//! VRRP): the reference deployment's first check (answers from both real servers), and
//! the shape the console relies on — keep-alive clients hold ActiveConn
//! above zero, and after a drain (weight 0) the drained server's
//! ActiveConn falls to zero without a single failed request.

use crate::support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use lvstop::dataplane::userspace::{Options, UserspaceDataplane};
use lvstop::dataplane::{Dataplane, Operation};
use lvstop::demo::{DemoOptions, DemoWorld, LoadOptions};
use lvstop::ipvs::model::{DestConfig, DestKey, Forward, ServiceConfig, ServiceKey};
use support::until;

fn free_addr(last: u8) -> SocketAddr {
    support::free_addr(Ipv4Addr::new(127, 0, 65, last))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_spreads_over_both_servers_and_a_drain_empties_one_without_failures() {
    let mut options = DemoOptions {
        vip: IpAddr::V4(Ipv4Addr::new(127, 0, 65, 88)),
        port: free_addr(88).port(),
        load: LoadOptions {
            rate: 30,
            keepalive_connections: 4,
            keepalive_interval: Duration::from_millis(200),
            keepalive_lifetime: Duration::from_secs(2),
            ..LoadOptions::default()
        },
        ..DemoOptions::default()
    };
    options.real_servers[0].addr = free_addr(82);
    options.real_servers[1].addr = free_addr(83);
    let (rs1, rs2) = (options.real_servers[0].addr, options.real_servers[1].addr);
    let mut world = DemoWorld::start(options.clone()).await.unwrap();

    // What the engine programs from the demo configuration.
    let dataplane = UserspaceDataplane::start(Options::default()).unwrap();
    let key = ServiceKey::tcp(options.virtual_service());
    let mut ops = vec![Operation::AddService(ServiceConfig::new(
        key,
        &options.scheduler,
    ))];
    for rs in &options.real_servers {
        ops.push(Operation::AddDest {
            service: key,
            dest: DestConfig::new(rs.addr, Forward::Masq, rs.weight as i32),
        });
    }
    dataplane.apply(&ops).await.unwrap();
    let active = async |addr: SocketAddr| {
        let table = dataplane.snapshot().await.unwrap();
        table
            .service(key)
            .unwrap()
            .dest(DestKey::new(addr))
            .unwrap()
            .active
    };

    world.start_load();
    until("answers from both real servers", async || {
        let recent = world.load_stats().recent;
        recent.answers_from("rs1") >= 20 && recent.answers_from("rs2") >= 20
    })
    .await;
    until("keep-alive connections on rs1", async || {
        active(rs1).await > 0
    })
    .await;

    // Drain rs1: no new connections; the keep-alive ones end their
    // lifetime and come back on rs2.
    dataplane
        .apply(&[Operation::EditDest {
            service: key,
            dest: DestConfig::new(rs1, Forward::Masq, 0),
        }])
        .await
        .unwrap();
    until("rs1's ActiveConn at zero", async || active(rs1).await == 0).await;
    let drained = world.load_stats().total;
    until("more answers from rs2", async || {
        world.load_stats().total.answers_from("rs2") >= drained.answers_from("rs2") + 40
    })
    .await;
    let after = world.load_stats();
    assert_eq!(
        after.total.answers_from("rs1"),
        drained.answers_from("rs1"),
        "a drained server got new requests: {after:#?}"
    );
    assert!(active(rs2).await > 0);
    assert_eq!(after.total.total_failures(), 0, "{after:#?}");

    world.shutdown().await;
    dataplane.shutdown();
}
