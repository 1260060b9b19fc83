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
//!   group unless given); supplementary groups are dropped. Without it,
//!   as `script_user` or keepalived's default user. The daemon decides
//!   that, and refuses insecure scripts, once per configuration
//!   ([`misc_scripts`], keepalived.conf(5) "enable_script_security").

use std::collections::{HashMap, HashSet};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Group, Pid, User};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{ChildStderr, Command};
use tokio::sync::oneshot;

use super::{down, ProbeSpec};
use crate::config::model::lvs::{CheckerKind, MiscCheck};
use crate::config::model::Config;
use crate::health::outcome::{Reason, Verdict};
use crate::notify::{PreparedScript, ScriptPolicy};

/// How long to wait for the first stderr line once the script has exited
/// (a background grandchild may keep the pipe open forever).
const STDERR_GRACE: Duration = Duration::from_millis(200);
/// Longest stderr line kept for the reason.
const MAX_STDERR_LINE: u64 = 512;

/// What tells two MISC_CHECK scripts apart: the command line and the
/// user and group it runs as (the parser puts the checker's own `user` on
/// `misc_path`).
type ScriptKey = (Vec<String>, Option<String>, Option<String>);

fn key_of(misc: &MiscCheck) -> Option<ScriptKey> {
    misc.path
        .as_ref()
        .map(|s| (s.argv.clone(), s.user.clone(), s.group.clone()))
}

/// The prepared MISC_CHECK scripts of a configuration, by script.
#[derive(Debug, Default)]
pub struct MiscScripts(HashMap<ScriptKey, Arc<PreparedScript>>);

/// The MISC_CHECK scripts of `config` that may run, prepared once each
/// (user lookups and file checks block: call it off the runtime), and
/// `config` without the checkers whose script may not. keepalived
/// disables a MISC_CHECK whose script is insecure under
/// `enable_script_security`, missing or not executable, and judges the
/// real server on its other checkers; so does this, and logs why in
/// keepalived's words.
pub fn misc_scripts(config: &Config, policy: &ScriptPolicy) -> (Option<Config>, MiscScripts) {
    let mut prepared = HashMap::new();
    let mut refused = HashSet::new();
    let scripts = config
        .lvs
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .flat_map(|rs| &rs.checkers)
        .filter_map(|c| match &c.kind.value {
            CheckerKind::Misc(misc) => misc.path.as_ref().zip(key_of(misc)),
            _ => None,
        });
    for (script, key) in scripts {
        if prepared.contains_key(&key) || refused.contains(&key) {
            continue;
        }
        match policy.prepare(script) {
            Ok(ready) => {
                for warning in &ready.warnings {
                    tracing::warn!("MISC_CHECK: {warning}");
                }
                prepared.insert(key, Arc::new(ready));
            }
            Err(e) => {
                tracing::error!(
                    "Disabling misc script {} due to insecure: {e}",
                    script.argv.join(" ")
                );
                refused.insert(key);
            }
        }
    }
    let prepared = MiscScripts(prepared);
    if refused.is_empty() {
        return (None, prepared);
    }
    let mut allowed = config.clone();
    for rs in allowed
        .lvs
        .virtual_servers
        .iter_mut()
        .flat_map(|vs| &mut vs.real_servers)
    {
        rs.checkers.retain(|c| match &c.kind.value {
            CheckerKind::Misc(misc) => key_of(misc).is_none_or(|k| !refused.contains(&k)),
            _ => true,
        });
    }
    (Some(allowed), prepared)
}

/// Gives a MISC_CHECK spec its prepared script, from [`misc_scripts`].
pub fn attach_script(spec: &mut ProbeSpec, prepared: &MiscScripts) {
    if let CheckerKind::Misc(misc) = &spec.checker.kind.value {
        spec.script = key_of(misc).and_then(|key| prepared.0.get(&key).cloned());
    }
}

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
    let (program, args) = match &spec.script {
        Some(prepared) => (
            prepared.program.to_string_lossy().into_owned(),
            &prepared.args[..],
        ),
        None => {
            let (program, args) = script.argv.split_first().ok_or_else(no_path)?;
            (program.clone(), args)
        }
    };
    let program = program.as_str();
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
    match (&spec.script, &misc.user) {
        (Some(prepared), _) => {
            // No NSS lookup here: this runs on the runtime.
            let me = (
                nix::unistd::geteuid().as_raw(),
                nix::unistd::getegid().as_raw(),
            );
            if (prepared.run_as.uid, prepared.run_as.gid) != me {
                command.uid(prepared.run_as.uid).gid(prepared.run_as.gid);
            }
        }
        (None, Some(user)) => {
            let (uid, gid) =
                identity(&user.value, misc.group.as_ref().map(|g| g.value.as_str())).await?;
            command.uid(uid).gid(gid);
        }
        (None, None) => {}
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
