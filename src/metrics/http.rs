//! A small HTTP/1.1 server for `/metrics` on tokio: GET (and HEAD) of
//! `/metrics` answers the scrape, `/` says where the metrics are, anything
//! else is 404 (405 for other methods). Keep-alive as Prometheus uses it;
//! no request bodies, no TLS (put it on loopback, or behind a proxy).
//!
//! Each scrape renders on the blocking pool: a 10,000-real-server table
//! takes tens of milliseconds to write, which must not hold up the
//! engine's tasks.
//!
//! RFC 9112 (HTTP/1.1 message syntax) for the framing.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::render::{render, Format, RenderOptions};
use super::source::{ScrapeError, Source};

/// The longest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// How long an idle keep-alive connection (or a slow request) may wait.
const IDLE: Duration = Duration::from_secs(60);
/// At most this many headers in a request.
const MAX_HEADERS: usize = 64;

/// Serve `source`'s metrics on `listener` until `stop` turns true.
pub async fn serve<S: Source>(
    listener: TcpListener,
    source: Arc<S>,
    options: RenderOptions,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let source = Arc::clone(&source);
                    tokio::spawn(connection(stream, source, options));
                }
                Err(e) => {
                    tracing::warn!("metrics: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

/// One request as far as this server cares.
struct Request {
    method: String,
    path: String,
    accept: Option<String>,
    keep_alive: bool,
    has_body: bool,
}

async fn connection<S: Source>(mut stream: TcpStream, source: Arc<S>, options: RenderOptions) {
    let mut buffer = Vec::with_capacity(1024);
    loop {
        let request = match tokio::time::timeout(IDLE, read_head(&mut stream, &mut buffer)).await {
            Ok(Ok(Some(request))) => request,
            Ok(Ok(None)) | Err(_) => return,
            Ok(Err(status)) => {
                let _ = respond(
                    &mut stream,
                    status,
                    "text/plain",
                    b"bad request\n",
                    false,
                    false,
                )
                .await;
                return;
            }
        };
        let keep_alive = request.keep_alive && !request.has_body;
        let head_only = request.method == "HEAD";
        let written = match (request.method.as_str(), request.path.as_str()) {
            ("GET" | "HEAD", "/metrics") => {
                let format = Format::negotiate(request.accept.as_deref());
                match scrape(source.as_ref(), options, format).await {
                    Ok(body) => {
                        respond(
                            &mut stream,
                            "200 OK",
                            format.content_type(),
                            body.as_bytes(),
                            keep_alive,
                            head_only,
                        )
                        .await
                    }
                    Err(why) => {
                        tracing::warn!("metrics: scrape failed: {why}");
                        let body = format!("{why}\n");
                        respond(
                            &mut stream,
                            "503 Service Unavailable",
                            "text/plain; charset=utf-8",
                            body.as_bytes(),
                            keep_alive,
                            head_only,
                        )
                        .await
                    }
                }
            }
            ("GET" | "HEAD", "/") => {
                respond(
                    &mut stream,
                    "200 OK",
                    "text/plain; charset=utf-8",
                    b"lvstop metrics: /metrics\n",
                    keep_alive,
                    head_only,
                )
                .await
            }
            ("GET" | "HEAD", _) => {
                respond(
                    &mut stream,
                    "404 Not Found",
                    "text/plain; charset=utf-8",
                    b"not found; the metrics are at /metrics\n",
                    keep_alive,
                    head_only,
                )
                .await
            }
            _ => {
                respond(
                    &mut stream,
                    "405 Method Not Allowed",
                    "text/plain; charset=utf-8",
                    b"only GET and HEAD\n",
                    keep_alive,
                    head_only,
                )
                .await
            }
        };
        if written.is_err() || !keep_alive {
            return;
        }
    }
}

async fn scrape<S: Source>(
    source: &S,
    options: RenderOptions,
    format: Format,
) -> Result<String, ScrapeError> {
    let (snapshot, totals) = source.scrape().await?;
    let text =
        tokio::task::spawn_blocking(move || render(snapshot, totals, options, format)).await??;
    Ok(text)
}

/// Read one request head; `None` when the peer closed between requests,
/// an error status when the request is not one this server takes.
async fn read_head(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Result<Option<Request>, &'static str> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buffer) {
            Ok(httparse::Status::Complete(length)) => {
                let header = |name: &str| {
                    parsed
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .and_then(|h| std::str::from_utf8(h.value).ok())
                };
                let connection = header("connection").map(str::to_ascii_lowercase);
                let http10 = parsed.version == Some(0);
                let keep_alive = match connection.as_deref() {
                    Some(c) if c.contains("close") => false,
                    Some(c) if c.contains("keep-alive") => true,
                    _ => !http10,
                };
                let has_body = header("content-length").is_some_and(|l| l.trim() != "0")
                    || header("transfer-encoding").is_some();
                let request = Request {
                    method: parsed.method.unwrap_or("").to_string(),
                    path: parsed
                        .path
                        .unwrap_or("/")
                        .split('?')
                        .next()
                        .unwrap_or("/")
                        .to_string(),
                    accept: header("accept").map(str::to_string),
                    keep_alive,
                    has_body,
                };
                buffer.drain(..length);
                return Ok(Some(request));
            }
            Ok(httparse::Status::Partial) => {}
            Err(_) => return Err("400 Bad Request"),
        }
        if buffer.len() >= MAX_HEAD {
            return Err("431 Request Header Fields Too Large");
        }
        let mut chunk = [0u8; 4096];
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| "400 Bad Request")?;
        if n == 0 {
            return if buffer.is_empty() {
                Ok(None)
            } else {
                Err("400 Bad Request")
            };
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    keep_alive: bool,
    head_only: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
        body.len(),
        if keep_alive { "keep-alive" } else { "close" },
    );
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(body).await?;
    }
    stream.flush().await
}
