//! keepalived's script security: a script that runs as root must not be
//! changeable by anyone but root.
//!
//! keepalived.conf(5), `enable_script_security`: "Don't run scripts
//! configured to be run as root if any part of the path is writable by a
//! non-root user." keepalived's check (read from its behaviour, not copied):
//! the check applies when the script runs with uid 0 or gid 0, or is a
//! set-uid/set-gid root executable; then every directory from `/` down to
//! the file, and the file itself, must be owned by root, and must not be
//! writable by a non-root group or by everyone — except that a directory
//! with the sticky bit (like `/tmp`) may be group- or world-writable, since
//! others cannot replace what root put there.
//!
//! Only inspects file metadata (blocking `stat` calls): run it when the
//! configuration is loaded, never inside the event loop. Never decides what
//! to do about a finding; [`super::script`] refuses or warns.

use std::fmt;
use std::fs::Metadata;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use super::user::RunAs;

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_ISVTX: u32 = 0o1000;
const S_IWGRP: u32 = 0o020;
const S_IWOTH: u32 = 0o002;
const S_IXUSR: u32 = 0o100;
const S_IXGRP: u32 = 0o010;
const S_IXOTH: u32 = 0o001;

/// Who, besides root, could change a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// Its owner is not root (an owner can always change the mode).
    Owner { uid: u32 },
    /// Group-writable and the group is not root.
    Group { gid: u32 },
    /// World-writable.
    Everyone,
}

/// One part of a script's path that a non-root user could change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeEntry {
    pub path: PathBuf,
    pub is_dir: bool,
    pub writer: Writer,
    /// Permission bits (`0o7777` part of the mode).
    pub mode: u32,
}

impl fmt::Display for UnsafeEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.is_dir { "directory" } else { "file" };
        let path = self.path.display();
        match self.writer {
            Writer::Owner { uid } => {
                write!(f, "{what} '{path}' is writable by uid {uid} (its owner)")
            }
            Writer::Group { gid } => write!(
                f,
                "{what} '{path}' is writable by group gid {gid} (mode {:04o})",
                self.mode
            ),
            Writer::Everyone => write!(
                f,
                "{what} '{path}' is writable by everyone (mode {:04o})",
                self.mode
            ),
        }
    }
}

/// What inspecting a script's program found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The absolute path that will be executed.
    pub program: PathBuf,
    /// The name had no `/` and was found by searching `PATH`.
    pub found_by_path_search: bool,
    /// The run-as identity may execute the file.
    pub executable: bool,
    /// The script runs with root privileges (uid 0, gid 0, or a set-id
    /// root executable), so its path must be safe.
    pub runs_as_root: bool,
    /// The first unsafe part of the path, from `/` down, if the script runs
    /// as root.
    pub unsafe_entry: Option<UnsafeEntry>,
}

/// The program cannot be inspected at all.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InspectError {
    #[error("script '{0}' not found in PATH")]
    NotInPath(String),
    #[error("cannot access script '{path}': {reason}")]
    Inaccessible { path: String, reason: String },
    #[error("script '{0}' is not a regular file")]
    NotAFile(String),
}

/// Finds the program (searching `PATH` for a bare name, like keepalived)
/// and checks its permissions for `run_as`.
pub fn inspect(program: &str, run_as: &RunAs) -> Result<Inspection, InspectError> {
    let (path, found_by_path_search) = locate(program, run_as)?;
    let metadata = std::fs::metadata(&path).map_err(|error| InspectError::Inaccessible {
        path: path.display().to_string(),
        reason: error.to_string(),
    })?;
    if !metadata.is_file() {
        return Err(InspectError::NotAFile(path.display().to_string()));
    }
    let executable = is_executable(&metadata, run_as);
    let runs_as_root = executable && (run_as.is_root() || is_setid_root(&metadata));
    let unsafe_entry = if runs_as_root {
        first_unsafe_entry(&path)?
    } else {
        None
    };
    Ok(Inspection {
        program: path,
        found_by_path_search,
        executable,
        runs_as_root,
        unsafe_entry,
    })
}

fn locate(program: &str, run_as: &RunAs) -> Result<(PathBuf, bool), InspectError> {
    if program.contains('/') {
        let path = std::path::absolute(program).map_err(|error| InspectError::Inaccessible {
            path: program.to_string(),
            reason: error.to_string(),
        })?;
        return Ok((path, false));
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&search)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && is_executable(&meta, run_as))
        })
        .map(|path| (path, true))
        .ok_or_else(|| InspectError::NotInPath(program.to_string()))
}

/// Whether `run_as` may execute a file with these permissions (root may
/// if any execute bit is set).
fn is_executable(metadata: &Metadata, run_as: &RunAs) -> bool {
    let mode = metadata.permissions().mode();
    if run_as.uid == 0 {
        mode & (S_IXUSR | S_IXGRP | S_IXOTH) != 0
    } else if run_as.uid == metadata.uid() {
        mode & S_IXUSR != 0
    } else if run_as.gid == metadata.gid() {
        mode & S_IXGRP != 0
    } else {
        mode & S_IXOTH != 0
    }
}

fn is_setid_root(metadata: &Metadata) -> bool {
    let mode = metadata.permissions().mode();
    (metadata.uid() == 0 && mode & S_ISUID != 0 && mode & S_IXUSR != 0)
        || (metadata.gid() == 0 && mode & S_ISGID != 0 && mode & S_IXGRP != 0)
}

/// Walks `/`, each directory, then the file — first along the path as
/// written (whose directories hold any symlinks), then along the resolved
/// path (where the file really lives).
fn first_unsafe_entry(path: &Path) -> Result<Option<UnsafeEntry>, InspectError> {
    let mut seen = Vec::new();
    let mut walks = vec![path.to_path_buf()];
    if let Ok(real) = std::fs::canonicalize(path) {
        if real != path {
            walks.push(real);
        }
    }
    for walk in walks {
        for prefix in prefixes(&walk) {
            if seen.contains(&prefix) {
                continue;
            }
            let metadata =
                std::fs::metadata(&prefix).map_err(|error| InspectError::Inaccessible {
                    path: prefix.display().to_string(),
                    reason: error.to_string(),
                })?;
            if let Some(writer) = unsafe_writer(&metadata) {
                return Ok(Some(UnsafeEntry {
                    path: prefix,
                    is_dir: metadata.is_dir(),
                    writer,
                    mode: metadata.permissions().mode() & 0o7777,
                }));
            }
            seen.push(prefix);
        }
    }
    Ok(None)
}

/// `/`, `/a`, `/a/b`, … `/a/b/file`, ignoring `.` and repeated slashes.
fn prefixes(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut current = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => continue,
            other => current.push(other),
        }
        out.push(current.clone());
    }
    out
}

/// The non-root writer of one path, if any (see the module comment).
pub fn unsafe_writer(metadata: &Metadata) -> Option<Writer> {
    if metadata.uid() != 0 {
        return Some(Writer::Owner {
            uid: metadata.uid(),
        });
    }
    let mode = metadata.permissions().mode();
    let sticky_dir = metadata.is_dir() && mode & S_ISVTX != 0;
    if sticky_dir {
        return None;
    }
    if metadata.gid() != 0 && mode & S_IWGRP != 0 {
        return Some(Writer::Group {
            gid: metadata.gid(),
        });
    }
    if mode & S_IWOTH != 0 {
        return Some(Writer::Everyone);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_start_at_the_root() {
        let all = prefixes(Path::new("/a//b/./c.sh"));
        let all: Vec<_> = all.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(all, ["/", "/a", "/a/b", "/a/b/c.sh"]);
    }

    #[test]
    fn messages_name_the_path_and_the_writer() {
        let entry = UnsafeEntry {
            path: "/x".into(),
            is_dir: true,
            writer: Writer::Owner { uid: 1000 },
            mode: 0o755,
        };
        assert_eq!(
            entry.to_string(),
            "directory '/x' is writable by uid 1000 (its owner)"
        );
        let entry = UnsafeEntry {
            path: "/x/y.sh".into(),
            is_dir: false,
            writer: Writer::Everyone,
            mode: 0o777,
        };
        assert_eq!(
            entry.to_string(),
            "file '/x/y.sh' is writable by everyone (mode 0777)"
        );
    }

    #[test]
    fn system_binaries_are_safe_for_root() {
        let root = RunAs {
            uid: 0,
            gid: 0,
            user: "root".into(),
        };
        let found = inspect("sh", &root).unwrap();
        assert!(found.found_by_path_search);
        assert!(found.runs_as_root);
        assert_eq!(found.unsafe_entry, None, "{found:?}");
    }

    #[test]
    fn missing_scripts_are_reported() {
        let root = RunAs {
            uid: 0,
            gid: 0,
            user: "root".into(),
        };
        assert!(matches!(
            inspect("/nonexistent/lvstop-script.sh", &root),
            Err(InspectError::Inaccessible { .. })
        ));
        assert_eq!(
            inspect("lvstop-no-such-program", &root),
            Err(InspectError::NotInPath("lvstop-no-such-program".into()))
        );
    }
}
