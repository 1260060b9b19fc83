//! Reads the process table from `/proc`: each live process's name
//! (`comm`, from `/proc/PID/stat`, which also gives the state, so zombies
//! are left out as keepalived leaves them out) and, only when a pattern
//! needs it, its command line. Blocking file reads: call it from a
//! blocking thread. Decides nothing.
//!
//! lvstop polls where keepalived listens to the proc connector; the cost
//! of one scan is measured by `benches/process_scan.rs` (see README).

use std::fs;
use std::io;
use std::path::Path;

use super::pattern::ProcInfo;

/// Every live process under `proc_root` (normally `/proc`). Processes
/// that end while they are read are skipped.
pub fn scan(proc_root: &Path, with_cmdline: bool) -> io::Result<Vec<ProcInfo>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(proc_root)? {
        let Ok(entry) = entry else { continue };
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str() else {
            continue;
        };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let dir = entry.path();
        let Ok(stat) = fs::read(dir.join("stat")) else {
            continue;
        };
        let Some((comm, state)) = parse_stat(&stat) else {
            continue;
        };
        if state == b'Z' || state == b'X' {
            continue;
        }
        let argv = if with_cmdline {
            match fs::read(dir.join("cmdline")) {
                Ok(bytes) => split_cmdline(&bytes),
                Err(_) => continue,
            }
        } else {
            Vec::new()
        };
        out.push(ProcInfo { comm, argv });
    }
    Ok(out)
}

/// `PID (COMM) STATE ...`: the name may hold spaces and parentheses, so
/// it ends at the last `)`.
pub fn parse_stat(stat: &[u8]) -> Option<(String, u8)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let comm = stat.get(open + 1..close)?;
    let state = *stat.get(close + 2)?;
    Some((String::from_utf8_lossy(comm).into_owned(), state))
}

/// NUL-separated words (the last one NUL-terminated).
pub fn split_cmdline(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_names_may_hold_parentheses_and_spaces() {
        let stat = b"1234 (my (odd) name) S 1 1234 1234 0 -1";
        assert_eq!(parse_stat(stat), Some(("my (odd) name".to_string(), b'S')));
        assert_eq!(parse_stat(b"7 (x) Z 1"), Some(("x".to_string(), b'Z')));
        assert_eq!(parse_stat(b"garbage"), None);
    }

    #[test]
    fn cmdline_words_split_on_nul() {
        assert_eq!(split_cmdline(b"sleep\x001000\x00"), ["sleep", "1000"]);
        assert_eq!(split_cmdline(b"a b\x00"), ["a b"]);
        assert!(split_cmdline(b"").is_empty());
    }

    #[test]
    fn a_started_process_counts_until_it_is_killed() {
        use crate::config::model::vrrp::TrackProcess;
        use crate::config::source::{Location, Spanned};
        use crate::vrrp::process::pattern::{count, ProcessPattern};
        let words = vec!["sleep".to_string(), "4242.25".to_string()];
        let model = TrackProcess {
            process: Some(Spanned::new(words, Location::default())),
            ..TrackProcess::default()
        };
        let pattern = ProcessPattern::from_model(&model).unwrap();
        let counted = || count(&pattern, &scan(Path::new("/proc"), true).unwrap());
        let before = counted();
        let mut child = std::process::Command::new("sleep")
            .arg("4242.25")
            .spawn()
            .unwrap();
        // The child may still be the forked test binary for a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while counted() != before + 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(counted(), before + 1);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(counted(), before);
    }

    #[test]
    fn this_test_finds_itself_in_the_real_process_table() {
        let me = std::process::id();
        let table = scan(Path::new("/proc"), true).unwrap();
        let own_argv: Vec<String> = std::env::args().collect();
        assert!(table.iter().any(|p| p.argv == own_argv), "pid {me}");
    }
}
