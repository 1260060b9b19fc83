//! MISC_CHECK: run `misc_path` and judge its exit status
//! (keepalived.conf(5), "MISC healthchecker").
//!
//! - The command line is the argv the config parser split (keepalived's
//!   quoting rules); it is executed directly, never through a shell.
//! - It runs in its own process group with stdin and stdout on /dev/null;
//!   the first line of stderr is kept for the reason.
//! - After `misc_timeout` seconds (default: the delay loop) the whole
//!   process group gets SIGKILL and the check fails "timeout after N s".
//!   The group is killed too when the probe itself is dropped.
//! - Exit 0 passes. Without `misc_dynamic` any other status fails. With it,
//!   1 fails and 2-255 pass with weight status - 2.
//! - `user USER [GROUP]` runs it as that user (group: the user's primary
//!   group unless given); supplementary groups are dropped.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Group, Pid, User};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{ChildStderr, Command};
use tokio::sync::oneshot;

use super::{down, ProbeSpec};
use crate::config::model::lvs::MiscCheck;
use crate::health::outcome::{Reason, Verdict};

/// How long to wait for the first stderr line once the script has exited
/// (a background grandchild may keep the pipe open forever).
const STDERR_GRACE: Duration = Duration::from_millis(200);
/// Longest stderr line kept for the reason.
const MAX_STDERR_LINE: u64 = 512;

pub(super) async fn probe(spec: &ProbeSpec, misc: &MiscCheck) -> Verdict {
    match run_script(spec, misc).await {
        Ok(verdict) => verdict,
        Err(reason) => down(reason),
    }
}

/// The uid and gid to run as, looked up off the runtime (NSS can block).
async fn identity(user: &str, group: Option<&str>) -> Result<(u32, u32), Reason> {
    let (user, group) = (user.to_owned(), group.map(str::to_owned));
    tokio::task::spawn_blocking(move || {
        let found = User::from_name(&user)
            .ok()
            .flatten()
            .ok_or_else(|| Reason::Io {
                detail: format!("MISC_CHECK user '{user}' does not exist"),
            })?;
        let gid = match &group {
            None => found.gid,
            Some(name) => {
                Group::from_name(name)
                    .ok()
                    .flatten()
                    .ok_or_else(|| Reason::Io {
                        detail: format!("MISC_CHECK group '{name}' does not exist"),
                    })?
                    .gid
            }
        };
        Ok((found.uid.as_raw(), gid.as_raw()))
    })
    .await
    .map_err(|e| Reason::Io {
        detail: format!("user lookup failed: {e}"),
    })?
}

/// Kills the script's process group unless disarmed: covers the timeout and
/// a probe that is dropped mid-run.
struct GroupKiller(Option<Pid>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(group) = self.0.take() {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

async fn run_script(spec: &ProbeSpec, misc: &MiscCheck) -> Result<Verdict, Reason> {
    let no_path = || Reason::Protocol {
        detail: "MISC_CHECK has no misc_path".into(),
    };
    let script = misc.path.as_ref().ok_or_else(no_path)?;
    let (program, args) = script.argv.split_first().ok_or_else(no_path)?;
    let timeout = misc
        .timeout
        .filter(|t| t.value > 0)
        .map_or(spec.delay_loop, |t| Duration::from_secs(u64::from(t.value)));
    let dynamic = misc.dynamic.is_some_and(|d| d.value);

    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(user) = &misc.user {
        let (uid, gid) =
            identity(&user.value, misc.group.as_ref().map(|g| g.value.as_str())).await?;
        command.uid(uid).gid(gid);
    }
    let mut child = command.spawn().map_err(|e| Reason::Io {
        detail: format!("cannot run '{program}': {}", super::connect::os_words(&e)),
    })?;
    let mut killer = GroupKiller(
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    );
    let (line_tx, line_rx) = oneshot::channel();
    let reader = child
        .stderr
        .take()
        .map(|stderr| tokio::spawn(first_line(stderr, line_tx)));

    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Err(_) => {
            drop(killer);
            let _ = child.wait().await;
            if let Some(reader) = reader {
                reader.abort();
            }
            return Ok(down(Reason::Timeout { after: timeout }));
        }
        Ok(status) => status.map_err(|e| Reason::Io {
            detail: format!("waiting for '{program}': {e}"),
        })?,
    };
    // It exited by itself: whatever it left running in the background is
    // the operator's business, as with keepalived.
    killer.0 = None;
    let line = tokio::time::timeout(STDERR_GRACE, line_rx)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    if let Some(reader) = reader {
        reader.abort();
    }
    Ok(judge(status, dynamic, line))
}

/// Sends the first stderr line, then keeps draining so the script never
/// dies of SIGPIPE for writing more.
async fn first_line(stderr: ChildStderr, line_tx: oneshot::Sender<String>) {
    let mut stderr = BufReader::new(stderr);
    let mut raw = Vec::new();
    let _ = (&mut stderr)
        .take(MAX_STDERR_LINE)
        .read_until(b'\n', &mut raw)
        .await;
    let line = String::from_utf8_lossy(&raw).trim().to_owned();
    let _ = line_tx.send(line);
    let _ = tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await;
}

fn judge(status: ExitStatus, dynamic: bool, stderr_first_line: String) -> Verdict {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => Verdict::Up,
        (Some(code @ 2..=255), _) if dynamic => Verdict::UpWithWeight {
            weight: (code - 2) as u32,
        },
        (Some(code), _) => down(Reason::Exit {
            code,
            stderr_first_line,
        }),
        (None, Some(signal)) => down(Reason::Signal { signal }),
        (None, None) => down(Reason::Io {
            detail: "script ended without a status".into(),
        }),
    }
}
