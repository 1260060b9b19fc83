//! Replay of recorded inputs through a [`Node`], for conformance tests: a
//! case is a folder with `keepalived.conf`, `input.jsonl` (timestamped
//! inputs), `expected.jsonl` (timestamped actions) and optionally
//! `interfaces.json` ([`Interfaces`]). Timers fire on their own between
//! inputs, exactly at their deadlines.
//!
//! Test support only: reads files, never used by the daemon.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::load::{load_str, Options};
use crate::vrrp::machine::{
    BuildError, Input, Interfaces, Node, State, Stats, Timestamp, VrrpAction,
};
use crate::vrrp::packet::{Advertisement, Auth, PacketError};

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Input {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("keepalived.conf does not load: {0}")]
    Config(String),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("cannot encode the advert: {0}")]
    Encode(#[from] PacketError),
    #[error("timers keep firing at {0:?}: the state machine does not settle")]
    Runaway(Timestamp),
}

/// Why a case does not match its `expected.jsonl`; names the case and the
/// first difference.
#[derive(Debug, Error)]
pub enum CaseError {
    #[error("case {}: {source}", case.display())]
    Run { case: PathBuf, source: ReplayError },
    #[error("case {}: {}: {source}", case.display(), path.display())]
    Bless {
        case: PathBuf,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("case {}: {}: {source} (run with LVSTOP_BLESS=1)", case.display(), path.display())]
    NoExpected {
        case: PathBuf,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("case {}: line {line} differs\n  expected: {expected}\n  actual:   {actual}", case.display())]
    Differs {
        case: PathBuf,
        line: usize,
        expected: String,
        actual: String,
    },
    #[error("case {}: {expected} expected lines, {actual} actual; {extra}", case.display())]
    Length {
        case: PathBuf,
        expected: usize,
        actual: usize,
        /// The first line only one side has.
        extra: String,
    },
}

/// Why one line of `input.jsonl` is not an input.
#[derive(Debug, Error)]
enum InputError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("not a JSON object")]
    NotAnObject,
    #[error("missing \"ms\" (milliseconds)")]
    NoTime,
    #[error("{0}")]
    Encode(#[from] PacketError),
}

/// A replay-only input: an advert described by its fields, encoded here
/// (so cases stay readable), with ways to damage it.
#[derive(Debug, Clone, Deserialize)]
struct AdvertInput {
    interface: Option<String>,
    from: IpAddr,
    /// Default: 224.0.0.18 or ff02::12.
    to: Option<IpAddr>,
    #[serde(default = "ttl_255")]
    ttl: u8,
    advert: Advertisement,
    /// PASS password (v2), instead of `advert.auth`.
    password: Option<String>,
    /// Flip the checksum.
    #[serde(default)]
    bad_checksum: bool,
}

fn ttl_255() -> u8 {
    255
}

/// One recorded line: milliseconds (fractions allowed) and the content.
#[derive(Debug, Serialize)]
struct Line<'a, T> {
    ms: f64,
    #[serde(flatten)]
    item: &'a T,
}

/// Runs the case in `dir` and returns the actions as JSON lines.
pub fn run_case(dir: &Path) -> Result<Vec<String>, ReplayError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|source| ReplayError::Io { path, source })
    };
    let conf_path = dir.join("keepalived.conf");
    let loaded = load_str(&conf_path, &read("keepalived.conf")?, &Options::default());
    if loaded.has_errors() {
        return Err(ReplayError::Config(format!("{:?}", loaded.diagnostics)));
    }
    let interfaces: Interfaces = match read("interfaces.json") {
        Ok(text) => serde_json::from_str(&text).map_err(|e| ReplayError::Input {
            path: dir.join("interfaces.json"),
            line: e.line(),
            message: e.to_string(),
        })?,
        Err(_) => Interfaces::new(),
    };
    let mut node = Node::from_config(&loaded.config, &interfaces)?;
    let input_path = dir.join("input.jsonl");
    let mut lines = Vec::new();
    let mut last = Timestamp(0);
    for (number, text) in read("input.jsonl")?.lines().enumerate() {
        if text.trim().is_empty() || text.trim_start().starts_with("//") {
            continue;
        }
        let bad = |error: InputError| ReplayError::Input {
            path: input_path.clone(),
            line: number + 1,
            message: error.to_string(),
        };
        let (at, input) = parse_input(text).map_err(bad)?;
        advance(&mut node, at, &mut lines)?;
        let actions = node.handle(at, input);
        record(at, &actions, &mut lines);
        last = at;
    }
    for instance in node.instances() {
        let summary = Final {
            instance: instance.name(),
            state: instance.state(),
            effective_priority: instance.effective_priority(),
            stats: nonzero(instance.stats()),
        };
        record_one(last, &serde_json::json!({ "final": summary }), &mut lines);
    }
    Ok(lines)
}

/// Runs the case and compares with `expected.jsonl`; with
/// `LVSTOP_BLESS=1`, rewrites it instead. The error names the case and
/// shows the first difference.
pub fn check_case(dir: &Path) -> Result<(), CaseError> {
    let case = || dir.to_path_buf();
    let actual = run_case(dir).map_err(|source| CaseError::Run {
        case: case(),
        source,
    })?;
    let expected_path = dir.join("expected.jsonl");
    let text = actual.iter().map(|l| format!("{l}\n")).collect::<String>();
    if std::env::var("LVSTOP_BLESS").is_ok_and(|v| v == "1") {
        return std::fs::write(&expected_path, text).map_err(|source| CaseError::Bless {
            case: case(),
            path: expected_path.clone(),
            source,
        });
    }
    let expected =
        std::fs::read_to_string(&expected_path).map_err(|source| CaseError::NoExpected {
            case: case(),
            path: expected_path.clone(),
            source,
        })?;
    let expected: Vec<&str> = expected.lines().collect();
    for (index, (want, got)) in expected.iter().zip(&actual).enumerate() {
        if want != got {
            return Err(CaseError::Differs {
                case: case(),
                line: index + 1,
                expected: (*want).to_string(),
                actual: got.clone(),
            });
        }
    }
    if expected.len() != actual.len() {
        let extra = if actual.len() > expected.len() {
            format!("extra actual line: {}", actual[expected.len()])
        } else {
            format!("missing line: {}", expected[actual.len()])
        };
        return Err(CaseError::Length {
            case: case(),
            expected: expected.len(),
            actual: actual.len(),
            extra,
        });
    }
    Ok(())
}

fn advance(node: &mut Node, until: Timestamp, lines: &mut Vec<String>) -> Result<(), ReplayError> {
    let mut guard = 0u32;
    while let Some(deadline) = node.next_deadline().filter(|d| *d <= until) {
        guard += 1;
        if guard > 100_000 {
            return Err(ReplayError::Runaway(deadline));
        }
        let actions = node.handle(deadline, Input::Tick);
        record(deadline, &actions, lines);
    }
    Ok(())
}

fn record(at: Timestamp, actions: &[VrrpAction], lines: &mut Vec<String>) {
    for action in actions {
        record_one(at, action, lines);
    }
}

fn record_one<T: Serialize>(at: Timestamp, item: &T, lines: &mut Vec<String>) {
    let line = Line {
        ms: at.0 as f64 / 1000.0,
        item,
    };
    if let Ok(text) = serde_json::to_string(&line) {
        lines.push(text);
    }
}

/// Each instance's end state and the counters that moved.
#[derive(Debug, Serialize)]
struct Final<'a> {
    instance: &'a str,
    state: State,
    effective_priority: u8,
    stats: serde_json::Map<String, serde_json::Value>,
}

fn nonzero(stats: &Stats) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(stats) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter(|(_, v)| v.as_u64() != Some(0))
            .collect(),
        _ => serde_json::Map::new(),
    }
}

fn parse_input(text: &str) -> Result<(Timestamp, Input), InputError> {
    let mut value: serde_json::Value = serde_json::from_str(text)?;
    let object = value.as_object_mut().ok_or(InputError::NotAnObject)?;
    let ms = object
        .remove("ms")
        .and_then(|ms| ms.as_f64())
        .ok_or(InputError::NoTime)?;
    let at = Timestamp((ms * 1000.0).round() as u64);
    if object.get("event").and_then(|e| e.as_str()) == Some("advert") {
        object.remove("event");
        let advert: AdvertInput = serde_json::from_value(value)?;
        return Ok((at, encode(advert)?));
    }
    let input: Input = serde_json::from_value(value)?;
    Ok((at, input))
}

fn encode(input: AdvertInput) -> Result<Input, PacketError> {
    let mut advert = input.advert;
    if let Some(password) = &input.password {
        advert.auth = Auth::pass(password);
    }
    let to = input.to.unwrap_or(if input.from.is_ipv6() {
        IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, 0x12])
    } else {
        IpAddr::from([224, 0, 0, 18])
    });
    let mut payload = advert.emit(input.from, to)?;
    if input.bad_checksum {
        payload[6] ^= 0xff;
    }
    Ok(Input::Received {
        interface: input.interface,
        from: input.from,
        to,
        ttl: input.ttl,
        payload,
        ah_prefix: None,
    })
}
