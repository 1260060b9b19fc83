//! A daemon seen through its control socket the way an embedded engine is
//! seen through its handle: a stream of [`Update`]s from a subscription,
//! a [`Commands`] sender whose commands travel as `command` requests, and
//! the connection table polled at the refresh interval. The console uses
//! it unchanged for both.
//!
//! Three connections, so a drain waiting for idle never holds up the
//! snapshots. The daemon decides who the operator is from the socket's
//! credentials; the actor a command carries here is not sent.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use super::protocol::{Envelope, ErrorKind, Request, Response};
use super::ControlError;
use crate::engine::channel::{command_channel, Commands, Update};
use crate::engine::command::{CommandError, Outcome};
use crate::ipvs::model::Connection;

/// What the console needs from a daemon.
#[derive(Debug)]
pub struct Remote {
    pub updates: mpsc::Receiver<Update>,
    pub commands: Commands,
    pub connections: mpsc::Receiver<Vec<Connection>>,
}

/// One NDJSON connection.
struct Line {
    reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: tokio::net::unix::OwnedWriteHalf,
    next_id: u64,
    /// The last line read; kept so a snapshot of a big table (megabytes)
    /// does not grow a fresh buffer every second.
    buffer: Vec<u8>,
}

impl Line {
    async fn open(path: &Path) -> Result<Line, ControlError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| ControlError::NoDaemon {
                path: path.to_path_buf(),
                source,
            })?;
        let (read, writer) = stream.into_split();
        Ok(Line {
            reader: BufReader::new(read),
            writer,
            next_id: 1,
            buffer: Vec::new(),
        })
    }

    async fn send(&mut self, request: Request) -> io::Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line =
            serde_json::to_vec(&Envelope { id, body: request }).map_err(io::Error::other)?;
        line.push(b'\n');
        self.writer.write_all(&line).await?;
        Ok(id)
    }

    async fn receive(&mut self) -> io::Result<Response> {
        self.buffer.clear();
        if self.reader.read_until(b'\n', &mut self.buffer).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the daemon closed the connection",
            ));
        }
        let invalid = |e: serde_json::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        if let Some(data) = snapshot_data(&self.buffer) {
            return serde_json::from_slice(data)
                .map(|snapshot| Response::Snapshot(Box::new(snapshot)))
                .map_err(invalid);
        }
        serde_json::from_slice::<Envelope<Response>>(&self.buffer)
            .map(|e| e.body)
            .map_err(invalid)
    }

    /// One request, one answer.
    async fn ask(&mut self, request: Request) -> io::Result<Response> {
        self.send(request).await?;
        self.receive().await
    }
}

/// The `data` of a `{"id":N,"result":"snapshot","data":…}` line, as the
/// daemon writes it. The envelope's flattened body would make serde
/// buffer the whole snapshot before reading it; this reads it directly.
fn snapshot_data(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"{\"id\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = rest.get(digits..)?;
    let rest = rest.strip_prefix(b",\"result\":\"snapshot\",\"data\":")?;
    let end = rest.iter().rposition(|&b| b == b'}')?;
    rest.get(..end)
}

/// Attach to the daemon at `path`: subscribe at `interval`.
pub async fn attach(path: &Path, interval: Duration) -> Result<Remote, ControlError> {
    let mut stream = Line::open(path).await?;
    let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
    let subscribed = stream
        .ask(Request::Subscribe {
            interval_ms,
            since: 0,
        })
        .await
        .map_err(|source| ControlError::Io {
            context: "subscribing".into(),
            source,
        })?;
    match subscribed {
        Response::Subscribed { .. } => {}
        Response::Error(e) if e.kind == ErrorKind::PermissionDenied => {
            return Err(ControlError::PermissionDenied(e.message))
        }
        other => {
            return Err(ControlError::BadResponse(format!(
                "answer to subscribe: {other:?}"
            )))
        }
    }
    let (update_tx, updates) = mpsc::channel(8);
    tokio::spawn(forward_updates(stream, update_tx));

    let (commands, command_queue) = command_channel();
    tokio::spawn(forward_commands(path.to_path_buf(), command_queue));

    let (connection_tx, connections) = mpsc::channel(2);
    tokio::spawn(poll_connections(
        path.to_path_buf(),
        interval,
        connection_tx,
    ));
    Ok(Remote {
        updates,
        commands,
        connections,
    })
}

async fn forward_updates(mut stream: Line, out: mpsc::Sender<Update>) {
    loop {
        let update = match stream.receive().await {
            Ok(Response::Snapshot(snapshot)) => Update::Snapshot(Arc::new(*snapshot)),
            Ok(Response::Events { events, missed }) => Update::Events { events, missed },
            Ok(Response::Lost { reason }) => Update::Lost(reason),
            Ok(_) => continue,
            Err(e) => Update::Lost(format!("daemon connection: {e}")),
        };
        let last = matches!(update, Update::Lost(_));
        if out.send(update).await.is_err() || last {
            return;
        }
    }
}

async fn forward_commands(
    path: PathBuf,
    mut queue: mpsc::Receiver<crate::engine::channel::CommandRequest>,
) {
    let mut line: Option<Line> = None;
    while let Some(request) = queue.recv().await {
        if line.is_none() {
            line = Line::open(&path).await.ok();
        }
        let answer = match line.as_mut() {
            None => Err(CommandError::ShuttingDown),
            Some(connection) => match connection.ask(Request::Command(request.command)).await {
                Ok(response) => outcome(response),
                Err(_) => {
                    line = None;
                    Err(CommandError::ShuttingDown)
                }
            },
        };
        let _ = request.reply.send(answer);
    }
}

fn outcome(response: Response) -> Result<Outcome, CommandError> {
    match response {
        Response::Outcome(outcome) => Ok(outcome),
        Response::CommandError(error) => Err(error),
        Response::Error(e) if e.kind == ErrorKind::PermissionDenied => Err(CommandError::ReadOnly),
        Response::Error(e) => Err(CommandError::Invalid {
            what: "request".into(),
            why: e.message,
        }),
        other => Err(CommandError::Invalid {
            what: "answer".into(),
            why: format!("unexpected {other:?}"),
        }),
    }
}

async fn poll_connections(path: PathBuf, interval: Duration, out: mpsc::Sender<Vec<Connection>>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut line: Option<Line> = None;
    loop {
        ticker.tick().await;
        if out.is_closed() {
            return;
        }
        if line.is_none() {
            line = Line::open(&path).await.ok();
        }
        let Some(connection) = line.as_mut() else {
            continue;
        };
        match connection.ask(Request::Connections).await {
            Ok(Response::Connections(list)) => {
                if out.send(list).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(_) => line = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_line_is_read_without_its_envelope() {
        assert_eq!(
            snapshot_data(b"{\"id\":12,\"result\":\"snapshot\",\"data\":{\"a\":1}}\n"),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(
            snapshot_data(b"{\"id\":12,\"result\":\"events\",\"data\":{}}\n"),
            None
        );
        assert_eq!(snapshot_data(b"{\"result\":\"snapshot\"}"), None);
    }
}
