//! What the daemon benches share: the daemon child reaped even when a
//! bench panics, the quick mode `cargo test --all-targets` runs them in,
//! and numbers from the environment.

#![allow(dead_code)]

/// The daemon, killed and reaped even when the bench panics.
pub struct Reaped(pub std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cargo test --all-targets` runs a bench without `--bench`: then a
/// small, quick run only shows the measurement still works.
pub fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

/// A number from the environment, else `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `lvstop daemon --dataplane userspace -f CONF --socket SOCKET`, its
/// stderr in `log`, returned once its control socket exists (and how long
/// that took). Panics with the daemon's log when it exits or takes more
/// than `limit`.
pub fn start_daemon(
    lvstop: &str,
    conf: &std::path::Path,
    socket: &std::path::Path,
    log: &std::path::Path,
    limit: std::time::Duration,
) -> (Reaped, std::time::Duration) {
    let mut daemon = Reaped(
        std::process::Command::new(lvstop)
            .args(["daemon", "--dataplane", "userspace", "-f"])
            .arg(conf)
            .arg("--socket")
            .arg(socket)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    );
    let started = std::time::Instant::now();
    while !socket.exists() {
        let exited = daemon.0.try_wait().unwrap();
        assert!(
            exited.is_none() && started.elapsed() < limit,
            "the daemon did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (daemon, started.elapsed())
}
