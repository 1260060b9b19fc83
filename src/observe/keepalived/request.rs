//! Asking keepalived for a dump: one signal to its parent process, then a
//! bounded wait for the file to be rewritten.
//!
//! Owns the only writes the observer makes toward keepalived: the two dump
//! signals. A signal is sent only when `/proc/PID/status` shows the
//! process blocks it (keepalived reads its signals through a signalfd) or
//! catches it; otherwise the default action, ending the process, would
//! apply (a keepalived built without JSON support, a pid reused by another
//! program), and nothing is sent.
//!
//! Signals, as keepalived 2.2.7 (Debian) handles them:
//! - JSON: `keepalived --signum=JSON` prints 36 (SIGRTMIN + 2 under glibc).
//!   lvstop uses the number rather than running the installed binary on
//!   every read: the running keepalived may not be the one on `PATH`, and
//!   the guard above refuses the signal where it would do harm. The parent
//!   forwards it to the VRRP child, which writes `/tmp/keepalived.json`.
//!   The checker child does not handle it (36 would end it), so lvstop
//!   never sends it there. nix has no real-time signals and `unsafe` is
//!   denied here, so it is sent with the `kill` program.
//! - SIGUSR1: the parent forwards it to both children; the VRRP child
//!   writes `/tmp/keepalived.data`, the checker child
//!   `/tmp/keepalived_check.data` (the parent itself writes
//!   `/tmp/keepalived_parent.data`).
//!
//! The waits block the calling thread (polling every 20 ms, bounded by a
//! deadline); async callers run them under `spawn_blocking`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::error::DumpError;

/// `keepalived --signum=JSON` on Debian's keepalived 2.2.7.
pub const SIGNAL_JSON: i32 = 36;
/// keepalived's data dump signal.
pub const SIGNAL_DATA: i32 = libc::SIGUSR1;

/// How often a file is checked while waiting for it.
const POLL: Duration = Duration::from_millis(20);

/// Whether process `pid` blocks or catches `signal` (so sending it cannot
/// end the process); `None` when its status is unreadable.
pub fn handles_signal(proc_root: &Path, pid: u32, signal: i32) -> Option<bool> {
    let status = std::fs::read_to_string(proc_root.join(pid.to_string()).join("status")).ok()?;
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
    };
    let bit = 1u64.checked_shl(u32::try_from(signal - 1).ok()?)?;
    Some((mask("SigBlk:")? | mask("SigCgt:")?) & bit != 0)
}

/// Sends `signal` to `pid` after checking that it handles it.
pub fn send(proc_root: &Path, pid: u32, signal: i32, purpose: &str) -> Result<(), DumpError> {
    let failed = |message: String| DumpError::Signal {
        pid,
        signal,
        message,
    };
    match handles_signal(proc_root, pid, signal) {
        Some(true) => {}
        Some(false) => {
            return Err(DumpError::SignalNotHandled {
                pid,
                signal,
                purpose: purpose.to_string(),
            })
        }
        None => return Err(DumpError::Gone { pid }),
    }
    if let Ok(named) = Signal::try_from(signal) {
        let target = Pid::from_raw(i32::try_from(pid).map_err(|e| failed(e.to_string()))?);
        return kill(target, named).map_err(|e| failed(e.to_string()));
    }
    // `kill` on PATH, else where Debian's procps puts it (a service's
    // PATH may be minimal).
    let mut outcome = Err(std::io::Error::from(std::io::ErrorKind::NotFound));
    for program in ["kill", "/usr/bin/kill", "/bin/kill"] {
        outcome = Command::new(program)
            .args(["-s", &signal.to_string(), &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !matches!(&outcome, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            break;
        }
    }
    let status = outcome.map_err(|e| failed(format!("cannot run kill: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(failed(format!("kill exited with {status}")))
    }
}

/// A file's identity for "was it rewritten?": modification time and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

/// The stamp of `path` now; `None` when it does not exist.
pub fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

/// Waits until `path` differs from `before`, holds still for one poll,
/// and its text passes `complete`, then returns the text. keepalived
/// truncates a dump and fills it in several writes, tens of milliseconds
/// apart on a slow machine, so "changed and still" alone may catch it
/// empty or half written. When `deadline` passes, the last fresh text is
/// returned as it is (its parse will say what is wrong), or an error if
/// the file never changed.
pub fn wait_rewritten(
    path: &Path,
    before: Option<Stamp>,
    started: Instant,
    deadline: Instant,
    complete: impl Fn(&str) -> bool,
) -> Result<String, DumpError> {
    let mut last: Option<Stamp> = None;
    let mut fresh_text: Option<String> = None;
    loop {
        let now = stamp(path);
        if now.is_some() && now != before && now == last {
            let text = std::fs::read_to_string(path).map_err(|e| DumpError::Read {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            if complete(&text) {
                return Ok(text);
            }
            fresh_text = Some(text);
        }
        last = now;
        if Instant::now() >= deadline {
            return fresh_text.ok_or_else(|| DumpError::NoFreshDump {
                path: PathBuf::from(path),
                waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            });
        }
        std::thread::sleep(POLL);
    }
}

/// Whether a JSON dump is whole: it parses, or fails for a reason other
/// than ending early.
pub fn json_complete(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_or_else(|e| !e.is_eof(), |_| true)
}

/// Whether a text dump is whole as far as can be told: not empty and
/// ending with a line break (stdio writes it in blocks that end mid-line).
pub fn text_complete(text: &str) -> bool {
    text.ends_with('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_caught_half_written_is_not_complete() {
        assert!(!json_complete(""));
        assert!(!json_complete("[{\"data\":{\"iname\":\"VI_1\""));
        assert!(json_complete("[]"));
        assert!(json_complete("[]]"), "whole but wrong: the parser says why");
        assert!(!text_complete(""));
        assert!(!text_complete(" VRRP Instance = VI_1\n   Sta"));
        assert!(text_complete(" VRRP Instance = VI_1\n"));
    }

    fn fake_status(dir: &Path, pid: u32, blocked: &str, caught: &str) {
        let p = dir.join(pid.to_string());
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(
            p.join("status"),
            format!("Name:\tkeepalived\nSigBlk:\t{blocked}\nSigIgn:\tbffffff67ffab034\nSigCgt:\t{caught}\n"),
        )
        .unwrap();
    }

    /// The masks recorded from keepalived 2.2.7's parent and checker child.
    #[test]
    fn json_goes_only_where_keepalived_blocks_it() {
        let dir = tempfile::tempdir().unwrap();
        fake_status(dir.path(), 257, "4000000800014a03", "0000000000000000");
        fake_status(dir.path(), 271, "4000000000014203", "0000000000000000");
        assert_eq!(handles_signal(dir.path(), 257, SIGNAL_JSON), Some(true));
        assert_eq!(handles_signal(dir.path(), 257, SIGNAL_DATA), Some(true));
        assert_eq!(handles_signal(dir.path(), 271, SIGNAL_JSON), Some(false));
        assert_eq!(handles_signal(dir.path(), 271, SIGNAL_DATA), Some(true));
        assert_eq!(handles_signal(dir.path(), 999, SIGNAL_DATA), None);
        let refused = send(dir.path(), 271, SIGNAL_JSON, "JSON dump").unwrap_err();
        assert!(
            matches!(refused, DumpError::SignalNotHandled { pid: 271, .. }),
            "{refused}"
        );
        let gone = send(dir.path(), 999, SIGNAL_DATA, "data dump").unwrap_err();
        assert_eq!(gone, DumpError::Gone { pid: 999 });
    }

    #[test]
    fn an_unchanged_file_is_not_a_fresh_dump() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keepalived.json");
        std::fs::write(&path, "[]").unwrap();
        let before = stamp(&path);
        let started = Instant::now();
        let soon = started + Duration::from_millis(100);
        let err = wait_rewritten(&path, before, started, soon, json_complete).unwrap_err();
        assert!(matches!(err, DumpError::NoFreshDump { .. }), "{err}");
        std::fs::write(&path, "").unwrap();
        let soon = Instant::now() + Duration::from_millis(200);
        let half = wait_rewritten(&path, before, started, soon, json_complete).unwrap();
        assert_eq!(
            half, "",
            "a fresh but unfinished dump, handed over at the deadline"
        );
        std::fs::write(&path, "[{}]").unwrap();
        let later = Instant::now() + Duration::from_secs(5);
        let text = wait_rewritten(&path, before, started, later, json_complete).unwrap();
        assert_eq!(text, "[{}]");
    }
}
