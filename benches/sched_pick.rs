//! Cost of one scheduling decision with 1,000 destinations, for the
//! schedulers whose pick cost differs in kind: rr (reference), wrr (a walk
//! from the cursor), wlc (a full walk), sh (a table lookup) and mh (a
//! SipHash and a table lookup). Destinations carry varied weights and
//! connection counts; clients vary so hashing schedulers hit many slots.

/// The same allocator as the `lvstop` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lvstop::ipvs::model::{Dest, DestConfig, Forward, Protocol, ServiceConfig, ServiceKey};
use lvstop::ipvs::sched::{self, Packet};

const DESTS: usize = 1_000;

fn dests() -> Vec<Dest> {
    (0..DESTS)
        .map(|i| {
            let addr = SocketAddr::new(Ipv4Addr::from(0xc633_6400u32 + i as u32).into(), 80);
            let mut d = Dest::new(DestConfig::new(addr, Forward::Route, 1 + (i % 7) as i32));
            d.active = (i * 37 % 101) as u32;
            d.inactive = (i * 91 % 997) as u32;
            d
        })
        .collect()
}

fn packets() -> Vec<Packet> {
    (0..4096u32)
        .map(|n| Packet {
            protocol: Protocol::Tcp,
            client: SocketAddr::new(
                Ipv4Addr::from(0xcb00_7100u32.wrapping_add(n.wrapping_mul(2_654_435_761))).into(),
                1024 + (n % 60_000) as u16,
            ),
            destination: "198.51.100.1:80".parse().unwrap_or_else(|_| unreachable!()),
        })
        .collect()
}

fn pick(c: &mut Criterion) {
    let dests = dests();
    let packets = packets();
    let mut group = c.benchmark_group("sched_pick_1000_dests");
    for name in ["rr", "wrr", "wlc", "sh", "mh"] {
        let service = ServiceConfig::new(
            ServiceKey::tcp("198.51.100.1:80".parse().unwrap_or_else(|_| unreachable!())),
            name,
        );
        let mut scheduler = match sched::bind(&service, &dests) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let mut n = 0usize;
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                n = (n + 1) & (packets.len() - 1);
                black_box(scheduler.schedule(&dests, &packets[n], Duration::ZERO))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, pick);
criterion_main!(benches);
