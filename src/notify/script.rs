//! Running configured scripts (notify, MISC_CHECK, FIFO readers) the way
//! keepalived does, without a shell.
//!
//! The command line was split into words by the configuration parser
//! (keepalived.conf(5), "Quoted strings": unquoted spaces separate
//! arguments, single quotes keep a space inside one); the caller's
//! arguments are appended as separate words, so nothing a peer or a config
//! value contains is ever interpreted by a shell. A file without a `#!` line
//! (ENOEXEC) is run by `/bin/sh FILE ARGS…`, as `execvp` would.
//!
//! Each run gets its own process group, so a timeout kills the script and
//! everything it started: SIGTERM to the group, then SIGKILL after
//! [`TERM_GRACE`]. The process runs with the resolved uid/gid and, when
//! lvstop is root, no supplementary groups. Everything here is async
//! except [`ScriptPolicy`]'s preparation, which reads the user database
//! and file metadata and belongs to configuration loading.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Gid, Pid, Uid};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::oneshot;

use super::security::{self, InspectError, UnsafeEntry};
use super::user::{self, RunAs, UserError};
use crate::config::model::global::GlobalDefs;
use crate::config::model::{Config, Script};
use crate::health::outcome::Reason;

/// Time between SIGTERM and SIGKILL when a script overruns its timeout.
pub const TERM_GRACE: Duration = Duration::from_secs(2);

/// How long to wait, after the script exited, for its first stderr line
/// (a background child may hold the pipe open forever).
const STDERR_GRACE: Duration = Duration::from_millis(500);

/// The longest stderr line kept for a reason.
const MAX_STDERR_LINE: usize = 512;

/// Why a configured script will not be run.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ScriptError {
    #[error("script has an empty command line")]
    Empty,
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Inspect(#[from] InspectError),
    /// `enable_script_security` is set and a non-root user could change a
    /// script that runs as root.
    #[error("refusing '{program}': {entry}")]
    Insecure { program: String, entry: UnsafeEntry },
}

/// Script settings from `global_defs`: security on or off, and who scripts
/// run as by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptPolicy {
    pub enable_script_security: bool,
    pub default_run_as: RunAs,
}

impl ScriptPolicy {
    /// Resolves `script_user` (or keepalived's default user). Blocking:
    /// call while loading the configuration.
    pub fn from_global(global: &GlobalDefs) -> Result<Self, UserError> {
        let default_run_as = user::default_run_as(
            global.script_user.as_ref().map(|user| user.value.as_str()),
            global.script_group.as_deref(),
        )?;
        Ok(Self {
            enable_script_security: global.enable_script_security,
            default_run_as,
        })
    }

    /// Prepares every script of a configuration (notify, FIFO readers,
    /// tracking and MISC_CHECK scripts), for `lvstop check` and for the
    /// daemon's start-up report. Blocking, like [`Self::prepare`].
    pub fn audit<'c>(
        &self,
        config: &'c Config,
    ) -> Vec<(&'c Script, Result<PreparedScript, ScriptError>)> {
        config
            .scripts()
            .into_iter()
            .map(|script| (script, self.prepare(script)))
            .collect()
    }

    /// Checks one script and makes it ready to run: resolves its user and
    /// its program path, and applies script security. With
    /// `enable_script_security` an unsafe root script is refused; without
    /// it, the script is allowed and a warning is logged and recorded.
    /// Blocking (user database, `stat`): call while loading the
    /// configuration.
    pub fn prepare(&self, script: &Script) -> Result<PreparedScript, ScriptError> {
        let (program, args) = script.argv.split_first().ok_or(ScriptError::Empty)?;
        let run_as = match &script.user {
            Some(name) => user::resolve(name, script.group.as_deref())?,
            None => self.default_run_as.clone(),
        };
        let found = security::inspect(program, &run_as)?;
        let program_path = found.program.display().to_string();
        let mut warnings = Vec::new();
        if found.found_by_path_search {
            warnings.push(format!(
                "script '{program}' resolved by PATH search to '{program_path}': please specify the full path"
            ));
        }
        if !found.executable {
            warnings.push(format!(
                "script '{program_path}' is not executable for uid:gid {}:{}",
                run_as.uid, run_as.gid
            ));
        }
        if let Some(entry) = found.unsafe_entry {
            if self.enable_script_security {
                return Err(ScriptError::Insecure {
                    program: program_path,
                    entry,
                });
            }
            warnings.push(format!(
                "script '{program_path}' runs as root although {entry}; enable_script_security would refuse it"
            ));
        }
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
        Ok(PreparedScript {
            program: found.program,
            args: args.to_vec(),
            run_as,
            warnings,
        })
    }
}

/// A script that passed the checks, ready to run any number of times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedScript {
    /// Absolute path of the program.
    pub program: PathBuf,
    /// The configured arguments (after the program).
    pub args: Vec<String>,
    pub run_as: RunAs,
    /// What the checks found that did not stop the script.
    pub warnings: Vec<String>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptEnd {
    Exited(i32),
    /// Killed by this signal (by lvstop's timeout or by someone else).
    Signalled(i32),
    /// The process could not be started (the OS's reason).
    FailedToStart(String),
}

/// The result of one run, with what an operator needs to know why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOutcome {
    pub end: ScriptEnd,
    /// First line the script wrote to stderr (empty if none).
    pub stderr_first_line: String,
    pub duration: Duration,
    /// lvstop killed it because it overran its timeout.
    pub timed_out: bool,
}

impl ScriptOutcome {
    pub fn success(&self) -> bool {
        self.end == ScriptEnd::Exited(0)
    }

    /// The failure in the health module's words, `None` on success.
    pub fn reason(&self, timeout: Duration) -> Option<Reason> {
        if self.timed_out {
            return Some(Reason::Timeout { after: timeout });
        }
        match &self.end {
            ScriptEnd::Exited(0) => None,
            ScriptEnd::Exited(code) => Some(Reason::Exit {
                code: *code,
                stderr_first_line: self.stderr_first_line.clone(),
            }),
            ScriptEnd::Signalled(signal) => Some(Reason::Signal { signal: *signal }),
            ScriptEnd::FailedToStart(detail) => Some(Reason::Io {
                detail: detail.clone(),
            }),
        }
    }
}

impl PreparedScript {
    /// The command line for logs: program, configured and extra arguments.
    pub fn command_line(&self, extra_args: &[String]) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .chain(extra_args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the script with `extra_args` appended and waits for it, at most
    /// `timeout` (then the whole process group is killed).
    pub async fn run(&self, extra_args: &[String], timeout: Duration) -> ScriptOutcome {
        let started = Instant::now();
        let mut child = match self.spawn(extra_args, true) {
            Ok(child) => child,
            Err(error) => {
                return ScriptOutcome {
                    end: ScriptEnd::FailedToStart(error.to_string()),
                    stderr_first_line: String::new(),
                    duration: started.elapsed(),
                    timed_out: false,
                }
            }
        };
        let group = child.id().map(process_group);
        let first_line = child.stderr.take().map(first_stderr_line);
        let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
            Ok(status) => (status, false),
            Err(_) => (terminate(&mut child, group).await, true),
        };
        if timed_out {
            // Descendants that ignored SIGTERM, or outlived their parent.
            signal_group(group, Signal::SIGKILL);
        }
        let end = match status {
            Ok(status) => end_of(status),
            Err(error) => ScriptEnd::FailedToStart(error.to_string()),
        };
        let stderr_first_line = match first_line {
            Some(line) => tokio::time::timeout(STDERR_GRACE, line)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default(),
            None => String::new(),
        };
        ScriptOutcome {
            end,
            stderr_first_line,
            duration: started.elapsed(),
            timed_out,
        }
    }

    /// Starts a long-running script (a `*_notify_fifo_script`), with stdio
    /// on /dev/null. It is sent SIGTERM, as keepalived does, when the
    /// returned handle is stopped or dropped.
    pub fn start(&self, extra_args: &[String]) -> std::io::Result<RunningScript> {
        let child = self.spawn(extra_args, false)?;
        let group = child.id().map(process_group);
        Ok(RunningScript { child, group })
    }

    fn spawn(&self, extra_args: &[String], capture_stderr: bool) -> std::io::Result<Child> {
        let direct = self.command(None, extra_args, capture_stderr).spawn();
        match direct {
            Err(error) if error.raw_os_error() == Some(libc::ENOEXEC) => {
                // No `#!` line: run it with the shell as its interpreter.
                self.command(Some("/bin/sh"), extra_args, capture_stderr)
                    .spawn()
            }
            other => other,
        }
    }

    fn command(
        &self,
        interpreter: Option<&str>,
        extra_args: &[String],
        capture_stderr: bool,
    ) -> Command {
        let mut command = match interpreter {
            Some(shell) => {
                let mut command = Command::new(shell);
                command.arg(&self.program);
                command
            }
            None => Command::new(&self.program),
        };
        command
            .args(&self.args)
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if capture_stderr {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .process_group(0)
            .kill_on_drop(true);
        // Plain syscalls, no user-database lookup: safe on the runtime.
        let (uid, gid) = (Uid::effective().as_raw(), Gid::effective().as_raw());
        // Setting the uid as root also clears the supplementary groups
        // (std calls setgroups(0) before setuid), as keepalived does.
        if uid == 0 || uid != self.run_as.uid || gid != self.run_as.gid {
            command.uid(self.run_as.uid).gid(self.run_as.gid);
        }
        command
    }
}

/// A long-running script started by [`PreparedScript::start`].
#[derive(Debug)]
pub struct RunningScript {
    child: Child,
    group: Option<Pid>,
}

impl RunningScript {
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends SIGTERM to its process group and waits for it to exit, at most
    /// [`TERM_GRACE`], then kills the group.
    pub async fn stop(mut self) {
        terminate(&mut self.child, self.group).await.ok();
        signal_group(self.group, Signal::SIGKILL);
    }
}

impl Drop for RunningScript {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            signal_group(self.group, Signal::SIGTERM);
        }
    }
}

/// The child leads its own group (`process_group(0)`), so its pid is the
/// group id.
fn process_group(pid: u32) -> Pid {
    Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX))
}

fn signal_group(group: Option<Pid>, signal: Signal) {
    if let Some(group) = group {
        // ESRCH: the whole group is already gone, which is the goal.
        killpg(group, signal).ok();
    }
}

/// SIGTERM to the group, SIGKILL after the grace period; the exit status.
async fn terminate(
    child: &mut Child,
    group: Option<Pid>,
) -> std::io::Result<std::process::ExitStatus> {
    signal_group(group, Signal::SIGTERM);
    match tokio::time::timeout(TERM_GRACE, child.wait()).await {
        Ok(status) => status,
        Err(_) => {
            signal_group(group, Signal::SIGKILL);
            child.kill().await.ok();
            child.wait().await
        }
    }
}

fn end_of(status: std::process::ExitStatus) -> ScriptEnd {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ScriptEnd::Exited(code),
        (None, Some(signal)) => ScriptEnd::Signalled(signal),
        (None, None) => ScriptEnd::Exited(-1),
    }
}

/// Reads the first stderr line (answered as soon as it is complete) and
/// then drains the rest, so the script never blocks on a full pipe.
fn first_stderr_line(stderr: ChildStderr) -> oneshot::Receiver<String> {
    let (sender, receiver) = oneshot::channel();
    tokio::spawn(async move {
        let mut line = Vec::new();
        let mut limited = BufReader::new(stderr).take(MAX_STDERR_LINE as u64 * 4);
        limited.read_until(b'\n', &mut line).await.ok();
        let text = String::from_utf8_lossy(&line);
        let mut text: String = text.trim_end_matches(['\n', '\r']).to_string();
        if text.len() > MAX_STDERR_LINE {
            let mut end = MAX_STDERR_LINE;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        sender.send(text).ok();
        let mut rest = limited.into_inner();
        tokio::io::copy_buf(&mut rest, &mut tokio::io::sink())
            .await
            .ok();
    });
    receiver
}

/// Shared handle to a prepared script.
pub type SharedScript = Arc<PreparedScript>;
