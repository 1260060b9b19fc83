//! Notify scripts of one channel (one VRRP instance, one sync group, one
//! virtual server…) run one after another, in the order the events
//! happened; different channels run concurrently.
//!
//! keepalived forks each notify script and does not wait, so two quick
//! transitions can run their scripts out of order (its manual recommends a
//! FIFO when order matters). lvstop chooses the stricter behaviour: within
//! a channel a script starts only when the previous one has ended or been
//! killed at its timeout. [`NotifyQueue::push`] never waits; when
//! `capacity` runs are pending the oldest pending one is dropped, counted
//! and logged (the newest state is the one that matters).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::queue::DropOldest;
use super::script::SharedScript;

/// Pending runs per channel before the oldest is dropped.
pub const DEFAULT_CAPACITY: usize = 64;

/// Counters of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NotifyStats {
    pub submitted: u64,
    /// Ran and exited 0.
    pub succeeded: u64,
    /// Ran and failed (non-zero exit, signal, could not start).
    pub failed: u64,
    /// Killed at the timeout (also counted in `failed`).
    pub timed_out: u64,
    /// Dropped unrun because the channel was full.
    pub dropped: u64,
    /// Waiting now.
    pub queued: u64,
}

#[derive(Debug, Default)]
struct Counters {
    submitted: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    timed_out: AtomicU64,
    dropped: AtomicU64,
}

#[derive(Debug)]
struct Job {
    script: SharedScript,
    args: Vec<String>,
}

#[derive(Debug)]
struct Shared {
    name: String,
    timeout: Duration,
    jobs: DropOldest<Job>,
    counters: Counters,
}

/// One ordered channel of script runs. Cheap to clone; its task ends when
/// the last clone is dropped and the pending runs are done.
#[derive(Debug, Clone)]
pub struct NotifyQueue {
    shared: Arc<Shared>,
    _open: Arc<Open>,
}

#[derive(Debug)]
struct Open(Arc<Shared>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.jobs.close();
    }
}

impl NotifyQueue {
    /// Starts the channel's task on the current tokio runtime. `name`
    /// appears in logs (e.g. `VI_1`); each run may last `timeout`.
    pub fn spawn(name: impl Into<String>, timeout: Duration, capacity: usize) -> Self {
        let shared = Arc::new(Shared {
            name: name.into(),
            timeout,
            jobs: DropOldest::new(capacity),
            counters: Counters::default(),
        });
        tokio::spawn(run(Arc::clone(&shared)));
        Self {
            _open: Arc::new(Open(Arc::clone(&shared))),
            shared,
        }
    }

    /// Queues `script` with `args` appended; returns at once.
    pub fn push(&self, script: SharedScript, args: Vec<String>) {
        let counters = &self.shared.counters;
        counters.submitted.fetch_add(1, Ordering::Relaxed);
        if let Some(old) = self.shared.jobs.push(Job { script, args }) {
            let total = counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(
                channel = %self.shared.name,
                dropped_total = total,
                "notify queue full: dropped '{}'",
                old.script.command_line(&old.args)
            );
        }
    }

    pub fn stats(&self) -> NotifyStats {
        let counters = &self.shared.counters;
        NotifyStats {
            submitted: counters.submitted.load(Ordering::Relaxed),
            succeeded: counters.succeeded.load(Ordering::Relaxed),
            failed: counters.failed.load(Ordering::Relaxed),
            timed_out: counters.timed_out.load(Ordering::Relaxed),
            dropped: counters.dropped.load(Ordering::Relaxed),
            queued: self.shared.jobs.len() as u64,
        }
    }
}

async fn run(shared: Arc<Shared>) {
    while let Some(job) = shared.jobs.pop().await {
        let command = job.script.command_line(&job.args);
        let outcome = job.script.run(&job.args, shared.timeout).await;
        let counters = &shared.counters;
        if outcome.success() {
            counters.succeeded.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(channel = %shared.name, "notify script '{command}' succeeded");
            continue;
        }
        counters.failed.fetch_add(1, Ordering::Relaxed);
        if outcome.timed_out {
            counters.timed_out.fetch_add(1, Ordering::Relaxed);
        }
        let reason = outcome
            .reason(shared.timeout)
            .map_or_else(String::new, |reason| reason.to_string());
        tracing::warn!(channel = %shared.name, "notify script '{command}' failed: {reason}");
    }
}
