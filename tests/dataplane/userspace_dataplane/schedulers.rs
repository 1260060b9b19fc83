//! Every kernel scheduler through the proxy: real connections, held open so
//! the connection counts the schedulers weigh are stable, each pick
//! compared with the scheduler model fed exactly what the kernel would see
//! (the same add sequence, the destinations' live counts, the client's
//! address). Exact sequences per scheduler are the golden tests' job
//! (`tests/dataplane/sched_golden.rs`); this proves the dataplane drives them right.

use std::time::Duration;

use lvstop::ipvs::sched::{self, DestChange, Packet, KNOWN};

use super::*;

/// Weights in the order the destinations are added.
const WEIGHTS: [i32; 4] = [1, 3, 0, 2];
const PICKS: usize = 12;
/// Client addresses used in turn (hashing schedulers see several keys).
const CLIENTS: u8 = 5;

async fn scheduler_follows_the_model(name: &str, block: u8) {
    let held = scheduler_follows_the_model_for(name, block, PICKS).await;
    finish(held).await;
}

async fn finish(held: Vec<Client>) {
    for client in held {
        client.finish().await;
    }
}

/// Run `picks` held connections, each checked against the model; returns
/// them still open.
async fn scheduler_follows_the_model_for(name: &str, block: u8, picks: usize) -> Vec<Client> {
    let dp = dataplane();
    let key = ServiceKey::tcp(vip(block));
    let config = ServiceConfig::new(key, name);
    let mut backends = Vec::new();
    let mut ops = vec![Operation::AddService(config.clone())];
    // The model sees the same history: bound on an empty list, then each
    // destination inserted at the head.
    let mut model = sched::bind(&config, &[]).unwrap();
    let mut model_dests: Vec<Dest> = Vec::new();
    for (i, weight) in WEIGHTS.iter().enumerate() {
        let backend = TcpBackend::start(&ip(block, 10 + i as u8), &format!("b{i}")).await;
        let config = dest(backend.addr, *weight);
        ops.push(Operation::AddDest {
            service: key,
            dest: config,
        });
        model_dests.insert(0, Dest::new(config));
        model.dests_changed(&model_dests, DestChange::Added { index: 0 });
        backends.push(backend);
    }
    apply(&dp, ops).await;

    let mut held = Vec::new();
    for n in 0..picks {
        // Wait until every held connection counts as active, then read the
        // counts the dataplane's scheduler is about to weigh.
        let live = until_some(&format!("{name}: {n} active connections"), || async {
            let table = table(&dp).await;
            let service = table.service(key).cloned()?;
            let active: u32 = service.dests.iter().map(|d| d.active).sum();
            (active as usize == n).then_some(service)
        })
        .await;
        let client_ip = ip(block, 100 + (n as u8 % CLIENTS));
        let packet = Packet {
            protocol: Protocol::Tcp,
            client: SocketAddr::new(client_ip.parse().unwrap(), 0),
            destination: vip(block),
        };
        let index = model
            .schedule(&live.dests, &packet, Duration::ZERO)
            .unwrap_or_else(|_| panic!("{name}: the model found no destination at pick {n}"));
        let want = live.dests[index].key().socket_addr();
        let want_name = &backends.iter().find(|b| b.addr == want).unwrap().name;
        let client = Client::connect(&client_ip, vip(block)).await;
        assert_eq!(
            &client.backend, want_name,
            "{name}: pick {n} from {client_ip} went to {} but the kernel's rule picks {want_name}",
            client.backend
        );
        assert_ne!(
            client.backend, "b2",
            "{name}: a weight-0 destination was picked"
        );
        held.push(client);
    }
    held
}

macro_rules! scheduler_tests {
    ($($test:ident: $name:literal, $block:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            scheduler_follows_the_model($name, $block).await;
        }
    )*
        #[test]
        fn every_kernel_scheduler_but_twos_is_covered() {
            let mut covered = vec![$($name),*];
            covered.extend(["ovf", "twos"]);
            covered.sort();
            let mut known = KNOWN.to_vec();
            known.sort();
            assert_eq!(covered, known);
        }
    };
}

scheduler_tests! {
    rr_follows_the_kernel_rule: "rr", 200;
    wrr_follows_the_kernel_rule: "wrr", 201;
    lc_follows_the_kernel_rule: "lc", 202;
    wlc_follows_the_kernel_rule: "wlc", 203;
    sed_follows_the_kernel_rule: "sed", 204;
    nq_follows_the_kernel_rule: "nq", 205;
    fo_follows_the_kernel_rule: "fo", 206;
    sh_follows_the_kernel_rule: "sh", 208;
    mh_follows_the_kernel_rule: "mh", 209;
    dh_follows_the_kernel_rule: "dh", 210;
    lblc_follows_the_kernel_rule: "lblc", 211;
    lblcr_follows_the_kernel_rule: "lblcr", 212;
}

/// ovf takes a destination while its ActiveConn does not exceed its
/// weight (`activeconns > weight` skips it), so weights 1, 3, 2 hold
/// 2 + 4 + 3 = 9 connections; the tenth finds no destination and is reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ovf_follows_the_kernel_rule_until_every_destination_overflows() {
    let block = 207;
    let held = scheduler_follows_the_model_for("ovf", block, 9).await;
    let refused = Client::try_connect(&ip(block, 120), vip(block)).await;
    assert!(
        refused.is_err(),
        "a tenth connection was served by {:?}",
        refused.map(|c| c.backend)
    );
    finish(held).await;
}

/// twos draws at random, so no sequence can be predicted; it must still
/// spread over the weighted destinations and never pick weight 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twos_spreads_over_weighted_destinations_only() {
    let dp = dataplane();
    let key = ServiceKey::tcp(vip(213));
    let mut ops = vec![Operation::AddService(ServiceConfig::new(key, "twos"))];
    let mut backends = Vec::new();
    for (i, weight) in WEIGHTS.iter().enumerate() {
        let backend = TcpBackend::start(&ip(213, 10 + i as u8), &format!("b{i}")).await;
        ops.push(Operation::AddDest {
            service: key,
            dest: dest(backend.addr, *weight),
        });
        backends.push(backend);
    }
    apply(&dp, ops).await;
    let spread = distribution(vip(213), &[&ip(213, 100)], 30).await;
    assert!(!spread.contains_key("b2"), "{spread:?}");
    assert!(
        spread.len() >= 2,
        "twos used one destination only: {spread:?}"
    );
}
