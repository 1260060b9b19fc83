//! Persistence templates: stickiness, netmask granularity, expiry, and
//! templates to quiesced or removed destinations.

use super::*;

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
    until_some("templates to expire", || async {
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
