#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End-to-end tests of the userspace dataplane over loopback: real
//! backends, real clients, the table and the connection list read back
//! through the `Dataplane` trait. Each test owns a 127.77.N.0/24 block
//! (VIP .1, backends .10+, clients .100+), so tests run in parallel.

use crate::support;

#[path = "userspace_dataplane/operations.rs"]
mod operations;
#[path = "userspace_dataplane/persistence.rs"]
mod persistence;
#[path = "userspace_dataplane/schedulers.rs"]
mod schedulers;
#[path = "userspace_dataplane/traffic.rs"]
mod traffic;
#[path = "userspace_dataplane/udp.rs"]
mod udp;

use std::net::SocketAddr;

use lvstop::dataplane::userspace::{Options, UserspaceDataplane};
use lvstop::dataplane::{Dataplane, DataplaneError, Operation};
use lvstop::ipvs::model::{
    Connection, Dest, DestConfig, DestKey, Family, Forward, Protocol, ServiceConfig, ServiceFlags,
    ServiceKey, Table, Timeouts,
};
use support::backends::{bulk_echo, distribution, picks, udp_ask, Client, TcpBackend, UdpBackend};
use support::until_some;

fn ip(block: u8, host: u8) -> String {
    format!("127.77.{block}.{host}")
}

fn vip(block: u8) -> SocketAddr {
    format!("127.77.{block}.1:8080").parse().unwrap()
}

fn dataplane() -> UserspaceDataplane {
    UserspaceDataplane::start(Options::default()).unwrap()
}

fn dest(addr: SocketAddr, weight: i32) -> DestConfig {
    DestConfig::new(addr, Forward::Masq, weight)
}

async fn apply(dp: &UserspaceDataplane, ops: Vec<Operation>) {
    dp.apply(&ops).await.unwrap();
}

/// An rr service on `key` with the one destination `dest`.
async fn one_dest_service(dp: &UserspaceDataplane, key: ServiceKey, dest: DestConfig) {
    apply(
        dp,
        vec![
            Operation::AddService(ServiceConfig::new(key, "rr")),
            Operation::AddDest { service: key, dest },
        ],
    )
    .await;
}

/// A TCP rr service on the block's VIP with one backend per name, added
/// in order (so the last one is first in kernel order).
async fn tcp_service(
    dp: &UserspaceDataplane,
    block: u8,
    names: &[&str],
) -> (ServiceKey, Vec<TcpBackend>) {
    let key = ServiceKey::tcp(vip(block));
    let mut backends = Vec::new();
    let mut ops = vec![Operation::AddService(ServiceConfig::new(key, "rr"))];
    for (i, name) in names.iter().enumerate() {
        let backend = TcpBackend::start(&ip(block, 10 + i as u8), name).await;
        ops.push(Operation::AddDest {
            service: key,
            dest: dest(backend.addr, 1),
        });
        backends.push(backend);
    }
    apply(dp, ops).await;
    (key, backends)
}

async fn table(dp: &UserspaceDataplane) -> Table {
    dp.snapshot().await.unwrap()
}

async fn dest_row(dp: &UserspaceDataplane, key: ServiceKey, addr: SocketAddr) -> Option<Dest> {
    table(dp)
        .await
        .service(key)
        .and_then(|s| s.dest(DestKey::new(addr)).cloned())
}

/// (ActiveConn, InActConn) of a destination.
async fn counts(dp: &UserspaceDataplane, key: ServiceKey, addr: SocketAddr) -> (u32, u32) {
    let d = dest_row(dp, key, addr).await.expect("destination listed");
    (d.active, d.inactive)
}

/// Wait until a destination shows the given (ActiveConn, InActConn).
async fn wait_counts(dp: &UserspaceDataplane, key: ServiceKey, addr: SocketAddr, want: (u32, u32)) {
    until_some(&format!("{addr} at {want:?}"), || async {
        (counts(dp, key, addr).await == want).then_some(())
    })
    .await;
}

async fn conns_to(dp: &UserspaceDataplane, addr: SocketAddr) -> Vec<Connection> {
    dp.connections()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.dest == addr && !c.template)
        .collect()
}

fn short_timeouts(tcp_fin: u32, udp: u32) -> Operation {
    Operation::SetTimeouts(Timeouts {
        tcp: 0,
        tcp_fin,
        udp,
    })
}
