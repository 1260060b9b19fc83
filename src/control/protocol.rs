//! The control protocol: newline-delimited JSON over a Unix stream socket.
//!
//! Every line a client sends is one [`Request`] in an [`Envelope`]; the
//! daemon answers each with exactly one line, a [`Response`] in an
//! envelope carrying the same `id`. Requests on one connection are answered
//! in order. A line that is not a valid request gets an `error` response
//! (with `id` 0 when the id itself could not be read) and the connection
//! stays usable.
//!
//! ```text
//! → {"id":1,"method":"hello"}
//! ← {"id":1,"result":"hello","data":{"protocol":2,"version":"0.1.0",…}}
//! → {"id":2,"method":"table"}
//! ← {"id":2,"result":"table","data":{"origin":{"kind":"userspace"},…}}
//! ```
//!
//! `subscribe` turns on a stream on the same connection: the daemon first
//! answers `subscribed`, then sends, with the subscribe's id, a `snapshot`
//! every `interval_ms` (the first at once) and `events` as they happen
//! (those after `since` first), until the client closes the connection.
//! Other requests may still be sent on it; their answers come between
//! stream lines, each with its own id.
//!
//! ```text
//! → {"id":3,"method":"subscribe","params":{"interval_ms":1000,"since":0}}
//! ← {"id":3,"result":"subscribed","data":{"interval_ms":1000}}
//! ← {"id":3,"result":"events","data":{"events":[…],"missed":false}}
//! ← {"id":3,"result":"snapshot","data":{"taken_unix_ms":…,"table":…}}
//! ```

use serde::{Deserialize, Serialize};

use crate::northbound::{
    ChecksReport, Command, CommandError, Connection, Daemon, DataplaneKind, Event, Outcome,
    Snapshot, Table, Timeouts, VrrpStatus,
};

/// Bumped on incompatible changes; `hello` reports it.
pub const PROTOCOL_VERSION: u32 = 2;

/// The longest request line the daemon reads; longer lines are refused
/// and the connection closed. An `apply` of a 2,300 virtual server /
/// 37,000 real server configuration is about 6 MiB of JSON; this leaves
/// room for four times that.
pub const MAX_REQUEST_BYTES: usize = 24 << 20;

/// A message with the id that pairs a response to its request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub id: u64,
    #[serde(flatten)]
    pub body: T,
}

/// What a client can ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", content = "params", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Request {
    /// Who is there: versions, dataplane, config path.
    Hello,
    /// The IPVS table with counters and rates.
    Table,
    /// The connection table (`ipvsadm -c`).
    Connections,
    /// Connection timeouts (`ipvsadm --timeout`).
    Timeouts,
    /// Sync daemons (`ipvsadm --daemon`).
    Daemons,
    /// An operator command (`lvstop ctl`, the console): answered with
    /// `outcome` or `command_error`. Needs a peer allowed to act, except
    /// for a dry-run apply.
    Command(Command),
    /// Every real server's health checks: state, reason, since when.
    Checks,
    /// VRRP instances and sync groups (empty without `vrrp_instance`).
    Vrrp,
    /// Everything at once: the engine's [`Snapshot`].
    Snapshot,
    /// The timeline after event `since` (0: all that is kept).
    Events {
        #[serde(default)]
        since: u64,
    },
    /// Snapshots every `interval_ms` and events as they happen, on this
    /// connection, until it closes (see the module docs).
    Subscribe {
        interval_ms: u64,
        #[serde(default)]
        since: u64,
    },
}

/// The daemon's answer to one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Response {
    Hello(Hello),
    Table(Table),
    Connections(Vec<Connection>),
    Timeouts(Timeouts),
    Daemons(Vec<Daemon>),
    /// What a command did.
    Outcome(Outcome),
    /// The engine refused a command; nothing changed.
    CommandError(CommandError),
    Checks(Box<ChecksReport>),
    Vrrp(VrrpStatus),
    Snapshot(Box<Snapshot>),
    /// Events oldest first; `missed` when some fell out of the ring first.
    Events {
        events: Vec<Event>,
        missed: bool,
    },
    /// A subscription started; stream lines follow with the same id.
    Subscribed {
        interval_ms: u64,
    },
    /// A subscription ended because the engine stopped.
    Lost {
        reason: String,
    },
    Error(ErrorReply),
}

/// The daemon introducing itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    /// lvstop's version.
    pub version: String,
    pub dataplane: DataplaneKind,
    /// The configuration file the daemon runs.
    pub config_path: String,
    pub pid: u32,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The line was not a valid request.
    BadRequest,
    /// The peer is not allowed to talk to this daemon.
    PermissionDenied,
    /// The daemon tried and failed (the dataplane refused, I/O error).
    Failed,
}

impl Response {
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Self {
        Response::Error(ErrorReply {
            kind,
            message: message.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_documented() {
        let request: Envelope<Request> =
            serde_json::from_str(r#"{"id":7,"method":"table"}"#).unwrap();
        assert_eq!(
            request,
            Envelope {
                id: 7,
                body: Request::Table
            }
        );
        let line = serde_json::to_string(&Envelope {
            id: 1,
            body: Request::Hello,
        })
        .unwrap();
        assert_eq!(line, r#"{"id":1,"method":"hello"}"#);
    }

    #[test]
    fn errors_carry_kind_and_message() {
        let line = serde_json::to_string(&Envelope {
            id: 3,
            body: Response::error(ErrorKind::BadRequest, "unknown method 'frobnicate'"),
        })
        .unwrap();
        assert_eq!(
            line,
            r#"{"id":3,"result":"error","data":{"kind":"bad_request","message":"unknown method 'frobnicate'"}}"#
        );
    }
}
