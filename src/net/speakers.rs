//! Another director on this host: before an lvstop engine speaks VRRP or
//! programs the kernel's IPVS, it makes sure no other VRRP speaker runs
//! in the same network namespace — a keepalived, or another lvstop
//! engine. Two speakers with the same VRIDs on one host can move or drop
//! a production VIP, and two owners of one IPVS table undo each other's
//! work.
//!
//! - keepalived is found in the process table (`/proc/PID/comm` is
//!   `keepalived`), corroborated by its pid file; only processes in this
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
use std::path::{Path, PathBuf};

/// The abstract socket name an lvstop engine holds while it runs.
const ENGINE_CLAIM: &[u8] = b"lvstop/engine";

/// Pid files a Debian keepalived writes (main process first).
const KEEPALIVED_PID_FILES: [&str; 2] = ["/run/keepalived.pid", "/var/run/keepalived.pid"];

/// A VRRP speaker or IPVS owner found on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Speaker {
    /// A running keepalived (its main process).
    Keepalived { pid: u32, found_by: FoundBy },
    /// Another lvstop engine (a daemon or an embedded console engine).
    Lvstop { pid: Option<u32> },
}

/// How a keepalived was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoundBy {
    PidFile(PathBuf),
    ProcessTable,
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

/// The main keepalived process in this network namespace, if one runs.
pub fn find_keepalived() -> Option<Speaker> {
    let here = network_namespace(Path::new("/proc/self"));
    let mains: Vec<u32> = keepalived_processes(Path::new("/proc"))
        .into_iter()
        .filter(|p| p.parent_comm.as_deref() != Some("keepalived"))
        .filter(|p| same_namespace(here.as_deref(), p.namespace.as_deref()))
        .map(|p| p.pid)
        .collect();
    let first = *mains.iter().min()?;
    let from_file = KEEPALIVED_PID_FILES.iter().find_map(|file| {
        let pid: u32 = std::fs::read_to_string(file).ok()?.trim().parse().ok()?;
        mains
            .contains(&pid)
            .then(|| (pid, FoundBy::PidFile(PathBuf::from(file))))
    });
    let (pid, found_by) = from_file.unwrap_or((first, FoundBy::ProcessTable));
    Some(Speaker::Keepalived { pid, found_by })
}

/// An unreadable namespace (another user's process, without privilege)
/// counts as the same: when in doubt, refuse.
fn same_namespace(here: Option<&str>, there: Option<&str>) -> bool {
    match (here, there) {
        (Some(here), Some(there)) => here == there,
        _ => true,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct KeepalivedProcess {
    pid: u32,
    parent_comm: Option<String>,
    namespace: Option<String>,
}

/// Every process under `proc` whose command is keepalived.
fn keepalived_processes(proc: &Path) -> Vec<KeepalivedProcess> {
    let Ok(entries) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| comm(proc, *pid).as_deref() == Some("keepalived"))
        .map(|pid| KeepalivedProcess {
            pid,
            parent_comm: parent(proc, pid).and_then(|ppid| comm(proc, ppid)),
            namespace: network_namespace(&proc.join(pid.to_string())),
        })
        .collect()
}

fn comm(proc: &Path, pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(proc.join(pid.to_string()).join("comm")).ok()?;
    Some(text.trim_end().to_string())
}

/// The parent pid, from the `PPid:` line of `status`.
fn parent(proc: &Path, pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(proc.join(pid.to_string()).join("status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("PPid:"))
        .and_then(|value| value.trim().parse().ok())
}

/// `net:[4026531840]`: the identity of a process's network namespace.
fn network_namespace(process: &Path) -> Option<String> {
    std::fs::read_link(process.join("ns/net"))
        .ok()
        .map(|link| link.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(dir: &Path, pid: u32, comm: &str, ppid: u32) {
        let base = dir.join(pid.to_string());
        std::fs::create_dir_all(&base).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(base.join("comm"), format!("{comm}\n")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            base.join("status"),
            format!("Name:\t{comm}\nPPid:\t{ppid}\n"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn keepalived_children_name_their_parent_as_keepalived() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        process(dir.path(), 1, "systemd", 0);
        process(dir.path(), 700, "keepalived", 1);
        process(dir.path(), 701, "keepalived", 700);
        process(dir.path(), 702, "keepalived", 700);
        process(dir.path(), 900, "nginx", 1);
        let mut found = keepalived_processes(dir.path());
        found.sort_by_key(|p| p.pid);
        let mains: Vec<u32> = found
            .iter()
            .filter(|p| p.parent_comm.as_deref() != Some("keepalived"))
            .map(|p| p.pid)
            .collect();
        assert_eq!(found.len(), 3);
        assert_eq!(mains, vec![700]);
    }

    #[test]
    fn an_unreadable_namespace_counts_as_this_one() {
        assert!(same_namespace(Some("net:[1]"), None));
        assert!(same_namespace(Some("net:[1]"), Some("net:[1]")));
        assert!(!same_namespace(Some("net:[1]"), Some("net:[2]")));
    }

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
