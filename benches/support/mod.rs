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
