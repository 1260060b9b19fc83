//! The engine's counters that no snapshot carries: configuration applies
//! (ok or refused), drift found in the dataplane, and operations the
//! dataplane refused. They are tallied from the engine's timeline, which
//! is the record of exactly those facts; [`EngineCounters::catch_up`] is
//! called on every scrape and by a background tick, so the ring (1,024
//! events) cannot overflow between two reads in practice.
//!
//! Pure bookkeeping: it reads events handed to it and never the engine.

use crate::engine::event::{Event, EventKind};

/// Totals since the exporter started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineTotals {
    pub applies_ok: u64,
    pub applies_refused: u64,
    pub drift: u64,
    pub dataplane_refusals: u64,
    /// Events that fell out of the ring before they were counted.
    pub missed: u64,
}

/// The tally and where it stands in the timeline.
#[derive(Debug, Default)]
pub struct EngineCounters {
    totals: EngineTotals,
    last_seq: u64,
}

impl EngineCounters {
    /// Count `events` (those after the last one counted); `missed` says
    /// some came and went unseen.
    pub fn catch_up(&mut self, events: &[Event], missed: bool) {
        if missed {
            let first = events.first().map_or(self.last_seq, |e| e.seq);
            self.totals.missed += first.saturating_sub(self.last_seq + 1);
        }
        let counted = self.last_seq;
        for event in events.iter().filter(|e| e.seq > counted) {
            match &event.kind {
                EventKind::Config { applied: true, .. } => self.totals.applies_ok += 1,
                EventKind::Config { applied: false, .. } => self.totals.applies_refused += 1,
                EventKind::Drift { .. } => self.totals.drift += 1,
                EventKind::Dataplane { .. } => self.totals.dataplane_refusals += 1,
                _ => {}
            }
            self.last_seq = event.seq;
        }
    }

    /// The sequence number of the last event counted.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub fn totals(&self) -> EngineTotals {
        self.totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            at_ms: 0,
            kind,
            message: String::new(),
        }
    }

    #[test]
    fn applies_drift_and_refusals_are_counted_once_each() {
        let mut counters = EngineCounters::default();
        let config = |applied| EventKind::Config {
            hash: "h".into(),
            applied,
            operations: 1,
        };
        let events = vec![
            event(1, config(true)),
            event(2, config(false)),
            event(3, EventKind::Drift { detail: "x".into() }),
            event(4, EventKind::Dataplane { detail: "y".into() }),
        ];
        counters.catch_up(&events, false);
        counters.catch_up(&events, false);
        let totals = counters.totals();
        assert_eq!(
            (
                totals.applies_ok,
                totals.applies_refused,
                totals.drift,
                totals.dataplane_refusals
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(counters.last_seq(), 4);
        counters.catch_up(&[event(9, config(true))], true);
        assert_eq!(counters.totals().missed, 4);
    }
}
