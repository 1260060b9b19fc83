//! The demo's web real servers: what the reference deployment's `httpd`
//! boxes were. Each answers `GET /` (and `/index.html`) with
//! `This is test <name>` — the reference deployment's page, on one line —
//! over HTTP/1.0 and 1.1, keep-alive and pipelining included (hyper's
//! HTTP/1 server), so HTTP_GET checks and the built-in load see a real web
//! server.
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

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use super::DemoError;

/// A connection that sends no whole request head for this long (an idle
/// keep-alive one included) is closed (nginx's `keepalive_timeout`
/// defaults to 75 s).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
/// After the last response of a closing connection, unread input is
/// drained for at most this long, so the client reads the response
/// instead of a reset (nginx's `lingering_close`).
const LINGER: Duration = Duration::from_secs(2);
/// ... and at most this many bytes.
const LINGER_BYTES: usize = 64 * 1024;
/// Pending connections the kernel queues for `accept`.
const BACKLOG: u32 = 1024;
/// The request head may not exceed this, else the answer is 431 (nginx's
/// default `large_client_header_buffers` is 8 KiB per line; this covers
/// the whole head, plenty for the demo's clients and health checks).
const MAX_HEAD: usize = 8 * 1024;

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
        let page = Bytes::from(page_body(&self.name));
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
    page: Bytes,
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
                    connections.spawn(connection(stream, page.clone(), guard));
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

/// Serves one connection with hyper's HTTP/1 server, then closes it the
/// way nginx does: the write side first, then whatever the client still
/// sends is read and dropped for a while, so the last response is read
/// instead of lost to a reset.
async fn connection(mut stream: TcpStream, page: Bytes, guard: OpenGuard) {
    let counters = Arc::clone(&guard.0);
    let service = service_fn(move |request: Request<Incoming>| {
        let response = answer(&request, &page);
        if response.status() == StatusCode::OK {
            counters.pages.fetch_add(1, Ordering::Relaxed);
        }
        async move { Ok::<_, Infallible>(response) }
    });
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(KEEPALIVE_IDLE)
        .max_header_size(MAX_HEAD)
        .title_case_headers(true)
        .serve_connection(TokioIo::new(&mut stream), service)
        .await;
    if let Err(e) = served {
        tracing::debug!("demo web server connection: {e}");
    }
    linger(stream).await;
    drop(guard);
}

/// The answer to one request: the page on `/` and `/index.html` (hyper
/// leaves the body out of a HEAD answer), 404 elsewhere, 405 for other
/// methods. HTTP/1.0 requests close unless they ask for keep-alive,
/// HTTP/1.1 ones stay open unless they ask to close (RFC 9112 §9.3).
fn answer(request: &Request<Incoming>, page: &Bytes) -> Response<Full<Bytes>> {
    let (status, body) = if !matches!(*request.method(), Method::GET | Method::HEAD) {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            Bytes::from_static(b"405 Method Not Allowed\n"),
        )
    } else if !matches!(request.uri().path(), "/" | "/index.html") {
        (
            StatusCode::NOT_FOUND,
            Bytes::from_static(b"404 Not Found\n"),
        )
    } else {
        (StatusCode::OK, page.clone())
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::SERVER, HeaderValue::from_static("lvstop-demo"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    let connection = if keeps_alive(request) {
        "keep-alive"
    } else {
        "close"
    };
    headers.insert(header::CONNECTION, HeaderValue::from_static(connection));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    response
}

/// Whether the connection stays open after this request (RFC 9112 §9.3:
/// HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive").
fn keeps_alive(request: &Request<Incoming>) -> bool {
    let mut close = false;
    let mut keep_alive = false;
    for value in request.headers().get_all(header::CONNECTION) {
        for option in value.to_str().unwrap_or_default().split(',') {
            close |= option.trim().eq_ignore_ascii_case("close");
            keep_alive |= option.trim().eq_ignore_ascii_case("keep-alive");
        }
    }
    !close && (request.version() == Version::HTTP_11 || keep_alive)
}

/// Half-closes (hyper may have done so already), then reads and drops what
/// the client still sends until it closes too (or a limit is reached), so
/// a pipelined request after a closing one, or the rest of a refused
/// oversized head, cannot turn the last response into a reset.
async fn linger(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
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
