//! The daemon's pid file: written at start, removed on exit, and a guard
//! against starting twice — a pid file naming a live lvstop process stops
//! a second daemon; a stale one (dead pid, or a pid reused by another
//! program) is replaced.

use std::io;
use std::path::{Path, PathBuf};

/// A written pid file, removed when dropped.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

/// Why the pid file could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    #[error("'{}' names lvstop process {pid}, which is still running", path.display())]
    Running { path: PathBuf, pid: u32 },
    #[error("cannot write the pid file '{}': {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl PidFile {
    /// Take `path` for this process.
    pub fn create(path: &Path) -> Result<PidFile, PidFileError> {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
        {
            if pid != std::process::id() && is_lvstop(pid) {
                return Err(PidFileError::Running {
                    path: path.to_path_buf(),
                    pid,
                });
            }
        }
        let io_error = |source| PidFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_error)?;
        }
        // Written whole to a temporary name, then renamed: a reader never
        // sees half a pid.
        let temporary = path.with_extension("pid.tmp");
        std::fs::write(&temporary, format!("{}\n", std::process::id())).map_err(io_error)?;
        std::fs::rename(&temporary, path).map_err(io_error)?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only our own pid file: a second daemon may have replaced it.
        let ours = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            == Some(std::process::id());
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `pid` is a live process whose command is lvstop.
fn is_lvstop(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| comm.trim_end().starts_with("lvstop"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_file_is_written_replaced_when_stale_and_removed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("run/lvstop.pid");
        // A stale file: pid 1 is init, not lvstop.
        std::fs::create_dir_all(dir.path().join("run")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, "1\n").unwrap_or_else(|e| panic!("{e}"));
        let file = PidFile::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(written, format!("{}\n", std::process::id()));
        drop(file);
        assert!(!path.exists());
    }
}
