//! UDP sessions and one-packet scheduling.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_sessions_are_inactive_and_idle_out() {
    let dp = dataplane();
    let key = ServiceKey::udp(vip(8));
    let b1 = UdpBackend::start(&ip(8, 10), "b1").await;
    let b2 = UdpBackend::start(&ip(8, 11), "b2").await;
    apply(
        &dp,
        vec![
            short_timeouts(0, 2),
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

    // Idle for the udp timeout (2 s): the sessions end.
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
async fn a_deleted_udp_service_keeps_its_sessions_until_they_idle_out() {
    let dp = dataplane();
    let key = ServiceKey::udp(vip(24));
    let b1 = UdpBackend::start(&ip(24, 10), "b1").await;
    apply(
        &dp,
        vec![
            short_timeouts(0, 2),
            Operation::AddService(ServiceConfig::new(key, "rr")),
            Operation::AddDest {
                service: key,
                dest: dest(b1.addr, 1),
            },
        ],
    )
    .await;
    let old = tokio::net::UdpSocket::bind((ip(24, 100), 0)).await.unwrap();
    assert_eq!(udp_ask(&old, vip(24), "a").await, "b1:a");
    apply(&dp, vec![Operation::DeleteService(key)]).await;
    // The existing session still gets through; a new client does not.
    assert_eq!(udp_ask(&old, vip(24), "b").await, "b1:b");
    let new = tokio::net::UdpSocket::bind((ip(24, 101), 0)).await.unwrap();
    new.send_to(b"c", vip(24)).await.unwrap();
    let mut buf = [0u8; 64];
    let answer = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        new.recv_from(&mut buf),
    )
    .await;
    assert!(
        answer.is_err(),
        "a new session was opened on a deleted service"
    );
    until_some("the old session to idle out", || async {
        dp.connections().await.unwrap().is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_udp_keeps_a_client_address_on_one_real_server() {
    let dp = dataplane();
    let key = ServiceKey::udp(vip(26));
    let b1 = UdpBackend::start(&ip(26, 10), "b1").await;
    let b2 = UdpBackend::start(&ip(26, 11), "b2").await;
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
    // Several source ports of one address: several sessions, one template.
    for _ in 0..3 {
        let socket = tokio::net::UdpSocket::bind((ip(26, 100), 0)).await.unwrap();
        assert_eq!(udp_ask(&socket, vip(26), "x").await, "b2:x");
    }
    let other = tokio::net::UdpSocket::bind((ip(26, 101), 0)).await.unwrap();
    assert_eq!(udp_ask(&other, vip(26), "y").await, "b1:y");
    let listed = dp.connections().await.unwrap();
    let templates: Vec<_> = listed.iter().filter(|c| c.template).collect();
    assert_eq!(templates.len(), 2);
    assert!(templates
        .iter()
        .all(|t| t.protocol == "UDP" && t.state == "NONE"));
    assert_eq!(counts(&dp, key, b2.addr).await, (0, 3));
    assert_eq!(dest_row(&dp, key, b2.addr).await.unwrap().persistent, 1);
}
