//! Helpers shared by the integration tests: tier gating, network-namespace
//! guards and the virtme-ng VM runner.
//!
//! Privileged tiers run only when `LVSTOP_TEST_PRIVILEGED=1`; otherwise each
//! test prints that it was skipped and passes. `.ci/run` sets the variable, so
//! in CI they are mandatory.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod backends;
pub mod corpus;
pub mod daemon;
pub mod golden;
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

/// Returns true (after printing why) when a privileged test must be skipped.
pub fn skip_unless_privileged(test: &str) -> bool {
    if privileged() {
        return false;
    }
    eprintln!("skipped {test}: set LVSTOP_TEST_PRIVILEGED=1 (root) to run the privileged tier");
    true
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

/// An address on 127.0.BLOCK.LAST with a port that was free a moment ago.
pub fn free_addr(block: u8, last: u8) -> std::net::SocketAddr {
    let ip = std::net::Ipv4Addr::new(127, 0, block, last);
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Polls `check` every 50 ms until it holds; fails after 30 s.
pub async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("never saw {what}");
}
