//! Cost of one `track_process` scan of the process table, side by side
//! with `pgrep` (what the man page says a track_script would run instead).
//! Tops the table up to N processes (default 500) with `sleep`s, then
//! times lvstop's scan reading names only (`process NAME`), and with
//! command lines (`full_command` or parameters), against `pgrep -c NAME`
//! and `pgrep -f -c WORDS` on the same table. CPU is user + system time
//! per scan (`/proc/self/stat`: this process for lvstop, the waited-for
//! children for pgrep, whose figure includes starting the program).
//!
//! `cargo bench --bench process_scan`; environment:
//! `LVSTOP_BENCH_PROCESSES` (500), `LVSTOP_BENCH_SCANS` (200).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lvstop::vrrp::process::scan::scan;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn processes_now() -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .count()
}

/// Whose CPU time to read from `/proc/self/stat`.
#[derive(Clone, Copy)]
enum Who {
    /// This process (utime + stime).
    Me,
    /// Its waited-for children (cutime + cstime).
    Children,
}

/// User + system CPU time, in clock ticks turned into a duration.
fn cpu(who: Who) -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which may contain spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (user, system) = match who {
        Who::Me => (11, 12),
        Who::Children => (13, 14),
    };
    let ticks: f64 = fields[user].parse::<f64>().unwrap() + fields[system].parse::<f64>().unwrap();
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    Duration::from_secs_f64(ticks / per_second)
}

struct Sleepers(Vec<Child>);

impl Drop for Sleepers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// (wall per scan, CPU per scan) over `scans` runs of `run`.
fn measure(scans: usize, who: Who, mut run: impl FnMut()) -> (Duration, Duration) {
    let cpu_before = cpu(who);
    let started = Instant::now();
    for _ in 0..scans {
        run();
    }
    let n = u32::try_from(scans).unwrap();
    (started.elapsed() / n, (cpu(who) - cpu_before) / n)
}

fn main() {
    let target = env_or("LVSTOP_BENCH_PROCESSES", 500);
    let scans = env_or("LVSTOP_BENCH_SCANS", 200);
    let marker = format!("{}.5", 900_000 + std::process::id());
    let mut sleepers = Sleepers(Vec::new());
    while processes_now() < target {
        let child = Command::new("sleep")
            .arg(&marker)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        sleepers.0.push(child);
    }
    std::thread::sleep(Duration::from_millis(300));
    let total = processes_now();
    println!(
        "process table: {total} processes ({} sleeps started)",
        sleepers.0.len()
    );

    let proc_root = Path::new("/proc");
    let (wall, cpu_names) = measure(scans, Who::Me, || {
        std::hint::black_box(scan(proc_root, false).unwrap());
    });
    println!("lvstop scan, names only:     wall {wall:?}/scan, CPU {cpu_names:?}/scan");
    let (wall, cpu_full) = measure(scans, Who::Me, || {
        std::hint::black_box(scan(proc_root, true).unwrap());
    });
    println!("lvstop scan, command lines:  wall {wall:?}/scan, CPU {cpu_full:?}/scan");

    let runs = (scans / 4).max(10);
    let pgrep = |args: Vec<String>| {
        move || {
            Command::new("pgrep")
                .args(&args)
                .stdout(Stdio::null())
                .status()
                .unwrap();
        }
    };
    let (wall, cpu_pgrep) = measure(
        runs,
        Who::Children,
        pgrep(vec!["-c".into(), "sleep".into()]),
    );
    println!("pgrep -c sleep:              wall {wall:?}/run,  CPU {cpu_pgrep:?}/run");
    let pattern = format!("^sleep {marker}$");
    let (wall, cpu_pgrep_f) = measure(
        runs,
        Who::Children,
        pgrep(vec!["-f".into(), "-c".into(), pattern]),
    );
    println!("pgrep -f -c '^sleep N$':     wall {wall:?}/run,  CPU {cpu_pgrep_f:?}/run");
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "ratio lvstop/pgrep CPU: names {:.2}, command lines {:.2} (lower is better)",
        ratio(cpu_names, cpu_pgrep),
        ratio(cpu_full, cpu_pgrep_f)
    );
    println!(
        "at one scan per 250 ms: {:.2} % of a core (names), {:.2} % (command lines)",
        cpu_names.as_secs_f64() * 4.0 * 100.0,
        cpu_full.as_secs_f64() * 4.0 * 100.0
    );
}
