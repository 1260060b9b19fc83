//! Benchmark of the health driver: N TCP_CHECKs (default 10,000) with
//! `delay_loop 1` against loopback listeners (connect, then close), run on
//! a 2-worker tokio runtime. Reports checks per second, CPU use (process
//! user + system time, listeners included, as a share of one core), the
//! lateness of probe starts against their schedule (p50, p99, max) and the
//! probes that started later than 50 ms.
//!
//! `cargo bench --bench health_checks`; environment:
//! `LVSTOP_BENCH_CHECKERS` (10000), `LVSTOP_BENCH_SECS` (20),
//! `LVSTOP_BENCH_LISTENERS` (64, spread over 127.0.0.1-8),
//! `LVSTOP_BENCH_PROBER` (`plain` connect-and-close, or `real`: the
//! daemon's own TCP_CHECK probe).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvstop::config::load::{load_str, Options};
use lvstop::health::driver::{self, DriverOptions};
use lvstop::health::machine::{CheckAction, CheckOptions, HealthMachine};
use lvstop::health::outcome::{ProbeReport, Reason, Verdict};
use lvstop::health::target::{probe_specs, ProbeTarget, Prober, RealProbes};
use tokio::net::{TcpListener, TcpStream};

struct TcpConnect;

impl Prober for TcpConnect {
    type Target = ProbeTarget;

    async fn probe(&self, target: &ProbeTarget) -> ProbeReport {
        let started = tokio::time::Instant::now();
        let verdict =
            match tokio::time::timeout(target.timeout, TcpStream::connect(target.connect)).await {
                Ok(Ok(_stream)) => Verdict::Up,
                Ok(Err(e)) => Verdict::Down {
                    reason: Reason::Io {
                        detail: e.to_string(),
                    },
                },
                Err(_) => Verdict::Down {
                    reason: Reason::Timeout {
                        after: target.timeout,
                    },
                },
            };
        ProbeReport {
            verdict,
            latency: started.elapsed(),
        }
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Process CPU time (user + system) from /proc/self/stat, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of proc(5) (utime, stime), counted from the state.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

fn config(checkers: u64, listeners: &[SocketAddr]) -> String {
    let mut text = String::from("global_defs {\n router_id BENCH\n}\n");
    let per_vs = 100;
    for vs in 0..checkers.div_ceil(per_vs) {
        writeln!(
            text,
            "virtual_server 10.{}.{}.1 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n smtp_alert off",
            vs / 256,
            vs % 256
        )
        .unwrap();
        for rs in 0..per_vs.min(checkers - vs * per_vs) {
            let n = (vs * per_vs + rs) as usize;
            let target = listeners[n % listeners.len()];
            writeln!(
                text,
                " real_server 10.200.{}.{} 80 {{\n  TCP_CHECK {{\n   connect_ip {}\n   connect_port {}\n   connect_timeout 2\n  }}\n }}",
                rs / 256,
                rs % 256,
                target.ip(),
                target.port()
            )
            .unwrap();
        }
        text.push_str("}\n");
    }
    text
}

fn main() {
    let checkers = env("LVSTOP_BENCH_CHECKERS", 10_000);
    let secs = env("LVSTOP_BENCH_SECS", 20);
    let listener_count = env("LVSTOP_BENCH_LISTENERS", 64) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut listeners = Vec::new();
        for i in 0..listener_count {
            let ip = format!("127.0.0.{}", 1 + i % 8);
            let listener = TcpListener::bind((ip.as_str(), 0)).await.unwrap();
            listeners.push(listener.local_addr().unwrap());
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    drop(stream);
                }
            });
        }
        let text = config(checkers, &listeners);
        let loaded = load_str("bench.conf".as_ref(), &text, &Options::default());
        assert!(!loaded.has_errors(), "generated config has errors");
        let runner = HealthMachine::new(&loaded.config, CheckOptions::default()).unwrap();
        // `LVSTOP_BENCH_PROBER=real` runs the daemon's own probes
        // (health::probe: reset on close, bind options); the default is a
        // plain connect-and-close.
        let mut handle = if std::env::var("LVSTOP_BENCH_PROBER").is_ok_and(|p| p == "real") {
            let specs = probe_specs(&loaded.config, None);
            driver::spawn(runner, specs, Arc::new(RealProbes), DriverOptions::default()).unwrap()
        } else {
            let targets = runner.targets().to_vec();
            driver::spawn(runner, targets, Arc::new(TcpConnect), DriverOptions::default()).unwrap()
        };
        let mut actions = std::mem::replace(
            &mut handle.actions,
            tokio::sync::mpsc::unbounded_channel().1,
        );
        let stopping = Arc::new(AtomicBool::new(false));
        let stopping_seen = Arc::clone(&stopping);
        let removals = tokio::spawn(async move {
            let mut removed = 0u64;
            while let Some(action) = actions.recv().await {
                if matches!(action, CheckAction::RemoveDest { .. })
                    && !stopping_seen.load(Ordering::Relaxed)
                {
                    removed += 1;
                }
            }
            removed
        });
        // Let the warmup spread the first checks, then measure.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = handle.stats();
        let cpu_before = cpu_seconds();
        let wall = Instant::now();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let after = handle.stats();
        let cpu = cpu_seconds() - cpu_before;
        let elapsed = wall.elapsed().as_secs_f64();
        stopping.store(true, Ordering::Relaxed);
        let runner = handle.shutdown().await.unwrap();
        let removed = removals.await.unwrap();
        let down = runner
            .snapshot()
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .flat_map(|rs| &rs.checkers)
            .filter(|c| c.consecutive_failures > 0)
            .count();
        let checks = after.probes_finished - before.probes_finished;
        println!("health_checks: {checkers} TCP checkers, delay_loop 1, {listener_count} loopback listeners, 2 tokio workers, {secs} s");
        println!("  checks/s          {:.0}", checks as f64 / elapsed);
        println!("  CPU               {:.0}% of one core (process, listeners included)", 100.0 * cpu / elapsed);
        println!("  lateness p50/p99/max  {} / {} / {} ms (whole run)", after.lateness_p50.as_millis(), after.lateness_p99.as_millis(), after.lateness_max.as_millis());
        println!("  started late (>50 ms) {} of {} (whole run), {} of {} while measured", after.probes_late, after.probes_started, after.probes_late - before.probes_late, after.probes_started - before.probes_started);
        println!("  checkers failing at end {down}; removals before shutdown {removed}");
    });
}
