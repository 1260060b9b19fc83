//! The demo's clients: the reference deployment's `clush -w @app curl
//! http://VIP`, run continuously. Two kinds of traffic against one address:
//!
//! - **short requests**, `rate` per second, each on a new connection with
//!   `Connection: close` — every one is a new IPVS connection, so the
//!   scheduler's spread shows in the answers (first check) and a stopped
//!   real server shows as failures until the checker removes it (third
//!   check);
//! - **keep-alive clients**, a few connections that send a request every
//!   `keepalive_interval` and reconnect after `keepalive_lifetime`
//!   (staggered), so ActiveConn stays visibly above zero and a drained
//!   real server's count falls over one lifetime instead of at once.
//!
//! Answers are counted per real server, read from the page body
//! (`This is test <name>`), in total and over the last
//! [`RECENT_WINDOW`]. This module owns the client sockets and the counts;
//! it never talks to the director.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONNECTION, HOST, USER_AGENT};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

/// How long "recent" counts look back.
pub const RECENT_WINDOW: Duration = Duration::from_secs(10);
/// Short requests in flight at most; beyond this a tick is skipped (and
/// counted) rather than piling up connections.
const MAX_IN_FLIGHT: usize = 256;
/// Pages are a line; anything this large is not one of ours.
const MAX_BODY: usize = 64 * 1024;
const USER_AGENT_VALUE: &str = "lvstop-demo-load";

/// How much load, and of what shape.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Short requests per second (0: none).
    pub rate: u32,
    /// Long-lived keep-alive connections (0: none).
    pub keepalive_connections: usize,
    /// Pause between two requests on a keep-alive connection.
    pub keepalive_interval: Duration,
    /// A keep-alive connection is closed and opened again after this.
    pub keepalive_lifetime: Duration,
    /// Connect plus request plus answer must fit in this.
    pub timeout: Duration,
    /// The path requested.
    pub path: String,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            rate: 20,
            keepalive_connections: 4,
            keepalive_interval: Duration::from_secs(1),
            keepalive_lifetime: Duration::from_secs(20),
            timeout: Duration::from_secs(2),
            path: "/".to_string(),
        }
    }
}

/// Why a request got no page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// Nothing listens (or the director reset the connection at once).
    Refused,
    /// The connection closed or was reset before the answer.
    Reset,
    /// No answer within the timeout.
    Timeout,
    /// An HTTP status other than 200.
    Status(u16),
    /// A 200 whose body is not a demo page.
    UnexpectedBody,
    Other,
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailureKind::Refused => f.write_str("connection refused"),
            FailureKind::Reset => f.write_str("connection reset"),
            FailureKind::Timeout => f.write_str("timed out"),
            FailureKind::Status(code) => write!(f, "HTTP {code}"),
            FailureKind::UnexpectedBody => f.write_str("unexpected body"),
            FailureKind::Other => f.write_str("other error"),
        }
    }
}

/// Answers per real server name and failures per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub answers: BTreeMap<String, u64>,
    pub failures: BTreeMap<FailureKind, u64>,
}

impl Tally {
    pub fn answers_from(&self, server: &str) -> u64 {
        self.answers.get(server).copied().unwrap_or(0)
    }

    pub fn total_answers(&self) -> u64 {
        self.answers.values().sum()
    }

    pub fn total_failures(&self) -> u64 {
        self.failures.values().sum()
    }

    fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Ok(name) => *self.answers.entry(name.clone()).or_default() += 1,
            Err(kind) => *self.failures.entry(*kind).or_default() += 1,
        }
    }

    fn merge(&mut self, other: &Tally) {
        for (name, n) in &other.answers {
            *self.answers.entry(name.clone()).or_default() += n;
        }
        for (kind, n) in &other.failures {
            *self.failures.entry(*kind).or_default() += n;
        }
    }
}

/// What the load has seen so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadStats {
    pub target: SocketAddr,
    /// Since the load started.
    pub total: Tally,
    /// Over the last [`RECENT_WINDOW`].
    pub recent: Tally,
    /// Keep-alive connections open now.
    pub keepalive_open: usize,
    /// Short requests not sent because too many were in flight.
    pub skipped: u64,
}

/// The running load; [`LoadGenerator::stop`] ends it.
#[derive(Debug)]
pub struct LoadGenerator {
    target: SocketAddr,
    recorder: Arc<Mutex<Recorder>>,
    tasks: JoinSet<()>,
}

type Outcome = Result<String, FailureKind>;

impl LoadGenerator {
    /// Starts sending to `target` (must be called inside a tokio runtime).
    pub fn start(target: SocketAddr, options: LoadOptions) -> LoadGenerator {
        let recorder = Arc::new(Mutex::new(Recorder::new()));
        let options = Arc::new(options);
        let mut tasks = JoinSet::new();
        if options.rate > 0 {
            tasks.spawn(short_requests(
                target,
                Arc::clone(&options),
                Arc::clone(&recorder),
            ));
        }
        let n = options.keepalive_connections;
        for i in 0..n {
            // Stagger the first lifetimes so reconnections spread out.
            let first = options
                .keepalive_lifetime
                .mul_f64((i + 1) as f64 / n as f64);
            tasks.spawn(keepalive_client(
                target,
                Arc::clone(&options),
                Arc::clone(&recorder),
                first,
            ));
        }
        LoadGenerator {
            target,
            recorder,
            tasks,
        }
    }

    pub fn stats(&self) -> LoadStats {
        let recorder = self.recorder.lock().unwrap_or_else(PoisonError::into_inner);
        recorder.stats(self.target, Instant::now())
    }

    /// Stops every client and closes their connections.
    pub async fn stop(mut self) {
        self.tasks.shutdown().await;
    }
}

/// Counts, with one-second buckets for the recent window.
#[derive(Debug)]
struct Recorder {
    started: Instant,
    total: Tally,
    /// (second since start, tally of that second), a ring.
    buckets: Vec<(u64, Tally)>,
    keepalive_open: usize,
    skipped: u64,
}

impl Recorder {
    fn new() -> Self {
        let slots = RECENT_WINDOW.as_secs().max(1) as usize;
        Recorder {
            started: Instant::now(),
            total: Tally::default(),
            buckets: vec![(u64::MAX, Tally::default()); slots],
            keepalive_open: 0,
            skipped: 0,
        }
    }

    fn second(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_secs()
    }

    fn record(&mut self, outcome: &Outcome, now: Instant) {
        self.total.add(outcome);
        let second = self.second(now);
        let slots = self.buckets.len() as u64;
        if let Some(bucket) = self.buckets.get_mut((second % slots) as usize) {
            if bucket.0 != second {
                *bucket = (second, Tally::default());
            }
            bucket.1.add(outcome);
        }
    }

    fn stats(&self, target: SocketAddr, now: Instant) -> LoadStats {
        let second = self.second(now);
        let slots = self.buckets.len() as u64;
        let mut recent = Tally::default();
        for (stamp, tally) in &self.buckets {
            if *stamp <= second && second - *stamp < slots {
                recent.merge(tally);
            }
        }
        LoadStats {
            target,
            total: self.total.clone(),
            recent,
            keepalive_open: self.keepalive_open,
            skipped: self.skipped,
        }
    }
}

fn with_recorder(recorder: &Mutex<Recorder>, f: impl FnOnce(&mut Recorder)) {
    f(&mut recorder.lock().unwrap_or_else(PoisonError::into_inner));
}

async fn short_requests(
    target: SocketAddr,
    options: Arc<LoadOptions>,
    recorder: Arc<Mutex<Recorder>>,
) {
    let period = Duration::from_secs(1) / options.rate.max(1);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if in_flight.len() >= MAX_IN_FLIGHT {
                    with_recorder(&recorder, |r| r.skipped += 1);
                    continue;
                }
                let options = Arc::clone(&options);
                let recorder = Arc::clone(&recorder);
                in_flight.spawn(async move {
                    let outcome = match tokio::time::timeout(options.timeout, one_shot(target, &options.path)).await {
                        Ok(outcome) => outcome,
                        Err(_) => Err(FailureKind::Timeout),
                    };
                    with_recorder(&recorder, |r| r.record(&outcome, Instant::now()));
                });
            }
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
}

/// One request on its own connection, closed after the answer.
async fn one_shot(target: SocketAddr, path: &str) -> Outcome {
    let (mut sender, connection) = open(target).await?;
    let outcome = request(&mut sender, target, path, false).await;
    drop(sender);
    connection.abort();
    outcome
}

/// A connection driven by its own task; aborting the task closes it.
async fn open(
    target: SocketAddr,
) -> Result<(SendRequest<Empty<Bytes>>, tokio::task::JoinHandle<()>), FailureKind> {
    let stream = TcpStream::connect(target)
        .await
        .map_err(|e| io_failure(&e))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| hyper_failure(&e))?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok((sender, task))
}

async fn request(
    sender: &mut SendRequest<Empty<Bytes>>,
    target: SocketAddr,
    path: &str,
    keep_alive: bool,
) -> Outcome {
    sender.ready().await.map_err(|e| hyper_failure(&e))?;
    let request = Request::get(path)
        .header(HOST, target.to_string())
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(CONNECTION, if keep_alive { "keep-alive" } else { "close" })
        .body(Empty::<Bytes>::new())
        .map_err(|_| FailureKind::Other)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| hyper_failure(&e))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| FailureKind::Reset)?
        .to_bytes();
    if status != StatusCode::OK {
        return Err(FailureKind::Status(status.as_u16()));
    }
    server_name(&body).ok_or(FailureKind::UnexpectedBody)
}

async fn keepalive_client(
    target: SocketAddr,
    options: Arc<LoadOptions>,
    recorder: Arc<Mutex<Recorder>>,
    first_lifetime: Duration,
) {
    let mut lifetime = first_lifetime;
    loop {
        match open(target).await {
            Err(kind) => {
                with_recorder(&recorder, |r| r.record(&Err(kind), Instant::now()));
            }
            Ok((mut sender, connection)) => {
                with_recorder(&recorder, |r| r.keepalive_open += 1);
                let _open = KeepaliveGuard(Arc::clone(&recorder));
                let until = tokio::time::Instant::now() + lifetime;
                loop {
                    let outcome = match tokio::time::timeout(
                        options.timeout,
                        request(&mut sender, target, &options.path, true),
                    )
                    .await
                    {
                        Ok(outcome) => outcome,
                        Err(_) => Err(FailureKind::Timeout),
                    };
                    let failed = outcome.is_err();
                    with_recorder(&recorder, |r| r.record(&outcome, Instant::now()));
                    if failed || tokio::time::Instant::now() + options.keepalive_interval >= until {
                        break;
                    }
                    tokio::time::sleep(options.keepalive_interval).await;
                }
                drop(sender);
                connection.abort();
            }
        }
        lifetime = options.keepalive_lifetime;
        tokio::time::sleep(options.keepalive_interval).await;
    }
}

/// Counts a keep-alive connection as open while it lives, including when
/// its task is aborted.
struct KeepaliveGuard(Arc<Mutex<Recorder>>);

impl Drop for KeepaliveGuard {
    fn drop(&mut self) {
        with_recorder(&self.0, |r| {
            r.keepalive_open = r.keepalive_open.saturating_sub(1)
        });
    }
}

/// The real server's name from a demo page: `This is test rs1`, or the
/// reference deployment's two-line form `this is test\nrs1`.
pub fn server_name(body: &[u8]) -> Option<String> {
    const PREFIX: &str = "this is test";
    let text = std::str::from_utf8(body).ok()?.trim();
    let head = text.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let name = text.get(PREFIX.len()..)?.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some(name.to_string())
}

fn io_failure(error: &std::io::Error) -> FailureKind {
    use std::io::ErrorKind::*;
    match error.kind() {
        ConnectionRefused => FailureKind::Refused,
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | NotConnected => {
            FailureKind::Reset
        }
        TimedOut => FailureKind::Timeout,
        _ => FailureKind::Other,
    }
}

/// hyper wraps socket errors; the innermost `io::Error` says what happened.
fn hyper_failure(error: &hyper::Error) -> FailureKind {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io_failure(io);
        }
        source = e.source();
    }
    if error.is_incomplete_message() || error.is_canceled() || error.is_closed() {
        FailureKind::Reset
    } else if error.is_timeout() {
        FailureKind::Timeout
    } else {
        FailureKind::Other
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn names_come_from_the_page_in_either_of_the_seeds_forms() {
        assert_eq!(server_name(b"This is test rs1\n").as_deref(), Some("rs1"));
        assert_eq!(server_name(b"this is test\nrs2\n").as_deref(), Some("rs2"));
        assert_eq!(server_name(b"This is test\n"), None);
        assert_eq!(server_name(b"hello rs1"), None);
        assert_eq!(server_name(b"This is test a b"), None);
    }

    #[test]
    fn recent_counts_forget_what_left_the_window() {
        let mut recorder = Recorder::new();
        let t0 = recorder.started;
        let target: SocketAddr = "127.0.0.1:1".parse().unwrap();
        recorder.record(&Ok("rs1".into()), t0);
        recorder.record(&Err(FailureKind::Refused), t0 + Duration::from_secs(3));
        let later = t0 + RECENT_WINDOW + Duration::from_secs(1);
        recorder.record(&Ok("rs2".into()), later);
        let stats = recorder.stats(target, later);
        assert_eq!(stats.total.total_answers(), 2);
        assert_eq!(stats.recent.answers_from("rs1"), 0);
        assert_eq!(stats.recent.answers_from("rs2"), 1);
        assert_eq!(stats.recent.failures.get(&FailureKind::Refused), Some(&1));
    }
}
