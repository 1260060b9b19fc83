//! Where a scrape's snapshot comes from: a running engine (asked at each
//! scrape, so the counters are as fresh as the dataplane read), or the
//! observer's latest snapshot (the exporter refreshes in the background
//! and a scrape never waits for keepalived or the kernel).

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::counters::{EngineCounters, EngineTotals};
use crate::engine::handle::Handle;
use crate::engine::snapshot::Snapshot;

/// What a scrape reads.
pub type Scraped = (Arc<Snapshot>, Option<EngineTotals>);

/// Why `/metrics` has nothing to show; the body of its 503 answer.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The engine did not answer with a snapshot.
    #[error(transparent)]
    Engine(#[from] crate::engine::handle::SnapshotError),
    #[error("the observer stopped")]
    ObserverStopped,
    #[error("no snapshot yet")]
    NoSnapshotYet,
    #[error("the scrape's task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Render(#[from] super::render::RenderError),
}

/// A source of snapshots for `/metrics`.
pub trait Source: Send + Sync + 'static {
    fn scrape(&self) -> impl Future<Output = Result<Scraped, ScrapeError>> + Send;
}

/// A running engine, with the counters tallied from its timeline.
#[derive(Debug)]
pub struct EngineSource {
    handle: Handle,
    counters: Mutex<EngineCounters>,
}

/// How often the engine's timeline is counted between scrapes.
const TALLY_EVERY: Duration = Duration::from_secs(5);

impl EngineSource {
    /// A source over `handle`; a background task keeps counting the
    /// timeline between scrapes until the source is dropped.
    pub fn start(handle: Handle) -> Arc<EngineSource> {
        let source = Arc::new(EngineSource {
            handle,
            counters: Mutex::new(EngineCounters::default()),
        });
        let weak = Arc::downgrade(&source);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TALLY_EVERY);
            loop {
                tick.tick().await;
                match weak.upgrade() {
                    Some(source) => {
                        source.tally();
                    }
                    None => return,
                }
            }
        });
        source
    }

    fn tally(&self) -> EngineTotals {
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let (events, missed) = self.handle.events_since(counters.last_seq());
        counters.catch_up(&events, missed);
        counters.totals()
    }
}

impl Source for EngineSource {
    async fn scrape(&self) -> Result<Scraped, ScrapeError> {
        let snapshot = self.handle.snapshot().await.map_err(ScrapeError::Engine)?;
        Ok((snapshot, Some(self.tally())))
    }
}

/// The latest snapshot someone else refreshes (the observer).
#[derive(Debug)]
pub struct LatestSource {
    latest: watch::Receiver<Option<Arc<Snapshot>>>,
}

impl LatestSource {
    pub fn new(latest: watch::Receiver<Option<Arc<Snapshot>>>) -> LatestSource {
        LatestSource { latest }
    }
}

impl Source for LatestSource {
    async fn scrape(&self) -> Result<Scraped, ScrapeError> {
        let mut latest = self.latest.clone();
        let snapshot = latest
            .wait_for(Option::is_some)
            .await
            .map_err(|_| ScrapeError::ObserverStopped)?
            .clone();
        snapshot
            .map(|s| (s, None))
            .ok_or(ScrapeError::NoSnapshotYet)
    }
}
