//! Table operations: the kernel's errors, service edits and deletion,
//! freebind listeners, shutdown.

use super::*;

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
    until_some("the listener to close", || async {
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
async fn dropping_the_dataplane_closes_listeners_and_connections() {
    let dp = dataplane();
    let (_key, _b) = tcp_service(&dp, 17, &["b1"]).await;
    let mut held = Client::connect(&ip(17, 100), vip(17)).await;
    assert_eq!(held.echo("up").await, "up");
    drop(dp);
    until_some("the listener to close", || async {
        Client::try_connect(&ip(17, 101), vip(17))
            .await
            .is_err()
            .then_some(())
    })
    .await;
    // The proxied connection was aborted with the dataplane.
    held.wait_closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_can_be_deleted_and_added_again_in_one_batch() {
    let dp = dataplane();
    let (key, b) = tcp_service(&dp, 19, &["b1"]).await;
    for _ in 0..3 {
        apply(
            &dp,
            vec![
                Operation::DeleteService(key),
                Operation::AddService(ServiceConfig::new(key, "rr")),
                Operation::AddDest {
                    service: key,
                    dest: dest(b[0].addr, 1),
                },
            ],
        )
        .await;
        assert_eq!(picks(vip(19), &[&ip(19, 100)], 1).await, ["b1"]);
    }
}
