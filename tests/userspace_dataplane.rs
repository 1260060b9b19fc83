#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End-to-end tests of the userspace dataplane over loopback: real
//! backends, real clients, the table and the connection list read back
//! through the `Dataplane` trait. Each test owns a 127.77.N.0/24 block
//! (VIP .1, backends .10+, clients .100+), so tests run in parallel.

mod support;

use std::net::SocketAddr;

use lvstop::dataplane::userspace::{Options, UserspaceDataplane};
use lvstop::dataplane::{Dataplane, DataplaneError, Operation};
use lvstop::ipvs::model::{
    Connection, Dest, DestConfig, DestKey, Family, Forward, Protocol, ServiceConfig, ServiceFlags,
    ServiceKey, Table, Timeouts,
};
use support::backends::{distribution, eventually, picks, udp_ask, Client, TcpBackend, UdpBackend};

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
    eventually(&format!("{addr} at {want:?}"), || async {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rr_walks_destinations_in_kernel_order() {
    let dp = dataplane();
    let (key, _b) = tcp_service(&dp, 1, &["b1", "b2", "b3"]).await;
    // The kernel lists the newest destination first, and rr starts there.
    let seen = picks(vip(1), &[&ip(1, 100)], 6).await;
    assert_eq!(seen, ["b3", "b2", "b1", "b3", "b2", "b1"]);
    let t = table(&dp).await;
    let svc = t.service(key).unwrap();
    assert_eq!(svc.stats.conns, 6);
    assert!(svc.dests.iter().all(|d| d.stats.conns == 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weight_zero_drains_without_dropping_live_connections() {
    let dp = dataplane();
    let (key, b) = tcp_service(&dp, 2, &["b1", "b2"]).await;
    let mut held = Client::connect(&ip(2, 100), vip(2)).await;
    assert_eq!(held.backend, "b2");
    wait_counts(&dp, key, b[1].addr, (1, 0)).await;

    apply(
        &dp,
        vec![Operation::EditDest {
            service: key,
            dest: dest(b[1].addr, 0),
        }],
    )
    .await;
    let spread = distribution(vip(2), &[&ip(2, 101)], 4).await;
    assert_eq!(spread.get("b1"), Some(&4), "drained b2 got new connections");
    assert_eq!(held.echo("still here").await, "still here");
    let row = dest_row(&dp, key, b[1].addr).await.unwrap();
    assert_eq!((row.config.weight, row.active), (0, 1));

    // Weight back: b2 takes new connections again.
    apply(
        &dp,
        vec![Operation::EditDest {
            service: key,
            dest: dest(b[1].addr, 3),
        }],
    )
    .await;
    let spread = distribution(vip(2), &[&ip(2, 101)], 4).await;
    assert_eq!(spread.get("b2"), Some(&2));
    held.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_states_move_between_active_and_inactive() {
    let dp = dataplane();
    let (key, b) = tcp_service(&dp, 3, &["b1"]).await;
    apply(&dp, vec![short_timeouts(1, 0)]).await;
    let addr = b[0].addr;

    let mut client = Client::connect(&ip(3, 100), vip(3)).await;
    assert_eq!(client.echo("hello").await, "hello");
    wait_counts(&dp, key, addr, (1, 0)).await;
    let listed = conns_to(&dp, addr).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, "ESTABLISHED");
    assert_eq!(listed[0].client, client.local);
    assert_eq!(listed[0].virtual_addr, vip(3));
    assert_eq!(listed[0].protocol, "TCP");

    // The real server closes first: half-closed is FIN_WAIT, inactive.
    client.backend_closes().await;
    wait_counts(&dp, key, addr, (0, 1)).await;
    assert_eq!(conns_to(&dp, addr).await[0].state, "FIN_WAIT");

    // Both closed: TIME_WAIT for tcp_fin (1 s here), still inactive.
    client.finish().await;
    eventually("TIME_WAIT entry", || async {
        let c = conns_to(&dp, addr).await;
        (c.len() == 1 && c[0].state == "TIME_WAIT").then_some(())
    })
    .await;
    assert_eq!(counts(&dp, key, addr).await, (0, 1));
    wait_counts(&dp, key, addr, (0, 0)).await;
    assert!(conns_to(&dp, addr).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_sticks_per_client_and_expires() {
    let dp = dataplane();
    let key = ServiceKey::tcp(vip(4));
    let b1 = TcpBackend::start(&ip(4, 10), "b1").await;
    let b2 = TcpBackend::start(&ip(4, 11), "b2").await;
    apply(
        &dp,
        vec![
            short_timeouts(1, 0),
            Operation::AddService(ServiceConfig::new(key, "rr").persistent(3)),
            Operation::AddDest {
                service: key,
                dest: dest(b1.addr, 1),
            },
            Operation::AddDest {
                service: key,
                dest: dest(b2.addr, 1),
            },
        ],
    )
    .await;
    let clients = [ip(4, 100), ip(4, 101), ip(4, 102), ip(4, 103)];
    let mut first = Vec::new();
    for client in &clients {
        let seen = picks(vip(4), &[client], 3).await;
        assert!(
            seen.iter().all(|s| *s == seen[0]),
            "{client} moved: {seen:?}"
        );
        first.push(seen[0].clone());
    }
    // New clients are scheduled by rr: newest destination first.
    assert_eq!(first, ["b2", "b1", "b2", "b1"]);

    let templates: Vec<Connection> = dp
        .connections()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.template)
        .collect();
    assert_eq!(templates.len(), 4);
    assert!(templates
        .iter()
        .all(|t| t.state == "NONE" && t.client.port() == 0 && t.virtual_addr == vip(4)));
    let row = dest_row(&dp, key, b1.addr).await.unwrap();
    assert_eq!(row.persistent, 2);

    // Templates expire `timeout` after their last connection is gone.
    eventually("templates to expire", || async {
        let t = table(&dp).await;
        let svc = t.service(key).unwrap();
        svc.dests.iter().all(|d| d.persistent == 0).then_some(())
    })
    .await;
    assert!(dp.connections().await.unwrap().iter().all(|c| !c.template));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_masks_clients_with_the_netmask() {
    let dp = dataplane();
    let key = ServiceKey::tcp(vip(5));
    let b1 = TcpBackend::start(&ip(5, 10), "b1").await;
    let b2 = TcpBackend::start(&ip(5, 11), "b2").await;
    let mut config = ServiceConfig::new(key, "rr").persistent(300);
    config.netmask = 0xffff_ff00; // one template per /24
    apply(
        &dp,
        vec![
            Operation::AddService(config),
            Operation::AddDest {
                service: key,
                dest: dest(b1.addr, 1),
            },
            Operation::AddDest {
                service: key,
                dest: dest(b2.addr, 1),
            },
        ],
    )
    .await;
    let from = [ip(5, 100), ip(5, 101), ip(5, 102)];
    let from: Vec<&str> = from.iter().map(String::as_str).collect();
    let seen = picks(vip(5), &from, 6).await;
    assert!(seen.iter().all(|s| s == "b2"), "{seen:?}");
    let templates: Vec<Connection> = dp
        .connections()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.template)
        .collect();
    assert_eq!(templates.len(), 1);
    assert_eq!(templates[0].client, "127.77.5.0:0".parse().unwrap());
    assert_eq!(templates[0].dest, b2.addr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_to_a_quiesced_destination_stays_sticky() {
    let dp = dataplane();
    let key = ServiceKey::tcp(vip(6));
    let b1 = TcpBackend::start(&ip(6, 10), "b1").await;
    let b2 = TcpBackend::start(&ip(6, 11), "b2").await;
    apply(
        &dp,
        vec![
            Operation::AddService(ServiceConfig::new(key, "rr").persistent(300)),
            Operation::AddDest {
                service: key,
                dest: dest(b1.addr, 1),
            },
            Operation::AddDest {
                service: key,
                dest: dest(b2.addr, 1),
            },
        ],
    )
    .await;
    assert_eq!(picks(vip(6), &[&ip(6, 100)], 1).await, ["b2"]);
    apply(
        &dp,
        vec![Operation::EditDest {
            service: key,
            dest: dest(b2.addr, 0),
        }],
    )
    .await;
    // Default expire_quiescent_template=0: the template keeps the client.
    assert_eq!(picks(vip(6), &[&ip(6, 100)], 2).await, ["b2", "b2"]);
    // A new client is not sent to the quiesced destination.
    assert_eq!(picks(vip(6), &[&ip(6, 101)], 1).await, ["b1"]);
    // A removed destination's template is dropped on use.
    apply(
        &dp,
        vec![Operation::DeleteDest {
            service: key,
            dest: DestKey::new(b2.addr),
        }],
    )
    .await;
    assert_eq!(picks(vip(6), &[&ip(6, 100)], 1).await, ["b1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_destination_lets_its_connection_finish() {
    let dp = dataplane();
    let (key, b) = tcp_service(&dp, 7, &["b1", "b2"]).await;
    apply(&dp, vec![short_timeouts(1, 0)]).await;
    let mut held = Client::connect(&ip(7, 100), vip(7)).await;
    assert_eq!(held.backend, "b2");
    apply(
        &dp,
        vec![Operation::DeleteDest {
            service: key,
            dest: DestKey::new(b[1].addr),
        }],
    )
    .await;
    assert!(dest_row(&dp, key, b[1].addr).await.is_none());
    assert_eq!(held.echo("after removal").await, "after removal");
    let listed = conns_to(&dp, b[1].addr).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, "ESTABLISHED");
    assert_eq!(
        distribution(vip(7), &[&ip(7, 101)], 3).await.get("b1"),
        Some(&3)
    );
    held.finish().await;
    eventually("the removed destination's entry to go", || async {
        conns_to(&dp, b[1].addr).await.is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_sessions_are_inactive_and_idle_out() {
    let dp = dataplane();
    let key = ServiceKey::udp(vip(8));
    let b1 = UdpBackend::start(&ip(8, 10), "b1").await;
    let b2 = UdpBackend::start(&ip(8, 11), "b2").await;
    apply(
        &dp,
        vec![
            short_timeouts(0, 1),
            Operation::AddService(ServiceConfig::new(key, "rr")),
            Operation::AddDest {
                service: key,
                dest: dest(b1.addr, 1),
            },
            Operation::AddDest {
                service: key,
                dest: dest(b2.addr, 1),
            },
        ],
    )
    .await;
    let one = tokio::net::UdpSocket::bind((ip(8, 100), 0)).await.unwrap();
    let two = tokio::net::UdpSocket::bind((ip(8, 101), 0)).await.unwrap();
    assert_eq!(udp_ask(&one, vip(8), "a").await, "b2:a");
    assert_eq!(udp_ask(&one, vip(8), "b").await, "b2:b");
    assert_eq!(udp_ask(&two, vip(8), "c").await, "b1:c");
    assert_eq!(counts(&dp, key, b2.addr).await, (0, 1));
    let listed = conns_to(&dp, b2.addr).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].protocol.as_str(), listed[0].state.as_str()),
        ("UDP", "UDP")
    );
    assert_eq!(listed[0].client, one.local_addr().unwrap());

    let svc = table(&dp).await.service(key).unwrap().clone();
    assert_eq!(svc.stats.conns, 2);
    assert_eq!(svc.stats.inpkts, 3);
    assert_eq!(svc.stats.outpkts, 3);
    assert_eq!(svc.stats.inbytes, 3);
    assert_eq!(svc.stats.outbytes, 12);

    // Idle for the udp timeout (1 s): the sessions end.
    wait_counts(&dp, key, b2.addr, (0, 0)).await;
    wait_counts(&dp, key, b1.addr, (0, 0)).await;
    assert!(dp.connections().await.unwrap().is_empty());
    // The next datagram opens a new session, scheduled afresh.
    assert_eq!(udp_ask(&one, vip(8), "d").await, "b2:d");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_one_packet_scheduling_schedules_every_datagram() {
    let dp = dataplane();
    let key = ServiceKey::udp(vip(9));
    let b1 = UdpBackend::start(&ip(9, 10), "b1").await;
    let b2 = UdpBackend::start(&ip(9, 11), "b2").await;
    let mut config = ServiceConfig::new(key, "rr");
    config.flags = config.flags.with(ServiceFlags::ONEPACKET, true);
    apply(
        &dp,
        vec![
            Operation::AddService(config),
            Operation::AddDest {
                service: key,
                dest: dest(b1.addr, 1),
            },
            Operation::AddDest {
                service: key,
                dest: dest(b2.addr, 1),
            },
        ],
    )
    .await;
    let socket = tokio::net::UdpSocket::bind((ip(9, 100), 0)).await.unwrap();
    let mut seen = Vec::new();
    for payload in ["a", "b", "c", "d"] {
        seen.push(udp_ask(&socket, vip(9), payload).await);
    }
    assert_eq!(seen, ["b2:a", "b1:b", "b2:c", "b1:d"]);
    assert!(conns_to(&dp, b1.addr).await.is_empty());
    assert_eq!(counts(&dp, key, b1.addr).await, (0, 0));
    assert_eq!(table(&dp).await.service(key).unwrap().stats.conns, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_connections_bytes_and_segments() {
    let dp = dataplane();
    let (key, b) = tcp_service(&dp, 10, &["b1", "b2"]).await;
    let payload = "x".repeat(999);
    for _ in 0..4 {
        let mut client = Client::connect(&ip(10, 100), vip(10)).await;
        assert_eq!(client.echo(&payload).await, payload);
        client.finish().await;
    }
    let t = eventually("all four connections closed", || async {
        let t = table(&dp).await;
        let live = conns_to(&dp, b[0].addr).await.len() + conns_to(&dp, b[1].addr).await.len();
        let closed = dp
            .connections()
            .await
            .unwrap()
            .iter()
            .filter(|c| c.state == "TIME_WAIT")
            .count();
        (live == 4 && closed == 4).then_some(t)
    })
    .await;
    let svc = t.service(key).unwrap();
    assert_eq!(svc.stats.conns, 4);
    // In = client to director: the 1000-byte line; out adds "bN\n".
    assert_eq!(svc.stats.inbytes, 4 * 1000);
    assert_eq!(svc.stats.outbytes, 4 * (1000 + 3));
    // Real TCP segments: at least SYN, data, FIN per connection in, and
    // SYN-ACK, greeting/echo, FIN out; far fewer than one per byte.
    assert!(
        svc.stats.inpkts >= 4 * 3 && svc.stats.inpkts < 4 * 20,
        "{:?}",
        svc.stats
    );
    assert!(
        svc.stats.outpkts >= 4 * 3 && svc.stats.outpkts < 4 * 20,
        "{:?}",
        svc.stats
    );
    let mut sum = lvstop::ipvs::model::Stats::default();
    for d in &svc.dests {
        assert_eq!(d.stats.conns, 2);
        sum.add(&d.stats);
    }
    sum.conns = svc.stats.conns;
    assert_eq!(sum, svc.stats);

    apply(&dp, vec![Operation::Zero(Some(key))]).await;
    let t = table(&dp).await;
    let svc = t.service(key).unwrap();
    assert_eq!(svc.stats, Default::default());
    assert!(svc.dests.iter().all(|d| d.stats == Default::default()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_real_server_resets_the_client_and_counts_the_conn() {
    let dp = dataplane();
    let key = ServiceKey::tcp(vip(11));
    // Nothing listens there: bind a port, then free it.
    let dead = std::net::TcpListener::bind((ip(11, 10), 0))
        .unwrap()
        .local_addr()
        .unwrap();
    apply(
        &dp,
        vec![
            Operation::AddService(ServiceConfig::new(key, "rr")),
            Operation::AddDest {
                service: key,
                dest: dest(dead, 1),
            },
        ],
    )
    .await;
    assert!(Client::try_connect(&ip(11, 100), vip(11)).await.is_err());
    let row = dest_row(&dp, key, dead).await.unwrap();
    assert_eq!(row.stats.conns, 1);
    let listed = eventually("a CLOSE entry", || async {
        let c = conns_to(&dp, dead).await;
        (c.len() == 1 && c[0].state == "CLOSE").then_some(c)
    })
    .await;
    assert!(listed[0].expires <= 10);
    assert_eq!(counts(&dp, key, dead).await, (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_reports_each_kernel_error_at_its_index() {
    let dp = dataplane();
    let key = ServiceKey::tcp(vip(12));
    let b = TcpBackend::start(&ip(12, 10), "b1").await;
    let add = Operation::AddService(ServiceConfig::new(key, "rr"));
    let good_dest = Operation::AddDest {
        service: key,
        dest: dest(b.addr, 1),
    };
    let err = dp
        .apply(&[add.clone(), good_dest.clone(), add.clone()])
        .await
        .unwrap_err();
    assert_eq!(err.index, 2);
    assert!(matches!(err.error, DataplaneError::ServiceExists(k) if k == key));
    // The operations before the failure were applied.
    assert_eq!(table(&dp).await.service(key).unwrap().dests.len(), 1);

    let other = ServiceKey::tcp("127.77.12.1:8081".parse().unwrap());
    type Expect = fn(&DataplaneError) -> bool;
    let cases: Vec<(Operation, Expect)> = vec![
        (good_dest.clone(), |e| {
            matches!(e, DataplaneError::DestExists { .. })
        }),
        (
            Operation::AddService(ServiceConfig::new(other, "no-such-sched")),
            |e| matches!(e, DataplaneError::UnknownScheduler(_)),
        ),
        (
            Operation::AddDest {
                service: other,
                dest: dest(b.addr, 1),
            },
            |e| matches!(e, DataplaneError::NoSuchService(_)),
        ),
        (
            Operation::EditDest {
                service: key,
                dest: dest("127.77.12.99:1".parse().unwrap(), 1),
            },
            |e| matches!(e, DataplaneError::NoSuchDest { .. }),
        ),
        (
            Operation::DeleteDest {
                service: key,
                dest: DestKey::new("127.77.12.99:1".parse().unwrap()),
            },
            |e| matches!(e, DataplaneError::NoSuchDest { .. }),
        ),
        (
            Operation::EditDest {
                service: key,
                dest: dest(b.addr, -1),
            },
            |e| matches!(e, DataplaneError::Invalid { what, .. } if what == "weight"),
        ),
        (
            Operation::EditDest {
                service: key,
                dest: DestConfig {
                    upper_threshold: 10,
                    lower_threshold: 20,
                    ..dest(b.addr, 1)
                },
            },
            |e| matches!(e, DataplaneError::Invalid { what, .. } if what == "thresholds"),
        ),
        (Operation::DeleteService(other), |e| {
            matches!(e, DataplaneError::NoSuchService(_))
        }),
        (
            Operation::EditService(ServiceConfig::new(other, "rr")),
            |e| matches!(e, DataplaneError::NoSuchService(_)),
        ),
        (Operation::Zero(Some(other)), |e| {
            matches!(e, DataplaneError::NoSuchService(_))
        }),
        (
            Operation::AddService(ServiceConfig::new(
                ServiceKey::Inet {
                    protocol: Protocol::Sctp,
                    addr: vip(12).ip(),
                    port: 8080,
                },
                "rr",
            )),
            |e| matches!(e, DataplaneError::Unsupported { what, .. } if what.contains("SCTP")),
        ),
        (
            Operation::AddService(ServiceConfig::new(
                ServiceKey::Fwmark {
                    family: Family::Inet,
                    mark: 7,
                },
                "rr",
            )),
            |e| matches!(e, DataplaneError::Unsupported { what, .. } if what.contains("firewall-mark")),
        ),
    ];
    for (i, (op, expected)) in cases.into_iter().enumerate() {
        // Each bad operation sits second: the first (a timeout change)
        // applies, the third never runs.
        let ops = [
            short_timeouts(100 + i as u32, 0),
            op.clone(),
            Operation::Flush,
        ];
        let err = dp.apply(&ops).await.unwrap_err();
        assert_eq!(err.index, 1, "{op:?}");
        assert_eq!(err.operation, op);
        assert!(expected(&err.error), "{op:?} gave {:?}", err.error);
        assert_eq!(dp.timeouts().await.unwrap().tcp_fin, 100 + i as u32);
        assert!(
            table(&dp).await.service(key).is_some(),
            "Flush ran after {op:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_service_keeps_connections_and_rebinds_the_scheduler() {
    let dp = dataplane();
    let (key, b) = tcp_service(&dp, 13, &["b1", "b2"]).await;
    let mut held = Client::connect(&ip(13, 100), vip(13)).await;
    // Turning persistence on keeps the live connection.
    apply(
        &dp,
        vec![Operation::EditService(
            ServiceConfig::new(key, "rr").persistent(30),
        )],
    )
    .await;
    assert_eq!(held.echo("edited").await, "edited");
    let t = table(&dp).await;
    assert!(t.service(key).unwrap().config.flags.persistent());

    let err = dp
        .apply(&[Operation::EditService(ServiceConfig::new(key, "nope"))])
        .await
        .unwrap_err();
    assert!(matches!(err.error, DataplaneError::UnknownScheduler(_)));
    assert_eq!(
        table(&dp).await.service(key).unwrap().config.scheduler,
        "rr"
    );

    // Any other scheduler this build has: the service switches to it and
    // keeps serving, the live connection untouched.
    let other = lvstop::ipvs::sched::KNOWN.iter().find(|name| {
        **name != "rr" && lvstop::ipvs::sched::bind(&ServiceConfig::new(key, name), &[]).is_ok()
    });
    let next = other.copied().unwrap_or("rr");
    apply(
        &dp,
        vec![Operation::EditService(ServiceConfig::new(key, next))],
    )
    .await;
    assert_eq!(
        table(&dp).await.service(key).unwrap().config.scheduler,
        next
    );
    let seen = picks(vip(13), &[&ip(13, 101)], 4).await;
    assert!(seen.iter().all(|s| s == "b1" || s == "b2"));
    assert_eq!(held.echo("after rebind").await, "after rebind");
    held.finish().await;
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_service_closes_the_listener_and_keeps_connections() {
    let dp = dataplane();
    let (key, _b) = tcp_service(&dp, 14, &["b1"]).await;
    let mut held = Client::connect(&ip(14, 100), vip(14)).await;
    apply(&dp, vec![Operation::DeleteService(key)]).await;
    assert!(table(&dp).await.services.is_empty());
    eventually("the listener to close", || async {
        Client::try_connect(&ip(14, 101), vip(14))
            .await
            .is_err()
            .then_some(())
    })
    .await;
    assert_eq!(held.echo("still proxied").await, "still proxied");
    held.finish().await;

    // Flush removes everything; the address can be served again.
    let (key, _b) = tcp_service(&dp, 14, &["b9"]).await;
    assert_eq!(picks(vip(14), &[&ip(14, 102)], 1).await, ["b9"]);
    apply(&dp, vec![Operation::Flush]).await;
    assert!(table(&dp).await.service(key).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listens_on_a_vip_that_is_not_local_yet() {
    let dp = dataplane();
    // 198.51.100.0/24 is not configured on this host; IP_FREEBIND lets the
    // listener exist before VRRP brings the address. No traffic is sent.
    let tcp = ServiceKey::tcp("198.51.100.77:8080".parse().unwrap());
    let udp = ServiceKey::udp("198.51.100.77:8053".parse().unwrap());
    apply(
        &dp,
        vec![
            Operation::AddService(ServiceConfig::new(tcp, "rr")),
            Operation::AddService(ServiceConfig::new(udp, "rr")),
        ],
    )
    .await;
    let t = table(&dp).await;
    assert!(t.service(tcp).is_some() && t.service(udp).is_some());
    assert_eq!(t.origin, lvstop::ipvs::model::Origin::Userspace);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_methods_are_recorded_and_proxied() {
    let dp = dataplane();
    let key = ServiceKey::tcp(vip(15));
    let b1 = TcpBackend::start(&ip(15, 10), "b1").await;
    apply(
        &dp,
        vec![
            Operation::AddService(ServiceConfig::new(key, "rr")),
            Operation::AddDest {
                service: key,
                dest: DestConfig::new(b1.addr, Forward::Route, 1),
            },
        ],
    )
    .await;
    assert_eq!(picks(vip(15), &[&ip(15, 100)], 1).await, ["b1"]);
    let row = dest_row(&dp, key, b1.addr).await.unwrap();
    assert_eq!(row.config.forward, Forward::Route);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upper_threshold_overloads_and_lower_threshold_clears() {
    let dp = dataplane();
    let (key, b) = tcp_service(&dp, 16, &["b1", "b2"]).await;
    apply(
        &dp,
        vec![Operation::EditDest {
            service: key,
            dest: DestConfig {
                upper_threshold: 1,
                ..dest(b[1].addr, 1)
            },
        }],
    )
    .await;
    let held = Client::connect(&ip(16, 100), vip(16)).await;
    assert_eq!(held.backend, "b2");
    assert!(dest_row(&dp, key, b[1].addr).await.unwrap().overloaded);
    // Overloaded: every new connection goes to b1.
    assert_eq!(
        distribution(vip(16), &[&ip(16, 101)], 3).await.get("b1"),
        Some(&3)
    );
    apply(&dp, vec![short_timeouts(1, 0)]).await;
    held.finish().await;
    eventually("the overload to clear", || async {
        let d = dest_row(&dp, key, b[1].addr).await.unwrap();
        (!d.overloaded && d.total_conns() == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_dataplane_closes_listeners_and_connections() {
    let dp = dataplane();
    let (_key, _b) = tcp_service(&dp, 17, &["b1"]).await;
    let mut held = Client::connect(&ip(17, 100), vip(17)).await;
    assert_eq!(held.echo("up").await, "up");
    drop(dp);
    eventually("the listener to close", || async {
        Client::try_connect(&ip(17, 101), vip(17))
            .await
            .is_err()
            .then_some(())
    })
    .await;
    // The proxied connection was aborted with the dataplane.
    held.wait_closed().await;
}
