//! How watchers see the engine: [`Handle`] gives snapshots, the timeline
//! and a subscription (snapshots at an interval, events as they happen),
//! and carries commands. The console holds one in-process; the control
//! socket holds one per daemon and serves every subscriber from it.
//!
//! One snapshotter task assembles snapshots: it reads the dataplane, the
//! checks, VRRP and the director's overrides, and hands the same `Arc` to every
//! watcher that asks within [`SNAPSHOT_REUSE`], so ten subscribers at 1 Hz
//! cost one dataplane read per second, not ten. A watcher that reads slowly
//! only delays itself; the engine's loop never waits for a watcher.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::channel::{Commands, Update};
use super::command::{Command, CommandError, Outcome};
use super::event::wall_ms;
use super::event::{Event, EventRing};
use super::overrides::Actor;
use super::snapshot::{DirectorInfo, DrainView, Snapshot, TargetOverrides};
use crate::dataplane::Dataplane;
use crate::health::service::HealthReporter;
use crate::vrrp::driver::VrrpStatus;

/// A snapshot younger than this is handed out again instead of a new read.
pub const SNAPSHOT_REUSE: Duration = Duration::from_millis(250);
/// The shortest subscription interval a watcher may ask for.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// Updates queued for one watcher before its task waits for it.
const WATCHER_QUEUE: usize = 8;

/// The engine's timeline as watchers see it: a mirror of the loop's ring,
/// and a counter that moves when something is added.
#[derive(Debug)]
pub struct Timeline {
    ring: Mutex<EventRing>,
    newest: watch::Sender<u64>,
}

impl Timeline {
    pub fn new(capacity: usize) -> Self {
        Timeline {
            ring: Mutex::new(EventRing::with_capacity(capacity)),
            newest: watch::channel(0).0,
        }
    }

    /// Copy what `source` has beyond what this mirror holds.
    pub fn mirror(&self, source: &EventRing) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let (events, _) = source.since(ring.last_seq());
        if events.is_empty() {
            return;
        }
        for event in events {
            ring.insert(event);
        }
        self.newest.send_replace(ring.last_seq());
    }

    /// Events after `seq`, and whether some in between are gone.
    pub fn since(&self, seq: u64) -> (Vec<Event>, bool) {
        self.ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .since(seq)
    }

    pub fn last_seq(&self) -> u64 {
        *self.newest.borrow()
    }
}

/// What the director's loop publishes for snapshots: the parts only the
/// loop knows.
#[derive(Debug, Clone, Default)]
pub struct LoopView {
    pub overrides: Vec<TargetOverrides>,
    pub drains: Vec<DrainView>,
    pub config_path: String,
    pub config_hash: String,
    /// `router_id`, else the host name.
    pub name: String,
}

/// Everything the snapshotter reads.
#[derive(Debug)]
pub struct Sources<D> {
    pub dataplane: Arc<D>,
    pub health: HealthReporter,
    pub vrrp: watch::Receiver<VrrpStatus>,
    pub director: watch::Receiver<LoopView>,
    pub timeline: Arc<Timeline>,
    /// The director's monotonic clock's zero.
    pub clock_zero: Instant,
    pub started_unix_ms: u64,
}

type SnapshotReply = oneshot::Sender<Result<Arc<Snapshot>, SnapshotError>>;

/// Why there is no snapshot.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SnapshotError {
    #[error("the engine has stopped")]
    EngineStopped,
    /// The dataplane's table could not be read (its words).
    #[error("cannot read the dataplane: {0}")]
    Dataplane(String),
}

/// A watcher's and commander's way into a running engine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Handle {
    commands: Commands,
    snapshots: mpsc::Sender<SnapshotReply>,
    timeline: Arc<Timeline>,
}

impl Handle {
    /// Start the snapshotter over `sources`; the handle sends `commands`.
    pub fn start<D: Dataplane + 'static>(sources: Sources<D>, commands: Commands) -> Handle {
        let (snapshots, requests) = mpsc::channel(64);
        let timeline = Arc::clone(&sources.timeline);
        tokio::spawn(snapshotter(sources, requests));
        Handle {
            commands,
            snapshots,
            timeline,
        }
    }

    pub fn commands(&self) -> &Commands {
        &self.commands
    }

    /// Carry out one command (see [`Commands::execute`]).
    pub async fn execute(&self, actor: Actor, command: Command) -> Result<Outcome, CommandError> {
        self.commands.execute(actor, command).await
    }

    /// The engine's state now (or at most [`SNAPSHOT_REUSE`] old).
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, SnapshotError> {
        let (reply, answer) = oneshot::channel();
        self.snapshots
            .send(reply)
            .await
            .map_err(|_| SnapshotError::EngineStopped)?;
        answer.await.map_err(|_| SnapshotError::EngineStopped)?
    }

    /// Events after `seq` still kept, and whether some were missed.
    pub fn events_since(&self, seq: u64) -> (Vec<Event>, bool) {
        self.timeline.since(seq)
    }

    /// Snapshots every `interval` (the first at once) and events as they
    /// happen, starting after event `since_seq`. Ends with
    /// [`Update::Lost`] when the engine stops; dropping the receiver ends
    /// the subscription.
    pub fn subscribe(&self, interval: Duration, since_seq: u64) -> mpsc::Receiver<Update> {
        let (sender, receiver) = mpsc::channel(WATCHER_QUEUE);
        let handle = self.clone();
        tokio::spawn(async move {
            handle
                .feed(sender, interval.max(MIN_INTERVAL), since_seq)
                .await;
        });
        receiver
    }

    async fn feed(&self, out: mpsc::Sender<Update>, interval: Duration, mut seen: u64) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut newest = self.timeline.newest.subscribe();
        newest.mark_changed();
        loop {
            let update = tokio::select! {
                _ = ticker.tick() => match self.snapshot().await {
                    Ok(snapshot) => Update::Snapshot(snapshot),
                    Err(why) => {
                        let _ = out.send(Update::Lost(why.to_string())).await;
                        return;
                    }
                },
                changed = newest.changed() => {
                    if changed.is_err() {
                        let _ = out.send(Update::Lost("the engine has stopped".into())).await;
                        return;
                    }
                    let (events, missed) = self.timeline.since(seen);
                    let Some(last) = events.last() else { continue };
                    seen = last.seq;
                    Update::Events { events, missed }
                }
                () = out.closed() => return,
            };
            if out.send(update).await.is_err() {
                return;
            }
        }
    }
}

async fn snapshotter<D: Dataplane>(
    sources: Sources<D>,
    mut requests: mpsc::Receiver<SnapshotReply>,
) {
    let mut cached: Option<(Instant, Arc<Snapshot>)> = None;
    while let Some(reply) = requests.recv().await {
        let fresh = cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < SNAPSHOT_REUSE)
            .map(|(_, snapshot)| Arc::clone(snapshot));
        let answer = match fresh {
            Some(snapshot) => Ok(snapshot),
            None => match assemble(&sources).await {
                Ok(snapshot) => {
                    let snapshot = Arc::new(snapshot);
                    cached = Some((Instant::now(), Arc::clone(&snapshot)));
                    Ok(snapshot)
                }
                Err(e) => Err(e),
            },
        };
        let _ = reply.send(answer);
    }
}

async fn assemble<D: Dataplane>(sources: &Sources<D>) -> Result<Snapshot, SnapshotError> {
    let table = sources
        .dataplane
        .snapshot()
        .await
        .map_err(|e| SnapshotError::Dataplane(e.to_string()))?;
    let director = sources.director.borrow().clone();
    Ok(Snapshot {
        taken_unix_ms: wall_ms(),
        clock_ms: u64::try_from(sources.clock_zero.elapsed().as_millis()).unwrap_or(u64::MAX),
        director: DirectorInfo {
            name: director.name,
            version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            dataplane: sources.dataplane.kind(),
            config_path: director.config_path,
            config_hash: director.config_hash,
            started_unix_ms: sources.started_unix_ms,
        },
        table,
        checks: sources.health.report(),
        vrrp: sources.vrrp.borrow().clone(),
        overrides: director.overrides,
        drains: director.drains,
        last_event_seq: sources.timeline.last_seq(),
        observed: None,
    })
}
