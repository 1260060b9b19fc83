//! The control socket: how `lvstop --once`, `lvstop ctl` and a console in
//! another process talk to a running daemon. [`protocol`] defines the
//! messages, [`server`] the daemon's end (answering from the engine
//! through [`engine_backend`]), [`client`] the other end.

pub mod client;
pub mod engine_backend;
pub mod peer;
pub mod protocol;
pub mod remote;
pub mod server;
pub mod stream;

use std::io;
use std::path::PathBuf;

/// Why the control socket could not be served or reached.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("another lvstop daemon is already answering on '{}'", .0.display())]
    AlreadyRunning(PathBuf),
    #[error("'{}' exists and is not a socket; refusing to replace it", .0.display())]
    NotASocket(PathBuf),
    #[error("no lvstop daemon at '{}': {source}", path.display())]
    NoDaemon {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("the daemon sent an invalid response: {0}")]
    BadResponse(String),
    #[error("the daemon refused: {0}")]
    Refused(String),
    #[error("the daemon refused: {0}")]
    PermissionDenied(String),
}
