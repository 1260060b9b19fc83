//! The demo's web real servers: what the reference deployment's `httpd`
//! boxes were. Each answers `GET /` (and `/index.html`) with
//! `This is test <name>` — the reference deployment's page, on one line —
//! over HTTP/1.0 and 1.1, keep-alive and pipelining included, so HTTP_GET checks and the built-in load see a
//! real web server.
//!
//! [`WebServer::stop`] is the reference deployment's `service httpd stop`: the
//! listener closes (new connections are refused, so a check fails with
//! "connection refused") and every open connection is closed.
//! [`WebServer::start_again`] listens on the same address again.
//!
//! This module owns the sockets of the web servers and nothing else: it
//! never talks to the director.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use super::http::{self, Parsed, Response};
use super::DemoError;

/// An idle keep-alive connection is closed after this (nginx's
/// `keepalive_timeout` defaults to 75 s).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
/// After the last response of a closing connection, unread input is
/// drained for at most this long, so the client reads the response
/// instead of a reset (nginx's `lingering_close`).
const LINGER: Duration = Duration::from_secs(2);
/// ... and at most this many bytes.
const LINGER_BYTES: usize = 64 * 1024;
/// Pending connections the kernel queues for `accept`.
const BACKLOG: u32 = 1024;

/// One built-in web real server.
#[derive(Debug)]
pub struct WebServer {
    name: String,
    addr: SocketAddr,
    counters: Arc<Counters>,
    running: Option<Running>,
}

#[derive(Debug, Default)]
struct Counters {
    /// Pages served (status 200 on `/`).
    pages: AtomicU64,
    /// Connections open now.
    open: AtomicUsize,
}

#[derive(Debug)]
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl WebServer {
    /// Listens on `addr` and serves the page of `name`.
    pub async fn start(name: &str, addr: SocketAddr) -> Result<WebServer, DemoError> {
        let mut server = WebServer {
            name: name.to_string(),
            addr,
            counters: Arc::new(Counters::default()),
            running: None,
        };
        server.start_again().await?;
        Ok(server)
    }

    /// Listens again after [`WebServer::stop`] (nothing happens when it
    /// is running).
    pub async fn start_again(&mut self) -> Result<(), DemoError> {
        if self.is_running() {
            return Ok(());
        }
        let listener = listen(self.addr).map_err(|source| DemoError::Bind {
            addr: self.addr,
            source,
        })?;
        let (stop, stopped) = oneshot::channel();
        let page: Arc<[u8]> = Arc::from(page_body(&self.name).into_bytes());
        let task = tokio::spawn(serve(listener, page, Arc::clone(&self.counters), stopped));
        self.running = Some(Running { stop, task });
        Ok(())
    }

    /// Closes the listener and every open connection; returns once they
    /// are closed, so the next connect is refused.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            if let Err(e) = running.task.await {
                tracing::debug!("demo web server {}: {e}", self.name);
            }
        }
    }

    pub fn is_running(&self) -> bool {
        self.running.as_ref().is_some_and(|r| !r.task.is_finished())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Pages served since the server was created.
    pub fn pages_served(&self) -> u64 {
        self.counters.pages.load(Ordering::Relaxed)
    }

    /// Client connections open now.
    pub fn open_connections(&self) -> usize {
        self.counters.open.load(Ordering::Relaxed)
    }
}

impl Drop for WebServer {
    /// Without [`WebServer::stop`], the serving task notices the dropped
    /// sender and closes everything on its own.
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
        }
    }
}

/// The page of a real server: the reference deployment's `index.html` ("this
/// is test" followed by the host name) on one line.
pub fn page_body(name: &str) -> String {
    format!("This is test {name}\n")
}

/// `SO_REUSEADDR` so a restarted server binds at once even while closed
/// connections of its previous life sit in TIME_WAIT.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

async fn serve(
    listener: TcpListener,
    page: Arc<[u8]>,
    counters: Arc<Counters>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // A send and a dropped sender both mean stop.
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let guard = OpenGuard::new(Arc::clone(&counters));
                    connections.spawn(connection(stream, Arc::clone(&page), guard));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::debug!("demo web server accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

/// Counts a connection as open for as long as it lives (an aborted
/// connection task drops it too).
struct OpenGuard(Arc<Counters>);

impl OpenGuard {
    fn new(counters: Arc<Counters>) -> Self {
        counters.open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(counters)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn connection(mut stream: TcpStream, page: Arc<[u8]>, guard: OpenGuard) {
    let mut input: Vec<u8> = Vec::with_capacity(1024);
    let mut output: Vec<u8> = Vec::new();
    loop {
        // Answer every whole request already buffered, in order
        // (pipelining), stopping after one that closes the connection.
        let mut close = false;
        loop {
            match http::parse(&input) {
                Parsed::Partial => break,
                Parsed::Request { request, consumed } => {
                    input.drain(..consumed);
                    if answer(&request, &page, &mut output) {
                        guard.0.pages.fetch_add(1, Ordering::Relaxed);
                    }
                    if !request.keep_alive {
                        close = true;
                        break;
                    }
                }
                Parsed::Reject(rejection) => {
                    let (status, reason) = rejection.status();
                    let body = format!("{status} {reason}\n");
                    Response {
                        status,
                        reason,
                        body: body.as_bytes(),
                        head_only: false,
                        keep_alive: false,
                        allow: None,
                    }
                    .write_to(&mut output);
                    close = true;
                    break;
                }
            }
        }
        if !output.is_empty() {
            if stream.write_all(&output).await.is_err() {
                return;
            }
            output.clear();
        }
        if close {
            linger(stream).await;
            return;
        }
        match tokio::time::timeout(KEEPALIVE_IDLE, stream.read_buf(&mut input)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(_)) => {}
        }
    }
}

/// Writes the answer to one request; true when it served the page.
fn answer(request: &http::Request, page: &[u8], output: &mut Vec<u8>) -> bool {
    let head_only = request.method == "HEAD";
    let mut response = Response {
        status: 200,
        reason: "OK",
        body: page,
        head_only,
        keep_alive: request.keep_alive,
        allow: None,
    };
    if !(head_only || request.method == "GET") {
        response.status = 405;
        response.reason = "Method Not Allowed";
        response.body = b"405 Method Not Allowed\n";
        response.allow = Some("GET, HEAD");
    } else if !matches!(request.path.as_str(), "/" | "/index.html") {
        response.status = 404;
        response.reason = "Not Found";
        response.body = b"404 Not Found\n";
    }
    response.write_to(output);
    response.status == 200
}

/// Half-closes, then reads and drops what the client still sends until it
/// closes too (or a limit is reached), so a pipelined request after a
/// closing one cannot turn the last response into a reset.
async fn linger(mut stream: TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    let mut drained = 0usize;
    let deadline = tokio::time::Instant::now() + LINGER;
    while drained < LINGER_BYTES {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => drained += n,
            _ => return,
        }
    }
}
