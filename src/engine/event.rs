//! The engine's timeline: what happened, when, and who did it — kept in a
//! bounded ring so a console that attaches late still sees the recent
//! past, and a slow one can never make the engine hold more.
//!
//! Events are facts for operators (a VRRP transition, a check flap, an
//! alert, an operator action with its reason, a config apply, drift), not
//! debug logs; the daemon logs them too.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// How many events the ring keeps by default.
pub const DEFAULT_CAPACITY: usize = 1024;

/// One entry of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Increases by one per event; a subscriber resumes after the last
    /// sequence number it saw.
    pub seq: u64,
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub kind: EventKind,
    /// One line for the events screen and the log, in keepalived's wording
    /// where keepalived has one.
    pub message: String,
}

/// What kind of thing happened, with the fields a filter needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A VRRP instance or sync group changed state.
    Vrrp {
        name: String,
        from: String,
        to: String,
    },
    /// A real server's health changed (or a quorum / sorry-server change).
    Check {
        service: String,
        server: Option<String>,
        up: bool,
        reason: Option<String>,
    },
    /// An e-mail alert was handed to the SMTP server (or failed).
    Alert { subject: String, delivered: bool },
    /// An operator acted: who, what, on what, and why.
    Operator {
        uid: u32,
        who: String,
        action: String,
        target: Option<String>,
        reason: Option<String>,
    },
    /// A configuration was applied (reload or apply), or refused.
    Config {
        hash: String,
        applied: bool,
        operations: usize,
    },
    /// The dataplane differs from what the engine applied (someone ran
    /// `ipvsadm` by hand).
    Drift { detail: String },
    /// The dataplane refused an operation, or came back.
    Dataplane { detail: String },
}

/// The bounded timeline.
#[derive(Debug, Clone)]
pub struct EventRing {
    capacity: usize,
    next_seq: u64,
    events: VecDeque<Event>,
}

impl Default for EventRing {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl EventRing {
    pub fn with_capacity(capacity: usize) -> Self {
        EventRing {
            capacity: capacity.max(1),
            next_seq: 1,
            events: VecDeque::with_capacity(capacity.clamp(1, DEFAULT_CAPACITY)),
        }
    }

    /// Record an event; the oldest falls out when the ring is full.
    pub fn push(&mut self, at_ms: u64, kind: EventKind, message: String) -> &Event {
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.events.push_back(Event {
            seq,
            at_ms,
            kind,
            message,
        });
        // Just pushed, so the ring is not empty.
        &self.events[self.events.len() - 1]
    }

    /// Keep an event another ring numbered, with its sequence number (a
    /// mirror of that ring). Events must come in sequence order.
    pub fn insert(&mut self, event: Event) {
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.next_seq = event.seq.saturating_add(1);
        self.events.push_back(event);
    }

    /// Events after `seq` still in the ring, oldest first, and whether
    /// some in between were already dropped.
    pub fn since(&self, seq: u64) -> (Vec<Event>, bool) {
        let missed = self
            .events
            .front()
            .is_some_and(|first| first.seq > seq.saturating_add(1));
        let events = self
            .events
            .iter()
            .filter(|e| e.seq > seq)
            .cloned()
            .collect();
        (events, missed)
    }

    /// The sequence number of the newest event (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Wall-clock milliseconds since the Unix epoch: the timeline's clock.
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drift(n: u64) -> EventKind {
        EventKind::Drift {
            detail: format!("change {n}"),
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_and_says_when_a_reader_missed_some() {
        let mut ring = EventRing::with_capacity(3);
        for n in 1..=5 {
            ring.push(n, drift(n), format!("event {n}"));
        }
        assert_eq!(ring.len(), 3);
        assert_eq!(ring.last_seq(), 5);
        let (events, missed) = ring.since(0);
        assert!(missed, "events 1 and 2 are gone");
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
        let (events, missed) = ring.since(3);
        assert!(!missed);
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
        assert!(ring.since(5).0.is_empty());
    }

    #[test]
    fn events_serialize_with_a_type_tag() {
        let mut ring = EventRing::default();
        let event = ring
            .push(
                1_700_000_000_000,
                EventKind::Vrrp {
                    name: "VI_1".into(),
                    from: "BACKUP".into(),
                    to: "MASTER".into(),
                },
                "(VI_1) Entering MASTER STATE".into(),
            )
            .clone();
        let json = serde_json::to_string(&event).unwrap_or_default();
        assert!(json.contains(r#""type":"vrrp""#), "{json}");
        let back: Event = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(back, event);
    }
}
