//! The `:` command line: parsing what an operator typed into a request,
//! completion over verbs, addresses and VRRP instances, and the history.
//! Resolution of addresses against the snapshot lives in
//! [`super::services`]; this module only reads text.
//!
//! Grammar (ipvsadm's `VIP:PORT` / `RIP:PORT` spelling; `[v6]:port` for
//! IPv6):
//!
//! ```text
//! :weight [VIP:PORT] RIP:PORT N
//! :drain [VIP:PORT] RIP:PORT
//! :restore [VIP:PORT] RIP:PORT
//! :disable [VIP:PORT] [RIP:PORT] REASON…
//! :enable [VIP:PORT] [RIP:PORT] [REASON…]
//! :failover INSTANCE [HOLD_S]
//! :priority INSTANCE N|configured
//! :reload   :apply   :confirm   :zero [VIP:PORT]   :q
//! ```
//!
//! A host program may add verbs of its own ([`super::extension`]); their
//! lines are checked against the forms it gives and passed on as words.

use std::net::SocketAddr;

use super::extension::ExtensionVerb;
use crate::northbound::PriorityChange;

/// Every verb, for completion and the error on an unknown one.
pub const VERBS: &[&str] = &[
    "weight", "drain", "restore", "disable", "enable", "failover", "priority", "reload", "apply",
    "confirm", "zero", "q", "quit",
];

/// What a command line asks, before its addresses are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Weight {
        service: Option<SocketAddr>,
        server: SocketAddr,
        weight: i32,
    },
    Drain {
        service: Option<SocketAddr>,
        server: SocketAddr,
    },
    Restore {
        service: Option<SocketAddr>,
        server: SocketAddr,
    },
    /// One address: a virtual service, else a real server; two: the
    /// service and its real server.
    Disable {
        addresses: Vec<SocketAddr>,
        reason: String,
    },
    Enable {
        addresses: Vec<SocketAddr>,
        reason: Option<String>,
    },
    Failover {
        name: String,
        hold_s: Option<u64>,
    },
    /// Failover by priority: `Some(N)` runs the instance at N, `None` at
    /// its configured priority again.
    Priority {
        name: String,
        priority: Option<u8>,
    },
    Reload,
    Apply,
    Confirm,
    Zero {
        service: Option<SocketAddr>,
    },
    Quit,
    /// A verb the host added, with the words after it.
    Extension {
        verb: String,
        args: Vec<String>,
    },
}

/// What is wrong with a command line, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty command")]
    Empty,
    #[error("unknown command '{0}' (weight, drain, restore, disable, enable, failover, priority, reload, apply, confirm, zero, q)")]
    UnknownVerb(String),
    #[error("usage: {0}")]
    Usage(&'static str),
    #[error("usage: {0}")]
    ExtensionUsage(String),
    #[error("'{0}' is not an address (IP:PORT, or [IPv6]:PORT)")]
    BadAddress(String),
    #[error("'{0}' is not a weight (a whole number, 0 to 65535)")]
    BadWeight(String),
    #[error("'{0}' is not a number of seconds")]
    BadSeconds(String),
    #[error("'{0}' is not a VRRP priority (1 to 254, or 'configured')")]
    BadPriority(String),
}

const USAGE_WEIGHT: &str = ":weight [VIP:PORT] RIP:PORT N";
const USAGE_DRAIN: &str = ":drain [VIP:PORT] RIP:PORT";
const USAGE_RESTORE: &str = ":restore [VIP:PORT] RIP:PORT";
const USAGE_DISABLE: &str = ":disable [VIP:PORT] [RIP:PORT] REASON";
const USAGE_ENABLE: &str = ":enable [VIP:PORT] [RIP:PORT] [REASON]";
const USAGE_FAILOVER: &str = ":failover INSTANCE [HOLD_S]";
const USAGE_PRIORITY: &str = ":priority INSTANCE N|configured";
const USAGE_ZERO: &str = ":zero [VIP:PORT]";

/// A VRRP priority an operator may set: 1-254, or `configured` (`None`)
/// for the file's own ([`PriorityChange`]'s own reading).
fn priority(word: &str) -> Result<Option<u8>, ParseError> {
    match word.parse::<PriorityChange>() {
        Ok(PriorityChange::Set(p)) => Ok(Some(p)),
        Ok(PriorityChange::Configured) => Ok(None),
        Err(_) => Err(ParseError::BadPriority(word.to_string())),
    }
}

/// Whether a word looks like an address rather than free text.
fn looks_like_address(word: &str) -> bool {
    word.starts_with('[') || (word.contains(':') && word.starts_with(|c: char| c.is_ascii_digit()))
}

fn address(word: &str) -> Result<SocketAddr, ParseError> {
    word.parse()
        .map_err(|_| ParseError::BadAddress(word.to_string()))
}

/// `[VIP:PORT] RIP:PORT`, exactly one or two addresses.
fn one_server(
    words: &[&str],
    usage: &'static str,
) -> Result<(Option<SocketAddr>, SocketAddr), ParseError> {
    match words {
        [server] => Ok((None, address(server)?)),
        [service, server] => Ok((Some(address(service)?), address(server)?)),
        _ => Err(ParseError::Usage(usage)),
    }
}

/// Leading addresses (at most two), then free text.
fn addresses_then_text(words: &[&str]) -> Result<(Vec<SocketAddr>, String), ParseError> {
    let count = words
        .iter()
        .take(2)
        .take_while(|w| looks_like_address(w))
        .count();
    let addresses = words[..count]
        .iter()
        .map(|w| address(w))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((addresses, words[count..].join(" ")))
}

/// Parse one command line (without the leading `:`).
pub fn parse(line: &str) -> Result<Request, ParseError> {
    parse_with(line, &[])
}

/// Parse one command line (without the leading `:`), knowing the verbs
/// the host added.
pub fn parse_with(line: &str, extensions: &[ExtensionVerb]) -> Result<Request, ParseError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((verb, args)) = words.split_first() else {
        return Err(ParseError::Empty);
    };
    if let Some(extension) = extensions.iter().find(|e| e.verb == *verb) {
        if !extension.accepts(args) {
            return Err(ParseError::ExtensionUsage(extension.usage()));
        }
        return Ok(Request::Extension {
            verb: extension.verb.clone(),
            args: args.iter().map(|a| (*a).to_string()).collect(),
        });
    }
    match *verb {
        "weight" | "w" => {
            let Some((weight, addresses)) = args.split_last() else {
                return Err(ParseError::Usage(USAGE_WEIGHT));
            };
            let (service, server) = one_server(addresses, USAGE_WEIGHT)?;
            let weight = weight
                .parse::<u16>()
                .map_err(|_| ParseError::BadWeight((*weight).to_string()))?;
            Ok(Request::Weight {
                service,
                server,
                weight: i32::from(weight),
            })
        }
        "drain" => {
            let (service, server) = one_server(args, USAGE_DRAIN)?;
            Ok(Request::Drain { service, server })
        }
        "restore" => {
            let (service, server) = one_server(args, USAGE_RESTORE)?;
            Ok(Request::Restore { service, server })
        }
        "disable" => {
            let (addresses, reason) = addresses_then_text(args)?;
            if addresses.is_empty() || reason.is_empty() {
                return Err(ParseError::Usage(USAGE_DISABLE));
            }
            Ok(Request::Disable { addresses, reason })
        }
        "enable" => {
            let (addresses, reason) = addresses_then_text(args)?;
            if addresses.is_empty() {
                return Err(ParseError::Usage(USAGE_ENABLE));
            }
            Ok(Request::Enable {
                addresses,
                reason: (!reason.is_empty()).then_some(reason),
            })
        }
        "failover" => match args {
            [name] => Ok(Request::Failover {
                name: (*name).to_string(),
                hold_s: None,
            }),
            [name, hold] => Ok(Request::Failover {
                name: (*name).to_string(),
                hold_s: Some(
                    hold.parse()
                        .map_err(|_| ParseError::BadSeconds((*hold).to_string()))?,
                ),
            }),
            _ => Err(ParseError::Usage(USAGE_FAILOVER)),
        },
        "priority" => match args {
            [name, value] => Ok(Request::Priority {
                name: (*name).to_string(),
                priority: priority(value)?,
            }),
            _ => Err(ParseError::Usage(USAGE_PRIORITY)),
        },
        "zero" => match args {
            [] => Ok(Request::Zero { service: None }),
            [service] => Ok(Request::Zero {
                service: Some(address(service)?),
            }),
            _ => Err(ParseError::Usage(USAGE_ZERO)),
        },
        "reload" if args.is_empty() => Ok(Request::Reload),
        "apply" if args.is_empty() => Ok(Request::Apply),
        "confirm" if args.is_empty() => Ok(Request::Confirm),
        "q" | "quit" if args.is_empty() => Ok(Request::Quit),
        "reload" | "apply" | "confirm" | "q" | "quit" => {
            Err(ParseError::Usage("this command takes no arguments"))
        }
        other => Err(ParseError::UnknownVerb(other.to_string())),
    }
}

/// The result of pressing Tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The line after completing.
    pub line: String,
    /// Every candidate, when more than one fits.
    pub candidates: Vec<String>,
}

/// Complete the last word of `line`: the verb first, then from
/// `arguments` (addresses, instance names) for the verb typed.
pub fn complete(line: &str, arguments: &dyn Fn(&str) -> Vec<String>) -> Completion {
    complete_with(line, &[], arguments)
}

/// [`complete`], offering the verbs the host added too.
pub fn complete_with(
    line: &str,
    extensions: &[ExtensionVerb],
    arguments: &dyn Fn(&str) -> Vec<String>,
) -> Completion {
    let (head, word) = match line.rfind(' ') {
        Some(at) => (&line[..=at], &line[at + 1..]),
        None => ("", line),
    };
    let pool: Vec<String> = if head.trim().is_empty() {
        VERBS
            .iter()
            .map(|v| (*v).to_string())
            .chain(extensions.iter().map(|e| e.verb.clone()))
            .collect()
    } else {
        let verb = head.split_whitespace().next().unwrap_or_default();
        arguments(verb)
    };
    let mut candidates: Vec<String> = pool.into_iter().filter(|c| c.starts_with(word)).collect();
    candidates.sort();
    candidates.dedup();
    match candidates.as_slice() {
        [] => Completion {
            line: line.to_string(),
            candidates,
        },
        [one] => Completion {
            line: format!("{head}{one} "),
            candidates: Vec::new(),
        },
        many => {
            let prefix = common_prefix(many);
            Completion {
                line: format!("{head}{prefix}"),
                candidates,
            }
        }
    }
}

fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut len = first.len();
    for word in &words[1..] {
        len = first
            .char_indices()
            .zip(word.chars())
            .take_while(|((_, a), b)| a == b)
            .map(|((i, a), _)| i + a.len_utf8())
            .last()
            .unwrap_or(0)
            .min(len);
    }
    first[..len].to_string()
}

/// Lines entered before, newest last, with a cursor for Up/Down.
#[derive(Debug, Clone, Default)]
pub struct History {
    lines: Vec<String>,
    cursor: Option<usize>,
}

/// How many lines the history keeps.
const HISTORY_KEPT: usize = 100;

impl History {
    pub fn push(&mut self, line: &str) {
        self.cursor = None;
        if line.trim().is_empty() || self.lines.last().is_some_and(|l| l == line) {
            return;
        }
        if self.lines.len() == HISTORY_KEPT {
            self.lines.remove(0);
        }
        self.lines.push(line.to_string());
    }

    /// An older line (Up).
    pub fn older(&mut self) -> Option<&str> {
        let next = match self.cursor {
            None => self.lines.len().checked_sub(1)?,
            Some(0) => 0,
            Some(at) => at - 1,
        };
        self.cursor = Some(next);
        self.lines.get(next).map(String::as_str)
    }

    /// A newer line (Down); `None` past the newest.
    pub fn newer(&mut self) -> Option<&str> {
        let at = self.cursor? + 1;
        if at >= self.lines.len() {
            self.cursor = None;
            return None;
        }
        self.cursor = Some(at);
        self.lines.get(at).map(String::as_str)
    }

    pub fn reset(&mut self) {
        self.cursor = None;
    }
}
