#![allow(clippy::unwrap_used, clippy::expect_used)]
//! All-or-nothing apply against the real userspace dataplane on loopback:
//! a batch whose last operation the dataplane truly refuses (its address
//! is held by another socket) leaves the table exactly as it was, and the
//! services it had deleted on the way listen again. Addresses
//! 127.79.1.0/24 belong to this file.

use std::net::{SocketAddr, TcpListener, TcpStream};

use lvstop::dataplane::userspace::{Options, UserspaceDataplane};
use lvstop::dataplane::{Dataplane, DataplaneError, Operation};
use lvstop::engine::transaction::{apply_all_or_nothing, TransactionError};
use lvstop::ipvs::model::{DestConfig, Forward, ServiceConfig, ServiceKey, Table};

fn addr(host: u8, port: u16) -> SocketAddr {
    format!("127.79.1.{host}:{port}").parse().unwrap()
}

/// Services and destinations as configured, without counters.
fn shape(table: &Table) -> Vec<String> {
    let mut out: Vec<String> = table
        .services
        .iter()
        .map(|s| {
            let dests: Vec<String> = s
                .dests
                .iter()
                .map(|d| format!("{} w{}", d.config.key, d.config.weight))
                .collect();
            format!(
                "{} {} [{}]",
                s.config.key,
                s.config.scheduler,
                dests.join(", ")
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_refused_operation_rolls_the_whole_batch_back() {
    let dp = UserspaceDataplane::start(Options::default()).unwrap();
    let web = ServiceKey::tcp(addr(1, 8080));
    let api = ServiceKey::tcp(addr(2, 8080));
    let backend = |host| DestConfig::new(addr(host, 9000), Forward::Masq, 1);
    dp.apply(&[
        Operation::AddService(ServiceConfig::new(web, "wrr")),
        Operation::AddDest {
            service: web,
            dest: backend(10),
        },
        Operation::AddService(ServiceConfig::new(api, "rr")),
        Operation::AddDest {
            service: api,
            dest: backend(11),
        },
    ])
    .await
    .unwrap();
    let before = dp.snapshot().await.unwrap();

    // Someone else holds the address the batch's last service wants.
    let squatter = TcpListener::bind(addr(3, 8080)).unwrap();
    let mut heavier = backend(10);
    heavier.weight = 5;
    let batch = [
        Operation::EditDest {
            service: web,
            dest: heavier,
        },
        Operation::AddDest {
            service: web,
            dest: backend(12),
        },
        Operation::EditService(ServiceConfig::new(web, "lc")),
        Operation::DeleteService(api),
        Operation::AddService(ServiceConfig::new(ServiceKey::tcp(addr(3, 8080)), "rr")),
    ];
    let err = apply_all_or_nothing(&dp, &batch, &before)
        .await
        .expect_err("the dataplane must refuse an address in use");
    assert!(err.rolled_back(), "rollback failed: {err}");
    assert_eq!(err.refused().index, 4);
    assert!(matches!(err.refused().error, DataplaneError::Io { .. }));
    assert!(matches!(err, TransactionError::RolledBack { .. }));
    assert!(err.to_string().contains("rolled back"), "{err}");

    let after = dp.snapshot().await.unwrap();
    assert_eq!(shape(&after), shape(&before));
    // The deleted service came back and accepts connections again.
    TcpStream::connect(addr(2, 8080)).expect("the restored service listens");
    drop(squatter);
    dp.shutdown();
}

#[tokio::test]
async fn a_batch_the_dataplane_accepts_is_applied_whole() {
    let dp = UserspaceDataplane::start(Options::default()).unwrap();
    let web = ServiceKey::tcp(addr(20, 8080));
    let before = dp.snapshot().await.unwrap();
    let batch = [
        Operation::AddService(ServiceConfig::new(web, "wrr")),
        Operation::AddDest {
            service: web,
            dest: DestConfig::new(addr(21, 9000), Forward::Masq, 2),
        },
    ];
    apply_all_or_nothing(&dp, &batch, &before).await.unwrap();
    let after = dp.snapshot().await.unwrap();
    assert_eq!(
        shape(&after),
        ["TCP 127.79.1.20:8080 wrr [127.79.1.21:9000 w2]"]
    );
    dp.shutdown();
}
