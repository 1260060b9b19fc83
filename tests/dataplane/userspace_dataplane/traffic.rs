//! TCP traffic through the proxy: scheduling order, draining, connection
//! states, removal, counters, failures, bulk transfers, thresholds.

use super::*;

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
    apply(&dp, vec![short_timeouts(2, 0)]).await;
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

    // Both closed: TIME_WAIT for tcp_fin (2 s here), still inactive.
    client.finish().await;
    until_some("TIME_WAIT entry", || async {
        let c = conns_to(&dp, addr).await;
        (c.len() == 1 && c[0].state == "TIME_WAIT").then_some(())
    })
    .await;
    assert_eq!(counts(&dp, key, addr).await, (0, 1));
    wait_counts(&dp, key, addr, (0, 0)).await;
    assert!(conns_to(&dp, addr).await.is_empty());
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
    until_some("the removed destination's entry to go", || async {
        conns_to(&dp, b[1].addr).await.is_empty().then_some(())
    })
    .await;
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
    let t = until_some("all four connections closed", || async {
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

    // Zero(None) zeroes every service.
    picks(vip(10), &[&ip(10, 101)], 2).await;
    assert_eq!(table(&dp).await.service(key).unwrap().stats.conns, 2);
    apply(&dp, vec![Operation::Zero(None)]).await;
    assert_eq!(table(&dp).await.service(key).unwrap().stats.conns, 0);
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
    one_dest_service(&dp, key, dest(dead, 1)).await;
    assert!(Client::try_connect(&ip(11, 100), vip(11)).await.is_err());
    let row = dest_row(&dp, key, dead).await.unwrap();
    assert_eq!(row.stats.conns, 1);
    let listed = until_some("a CLOSE entry", || async {
        let c = conns_to(&dp, dead).await;
        (c.len() == 1 && c[0].state == "CLOSE").then_some(c)
    })
    .await;
    assert!(listed[0].expires <= 10);
    assert_eq!(counts(&dp, key, dead).await, (0, 1));
}

/// Echo 8 MiB both ways at once through a fresh service on `block`, and
/// check the bytes and the counters.
async fn bulk_echo_through(options: Options, block: u8) {
    let dp = UserspaceDataplane::start(options).unwrap();
    let key = ServiceKey::tcp(vip(block));
    let echo = TcpBackend::start_raw_echo(&ip(block, 10)).await;
    one_dest_service(&dp, key, dest(echo.addr, 1)).await;
    let data: Vec<u8> = (0..8u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let back = bulk_echo(&ip(block, 100), vip(block), &data).await;
    assert_eq!(back.len(), data.len());
    assert!(back == data, "the echo differs from what was sent");
    let svc = until_some("the bulk connection to close", || async {
        let t = table(&dp).await;
        let svc = t.service(key).unwrap().clone();
        (svc.dests[0].active == 0).then_some(svc)
    })
    .await;
    assert_eq!(svc.stats.inbytes, data.len() as u64);
    assert_eq!(svc.stats.outbytes, data.len() as u64);
    assert!(
        svc.stats.inpkts > 8 && svc.stats.outpkts > 8,
        "{:?}",
        svc.stats
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_transfers_arrive_intact_both_ways() {
    // 8 MiB: well past the point where the pump switches to splice(2).
    bulk_echo_through(Options::default(), 18).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_transfers_arrive_intact_through_buffers_alone() {
    let options = Options {
        splice_after: None,
        ..Options::default()
    };
    bulk_echo_through(options, 25).await;
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
    // Raising the upper threshold lifts the overload at once
    // (`__ip_vs_update_dest`); putting it back re-arms it on the next bind.
    apply(
        &dp,
        vec![Operation::EditDest {
            service: key,
            dest: DestConfig {
                upper_threshold: 5,
                ..dest(b[1].addr, 1)
            },
        }],
    )
    .await;
    assert!(!dest_row(&dp, key, b[1].addr).await.unwrap().overloaded);
    apply(
        &dp,
        vec![
            Operation::EditDest {
                service: key,
                dest: DestConfig {
                    upper_threshold: 1,
                    ..dest(b[1].addr, 1)
                },
            },
            short_timeouts(1, 0),
        ],
    )
    .await;
    held.finish().await;
    until_some("the overload to clear", || async {
        let d = dest_row(&dp, key, b[1].addr).await.unwrap();
        (!d.overloaded && d.total_conns() == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_methods_are_recorded_and_proxied() {
    let dp = dataplane();
    let key = ServiceKey::tcp(vip(15));
    let b1 = TcpBackend::start(&ip(15, 10), "b1").await;
    one_dest_service(&dp, key, DestConfig::new(b1.addr, Forward::Route, 1)).await;
    assert_eq!(picks(vip(15), &[&ip(15, 100)], 1).await, ["b1"]);
    let row = dest_row(&dp, key, b1.addr).await.unwrap();
    assert_eq!(row.config.forward, Forward::Route);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_expire_after_the_tcp_timeout() {
    let dp = dataplane();
    let (key, b) = tcp_service(&dp, 20, &["b1"]).await;
    let mut busy = Client::connect(&ip(20, 100), vip(20)).await;
    assert_eq!(busy.echo("hi").await, "hi");
    let listed = conns_to(&dp, b[0].addr).await;
    assert!(listed[0].expires > 800, "{listed:?}");
    apply(
        &dp,
        vec![Operation::SetTimeouts(Timeouts {
            tcp: 1,
            tcp_fin: 0,
            udp: 0,
        })],
    )
    .await;
    // Idle past the 1 s timeout: the proxy resets both ends, as the
    // kernel forgets the connection.
    busy.wait_closed().await;
    until_some("the entry to leave ESTABLISHED", || async {
        let c = conns_to(&dp, b[0].addr).await;
        (c.len() == 1 && c[0].state == "CLOSE").then_some(())
    })
    .await;
    assert_eq!(counts(&dp, key, b[0].addr).await, (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipv6_service_proxies_to_ipv4_real_servers() {
    // ::1 is the only IPv6 loopback address: take a free port on it.
    let Ok(probe) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback");
        return;
    };
    let vip6 = probe.local_addr().unwrap();
    drop(probe);
    let dp = dataplane();
    let key = ServiceKey::tcp(vip6);
    let b1 = TcpBackend::start(&ip(21, 10), "b1").await;
    one_dest_service(&dp, key, dest(b1.addr, 1)).await;
    let mut stream = tokio::net::TcpStream::connect(vip6).await.unwrap();
    let mut greeting = [0u8; 3];
    tokio::io::AsyncReadExt::read_exact(&mut stream, &mut greeting)
        .await
        .unwrap();
    assert_eq!(&greeting, b"b1\n");
    let listed = conns_to(&dp, b1.addr).await;
    assert_eq!(listed[0].virtual_addr, vip6);
    assert!(listed[0].client.is_ipv6());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rates_are_estimated_every_two_seconds() {
    let dp = dataplane();
    let (key, _b) = tcp_service(&dp, 22, &["b1"]).await;
    let from = ip(22, 100);
    let seen = picks(vip(22), &[&from], 20).await;
    assert_eq!(seen.len(), 20);
    // The first estimator tick after the burst turns it into a rate.
    let rates = until_some("a connection rate", || async {
        let t = table(&dp).await;
        let svc = t.service(key).unwrap();
        (svc.rates.cps > 0).then_some((svc.rates, svc.dests[0].rates))
    })
    .await;
    // Clients only send SYN, ACKs and FIN; the backend sends its name.
    assert!(rates.0.inpps > 0 && rates.0.outbps > 0, "{rates:?}");
    assert!(rates.1.cps > 0, "{rates:?}");
}

/// A real server whose accept queue is full: a listener with backlog 0
/// that never accepts, filled by two connections. The kernel drops further
/// SYNs, so connecting to it hangs until the queue has room. Returns the
/// listener, its address and the fillers (keep them alive).
fn stuck_real_server(host: &str) -> (socket2::Socket, SocketAddr, Vec<socket2::Socket>) {
    let stuck = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let any_port: SocketAddr = format!("{host}:0").parse().unwrap();
    stuck.bind(&any_port.into()).unwrap();
    stuck.listen(0).unwrap();
    let addr = stuck.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..2 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        fillers.push(s);
    }
    (stuck, addr, fillers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_that_never_answers_is_syn_recv_until_the_connect_timeout() {
    let dp = UserspaceDataplane::start(Options {
        connect_timeout: std::time::Duration::from_millis(1500),
        ..Options::default()
    })
    .unwrap();
    let (_stuck, stuck_addr, fillers) = stuck_real_server(&ip(23, 10));
    let key = ServiceKey::tcp(vip(23));
    one_dest_service(&dp, key, dest(stuck_addr, 1)).await;
    let from = ip(23, 100);
    let client = tokio::spawn(async move { Client::try_connect(&from, vip(23)).await });
    let listed = until_some("a SYN_RECV entry", || async {
        let c = conns_to(&dp, stuck_addr).await;
        (c.len() == 1 && c[0].state == "SYN_RECV").then_some(c)
    })
    .await;
    assert!(listed[0].expires <= 2, "{listed:?}");
    assert_eq!(counts(&dp, key, stuck_addr).await, (0, 1));
    // After the connect timeout the client is reset.
    assert!(client.await.unwrap().is_err());
    assert_eq!(conns_to(&dp, stuck_addr).await[0].state, "CLOSE");
    drop(fillers);
}

/// A real server that answers and half-closes at once (data and FIN in
/// one burst, which the proxy forwards corked with the FIN) must still
/// hear everything the client sends after that FIN, as through a
/// director that only forwards segments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_that_answers_and_half_closes_still_hears_the_client() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dp = dataplane();
    let key = ServiceKey::tcp(vip(27));
    let listener = tokio::net::TcpListener::bind((ip(27, 10).as_str(), 0))
        .await
        .unwrap();
    let backend = listener.local_addr().unwrap();
    one_dest_service(&dp, key, dest(backend, 1)).await;
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        conn.write_all(b"greeting").await.unwrap();
        conn.shutdown().await.unwrap();
        let mut heard = Vec::new();
        conn.read_to_end(&mut heard).await.unwrap();
        heard
    });

    let mut client = tokio::net::TcpStream::connect(vip(27)).await.unwrap();
    let mut got = Vec::new();
    client.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"greeting", "the data before the FIN arrives whole");
    client.write_all(b"after the server's FIN").await.unwrap();
    client.shutdown().await.unwrap();
    let heard = server.await.unwrap();
    assert_eq!(heard, b"after the server's FIN");
}

/// A real server that reads the whole request, then answers with what it
/// heard and closes: `heard N bytes: …`.
async fn answer_after_eof(listener: tokio::net::TcpListener) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut heard = Vec::new();
            if conn.read_to_end(&mut heard).await.is_ok() {
                let answer = format!(
                    "heard {} bytes: {}",
                    heard.len(),
                    String::from_utf8_lossy(&heard)
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            }
        });
    }
}

/// Send `request`, half-close, and read the answer to its end.
async fn ask_and_half_close(from: &str, to: SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    let mut client = socket.connect(to).await.unwrap();
    client.write_all(request).await.unwrap();
    client.shutdown().await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client.read_to_string(&mut answer),
    )
    .await
    .expect("the real server never heard the client's FIN")
    .unwrap();
    answer
}

/// A client that half-closes at once, with or without a request, before
/// the dataplane has even accepted it or before the real server has
/// completed the handshake: the request and the FIN wait in the dataplane
/// and reach the real server once it has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_fin_before_the_real_server_accepts_is_passed_on_after() {
    let dp = dataplane();
    let prompt = tokio::net::TcpListener::bind((ip(28, 10).as_str(), 0))
        .await
        .unwrap();
    let prompt_addr = prompt.local_addr().unwrap();
    tokio::spawn(answer_after_eof(prompt));
    let prompt_key = ServiceKey::tcp(vip(28));
    one_dest_service(&dp, prompt_key, dest(prompt_addr, 1)).await;
    // A FIN alone. Whether the dataplane reads it before the real server
    // completed the handshake is a race; thirty tries lose it both ways.
    for _ in 0..30 {
        assert_eq!(
            ask_and_half_close(&ip(28, 100), vip(28), b"").await,
            "heard 0 bytes: "
        );
    }
    assert_eq!(
        ask_and_half_close(&ip(28, 101), vip(28), b"early").await,
        "heard 5 bytes: early"
    );

    // The SYN waits until the queue has room again (it is retried after
    // 1 s).
    let (stuck, stuck_addr, fillers) = stuck_real_server(&ip(28, 11));
    let stuck_key = ServiceKey::tcp(format!("{}:8081", ip(28, 1)).parse().unwrap());
    one_dest_service(&dp, stuck_key, dest(stuck_addr, 1)).await;
    let asked = tokio::spawn(async move {
        ask_and_half_close(&ip(28, 102), stuck_key.socket_addr().unwrap(), b"waited").await
    });
    until_some("the request waiting in SYN_RECV", || async {
        let c = conns_to(&dp, stuck_addr).await;
        (c.len() == 1 && c[0].state == "SYN_RECV").then_some(())
    })
    .await;
    // Make room: the fillers are taken off the queue (and never answered).
    stuck.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(stuck.into()).unwrap();
    tokio::spawn(answer_after_eof(listener));
    assert_eq!(asked.await.unwrap(), "heard 6 bytes: waited");
    drop(fillers);
}
