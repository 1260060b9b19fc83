//! Privileged tier: the real Prometheus server scrapes `lvstop daemon
//! --metrics` and sees what an operator graphs. Two lvstop directors
//! share a segment (A priority 150, B 100); B also proxies a virtual
//! service on its loopback (userspace dataplane) and serves `/metrics`
//! on 127.0.0.1, where a Prometheus in B's namespace scrapes it every
//! second. Through Prometheus's HTTP API the test sees B's active
//! connections climb to the connections it holds open and fall back when
//! they close, then B's VRRP state-set move from BACKUP to MASTER when A
//! crashes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::fs::File;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use harness::{eventually, vrrp_config, Director, Lan};
use support::netns::Netns;
use support::prometheus::Prometheus;

const WAIT: Duration = Duration::from_secs(30);
const METRICS: &str = "127.0.0.1:9469";
const PROMETHEUS_WEB: &str = "127.0.0.1:9090";
const VIRTUAL: &str = "127.0.0.1:8080";
const HELD: usize = 5;

/// Runs `body` on a new thread inside `ns`'s network namespace.
fn in_ns<R: Send + 'static>(
    ns: &Netns,
    body: impl FnOnce() -> R + Send + 'static,
) -> std::thread::JoinHandle<R> {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        let file = File::open(path).unwrap();
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        body()
    })
}

/// A real server in `ns` on 127.0.0.1 that keeps every connection open
/// until the client closes it.
fn holding_backend(ns: &Netns) -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    in_ns(ns, move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        tx.send(listener.local_addr().unwrap()).unwrap();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 256];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    rx.recv().unwrap()
}

/// `n` client connections through the virtual service in `ns`, held until
/// the returned sender is dropped.
fn hold_connections(ns: &Netns, n: usize) -> mpsc::Sender<()> {
    let (release, released) = mpsc::channel::<()>();
    let (ready_tx, ready) = mpsc::channel();
    in_ns(ns, move || {
        let streams: Vec<TcpStream> = (0..n)
            .map(|_| {
                TcpStream::connect_timeout(&VIRTUAL.parse().unwrap(), Duration::from_secs(5))
                    .unwrap()
            })
            .collect();
        ready_tx.send(()).unwrap();
        let _ = released.recv();
        drop(streams);
    });
    ready.recv().unwrap();
    release
}

fn virtual_service(backend: SocketAddr) -> String {
    let (vip, port) = VIRTUAL.split_once(':').unwrap();
    format!(
        "virtual_server {vip} {port} {{\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  \
         real_server {} {} {{\n    weight 1\n  }}\n}}\n",
        backend.ip(),
        backend.port()
    )
}

#[test]
fn prometheus_sees_connections_move_and_the_vrrp_state_change_on_failover() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "prometheus_sees_connections_move_and_the_vrrp_state_change_on_failover",
    ) else {
        return;
    };
    let lan = Lan::new();
    let backend = holding_backend(&lan.b);
    let a_conf = vrrp_config(&lan.a_if, 150, 2, "1", "");
    let b_conf = vrrp_config(&lan.b_if, 100, 2, "1", "") + &virtual_service(backend);
    let mut a = Director::lvstop(&lan.a, &a_conf);
    let b = Director::lvstop_with(
        &lan.b,
        &b_conf,
        &["--dataplane", "userspace", "--metrics", METRICS],
    );
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A never became the only master\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    let prometheus = Prometheus::start(&lan.b, PROMETHEUS_WEB, METRICS);
    let report = |what: &str, last: Option<f64>| {
        format!(
            "{what}; last value {last:?}\nB:\n{}\ntargets: {}",
            b.log(),
            prometheus.targets()
        )
    };

    // B is BACKUP, as Prometheus records it.
    let backup = r#"lvstop_vrrp_state{vrrp_instance="VI_1",state="BACKUP"}"#;
    let master = r#"lvstop_vrrp_state{vrrp_instance="VI_1",state="MASTER"}"#;
    prometheus
        .wait_for(backup, WAIT, |v| v == 1.0)
        .unwrap_or_else(|last| panic!("{}", report("B never BACKUP in Prometheus", last)));
    assert_eq!(prometheus.value(master), Some(0.0));

    // Held connections show as active connections, and go away.
    let active = format!(
        r#"lvstop_real_server_active_connections{{service="[127.0.0.1]:tcp:8080",real_server="{backend}"}}"#
    );
    prometheus
        .wait_for(&active, WAIT, |v| v == 0.0)
        .unwrap_or_else(|last| panic!("{}", report("no idle real server series", last)));
    let release = hold_connections(&lan.b, HELD);
    prometheus
        .wait_for(&active, WAIT, |v| v == HELD as f64)
        .unwrap_or_else(|last| panic!("{}", report("active connections never rose", last)));
    let service_active = r#"lvstop_service_active_connections{service="[127.0.0.1]:tcp:8080"}"#;
    assert_eq!(prometheus.value(service_active), Some(HELD as f64));
    drop(release);
    prometheus
        .wait_for(&active, WAIT, |v| v == 0.0)
        .unwrap_or_else(|last| panic!("{}", report("active connections never fell", last)));
    let handled = format!(
        r#"lvstop_real_server_connections_total{{service="[127.0.0.1]:tcp:8080",real_server="{backend}"}}"#
    );
    prometheus
        .wait_for(&handled, WAIT, |v| v >= HELD as f64)
        .unwrap_or_else(|last| panic!("{}", report("connections were not counted", last)));

    // A crashes: B's state-set moves to MASTER and it counts the change.
    a.crash();
    prometheus
        .wait_for(master, WAIT, |v| v == 1.0)
        .unwrap_or_else(|last| panic!("{}", report("B never MASTER in Prometheus", last)));
    assert_eq!(prometheus.value(backup), Some(0.0));
    assert_eq!(
        prometheus.value(&format!("max_over_time({backup}[5m])")),
        Some(1.0),
        "Prometheus lost B's BACKUP past"
    );
    prometheus
        .wait_for(
            r#"lvstop_vrrp_transitions_total{vrrp_instance="VI_1",to="master"}"#,
            WAIT,
            |v| v >= 1.0,
        )
        .unwrap_or_else(|last| panic!("{}", report("no transition counted", last)));
    assert!(
        prometheus
            .value(r#"up{job="lvstop"}"#)
            .is_some_and(|v| v == 1.0),
        "{}",
        prometheus.log()
    );
}
