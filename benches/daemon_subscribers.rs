//! Daemon CPU with ten subscribers at 1 Hz on a 10,000-destination table
//! (target: under 1 % of one core).
//!
//! Starts `lvstop daemon --dataplane userspace` on a generated
//! configuration (1,000 virtual servers × 10 real servers on loopback, no
//! checkers, so only the subscribers cost anything), measures the daemon's
//! CPU (utime + stime from /proc/PID/stat) over a quiet window, then again
//! with ten subscribers on `subscribe {interval_ms: 1000}` reading every
//! line, and prints both with the bytes each subscriber received.
//!
//! `LVSTOP_BENCH_SECONDS` (default 60) sets each window;
//! `LVSTOP_BENCH_SERVICES` (default 1000) the number of virtual servers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[path = "support/mod.rs"]
mod support;

use support::{env_or, quick, start_daemon};

const LVSTOP: &str = env!("CARGO_BIN_EXE_lvstop");
const SUBSCRIBERS: usize = 10;
const DESTS_PER_SERVICE: usize = 10;

/// CPU seconds (user + system) the process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may contain spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields[11].parse().unwrap();
    let stime: f64 = fields[12].parse().unwrap();
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    (utime + stime) / ticks
}

fn config(services: usize) -> String {
    let mut text = String::new();
    for s in 0..services {
        let vip = format!("127.1.{}.{}", s / 250, s % 250 + 1);
        text.push_str(&format!(
            "virtual_server {vip} 8080 {{\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n"
        ));
        for d in 0..DESTS_PER_SERVICE {
            text.push_str(&format!(
                "    real_server 127.2.{}.{} {} {{\n        weight 1\n    }}\n",
                s / 250,
                s % 250 + 1,
                9000 + d
            ));
        }
        text.push_str("}\n");
    }
    text
}

fn main() {
    let (window, services) = if quick() {
        (Duration::from_secs(2), 20)
    } else {
        (
            Duration::from_secs(env_or("LVSTOP_BENCH_SECONDS", 60)),
            env_or::<usize>("LVSTOP_BENCH_SERVICES", 1000),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, config(services)).unwrap();
    let socket = dir.path().join("lvstop.sock");
    let log = dir.path().join("daemon.log");
    let (mut daemon, _) = start_daemon(LVSTOP, &conf, &socket, &log, Duration::from_secs(120));
    let pid = daemon.0.id();
    std::thread::sleep(Duration::from_secs(if quick() { 0 } else { 2 }));

    let before = cpu_seconds(pid);
    std::thread::sleep(window);
    let idle = (cpu_seconds(pid) - before) / window.as_secs_f64();

    let stop = Arc::new(AtomicBool::new(false));
    let bytes = Arc::new(AtomicU64::new(0));
    let snapshots = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for id in 1..=SUBSCRIBERS {
        let mut stream = UnixStream::connect(&socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        writeln!(
            stream,
            r#"{{"id":{id},"method":"subscribe","params":{{"interval_ms":1000}}}}"#
        )
        .unwrap();
        let (stop, bytes, snapshots) = (
            Arc::clone(&stop),
            Arc::clone(&bytes),
            Arc::clone(&snapshots),
        );
        readers.push(std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) => return,
                    Ok(n) => {
                        bytes.fetch_add(n as u64, Ordering::Relaxed);
                        if line.starts_with(
                            format!("{{\"id\":{id},\"result\":\"snapshot\"").as_bytes(),
                        ) {
                            snapshots.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => continue,
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(2));
    let before = cpu_seconds(pid);
    let bytes_before = bytes.load(Ordering::Relaxed);
    let snapshots_before = snapshots.load(Ordering::Relaxed);
    std::thread::sleep(window);
    let busy = (cpu_seconds(pid) - before) / window.as_secs_f64();
    let sent = bytes.load(Ordering::Relaxed) - bytes_before;
    let delivered = snapshots.load(Ordering::Relaxed) - snapshots_before;
    assert!(delivered > 0, "no snapshot reached the subscribers");
    stop.store(true, Ordering::SeqCst);
    for reader in readers {
        let _ = reader.join();
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = daemon.0.wait();

    let dests = services * DESTS_PER_SERVICE;
    println!("daemon_subscribers: {services} virtual servers, {dests} destinations, {SUBSCRIBERS} subscribers at 1 Hz, {} s windows", window.as_secs());
    println!(
        "  idle daemon CPU:            {:.3} % of a core",
        idle * 100.0
    );
    println!(
        "  with subscribers CPU:       {:.3} % of a core (target < 1 %)",
        busy * 100.0
    );
    println!(
        "  snapshots delivered:        {delivered} ({:.1}/s over {SUBSCRIBERS} subscribers)",
        delivered as f64 / window.as_secs_f64()
    );
    println!(
        "  bytes per subscriber:       {:.0} KB/s",
        sent as f64 / window.as_secs_f64() / SUBSCRIBERS as f64 / 1024.0
    );
}
