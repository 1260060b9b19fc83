//! Parse + validate a generated director configuration of 2,300 virtual
//! servers × 16 real servers with TCP_CHECK (~37k checkers), and its 2× and
//! 4× versions (target: under 150 ms for 1×, growing linearly).
//! `benches/config_vs_keepalived.sh` times keepalived's own `--config-test`
//! on the same files for the side-by-side ratio.

use std::path::Path;

/// The same allocator as the `lvstop` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lvstop::config::generate;
use lvstop::config::load::{self, Options};

fn parse_and_validate(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_validate");
    group.sample_size(10);
    for scale in [1usize, 2, 4] {
        let text = generate::director(2_300 * scale, 16);
        let checkers = 2_300 * scale * 16;
        group.throughput(Throughput::Elements(checkers as u64));
        group.bench_with_input(BenchmarkId::new("checkers", checkers), &text, |b, text| {
            b.iter(|| {
                let outcome = load::load_str(Path::new("bench.conf"), text, &Options::default());
                assert!(!outcome.has_errors());
                outcome
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse_and_validate);
criterion_main!(benches);
