//! keepalived's notify FIFOs: one line per event, written to `notify_fifo`
//! (every event), `vrrp_notify_fifo` (VRRP only) and `lvs_notify_fifo`
//! (checker only). Formats (keepalived.conf(5), `global_defs`):
//!
//! ```text
//! INSTANCE "VI_1" MASTER 100
//! GROUP "G1" BACKUP 0
//! VS [192.168.201.15]:tcp:80 UP
//! RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN
//! ```
//!
//! A missing FIFO is created (mode 0600, or 0660 when a group is named,
//! owned by the named user/group) and removed again when the writer is
//! dropped; an existing path that is not a FIFO, or is a symlink, is
//! refused. Like keepalived, the FIFO is opened read-write and
//! non-blocking: opening never waits for a reader, lines written while no
//! reader is attached wait in the pipe (64 KiB on Linux) for the next one,
//! and a line that does not fit is dropped and counted — a write never
//! blocks. A line is shorter than PIPE_BUF, so it arrives whole or not at
//! all. The optional `*_notify_fifo_script` is started with the FIFO path as
//! its last argument and sent SIGTERM when the writer goes away.
//!
//! Opening (mkfifo, chown, user lookups) is blocking setup work for
//! configuration time; [`FifoWriter::write_line`] is a non-blocking write.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::stat::Mode;
use serde::Serialize;

use super::names::{ServiceName, VrrpStateWord, VrrpSubject};
use super::script::{RunningScript, ScriptError, ScriptPolicy};
use super::user::{self, UserError};
use crate::config::model::global::{Fifo, GlobalDefs, NotifyFifo};

/// One event, as a FIFO line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FifoEvent {
    Vrrp {
        subject: VrrpSubject,
        name: String,
        state: VrrpStateWord,
        priority: u8,
    },
    /// A virtual server's quorum went up or down.
    VirtualServer { service: ServiceName, up: bool },
    /// A real server went up or down.
    RealServer {
        real_server: ServiceName,
        virtual_server: ServiceName,
        up: bool,
    },
}

impl FifoEvent {
    /// The line, newline included.
    pub fn line(&self) -> String {
        let word = |up: bool| if up { "UP" } else { "DOWN" };
        match self {
            Self::Vrrp {
                subject,
                name,
                state,
                priority,
            } => format!(
                "{} \"{name}\" {} {priority}\n",
                subject.word(),
                state.word()
            ),
            Self::VirtualServer { service, up } => format!("VS {service} {}\n", word(*up)),
            Self::RealServer {
                real_server,
                virtual_server,
                up,
            } => format!("RS {real_server} {virtual_server} {}\n", word(*up)),
        }
    }

    fn is_vrrp(&self) -> bool {
        matches!(self, Self::Vrrp { .. })
    }
}

/// Why a FIFO could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FifoError {
    #[error("notify FIFO '{0}' exists and is not a FIFO")]
    NotAFifo(PathBuf),
    #[error("cannot create notify FIFO '{path}': {reason}")]
    Create { path: PathBuf, reason: String },
    #[error("cannot open notify FIFO '{path}': {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("notify FIFO '{path}': {source}")]
    Owner { path: PathBuf, source: UserError },
    #[error("notify FIFO script for '{path}': {source}")]
    Script { path: PathBuf, source: ScriptError },
    #[error("cannot start notify FIFO script for '{path}': {source}")]
    Start {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Lines written and dropped on one FIFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct FifoStats {
    pub written: u64,
    pub dropped: u64,
}

/// One open FIFO.
#[derive(Debug)]
pub struct FifoWriter {
    path: PathBuf,
    file: File,
    created: bool,
    written: AtomicU64,
    dropped: AtomicU64,
    reader: Option<RunningScript>,
}

impl FifoWriter {
    /// Creates (if missing) and opens the FIFO `fifo` names.
    pub fn open(fifo: &Fifo) -> Result<Self, FifoError> {
        let path = PathBuf::from(&fifo.path.value);
        let created = ensure_fifo(&path, fifo)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|source| FifoError::Open {
                path: path.clone(),
                source,
            })?;
        // Re-check on the open descriptor: the path could have been swapped
        // between the check and the open.
        let is_fifo = file.metadata().is_ok_and(|meta| meta.file_type().is_fifo());
        if !is_fifo {
            return Err(FifoError::NotAFifo(path));
        }
        Ok(Self {
            path,
            file,
            created,
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            reader: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one line without ever blocking; `false` (and counted) when
    /// the pipe is full or the write failed.
    pub fn write_line(&self, line: &str) -> bool {
        // POSIX: a write of at most PIPE_BUF bytes to a pipe is atomic, so
        // a line arrives whole or not at all; a longer one could be cut.
        let outcome = if line.len() > libc::PIPE_BUF {
            Err(format!("line longer than PIPE_BUF ({})", libc::PIPE_BUF))
        } else {
            match (&self.file).write(line.as_bytes()) {
                Ok(count) if count == line.len() => Ok(()),
                Ok(count) => Err(format!("only {count} of {} bytes written", line.len())),
                Err(error) => Err(error.to_string()),
            }
        };
        match outcome {
            Ok(()) => {
                self.written.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(error) => {
                let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(
                    fifo = %self.path.display(),
                    dropped_total = total,
                    "notify FIFO line dropped ({error}): {}",
                    line.trim_end()
                );
                false
            }
        }
    }

    pub fn stats(&self) -> FifoStats {
        FifoStats {
            written: self.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FifoWriter {
    fn drop(&mut self) {
        // Stop the reader script first (SIGTERM), then remove what we made.
        self.reader.take();
        if self.created {
            std::fs::remove_file(&self.path).ok();
        }
    }
}

/// Makes sure `path` is a FIFO; `true` when this call created it.
fn ensure_fifo(path: &Path, fifo: &Fifo) -> Result<bool, FifoError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_fifo() => return Ok(false),
        Ok(_) => return Err(FifoError::NotAFifo(path.to_path_buf())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(FifoError::Create {
                path: path.to_path_buf(),
                reason: error.to_string(),
            })
        }
    }
    let create_error = |reason: String| FifoError::Create {
        path: path.to_path_buf(),
        reason,
    };
    nix::unistd::mkfifo(path, Mode::S_IRUSR | Mode::S_IWUSR)
        .map_err(|errno| create_error(errno.desc().to_string()))?;
    let owner_error = |source| FifoError::Owner {
        path: path.to_path_buf(),
        source,
    };
    let owner = match &fifo.user {
        Some(name) => Some(user::resolve(name, fifo.group.as_deref()).map_err(owner_error)?),
        None => None,
    };
    if let Some(owner) = &owner {
        let gid = fifo.group.as_ref().map(|_| owner.gid);
        std::os::unix::fs::chown(path, Some(owner.uid), gid)
            .map_err(|error| create_error(error.to_string()))?;
    }
    let mode = if fifo.group.is_some() { 0o660 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|error| create_error(error.to_string()))?;
    Ok(true)
}

/// The three FIFO families of `global_defs`, routed as keepalived does.
#[derive(Debug, Default)]
pub struct NotifyFifos {
    all: Option<FifoWriter>,
    vrrp: Option<FifoWriter>,
    lvs: Option<FifoWriter>,
}

/// Counters of the three FIFOs (absent ones are `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NotifyFifoStats {
    pub notify_fifo: Option<FifoStats>,
    pub vrrp_notify_fifo: Option<FifoStats>,
    pub lvs_notify_fifo: Option<FifoStats>,
}

impl NotifyFifos {
    /// Opens every configured FIFO and starts its script. Must run inside
    /// a tokio runtime when a script is configured.
    pub fn open(global: &GlobalDefs, policy: &ScriptPolicy) -> Result<Self, FifoError> {
        Ok(Self {
            all: open_family(&global.notify_fifo, policy)?,
            vrrp: open_family(&global.vrrp_notify_fifo, policy)?,
            lvs: open_family(&global.lvs_notify_fifo, policy)?,
        })
    }

    /// Writes the event's line to `notify_fifo` and to the family FIFO.
    pub fn write(&self, event: &FifoEvent) {
        let family = if event.is_vrrp() {
            &self.vrrp
        } else {
            &self.lvs
        };
        let line = event.line();
        for writer in [&self.all, family].into_iter().flatten() {
            writer.write_line(&line);
        }
    }

    pub fn stats(&self) -> NotifyFifoStats {
        NotifyFifoStats {
            notify_fifo: self.all.as_ref().map(FifoWriter::stats),
            vrrp_notify_fifo: self.vrrp.as_ref().map(FifoWriter::stats),
            lvs_notify_fifo: self.lvs.as_ref().map(FifoWriter::stats),
        }
    }
}

fn open_family(
    family: &NotifyFifo,
    policy: &ScriptPolicy,
) -> Result<Option<FifoWriter>, FifoError> {
    let Some(fifo) = &family.fifo else {
        return Ok(None);
    };
    let mut writer = FifoWriter::open(fifo)?;
    if let Some(script) = &family.script {
        let path = writer.path.clone();
        let prepared = policy.prepare(script).map_err(|source| FifoError::Script {
            path: path.clone(),
            source,
        })?;
        // keepalived.conf(5): "The FIFO name will be passed to the script
        // as the last parameter".
        let argument = path.display().to_string();
        let running = prepared
            .start(&[argument])
            .map_err(|source| FifoError::Start { path, source })?;
        writer.reader = Some(running);
    }
    Ok(Some(writer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::lvs::Protocol;

    #[test]
    fn lines_match_keepalived() {
        let vrrp = FifoEvent::Vrrp {
            subject: VrrpSubject::Instance,
            name: "VI_1".into(),
            state: VrrpStateWord::Master,
            priority: 100,
        };
        assert_eq!(vrrp.line(), "INSTANCE \"VI_1\" MASTER 100\n");
        let group = FifoEvent::Vrrp {
            subject: VrrpSubject::Group,
            name: "G1".into(),
            state: VrrpStateWord::Backup,
            priority: 0,
        };
        assert_eq!(group.line(), "GROUP \"G1\" BACKUP 0\n");
        let vs = ServiceName::address([192, 168, 201, 15].into(), Protocol::Tcp, 80);
        let rs = ServiceName::address([1, 2, 3, 4].into(), Protocol::Tcp, 80);
        let up = FifoEvent::VirtualServer {
            service: vs.clone(),
            up: true,
        };
        assert_eq!(up.line(), "VS [192.168.201.15]:tcp:80 UP\n");
        let down = FifoEvent::RealServer {
            real_server: rs,
            virtual_server: vs,
            up: false,
        };
        assert_eq!(
            down.line(),
            "RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN\n"
        );
    }
}
