//! Another director on this host: before an lvstop engine speaks VRRP or
//! programs the kernel's IPVS, it makes sure no other VRRP speaker runs
//! in the same network namespace — a keepalived, or another lvstop
//! engine. Two speakers with the same VRIDs on one host can move or drop
//! a production VIP, and two owners of one IPVS table undo each other's
//! work.
//!
//! - keepalived is found by its pid file or in the process table
//!   ([`crate::observe::keepalived::process`]); only processes in this
//!   process's network namespace count, so test beds that run one
//!   director per namespace are not affected.
//! - An lvstop engine claims an abstract Unix socket name. Abstract names
//!   live in the network namespace and vanish with the process, so the
//!   claim is exact, needs no file and can never be left stale; the
//!   holder's pid comes from the socket's peer credentials.
//!
//! This module only looks and claims; it never signals or stops anything.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};

use crate::observe::keepalived::{self, FoundBy, KeepalivedProcess};

/// The abstract socket name an lvstop engine holds while it runs.
const ENGINE_CLAIM: &[u8] = b"lvstop/engine";

/// A VRRP speaker or IPVS owner found on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Speaker {
    /// A running keepalived (its main process).
    Keepalived { pid: u32, found_by: FoundBy },
    /// Another lvstop engine (a daemon or an embedded console engine).
    Lvstop { pid: Option<u32> },
}

impl std::fmt::Display for Speaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Speaker::Keepalived { pid, found_by } => {
                write!(f, "keepalived (pid {pid}")?;
                match found_by {
                    FoundBy::PidFile(path) => write!(f, ", from {})", path.display()),
                    FoundBy::ProcessTable => write!(f, ", from the process table)"),
                }
            }
            Speaker::Lvstop { pid: Some(pid) } => write!(f, "another lvstop engine (pid {pid})"),
            Speaker::Lvstop { pid: None } => write!(f, "another lvstop engine"),
        }
    }
}

/// Why an engine may not start here.
#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    #[error(
        "{speaker} already runs on this host: a second director beside it could move or drop \
         its VIPs and undo its IPVS table. Stop it first, or watch it read-only with `lvstop` \
         (the observer); --allow-other-speaker starts anyway (dangerous)"
    )]
    Other { speaker: Speaker },
    #[error("cannot claim the engine's place on this host: {0}")]
    Io(#[from] io::Error),
}

/// This engine's claim; held for as long as the engine runs.
#[derive(Debug)]
pub struct EngineClaim {
    _listener: Option<UnixListener>,
}

/// Refuse when another speaker runs in this network namespace, else
/// claim the place. With `allow_other`, a speaker found is logged and the
/// claim is taken where it can be.
pub fn claim(allow_other: bool) -> Result<EngineClaim, SpeakerError> {
    let keepalived = find_keepalived();
    let listener = match bind_claim() {
        Ok(listener) => Some(listener),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            let speaker = Speaker::Lvstop {
                pid: claim_holder(),
            };
            if !allow_other {
                return Err(SpeakerError::Other { speaker });
            }
            tracing::warn!("{speaker} runs on this host; starting anyway (--allow-other-speaker)");
            None
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(speaker) = keepalived {
        if !allow_other {
            return Err(SpeakerError::Other { speaker });
        }
        tracing::warn!("{speaker} runs on this host; starting anyway (--allow-other-speaker)");
    }
    Ok(EngineClaim {
        _listener: listener,
    })
}

/// Every speaker in this network namespace, without claiming anything.
pub fn others() -> Vec<Speaker> {
    let mut found: Vec<Speaker> = find_keepalived().into_iter().collect();
    if let Ok(address) = claim_address() {
        if UnixStream::connect_addr(&address).is_ok() {
            found.push(Speaker::Lvstop {
                pid: claim_holder(),
            });
        }
    }
    found
}

fn claim_address() -> io::Result<SocketAddr> {
    SocketAddr::from_abstract_name(ENGINE_CLAIM)
}

fn bind_claim() -> io::Result<UnixListener> {
    UnixListener::bind_addr(&claim_address()?)
}

/// The pid of the engine holding the claim, from its credentials.
fn claim_holder() -> Option<u32> {
    let stream = UnixStream::connect_addr(&claim_address().ok()?).ok()?;
    let credentials =
        nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials).ok()?;
    u32::try_from(credentials.pid()).ok()
}

/// The main keepalived process in this network namespace, if one runs:
/// its pid file first, else the process table. A keepalived whose
/// namespace cannot be read counts as this one: when in doubt, refuse.
pub fn find_keepalived_process() -> Option<KeepalivedProcess> {
    let here = |p: &KeepalivedProcess| p.same_net_namespace != Some(false) && !is_zombie(p.pid);
    keepalived::find()
        .filter(here)
        .or_else(|| keepalived::process::find_all().into_iter().find(here))
}

/// A process that has exited but is not reaped yet speaks nothing, and its
/// namespaces can no longer be read (which would otherwise count as here).
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // `pid (comm) S …`: the state follows the last parenthesis.
            let after = stat.rsplit_once(')')?.1;
            after
                .split_whitespace()
                .next()
                .map(|s| s == "Z" || s == "X")
        })
        .unwrap_or(true)
}

/// [`find_keepalived_process`] as a [`Speaker`].
pub fn find_keepalived() -> Option<Speaker> {
    find_keepalived_process().map(|p| Speaker::Keepalived {
        pid: p.pid,
        found_by: p.found_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_refusal_names_the_process_and_the_ways_out() {
        let error = SpeakerError::Other {
            speaker: Speaker::Keepalived {
                pid: 4242,
                found_by: FoundBy::PidFile(PathBuf::from("/run/keepalived.pid")),
            },
        };
        let text = error.to_string();
        assert!(text.starts_with("keepalived (pid 4242, from /run/keepalived.pid) already runs"));
        assert!(text.contains("--allow-other-speaker"));
        assert!(text.contains("`lvstop`"));
    }
}
