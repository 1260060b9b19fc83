//! Helpers shared by the integration tests: tier gating, the lock that keeps
//! one module's privileged tests apart from another's, free addresses,
//! polling, network-namespace guards and the virtme-ng VM runner. Every
//! test binary (`tests/AREA/main.rs`) includes this module once.
//!
//! Privileged tiers run only when `LVSTOP_TEST_PRIVILEGED=1`; otherwise each
//! test prints that it was skipped and passes. `.ci/run` sets the variable, so
//! in CI they are mandatory.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod backends;
pub mod corpus;
pub mod daemon;
pub mod golden;
pub mod group_lock;
pub mod keepalived;
pub mod lan;
pub mod netns;
pub mod prometheus;
pub mod tmux;
pub mod vm;

/// Whether the privileged tiers (network namespaces, VM) should run.
pub fn privileged() -> bool {
    std::env::var("LVSTOP_TEST_PRIVILEGED").is_ok_and(|v| v == "1")
}

/// Starts the privileged test `test` of `module` (pass `module_path!()`):
/// `None`, after printing why, when it must be skipped; otherwise a guard
/// that keeps the tests of every other module of this binary out until it
/// is dropped. Tests of one module run side by side: a module's
/// namespaces, VMs, tmux sessions and keepalived processes are written to
/// live together, not beside another module's.
pub fn privileged_test(module: &str, test: &str) -> Option<group_lock::Guard> {
    if !privileged() {
        eprintln!("skipped {test}: set LVSTOP_TEST_PRIVILEGED=1 (root) to run the privileged tier");
        return None;
    }
    Some(group_lock::enter(module))
}

/// The name libtest gives the test `name` of `module` (pass
/// `module_path!()`): the module path without the binary's own name, as
/// `--exact` wants it when a test runs itself again in a child process.
pub fn test_path(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_binary, path)) => format!("{path}::{name}"),
        None => name.to_string(),
    }
}

/// A name unique to this process and call, short enough for an interface
/// name (15 bytes max).
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id() % 100_000;
    let name = format!("{prefix}{pid}x{n}");
    name.chars().take(15).collect()
}

/// A temporary directory outside `/tmp`, for files a process with a
/// private `/tmp` (a tmpfs of its own, as under systemd's `PrivateTmp`)
/// must still reach: under the build's own temporary directory, or
/// `/var/tmp` when the build directory itself sits under `/tmp`.
pub fn dir_outside_tmp() -> tempfile::TempDir {
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let base = if target.starts_with("/tmp") {
        std::path::Path::new("/var/tmp")
    } else {
        target
    };
    tempfile::tempdir_in(base).unwrap()
}

/// A loopback address of this test process's own block (127.P.N.host),
/// so test binaries running in parallel never collide.
pub fn loopback_address(n: u8, host: u8) -> std::net::Ipv4Addr {
    let p = (std::process::id() % 200) as u8 + 20;
    std::net::Ipv4Addr::new(127, p, n, host)
}

/// A socket address on `ip` whose port was free a moment ago (bound and
/// released: tests pick loopback addresses of their own, so nothing else
/// takes it in between).
pub fn free_addr(ip: std::net::Ipv4Addr) -> std::net::SocketAddr {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Polls `cond` until it holds or `limit` has passed; true once it holds.
/// The pause between checks grows from 20 ms to 250 ms, so a quick change
/// is seen at once and a slow check (a shell in a VM, a Prometheus query)
/// is not run in a busy loop. Callers assert with their own message.
pub fn eventually(limit: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(20);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// Polls the async `check` every 20 ms until it returns `Some`, and returns
/// that; panics naming `what` after 30 s.
pub async fn until_some<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "never saw {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// [`until_some`] for a check that only holds or not.
pub async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    until_some(what, async || check().await.then_some(())).await
}
