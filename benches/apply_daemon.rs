//! A one-line apply on a big director, end to end (target: under 100 ms;
//! keepalived took 132 s before its fix and 0.24 s after).
//!
//! Starts `lvstop daemon --dataplane userspace` on 2,300 virtual servers ×
//! 16 real servers, each with a TCP_CHECK against live loopback listeners
//! (36,800 checkers, all up), waits until every check has a verdict, then
//! times `lvstop ctl apply` of the same file with one weight changed —
//! validation, plan, the all-or-nothing IPVS step, checks kept, VRRP,
//! and the file written — as the operator sees it, and the dry run beside
//! it. Also times `kill -HUP` + the reload event for the same change.
//!
//! `LVSTOP_BENCH_SERVICES` (default 2300) and `LVSTOP_BENCH_RUNS`
//! (default 7) change the size and the repetitions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;

use support::{env_or, quick, start_daemon};

const LVSTOP: &str = env!("CARGO_BIN_EXE_lvstop");
const REAL_SERVERS: usize = 16;

fn config(services: usize, ports: &[u16], first_weight: u32) -> String {
    let mut text = String::with_capacity(services * 2000);
    for s in 0..services {
        text.push_str(&format!(
            "virtual_server 127.6.{}.{} 80 {{\n    delay_loop 30\n    lb_algo wlc\n    lb_kind NAT\n    protocol TCP\n",
            s / 250,
            s % 250 + 1
        ));
        for (r, port) in ports.iter().enumerate() {
            let weight = if s == 0 && r == 0 { first_weight } else { 1 };
            text.push_str(&format!(
                "    real_server 127.5.0.{} {port} {{\n        weight {weight}\n        TCP_CHECK {{\n            connect_timeout 3\n        }}\n    }}\n",
                r + 1
            ));
        }
        text.push_str("}\n");
    }
    text
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ctl(socket: &std::path::Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let output = Command::new(LVSTOP)
        .arg("ctl")
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        output.status.success(),
        "ctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    took
}

fn main() {
    let (services, runs, settle) = if quick() {
        (20, 1, Duration::from_secs(1))
    } else {
        (
            env_or("LVSTOP_BENCH_SERVICES", 2300),
            env_or("LVSTOP_BENCH_RUNS", 7),
            Duration::from_secs(35),
        )
    };
    // Sixteen real servers that answer every TCP_CHECK.
    let listeners: Vec<TcpListener> = (1..=REAL_SERVERS)
        .map(|r| TcpListener::bind(format!("127.5.0.{r}:0")).unwrap())
        .collect();
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    for listener in listeners {
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                drop(stream);
            }
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    let candidate = dir.path().join("candidate.conf");
    std::fs::write(&conf, config(services, &ports, 1)).unwrap();
    let socket = dir.path().join("lvstop.sock");
    let log = dir.path().join("daemon.log");
    let (mut daemon, startup) =
        start_daemon(LVSTOP, &conf, &socket, &log, Duration::from_secs(300));
    // Every checker has had its first verdict once a full delay_loop
    // passed; wait for it so the apply meets live check state.
    std::thread::sleep(settle);

    let mut applies = Vec::new();
    let mut dry_runs = Vec::new();
    let path = candidate.display().to_string();
    for run in 0..runs {
        let weight = if run % 2 == 0 { 2 } else { 1 };
        std::fs::write(&candidate, config(services, &ports, weight)).unwrap();
        dry_runs.push(ctl(&socket, &["apply", &path, "--dry-run"]));
        applies.push(ctl(&socket, &["apply", &path]));
        // After its answer the apply moves the checkers and VRRP along
        // (the daemon's "checks"/"vrrp" phases below); let that finish so
        // the next dry run times itself, not the wait behind it.
        std::thread::sleep(settle.min(Duration::from_secs(2)));
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = daemon.0.wait();
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    for line in log.lines().filter(|l| l.contains("apply took")) {
        println!("  daemon: {}", line.split("INFO ").nth(1).unwrap_or(line));
    }

    println!(
        "apply_daemon: {services} virtual servers, {} real servers with TCP_CHECK (all up), {runs} runs",
        services * REAL_SERVERS
    );
    println!("  daemon start to socket:       {startup:?}");
    println!(
        "  ctl apply --dry-run (median): {:?}  (min {:?}, max {:?})",
        median(dry_runs.clone()),
        dry_runs.iter().min().unwrap(),
        dry_runs.iter().max().unwrap()
    );
    println!(
        "  ctl apply, one weight (median): {:?}  (min {:?}, max {:?}); target < 100 ms, keepalived 0.24 s after its fix",
        median(applies.clone()),
        applies.iter().min().unwrap(),
        applies.iter().max().unwrap()
    );
}
