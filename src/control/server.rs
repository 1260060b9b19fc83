//! The daemon's end of the control socket: binds the Unix socket safely,
//! checks each peer's credentials, reads request lines and writes one
//! response line per request. What a request does is the [`Backend`]'s
//! business; this module never touches the director itself.

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};

use super::peer::{Access, Peer, PeerPolicy};
use super::protocol::{Envelope, ErrorKind, Request, Response, MAX_REQUEST_BYTES};
use super::stream::{self, Outgoing, SnapshotLines};
use super::ControlError;
use crate::engine::channel::Update;

/// Socket file mode: owner and group may connect, nobody else.
const SOCKET_MODE: u32 = 0o660;
/// Mode of a socket directory the daemon creates.
const DIRECTORY_MODE: u32 = 0o755;

/// Answers requests; the daemon (later the engine's handle) implements it.
pub trait Backend: Send + Sync + 'static {
    /// Answer one request from `peer`. The server has already refused
    /// commands that change something from peers that may only read.
    fn handle(&self, peer: &Peer, request: Request) -> impl Future<Output = Response> + Send;

    /// Start a subscription: snapshots every `interval` and events after
    /// `since`. `None` when this backend has no engine to watch.
    fn subscribe(
        &self,
        interval: std::time::Duration,
        since: u64,
    ) -> Option<mpsc::Receiver<Update>> {
        let _ = (interval, since);
        None
    }
}

/// Lines queued for one client before the stream waits for it.
const OUTGOING_QUEUE: usize = 16;

/// A bound control socket; the file is removed when this is dropped.
#[derive(Debug)]
pub struct Server {
    listener: UnixListener,
    path: PathBuf,
    policy: PeerPolicy,
}

impl Server {
    /// Bind `path`. Creates the parent directory (mode 0755) if missing,
    /// replaces a stale socket left by a dead daemon, and refuses to take
    /// over a socket another daemon still answers on or a path that is not
    /// a socket. Must run inside a tokio runtime.
    pub fn bind(path: &Path) -> Result<Server, ControlError> {
        let context = |what: &str, e: io::Error| ControlError::Io {
            context: format!("{what} '{}'", path.display()),
            source: e,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| context("cannot create the directory of", e))?;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIRECTORY_MODE))
                    .map_err(|e| context("cannot set the mode of the directory of", e))?;
            }
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_socket() => {
                return Err(ControlError::NotASocket(path.to_path_buf()));
            }
            Ok(_) => match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => return Err(ControlError::AlreadyRunning(path.to_path_buf())),
                Err(_) => std::fs::remove_file(path)
                    .map_err(|e| context("cannot remove the stale socket", e))?,
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(context("cannot inspect", e)),
        }
        let std_listener =
            std::os::unix::net::UnixListener::bind(path).map_err(|e| context("cannot bind", e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
            .map_err(|e| context("cannot set the mode of", e))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| context("cannot configure", e))?;
        let listener =
            UnixListener::from_std(std_listener).map_err(|e| context("cannot register", e))?;
        Ok(Server {
            listener,
            path: path.to_path_buf(),
            policy: PeerPolicy::current(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Let members of `gid` act too (`--admin-group`), and give them the
    /// socket: its group becomes `gid`, so they can connect.
    pub fn with_admin_group(mut self, gid: u32) -> Result<Server, ControlError> {
        nix::unistd::chown(&self.path, None, Some(nix::unistd::Gid::from_raw(gid))).map_err(
            |e| ControlError::Io {
                context: format!("cannot give '{}' to group {gid}", self.path.display()),
                source: e.into(),
            },
        )?;
        self.policy = self.policy.with_admin_group(Some(gid));
        Ok(self)
    }

    /// Accept and serve connections until `shutdown` turns true.
    pub async fn serve<B: Backend>(self, backend: Arc<B>, mut shutdown: watch::Receiver<bool>) {
        let lines = Arc::new(SnapshotLines::default());
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let backend = Arc::clone(&backend);
                        let lines = Arc::clone(&lines);
                        let policy = self.policy;
                        tokio::spawn(async move {
                            // A peer that goes away mid-answer is not the
                            // daemon's problem; nothing to report.
                            let _ = serve_connection(stream, policy, backend, lines).await;
                        });
                    }
                    Err(e) => {
                        eprintln!("lvstop: control socket accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                },
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return;
                    }
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_connection<B: Backend>(
    stream: UnixStream,
    policy: PeerPolicy,
    backend: Arc<B>,
    lines: Arc<SnapshotLines>,
) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let peer = match write.as_ref().peer_cred() {
        Ok(cred) => Peer {
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred.pid(),
            access: policy.access(cred.uid(), cred.gid(), cred.pid()),
        },
        Err(e) => {
            let message = format!("cannot read the peer's credentials: {e}");
            let line = stream::line(0, &Response::error(ErrorKind::PermissionDenied, message))?;
            return write.write_all(&line).await;
        }
    };
    // One writer per connection: answers and stream lines queue here, so
    // a subscription and requests on the same connection never interleave
    // within a line.
    let (outgoing, mut queue) = mpsc::channel::<Outgoing>(OUTGOING_QUEUE);
    let writer = tokio::spawn(async move {
        while let Some(line) = queue.recv().await {
            write.write_all(&line.head).await?;
            if let Some(shared) = &line.shared {
                write.write_all(shared.bytes()).await?;
            }
        }
        Ok::<(), io::Error>(())
    });
    let result = read_requests(read, &peer, policy, &backend, &lines, &outgoing).await;
    drop(outgoing);
    let written = writer.await.unwrap_or(Ok(()));
    result.and(written)
}

async fn read_requests<B: Backend>(
    read: tokio::net::unix::OwnedReadHalf,
    peer: &Peer,
    policy: PeerPolicy,
    backend: &Arc<B>,
    lines: &Arc<SnapshotLines>,
    outgoing: &mpsc::Sender<Outgoing>,
) -> io::Result<()> {
    let send = |id: u64, response: Response| async move {
        let line = stream::line(id, &response)?;
        outgoing
            .send(Outgoing::line(line))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    };
    let mut subscriptions = Vec::new();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let limit = (MAX_REQUEST_BYTES + 1) as u64;
        let n = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            break;
        }
        if line.len() > MAX_REQUEST_BYTES {
            let message = format!("request longer than {MAX_REQUEST_BYTES} bytes; closing");
            send(0, Response::error(ErrorKind::BadRequest, message)).await?;
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let request = match serde_json::from_str::<Envelope<Request>>(text) {
            Ok(request) => request,
            Err(e) => {
                let message = format!("invalid request: {e}");
                send(
                    request_id(text),
                    Response::error(ErrorKind::BadRequest, message),
                )
                .await?;
                continue;
            }
        };
        let id = request.id;
        let response = match request.body {
            Request::Command(command) if command.mutates() && peer.access == Access::Read => {
                let message = format!(
                    "uid {} may read but not act: '{}' needs root, uid {}{}",
                    peer.uid,
                    command.verb(),
                    policy.daemon_uid,
                    policy
                        .admin_gid
                        .map_or_else(String::new, |g| format!(" or group {g}"))
                );
                Response::error(ErrorKind::PermissionDenied, message)
            }
            Request::Subscribe { interval_ms, since } => {
                let interval = std::time::Duration::from_millis(interval_ms)
                    .max(crate::engine::handle::MIN_INTERVAL);
                match backend.subscribe(interval, since) {
                    Some(updates) => {
                        send(
                            id,
                            Response::Subscribed {
                                interval_ms: u64::try_from(interval.as_millis())
                                    .unwrap_or(u64::MAX),
                            },
                        )
                        .await?;
                        subscriptions.push(tokio::spawn(stream::forward(
                            id,
                            updates,
                            Arc::clone(lines),
                            outgoing.clone(),
                        )));
                        continue;
                    }
                    None => Response::error(
                        ErrorKind::Failed,
                        "this daemon has no engine to subscribe to",
                    ),
                }
            }
            body => backend.handle(peer, body).await,
        };
        send(id, response).await?;
    }
    for subscription in subscriptions {
        subscription.abort();
    }
    Ok(())
}

/// The id of a request that failed to parse as a whole, if readable.
fn request_id(text: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("id").and_then(|id| id.as_u64()))
        .unwrap_or(0)
}
