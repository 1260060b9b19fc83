//! The client end of the control socket. Blocking on purpose: `--once` and
//! `ctl` ask a few questions and exit, and need no async runtime for it.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::protocol::{Envelope, ErrorKind, Request, Response};
use super::ControlError;

/// How long to wait for the daemon to answer one request.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to a running daemon.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
}

impl Client {
    /// Connect to the daemon at `path`.
    pub fn connect(path: &Path) -> Result<Client, ControlError> {
        let stream = UnixStream::connect(path).map_err(|source| ControlError::NoDaemon {
            path: path.to_path_buf(),
            source,
        })?;
        let io_error = |source| ControlError::Io {
            context: format!("control socket '{}'", path.display()),
            source,
        };
        stream
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .map_err(io_error)?;
        let writer = stream.try_clone().map_err(io_error)?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
            next_id: 1,
        })
    }

    /// Send one request and wait for its response. An `Error` response is
    /// returned as [`ControlError::Refused`].
    pub fn request(&mut self, request: Request) -> Result<Response, ControlError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = serde_json::to_vec(&Envelope { id, body: request })
            .map_err(|e| ControlError::BadResponse(e.to_string()))?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .map_err(|source| ControlError::Io {
                context: "sending to the daemon".into(),
                source,
            })?;
        let mut answer = String::new();
        let n = self
            .reader
            .read_line(&mut answer)
            .map_err(|source| ControlError::Io {
                context: "reading the daemon's answer".into(),
                source,
            })?;
        if n == 0 {
            return Err(ControlError::Io {
                context: "reading the daemon's answer".into(),
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the daemon closed the connection",
                ),
            });
        }
        let envelope: Envelope<Response> = serde_json::from_str(&answer)
            .map_err(|e| ControlError::BadResponse(format!("{e}: {}", answer.trim())))?;
        match envelope.body {
            Response::Error(reply) if reply.kind == ErrorKind::PermissionDenied => {
                Err(ControlError::PermissionDenied(reply.message))
            }
            Response::Error(reply) => Err(ControlError::Refused(reply.message)),
            _ if envelope.id != id && envelope.id != 0 => Err(ControlError::BadResponse(format!(
                "answer to request {} while waiting for {id}",
                envelope.id
            ))),
            body => Ok(body),
        }
    }
}
