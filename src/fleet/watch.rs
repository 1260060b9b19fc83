//! One task per director keeps its control socket attached: what the
//! daemon sends comes out tagged with the director's index, a director
//! that does not answer (or stops answering) is reported unreachable and
//! tried again every [`RETRY`]. An attach that hangs (an `ssh -L` socket
//! whose far end is gone) gives up after [`ATTACH_TIMEOUT`], so no socket
//! ever holds up the others or the console.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use super::DirectorSpec;
use crate::control::remote::{self, Remote};
use crate::northbound::{Commands, Connection, Update};

/// How long to wait before trying an unreachable director again.
pub const RETRY: Duration = Duration::from_secs(2);
/// How long an attach (connect and subscribe) may take.
pub const ATTACH_TIMEOUT: Duration = Duration::from_secs(5);

/// What the watchers report; `director` indexes the list given to
/// [`watch`].
#[derive(Debug)]
pub enum FleetMessage {
    /// Attached (again): commands for this director go here from now on.
    Attached { director: usize, commands: Commands },
    /// The director's state or events.
    Update { director: usize, update: Update },
    /// The director's connection table.
    Connections {
        director: usize,
        list: Vec<Connection>,
    },
    /// Not attached, and why; tried again after [`RETRY`].
    Unreachable { director: usize, reason: String },
}

/// Start watching every director, refreshed at `interval`. The watchers
/// stop when the receiver is dropped.
pub fn watch(directors: &[DirectorSpec], interval: Duration) -> mpsc::Receiver<FleetMessage> {
    let (out, messages) = mpsc::channel(16 * directors.len().max(1));
    for (director, spec) in directors.iter().enumerate() {
        tokio::spawn(keep_attached(
            director,
            spec.socket.clone(),
            interval,
            out.clone(),
        ));
    }
    messages
}

async fn keep_attached(
    director: usize,
    socket: PathBuf,
    interval: Duration,
    out: mpsc::Sender<FleetMessage>,
) {
    loop {
        let reason =
            match tokio::time::timeout(ATTACH_TIMEOUT, remote::attach(&socket, interval)).await {
                Ok(Ok(remote)) => match pump(director, remote, &out).await {
                    Some(reason) => reason,
                    None => return,
                },
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!(
                    "{}: no answer within {} s",
                    socket.display(),
                    ATTACH_TIMEOUT.as_secs()
                ),
            };
        let message = FleetMessage::Unreachable { director, reason };
        if out.send(message).await.is_err() {
            return;
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Forward one attachment's traffic until it ends; why it ended, or
/// `None` when nobody listens any more.
async fn pump(director: usize, remote: Remote, out: &mpsc::Sender<FleetMessage>) -> Option<String> {
    let Remote {
        mut updates,
        commands,
        mut connections,
    } = remote;
    out.send(FleetMessage::Attached { director, commands })
        .await
        .ok()?;
    let mut connections_open = true;
    loop {
        let message = tokio::select! {
            update = updates.recv() => match update {
                Some(Update::Lost(reason)) => return Some(reason),
                Some(update) => FleetMessage::Update { director, update },
                None => return Some("the update stream ended".to_string()),
            },
            list = connections.recv(), if connections_open => match list {
                Some(list) => FleetMessage::Connections { director, list },
                None => {
                    connections_open = false;
                    continue;
                }
            },
        };
        out.send(message).await.ok()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_socket_nobody_serves_is_reported_unreachable_without_blocking() {
        let dir = std::env::temp_dir().join(format!("lvstop-fleet-{}", std::process::id()));
        let directors = [DirectorSpec {
            name: "gone".into(),
            socket: dir.join("absent.sock"),
        }];
        let mut messages = watch(&directors, Duration::from_millis(100));
        let first = tokio::time::timeout(Duration::from_secs(5), messages.recv()).await;
        match first {
            Ok(Some(FleetMessage::Unreachable { director, reason })) => {
                assert_eq!(director, 0);
                assert!(reason.contains("absent.sock"), "{reason}");
            }
            other => panic!("expected unreachable, got {other:?}"),
        }
    }
}
