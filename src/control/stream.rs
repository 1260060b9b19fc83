//! Writing lines, and subscriptions: each [`Update`] of a subscription
//! becomes one line with the subscription's id.
//!
//! A snapshot of a big table is megabytes of JSON. Every subscriber gets
//! the same `Arc<Snapshot>` from the engine, so [`SnapshotLines`]
//! serializes each snapshot once, into the buffer of the one before when
//! nobody writes that any more, and every subscriber's line is its own
//! `{"id":N,` followed by those shared bytes — written, never copied.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::mpsc;

use super::protocol::{Envelope, Response};
use crate::engine::channel::Update;
use crate::engine::snapshot::Snapshot;

/// One response line, newline included.
pub fn line(id: u64, body: &Response) -> io::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(&Envelope { id, body }).map_err(io::Error::other)?;
    line.push(b'\n');
    Ok(line)
}

/// The body of a `snapshot` response, borrowed: serializes exactly as
/// `Response::Snapshot` does.
#[derive(Serialize)]
#[serde(tag = "result", content = "data", rename_all = "snake_case")]
enum SnapshotBody<'a> {
    Snapshot(&'a Snapshot),
}

/// One line for a connection's writer: its own head, then maybe bytes
/// shared with other connections.
#[derive(Debug)]
pub struct Outgoing {
    pub head: Vec<u8>,
    pub shared: Option<SharedBody>,
}

impl Outgoing {
    /// A line of its own.
    pub fn line(line: Vec<u8>) -> Outgoing {
        Outgoing {
            head: line,
            shared: None,
        }
    }
}

/// A serialized snapshot body, `{"result":"snapshot","data":…}\n`; the
/// opening brace is skipped when written (each line's head has its own).
#[derive(Debug, Clone)]
pub struct SharedBody(Arc<Vec<u8>>);

impl SharedBody {
    /// The bytes after the opening brace.
    pub fn bytes(&self) -> &[u8] {
        self.0.get(1..).unwrap_or_default()
    }
}

/// A snapshot and its serialized body.
type Serialized = (Arc<Snapshot>, Arc<Vec<u8>>);

/// The last snapshot serialized, shared by every connection.
#[derive(Debug, Default)]
pub struct SnapshotLines {
    last: Mutex<Option<Serialized>>,
}

impl SnapshotLines {
    /// The body of `snapshot`, from the cache when it is the one
    /// serialized last.
    fn body(&self, snapshot: &Arc<Snapshot>) -> io::Result<SharedBody> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let mut buffer = Vec::new();
        if let Some((cached, bytes)) = last.take() {
            if Arc::ptr_eq(&cached, snapshot) {
                *last = Some((cached, Arc::clone(&bytes)));
                return Ok(SharedBody(bytes));
            }
            // Every writer is done with the previous body (a second has
            // passed): reuse its memory rather than fault in new pages.
            buffer = match Arc::try_unwrap(bytes) {
                Ok(mut old) => {
                    old.clear();
                    old
                }
                Err(shared) => Vec::with_capacity(shared.len() + shared.len() / 8),
            };
        }
        serde_json::to_writer(&mut buffer, &SnapshotBody::Snapshot(snapshot))
            .map_err(io::Error::other)?;
        buffer.push(b'\n');
        let bytes = Arc::new(buffer);
        *last = Some((Arc::clone(snapshot), Arc::clone(&bytes)));
        Ok(SharedBody(bytes))
    }

    /// The line for subscription `id`: `{"id":N,` and the shared body.
    pub fn line(&self, id: u64, snapshot: &Arc<Snapshot>) -> io::Result<Outgoing> {
        Ok(Outgoing {
            head: format!("{{\"id\":{id},").into_bytes(),
            shared: Some(self.body(snapshot)?),
        })
    }
}

/// Send a subscription's updates as lines until either side ends.
pub async fn forward(
    id: u64,
    mut updates: mpsc::Receiver<Update>,
    lines: Arc<SnapshotLines>,
    outgoing: mpsc::Sender<Outgoing>,
) {
    while let Some(update) = updates.recv().await {
        let (line, last) = match update {
            Update::Snapshot(snapshot) => (lines.line(id, &snapshot), false),
            Update::Events { events, missed } => (
                line(id, &Response::Events { events, missed }).map(Outgoing::line),
                false,
            ),
            Update::Lost(reason) => (
                line(id, &Response::Lost { reason }).map(Outgoing::line),
                true,
            ),
        };
        let Ok(line) = line else { return };
        if outgoing.send(line).await.is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_snapshot_line_reads_as_a_snapshot_response() {
        let json = serde_json::json!({
            "taken_unix_ms": 1_700_000_000_000u64, "clock_ms": 5000,
            "director": {"name": "lvs1", "version": "0.1.0", "pid": 1,
                "dataplane": "userspace", "config_path": "/etc/keepalived/keepalived.conf",
                "config_hash": "0011223344556677", "started_unix_ms": 1_699_999_990_000u64},
            "table": {"origin": {"kind": "userspace"},
                "info": {"version": 66049, "conn_tab_size": 4096}, "services": []},
            "checks": {"epoch_unix_ms": 0, "snapshot": {"virtual_servers": []},
                "driver": {"probes_started": 0, "probes_finished": 0, "probes_late": 0,
                    "lateness_p50": 0, "lateness_p99": 0, "lateness_max": 0}},
            "vrrp": {"instances": [], "sync_groups": [], "unknown_vrid": 0},
            "overrides": [], "drains": [], "last_event_seq": 0
        });
        let snapshot: Snapshot = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        let snapshot = Arc::new(snapshot);
        let lines = SnapshotLines::default();
        let joined = |line: Outgoing| {
            let mut bytes = line.head;
            bytes.extend_from_slice(line.shared.as_ref().map_or(&[][..], SharedBody::bytes));
            bytes
        };
        let first = joined(lines.line(7, &snapshot).unwrap_or_else(|e| panic!("{e}")));
        let second = joined(lines.line(8, &snapshot).unwrap_or_else(|e| panic!("{e}")));
        let parsed: Envelope<Response> =
            serde_json::from_slice(&first).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.id, 7);
        assert_eq!(
            parsed.body,
            Response::Snapshot(Box::new((*snapshot).clone()))
        );
        assert!(second.starts_with(br#"{"id":8,"result":"snapshot""#));
        assert_eq!(first.last(), Some(&b'\n'));
    }
}
