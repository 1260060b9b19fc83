//! Finding a live keepalived on this host: its pid files first, validated
//! against `/proc`, else a scan of the process table for the parent
//! keepalived process.
//!
//! Owns only reads of `/run` and `/proc`; it never signals, never writes
//! and never starts anything. It is cheap enough (a few small reads, or
//! one pass over `/proc` when no pid file names a live keepalived) to
//! serve as the "is another VRRP speaker running?" guard.
//!
//! keepalived 2.2.7 (Debian's build, `--runstatedir=/run`) writes
//! `/run/keepalived.pid` (parent), `/run/vrrp.pid` (VRRP child) and
//! `/run/checkers.pid` (checker child, only when the configuration has
//! virtual servers); `-p`, `-r` and `-c` on its command line move them.
//! A keepalived run under a network namespace or instance name keeps them
//! under `/run/keepalived/`, which the process-table scan still finds.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::request::{handles_signal, SIGNAL_JSON};

/// The program name in `/proc/PID/comm` and the executable's file name.
const PROGRAM: &str = "keepalived";

/// Where Debian's keepalived 2.2.7 writes its pid files by default, as
/// (parent, VRRP child, checker child).
const DEFAULT_PID_FILES: [(&str, &str, &str); 2] = [
    ("/run/keepalived.pid", "/run/vrrp.pid", "/run/checkers.pid"),
    (
        "/run/keepalived/keepalived.pid",
        "/run/keepalived/vrrp.pid",
        "/run/keepalived/checkers.pid",
    ),
];

/// A running keepalived: its parent process and, where known, its
/// children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepalivedProcess {
    /// The parent ("main") process: the one lvstop signals, which
    /// forwards the dump signals to its children.
    pub pid: u32,
    /// The VRRP child: the one its pid file names, else (found in the
    /// process table) the only child that blocks the JSON signal, which
    /// keepalived 2.2.7's checker and BFD children do not.
    pub vrrp_pid: Option<u32>,
    /// The checker (IPVS health check) child, when its pid file names a
    /// live child of `pid` (its BFD child looks the same from outside).
    pub checker_pid: Option<u32>,
    /// Every live keepalived child of `pid`; `None` when the kernel does
    /// not list children (`/proc/PID/task/PID/children`).
    pub children: Option<Vec<u32>>,
    /// The configuration named by `-f`/`--use-file`; `None` when the
    /// command line names none (keepalived then reads its built-in
    /// default, `/etc/keepalived/keepalived.conf`).
    pub config_file: Option<PathBuf>,
    /// The process's root as seen from here (`/proc/PID/root`): its files
    /// (the dumps in its `/tmp`, private under systemd's `PrivateTmp`)
    /// are read through it so its mount namespace is respected.
    pub root: PathBuf,
    /// Whether it shares lvstop's network namespace; `None` when
    /// `/proc/PID/ns/net` is unreadable. A keepalived in another network
    /// namespace speaks VRRP on other interfaces.
    pub same_net_namespace: Option<bool>,
    /// How it was found.
    pub found_by: FoundBy,
}

/// How a keepalived process was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FoundBy {
    /// A pid file naming a live keepalived parent.
    PidFile(PathBuf),
    /// A scan of `/proc` (no pid file named a live keepalived).
    ProcessTable,
}

impl std::fmt::Display for FoundBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FoundBy::PidFile(path) => write!(f, "pid file {}", path.display()),
            FoundBy::ProcessTable => f.write_str("process table"),
        }
    }
}

impl KeepalivedProcess {
    /// Whether it may run a VRRP process (so a JSON dump can come).
    pub fn may_run_vrrp(&self) -> bool {
        self.vrrp_pid.is_some() || self.children_unknown()
    }

    /// Whether it may run a checker process (so a checker dump can come):
    /// a known checker, or a child that is not the VRRP one.
    pub fn may_run_checker(&self) -> bool {
        if self.checker_pid.is_some() {
            return true;
        }
        if matches!(self.found_by, FoundBy::PidFile(_)) {
            // keepalived writes the checker's pid file whenever it runs.
            return false;
        }
        match &self.children {
            Some(children) => children.iter().any(|&c| Some(c) != self.vrrp_pid),
            None => true,
        }
    }

    /// Found in the process table without a children list, nothing is
    /// known of its children; with a pid file, their pid files tell.
    fn children_unknown(&self) -> bool {
        matches!(self.found_by, FoundBy::ProcessTable) && self.children.is_none()
    }

    /// A file of keepalived's own `/tmp` (e.g. `keepalived.json`), read
    /// through its root.
    pub fn tmp_file(&self, name: &str) -> PathBuf {
        self.root.join("tmp").join(name)
    }
}

/// Finds a live keepalived: the default pid files first, then the process
/// table. `None` when none runs.
pub fn find() -> Option<KeepalivedProcess> {
    find_in(Path::new("/proc"))
}

/// Every keepalived parent process on this host, lowest pid first
/// (several run when each has its own network namespace or instance).
pub fn find_all() -> Vec<KeepalivedProcess> {
    find_all_in(Path::new("/proc"))
}

/// The keepalived whose parent pid file is `path` (as its `-p` names it),
/// if that file names a live keepalived parent.
pub fn from_pid_file(path: &Path) -> Option<KeepalivedProcess> {
    from_pid_file_in(Path::new("/proc"), path)
}

fn find_in(proc_root: &Path) -> Option<KeepalivedProcess> {
    DEFAULT_PID_FILES
        .iter()
        .find_map(|(main, _, _)| from_pid_file_in(proc_root, Path::new(main)))
        .or_else(|| find_all_in(proc_root).into_iter().next())
}

fn from_pid_file_in(proc_root: &Path, path: &Path) -> Option<KeepalivedProcess> {
    let pid = read_pid(path)?;
    if !is_keepalived(proc_root, pid) || is_keepalived(proc_root, parent_of(proc_root, pid)?) {
        return None;
    }
    Some(describe(
        proc_root,
        pid,
        FoundBy::PidFile(path.to_path_buf()),
    ))
}

fn find_all_in(proc_root: &Path) -> Vec<KeepalivedProcess> {
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&pid| is_keepalived(proc_root, pid))
        .filter(|&pid| !parent_of(proc_root, pid).is_some_and(|p| is_keepalived(proc_root, p)))
        .collect();
    pids.sort_unstable();
    pids.into_iter()
        .map(|pid| describe(proc_root, pid, FoundBy::ProcessTable))
        .collect()
}

/// Fills in the children, the configuration and the root of parent `pid`.
fn describe(proc_root: &Path, pid: u32, found_by: FoundBy) -> KeepalivedProcess {
    let args = command_line(proc_root, pid);
    let named = |short: &str, long: &str| option_value(&args, short, long).map(PathBuf::from);
    // Child pid files: the ones its command line names, else the default
    // set that sits beside the parent's pid file.
    let defaults = DEFAULT_PID_FILES
        .iter()
        .find(|(main, _, _)| read_pid(Path::new(main)) == Some(pid))
        .unwrap_or(&DEFAULT_PID_FILES[0]);
    let child = |short: &str, long: &str, default: &str| {
        let path = named(short, long).unwrap_or_else(|| PathBuf::from(default));
        read_pid(&path).filter(|&child| {
            is_keepalived(proc_root, child) && parent_of(proc_root, child) == Some(pid)
        })
    };
    let children = children_of(proc_root, pid);
    let vrrp_pid = child("-r", "--vrrp_pid", defaults.1).or_else(|| {
        // Without a pid file: the one child that blocks the JSON signal.
        let blocking: Vec<u32> = children
            .iter()
            .flatten()
            .copied()
            .filter(|&c| handles_signal(proc_root, c, SIGNAL_JSON) == Some(true))
            .collect();
        match blocking.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    });
    KeepalivedProcess {
        pid,
        vrrp_pid,
        checker_pid: child("-c", "--checkers_pid", defaults.2),
        children,
        config_file: named("-f", "--use-file"),
        root: proc_root.join(pid.to_string()).join("root"),
        same_net_namespace: same_net_namespace(proc_root, pid),
        found_by,
    }
}

/// The live keepalived children of `pid`, from the kernel's list of the
/// main thread's children.
fn children_of(proc_root: &Path, pid: u32) -> Option<Vec<u32>> {
    let dir = proc_root.join(pid.to_string());
    let list =
        std::fs::read_to_string(dir.join("task").join(pid.to_string()).join("children")).ok()?;
    Some(
        list.split_whitespace()
            .filter_map(|c| c.parse().ok())
            .filter(|&c| is_keepalived(proc_root, c))
            .collect(),
    )
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` is alive and is keepalived (by `comm`, else by the
/// executable's file name, which survives a renamed `comm`).
fn is_keepalived(proc_root: &Path, pid: u32) -> bool {
    let dir = proc_root.join(pid.to_string());
    if std::fs::read_to_string(dir.join("comm")).is_ok_and(|comm| comm.trim_end() == PROGRAM) {
        return true;
    }
    std::fs::read_link(dir.join("exe"))
        .is_ok_and(|exe| exe.file_name().is_some_and(|name| name == PROGRAM))
}

/// The parent pid from `/proc/PID/stat` (the field after the
/// parenthesised command, which may itself hold spaces or parentheses).
fn parent_of(proc_root: &Path, pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")).ok()?;
    let (_, after_comm) = stat.rsplit_once(')')?;
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

fn command_line(proc_root: &Path, pid: u32) -> Vec<String> {
    std::fs::read(proc_root.join(pid.to_string()).join("cmdline"))
        .map(|raw| {
            raw.split(|&b| b == 0)
                .filter(|arg| !arg.is_empty())
                .map(|arg| String::from_utf8_lossy(arg).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The value of an option given as `-f PATH`, `-fPATH`, `--use-file PATH`
/// or `--use-file=PATH` (getopt's spellings); the last one wins, as with
/// getopt.
fn option_value(args: &[String], short: &str, long: &str) -> Option<String> {
    let mut found = None;
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        if arg == short || arg == long {
            found = iter.next().cloned();
        } else if let Some(value) = arg
            .strip_prefix(long)
            .and_then(|rest| rest.strip_prefix('='))
        {
            found = Some(value.to_string());
        } else if let Some(value) = arg.strip_prefix(short).filter(|_| !arg.starts_with("--")) {
            found = Some(value.to_string());
        }
    }
    found
}

fn same_net_namespace(proc_root: &Path, pid: u32) -> Option<bool> {
    let theirs = std::fs::read_link(proc_root.join(pid.to_string()).join("ns/net")).ok()?;
    let ours = std::fs::read_link(proc_root.join("self/ns/net")).ok()?;
    Some(theirs == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_configuration_comes_from_every_getopt_spelling() {
        let f = |list: &[&str]| option_value(&args(list), "-f", "--use-file");
        assert_eq!(
            f(&["keepalived", "-n", "-f", "/a.conf"]).as_deref(),
            Some("/a.conf")
        );
        assert_eq!(f(&["keepalived", "-f/b.conf"]).as_deref(), Some("/b.conf"));
        assert_eq!(
            f(&["keepalived", "--use-file", "/c.conf"]).as_deref(),
            Some("/c.conf")
        );
        assert_eq!(
            f(&["keepalived", "--use-file=/d.conf"]).as_deref(),
            Some("/d.conf")
        );
        assert_eq!(f(&["keepalived", "--dont-fork", "-D"]), None);
    }

    /// A fake `/proc` with a keepalived parent, its VRRP child and an
    /// unrelated process.
    fn fake_proc(dir: &Path, children: &[(u32, u32, &str)]) {
        for &(pid, ppid, comm) in children {
            let p = dir.join(pid.to_string());
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("comm"), format!("{comm}\n")).unwrap();
            std::fs::write(p.join("stat"), format!("{pid} ({comm}) S {ppid} 1 1 0")).unwrap();
            let blocked = if comm == "keepalived" && ppid != 1 && pid % 2 == 1 {
                "4000000800014a03" // a VRRP child (odd pids in these tests)
            } else {
                "4000000000014203"
            };
            std::fs::write(
                p.join("status"),
                format!("SigBlk:\t{blocked}\nSigCgt:\t0\n"),
            )
            .unwrap();
            let kids: Vec<String> = children
                .iter()
                .filter(|c| c.1 == pid)
                .map(|c| c.0.to_string())
                .collect();
            let task = p.join("task").join(pid.to_string());
            std::fs::create_dir_all(&task).unwrap();
            std::fs::write(task.join("children"), kids.join(" ")).unwrap();
            std::fs::write(
                p.join("cmdline"),
                b"keepalived\0--dont-fork\0-f\0/etc/k.conf\0".as_slice(),
            )
            .unwrap();
        }
    }

    #[test]
    fn the_process_table_yields_the_parent_not_its_children() {
        let dir = tempfile::tempdir().unwrap();
        fake_proc(
            dir.path(),
            &[
                (40, 1, "keepalived"),
                (41, 40, "keepalived"),
                (42, 40, "keepalived"),
                (50, 1, "sshd"),
            ],
        );
        let found = find_all_in(dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pid, 40);
        assert_eq!(found[0].found_by, FoundBy::ProcessTable);
        assert_eq!(found[0].children, Some(vec![41, 42]));
        assert_eq!(
            found[0].vrrp_pid,
            Some(41),
            "the child that blocks the JSON signal"
        );
        assert_eq!(
            found[0].checker_pid, None,
            "a checker and a BFD child look alike"
        );
        assert!(found[0].may_run_vrrp());
        assert!(found[0].may_run_checker());
        assert_eq!(
            found[0].config_file.as_deref(),
            Some(Path::new("/etc/k.conf"))
        );
        assert_eq!(found[0].root, dir.path().join("40/root"));
        assert_eq!(
            found[0].tmp_file("keepalived.json"),
            dir.path().join("40/root/tmp/keepalived.json")
        );
    }

    #[test]
    fn a_vrrp_only_keepalived_in_the_process_table_runs_no_checker() {
        let dir = tempfile::tempdir().unwrap();
        fake_proc(dir.path(), &[(40, 1, "keepalived"), (41, 40, "keepalived")]);
        let found = find_all_in(dir.path());
        assert_eq!(found[0].vrrp_pid, Some(41));
        assert!(found[0].may_run_vrrp());
        assert!(!found[0].may_run_checker());
    }

    #[test]
    fn a_pid_file_naming_a_child_or_another_program_is_not_a_keepalived() {
        let dir = tempfile::tempdir().unwrap();
        fake_proc(
            dir.path(),
            &[
                (40, 1, "keepalived"),
                (41, 40, "keepalived"),
                (50, 1, "sshd"),
            ],
        );
        let pid_file = |pid: u32| {
            let path = dir.path().join(format!("{pid}.pid"));
            std::fs::write(&path, format!("{pid}\n")).unwrap();
            path
        };
        let main = pid_file(40);
        let found = from_pid_file_in(dir.path(), &main).unwrap();
        assert_eq!(found.found_by, FoundBy::PidFile(main));
        // No vrrp.pid/checkers.pid beside it: VRRP known by its mask, and
        // no checker (keepalived would have written its pid file).
        assert_eq!(found.vrrp_pid, Some(41));
        assert!(!found.may_run_checker());
        assert!(from_pid_file_in(dir.path(), &pid_file(41)).is_none());
        assert!(from_pid_file_in(dir.path(), &pid_file(50)).is_none());
        assert!(
            from_pid_file_in(dir.path(), &pid_file(60)).is_none(),
            "a dead pid"
        );
    }
}
