//! Render `ipvsadm -Ln` (and `--stats`, `-S`) for a director of 2,300
//! virtual services × 16 real servers with non-zero counters: the figure
//! to reach is well under 10 ms per listing. Compare with
//! `time ipvsadm -Ln >/dev/null` on a kernel holding the same table.

/// The same allocator as the `lvstop` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lvstop::ipvs::format::{self, ListOptions};
use lvstop::ipvs::model::{Info, Origin};
use lvstop::ipvs::{Dest, DestConfig, Forward, Service, ServiceConfig, ServiceKey, Stats, Table};

fn director(services: usize, dests: usize) -> Table {
    let mut table = Table {
        origin: Origin::Kernel,
        info: Info::KERNEL_DEFAULT,
        services: Vec::with_capacity(services),
    };
    for s in 0..services {
        let vip = Ipv4Addr::from(0x0a00_0000 + (s as u32 * 7919) % 65_536);
        let key = ServiceKey::tcp(SocketAddr::new(IpAddr::V4(vip), 80 + (s % 3) as u16));
        let mut svc = Service::new(ServiceConfig::new(key, "wrr").persistent(60));
        for d in 0..dests {
            let rip = Ipv4Addr::from(0xc0a8_0000 + ((s * dests + d) as u32 * 31) % 65_536);
            let mut dest = Dest::new(DestConfig::new(
                SocketAddr::new(IpAddr::V4(rip), 80),
                Forward::Route,
                (d % 5) as i32,
            ));
            dest.active = (s * d) as u32 % 1000;
            dest.stats = Stats {
                conns: (s * d) as u64 * 1_234_567,
                inpkts: 99_999,
                outpkts: 123_456_789,
                inbytes: 9_876_543_210,
                outbytes: 1 << 40,
            };
            svc.dests.push(dest);
        }
        table.services.push(svc);
    }
    table
}

fn render(c: &mut Criterion) {
    let table = director(2_300, 16);
    let mut group = c.benchmark_group("format");
    group.throughput(Throughput::Elements(2_300 * 17));
    let mut out = String::with_capacity(4 << 20);
    group.bench_function("list_ln_2300x16", |b| {
        b.iter(|| {
            out.clear();
            format::list(&table, &ListOptions::default(), &mut out);
            out.len()
        })
    });
    let stats = ListOptions {
        stats: true,
        ..ListOptions::default()
    };
    group.bench_function("list_stats_2300x16", |b| {
        b.iter(|| {
            out.clear();
            format::list(&table, &stats, &mut out);
            out.len()
        })
    });
    group.bench_function("save_2300x16", |b| {
        b.iter(|| {
            out.clear();
            format::save(&table, true, &mut out);
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
