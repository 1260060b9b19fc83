//! The plan of a one-line change (one real server's weight) to a
//! 2,300 virtual server / 36,800 real server configuration with a
//! TCP_CHECK per real server, end to end: load the candidate text
//! (preprocess, parse, validate), then `ApplyPlan::between` against the
//! running state (configuration, health-filtered table with one real
//! server down, live table). The target is under 100 ms; keepalived
//! took 132 s before its fix and 0.24 s after on the same scale.
//!
//! Two paths: a full load of the candidate text, and the load that
//! re-parses only the edited `virtual_server` block
//! (`load_candidate_reusing`, what an apply uses when the director keeps
//! its running text). Prints the figures of each stage once, then lets
//! criterion time both whole paths.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

/// The same allocator as the `lvstop` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use lvstop::config::generate;
use lvstop::config::load::{self, Options};
use lvstop::engine::plan::{
    load_candidate, load_candidate_reusing, ApplyPlan, Running, RunningText,
};
use lvstop::ipvs::desired::{self, DesiredService};
use lvstop::ipvs::model::{Dest, Info, Origin, Service, ServiceKey, Table};

const VIRTUAL_SERVERS: usize = 2_300;
const REAL_SERVERS: usize = 16;

struct State {
    running_text: String,
    running: lvstop::config::model::Config,
    wanted: Vec<DesiredService>,
    live: Table,
    owned: HashSet<ServiceKey>,
    candidate_text: String,
}

fn state() -> State {
    let text = generate::director(VIRTUAL_SERVERS, REAL_SERVERS);
    let outcome = load::load_str(Path::new("bench.conf"), &text, &Options::default());
    assert!(!outcome.has_errors());
    let running = outcome.config;
    let mut wanted = desired::from_config(&running.lvs).unwrap_or_default();
    // Live check state: one real server is down and out of the table.
    if let Some(service) = wanted.get_mut(1) {
        service.dests.remove(0);
    }
    let live = Table {
        origin: Origin::Userspace,
        info: Info::KERNEL_DEFAULT,
        services: wanted
            .iter()
            .map(|s| {
                let mut service = Service::new(s.config.clone());
                service.dests = s.dests.iter().map(|d| Dest::new(*d)).collect();
                service
            })
            .collect(),
    };
    let owned = wanted.iter().map(|s| s.config.key).collect();
    // The one-line change: the first real server's weight 1 -> 7.
    let candidate_text = text.replacen("        weight 1\n", "        weight 7\n", 1);
    assert_ne!(candidate_text, text);
    State {
        running_text: text,
        running,
        wanted,
        live,
        owned,
        candidate_text,
    }
}

/// The candidate's model, by a full load or reusing the running one.
fn candidate(state: &State, reuse: bool) -> lvstop::config::model::Config {
    let path = Path::new("bench.conf");
    let loaded = if reuse {
        let running = RunningText {
            text: &state.running_text,
            config: &state.running,
        };
        load_candidate_reusing(path, &state.candidate_text, Some(running))
    } else {
        load_candidate(path, &state.candidate_text)
    };
    match loaded {
        Ok(config) => config,
        Err(e) => panic!("{e}"),
    }
}

fn plan(state: &State, reuse: bool) -> ApplyPlan {
    let candidate = candidate(state, reuse);
    let running = Running {
        config: &state.running,
        wanted: &state.wanted,
        live: &state.live,
        owned: &state.owned,
    };
    match ApplyPlan::between(running, &candidate) {
        Ok(plan) => plan,
        Err(e) => panic!("{e}"),
    }
}

fn figures(state: &State, reuse: bool) {
    let start = Instant::now();
    let candidate = candidate(state, reuse);
    let loaded = start.elapsed();
    let start = Instant::now();
    let running = Running {
        config: &state.running,
        wanted: &state.wanted,
        live: &state.live,
        owned: &state.owned,
    };
    let planned = ApplyPlan::between(running, &candidate);
    let diffed = start.elapsed();
    let Ok(planned) = planned else {
        panic!("no plan");
    };
    println!(
        "apply_plan ({}): {} virtual servers, {} real servers: load {:.1} ms + plan {:.1} ms = {:.1} ms (target < 100 ms)",
        if reuse { "reusing the running model" } else { "full load" },
        VIRTUAL_SERVERS,
        VIRTUAL_SERVERS * REAL_SERVERS,
        loaded.as_secs_f64() * 1e3,
        diffed.as_secs_f64() * 1e3,
        (loaded + diffed).as_secs_f64() * 1e3
    );
    println!(
        "apply_plan: {} line(s), checks kept {}: {:?}",
        planned.lines().len(),
        planned.checks_kept,
        planned.lines()
    );
}

fn one_line_change(c: &mut Criterion) {
    let state = state();
    figures(&state, false);
    figures(&state, true);
    let mut group = c.benchmark_group("apply_plan");
    group.sample_size(10);
    group.bench_function("one_weight_full_load", |b| b.iter(|| plan(&state, false)));
    group.bench_function("one_weight_reusing", |b| b.iter(|| plan(&state, true)));
    group.finish();
}

criterion_group!(benches, one_line_change);
criterion_main!(benches);
