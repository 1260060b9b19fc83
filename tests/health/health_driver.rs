//! The health driver against real TCP listeners on loopback: a real server
//! leaves the table when its listener closes and comes back when it
//! reopens. The prober here is a minimal TCP connect check written for
//! the test (the real probes live in `health::probe`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::support;

use lvstop::config::load::{load_str, Options};
use lvstop::health::driver::{self, DriverOptions};
use lvstop::health::machine::{CheckAction, CheckOptions, HealthEvent, HealthMachine};
use lvstop::health::outcome::{ProbeReport, Reason, Verdict};
use lvstop::health::target::{probe_specs, ProbeTarget, Prober, RealProbes};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// connect(2) with the checker's timeout, then close.
struct TcpConnect;

impl Prober for TcpConnect {
    type Target = ProbeTarget;

    async fn probe(&self, target: &ProbeTarget) -> ProbeReport {
        let started = Instant::now();
        let verdict =
            match tokio::time::timeout(target.timeout, TcpStream::connect(target.connect)).await {
                Ok(Ok(_stream)) => Verdict::Up,
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Verdict::Down {
                    reason: Reason::ConnectionRefused,
                },
                Ok(Err(e)) => Verdict::Down {
                    reason: Reason::Io {
                        detail: e.to_string(),
                    },
                },
                Err(_) => Verdict::Down {
                    reason: Reason::Timeout {
                        after: target.timeout,
                    },
                },
            };
        ProbeReport {
            verdict,
            latency: started.elapsed(),
        }
    }
}

/// A listener that accepts and closes, until dropped.
struct Backend {
    accept: JoinHandle<()>,
}

impl Backend {
    async fn listen(addr: SocketAddr) -> (Backend, SocketAddr) {
        let listener = TcpListener::bind(addr).await.unwrap();
        let local = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
        (Backend { accept }, local)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Waits for an action matching `pick` (a guard against hanging, not a
/// timing assertion: the rules allow seconds).
async fn wait_for(
    actions: &mut UnboundedReceiver<CheckAction>,
    what: &str,
    pick: impl Fn(&CheckAction) -> bool,
) -> CheckAction {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let action = tokio::time::timeout_at(deadline, actions.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 30 s"))
            .expect("driver stopped");
        if pick(&action) {
            return action;
        }
    }
}

fn config(a: SocketAddr, b: SocketAddr) -> String {
    format!(
        "global_defs {{\n router_id TEST\n}}\n\
         virtual_server 127.0.0.1 80 {{\n delay_loop 0.2\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server 127.0.0.1 {} {{\n TCP_CHECK {{\n warmup 0\n connect_timeout 2\n delay_before_retry 0.1\n }}\n }}\n\
         real_server 127.0.0.1 {} {{\n TCP_CHECK {{\n warmup 0\n connect_timeout 2\n delay_before_retry 0.1\n }}\n }}\n}}\n",
        a.port(),
        b.port()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_leaves_when_its_listener_closes_and_returns_when_it_reopens() {
    let (backend_a, a) = Backend::listen("127.0.0.1:0".parse().unwrap()).await;
    let (_backend_b, b) = Backend::listen("127.0.0.1:0".parse().unwrap()).await;
    let loaded = load_str("test.conf".as_ref(), &config(a, b), &Options::default());
    assert!(!loaded.has_errors());
    let runner = HealthMachine::new(&loaded.config, CheckOptions::default()).unwrap();
    let targets = runner.targets().to_vec();
    let mut handle = driver::spawn(
        runner,
        targets,
        Arc::new(TcpConnect),
        DriverOptions::default(),
    )
    .unwrap();

    // Both start in the table and pass their first checks (before the
    // first verdict a single failure would do).
    for addr in [a, b] {
        wait_for(
            &mut handle.actions,
            "initial SetDest",
            |act| matches!(act, CheckAction::SetDest { dest, .. } if dest.key.socket_addr() == addr),
        )
        .await;
    }
    let mut verdicts = std::collections::HashSet::new();
    while verdicts.len() < 2 {
        if let CheckAction::Event {
            event: HealthEvent::Checker {
                checker, up: true, ..
            },
        } = wait_for(&mut handle.actions, "first verdicts", |act| {
            matches!(
                act,
                CheckAction::Event {
                    event: HealthEvent::Checker { up: true, .. }
                }
            )
        })
        .await
        {
            verdicts.insert(checker);
        }
    }

    drop(backend_a);
    // The alert comes with the verdict, the removal right after.
    wait_for(&mut handle.actions, "the DOWN alert", |act| {
        matches!(act, CheckAction::SendAlert { subject, body }
            if subject == &format!("[TEST] Realserver [127.0.0.1]:tcp:{} of virtual server [127.0.0.1]:tcp:80 - DOWN", a.port())
            && body == "=> TCP CHECK failed on service <=")
    })
    .await;
    let removed = wait_for(
        &mut handle.actions,
        "removal of A",
        |act| matches!(act, CheckAction::RemoveDest { dest, .. } if dest.socket_addr() == a),
    )
    .await;
    assert!(matches!(removed, CheckAction::RemoveDest { .. }));

    // The console sees why.
    let mut snapshot = handle.snapshot.clone();
    let view = loop {
        let current = snapshot.borrow_and_update().clone();
        let rs = &current.virtual_servers[0].real_servers[0];
        if !rs.up {
            break rs.clone();
        }
        tokio::time::timeout(Duration::from_secs(30), snapshot.changed())
            .await
            .expect("snapshot republished")
            .unwrap();
    };
    let checker = &view.checkers[0];
    assert!(!checker.up);
    assert_eq!(checker.reason.as_deref(), Some("connection refused"));
    assert!(checker.consecutive_failures >= 2, "retry 1: two failures");
    assert!(
        view.name.ends_with(&format!(":tcp:{}", a.port())),
        "{}",
        view.name
    );

    let (_backend_a, reopened) = Backend::listen(a).await;
    assert_eq!(reopened, a);
    let back = wait_for(
        &mut handle.actions,
        "A back in the table",
        |act| matches!(act, CheckAction::SetDest { dest, .. } if dest.key.socket_addr() == a),
    )
    .await;
    let CheckAction::SetDest { dest, .. } = back else {
        unreachable!()
    };
    assert_eq!(dest.weight, 1);

    let stats = handle.stats();
    assert!(stats.probes_started >= 4, "{stats:?}");
    let runner = handle.shutdown().await.unwrap();
    let after = runner.snapshot();
    assert!(after.virtual_servers[0]
        .real_servers
        .iter()
        .all(|rs| !rs.up));
}

/// A probe that never answers must not hold up the others: the driver cuts
/// it off and the other checker keeps its schedule.
struct Hangs;

impl Prober for Hangs {
    type Target = ProbeTarget;

    async fn probe(&self, target: &ProbeTarget) -> ProbeReport {
        if target.connect.port() == 1 {
            std::future::pending::<()>().await;
        }
        TcpConnect.probe(target).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_probe_neither_blocks_the_loop_nor_other_checkers() {
    let (_backend, b) = Backend::listen("127.0.0.1:0".parse().unwrap()).await;
    let text = config("127.0.0.1:1".parse().unwrap(), b)
        .replace("connect_timeout 2", "connect_timeout 0.5");
    let loaded = load_str("test.conf".as_ref(), &text, &Options::default());
    let runner = HealthMachine::new(&loaded.config, CheckOptions::default()).unwrap();
    let options = DriverOptions {
        probe_grace: Duration::from_millis(100),
        ..DriverOptions::default()
    };
    let targets = runner.targets().to_vec();
    let mut handle = driver::spawn(runner, targets, Arc::new(Hangs), options).unwrap();
    let down = wait_for(
        &mut handle.actions,
        "the hanging server's removal",
        |act| matches!(act, CheckAction::RemoveDest { dest, .. } if dest.port == 1),
    )
    .await;
    assert!(matches!(down, CheckAction::RemoveDest { .. }));
    // Meanwhile, and after, the healthy checker keeps its schedule.
    support::until("six finished probes", async || {
        handle.stats().probes_finished >= 6
    })
    .await;
    let runner = handle.shutdown().await.unwrap();
    let view = runner.snapshot();
    let hanging = &view.virtual_servers[0].real_servers[0].checkers[0];
    assert_eq!(hanging.reason.as_deref(), Some("timeout after 500 ms"));
    assert!(view.virtual_servers[0].real_servers[1].checkers[0].checked);
}

/// The driver with the real probes (`health::probe`) through
/// `probe_specs`: the same checker ids, the same outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_probes_plug_into_the_driver() {
    let (backend_a, a) = Backend::listen("127.0.0.1:0".parse().unwrap()).await;
    let (_backend_b, b) = Backend::listen("127.0.0.1:0".parse().unwrap()).await;
    let loaded = load_str("test.conf".as_ref(), &config(a, b), &Options::default());
    let runner = HealthMachine::new(&loaded.config, CheckOptions::default()).unwrap();
    let specs = probe_specs(&loaded.config, None);
    let mut handle = driver::spawn(
        runner,
        specs,
        Arc::new(RealProbes),
        DriverOptions::default(),
    )
    .unwrap();
    let mut verdicts = std::collections::HashSet::new();
    while verdicts.len() < 2 {
        if let CheckAction::Event {
            event: HealthEvent::Checker {
                checker, up: true, ..
            },
        } = wait_for(&mut handle.actions, "first verdicts", |act| {
            matches!(
                act,
                CheckAction::Event {
                    event: HealthEvent::Checker { up: true, .. }
                }
            )
        })
        .await
        {
            verdicts.insert(checker);
        }
    }
    drop(backend_a);
    wait_for(
        &mut handle.actions,
        "removal of A",
        |act| matches!(act, CheckAction::RemoveDest { dest, .. } if dest.socket_addr() == a),
    )
    .await;
    let runner = handle.shutdown().await.unwrap();
    let checker = &runner.snapshot().virtual_servers[0].real_servers[0].checkers[0];
    assert_eq!(checker.reason.as_deref(), Some("connection refused"));
}
