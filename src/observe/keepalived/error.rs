//! Why keepalived's view could not be read. Kept as text (an I/O error's
//! message, not the error) so a failure travels in a snapshot beside the
//! data and the console can print it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum DumpError {
    /// The process neither blocks nor catches the signal, so its default
    /// action (ending the process) would apply: it was not sent.
    #[error(
        "keepalived {pid} does not handle signal {signal} ({purpose}); not sent, since it would end the process"
    )]
    SignalNotHandled {
        pid: u32,
        signal: i32,
        purpose: String,
    },
    /// The process is no longer there (or its status is unreadable).
    #[error("keepalived {pid} is gone (no readable /proc/{pid}/status)")]
    Gone { pid: u32 },
    #[error("cannot send signal {signal} to keepalived {pid}: {message}")]
    Signal {
        pid: u32,
        signal: i32,
        message: String,
    },
    #[error("keepalived wrote no fresh '{}' within {waited_ms} ms of the request", path.display())]
    NoFreshDump { path: PathBuf, waited_ms: u64 },
    #[error("cannot read '{}': {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("'{}': malformed JSON at line {line}, column {column}: {message}", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed JSON that is not the shape keepalived writes.
    #[error("'{}': {message}", path.display())]
    JsonShape { path: PathBuf, message: String },
    /// A line of a data dump that claims to be something it cannot be.
    #[error("'{}' line {line}: {reason}: '{text}'", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        reason: String,
        text: String,
    },
    /// The dump reading did not finish (its worker task failed).
    #[error("reading keepalived's dumps stopped: {message}")]
    Aborted { message: String },
}
