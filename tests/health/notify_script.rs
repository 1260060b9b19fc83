//! Notify scripts run for real: shell scripts in a temporary directory
//! record their argv, stderr and identity; a hanging script and its child
//! are killed at the timeout; keepalived's script security refuses unsafe
//! scripts with a message naming the path and the permission.
//!
//! Tests that change file ownership or run scripts as another user need
//! root and `LVSTOP_TEST_PRIVILEGED=1`; tests that rely on root-owned
//! temporary directories skip (with a message) when not run as root.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lvstop::config::load::{load_str, Options};
use lvstop::config::model::Script;
use lvstop::notify::script::ScriptEnd;
use lvstop::notify::user::RunAs;
use lvstop::notify::{
    vrrp_notify_args, NotifyQueue, ScriptError, ScriptPolicy, VrrpStateWord, VrrpSubject,
};

const TIMEOUT: Duration = Duration::from_secs(30);

fn write_script(path: &Path, body: &str, mode: u32) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn script(argv: &[&str]) -> Script {
    Script {
        argv: argv.iter().map(|word| word.to_string()).collect(),
        ..Script::default()
    }
}

fn policy(security: bool) -> ScriptPolicy {
    ScriptPolicy {
        enable_script_security: security,
        default_run_as: RunAs::current(),
    }
}

fn root_policy(security: bool) -> ScriptPolicy {
    ScriptPolicy {
        enable_script_security: security,
        default_run_as: RunAs {
            uid: 0,
            gid: 0,
            user: "root".into(),
        },
    }
}

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    eprintln!("skipped {test}: needs root (root-owned temporary directories)");
    true
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Whether a process is gone (or a zombie nobody reaped).
fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

const ARGV_RECORDER: &str = "#!/bin/sh\nout=\"$1\"\nshift\nfor word in \"$@\"; do printf '%s\\n' \"$word\" >> \"$out\"; done\n";

#[tokio::test]
async fn a_generic_notify_script_gets_its_words_and_keepalived_arguments_without_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = dir.path().join("notify.sh");
    write_script(&recorder, ARGV_RECORDER, 0o755);
    let out = dir.path().join("argv");
    let config = format!(
        "vrrp_instance VI_1 {{\n  interface lo\n  virtual_router_id 51\n  priority 100\n  \
         virtual_ipaddress {{\n    198.51.100.10\n  }}\n  \
         notify \"{} {} 'two words' $HOME;x\"\n}}\n",
        recorder.display(),
        out.display()
    );
    let outcome = load_str(Path::new("notify.conf"), &config, &Options::default());
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    let notify = outcome.config.vrrp.instances[0].notify.any.clone().unwrap();
    let prepared = policy(true).prepare(&notify).unwrap();

    let mut args = vrrp_notify_args(VrrpSubject::Instance, "VI_1", VrrpStateWord::Master, 100);
    let pwned = dir.path().join("pwned");
    args.push(format!("$(touch {})", pwned.display()));
    let result = prepared.run(&args, TIMEOUT).await;
    assert!(result.success(), "{result:?}");
    assert_eq!(
        lines(&out),
        [
            "two words",
            "$HOME;x",
            "INSTANCE",
            "VI_1",
            "MASTER",
            "100",
            &format!("$(touch {})", pwned.display()),
        ]
    );
    assert!(!pwned.exists(), "no shell ever interpreted an argument");
}

#[tokio::test]
async fn exit_status_and_first_stderr_line_explain_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fail.sh");
    write_script(
        &path,
        "#!/bin/sh\necho 'backend is gone' >&2\necho 'second line' >&2\nexit 3\n",
        0o755,
    );
    let prepared = policy(true)
        .prepare(&script(&[path.to_str().unwrap()]))
        .unwrap();
    let result = prepared.run(&[], TIMEOUT).await;
    assert_eq!(result.end, ScriptEnd::Exited(3));
    assert_eq!(result.stderr_first_line, "backend is gone");
    assert!(!result.timed_out);
    assert_eq!(
        result.reason(TIMEOUT).unwrap().to_string(),
        "exit 3: backend is gone"
    );
}

#[tokio::test]
async fn a_file_without_an_interpreter_line_runs_under_sh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain");
    let out = dir.path().join("out");
    write_script(&path, "echo \"ran with $#\" > \"$1\"\n", 0o755);
    let prepared = policy(true)
        .prepare(&script(&[path.to_str().unwrap(), out.to_str().unwrap()]))
        .unwrap();
    let result = prepared.run(&["extra".into()], TIMEOUT).await;
    assert!(result.success(), "{result:?}");
    assert_eq!(lines(&out), ["ran with 2"]);
}

#[tokio::test]
async fn a_hanging_script_and_its_child_are_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hang.sh");
    let pid_file = dir.path().join("child.pid");
    write_script(
        &path,
        &format!(
            "#!/bin/sh\nsleep 1000 &\necho $! > {}\nwait\n",
            pid_file.display()
        ),
        0o755,
    );
    let prepared = policy(true)
        .prepare(&script(&[path.to_str().unwrap()]))
        .unwrap();
    let result = prepared.run(&[], Duration::from_secs(1)).await;
    assert!(result.timed_out, "{result:?}");
    assert_eq!(result.end, ScriptEnd::Signalled(libc::SIGTERM));
    assert_eq!(
        result.reason(Duration::from_secs(1)).unwrap().to_string(),
        "timeout after 1 s"
    );
    let child = std::fs::read_to_string(&pid_file).unwrap();
    let child = child.trim();
    for _ in 0..100 {
        if process_gone(child) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the script's child {child} survived the timeout");
}

#[tokio::test]
async fn a_script_that_ignores_sigterm_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stubborn.sh");
    let pid_file = dir.path().join("child.pid");
    write_script(
        &path,
        &format!(
            "#!/bin/sh\ntrap '' TERM\nsleep 1000 &\necho $! > {}\nwait\n",
            pid_file.display()
        ),
        0o755,
    );
    let prepared = policy(true)
        .prepare(&script(&[path.to_str().unwrap()]))
        .unwrap();
    let result = prepared.run(&[], Duration::from_secs(1)).await;
    assert!(result.timed_out);
    assert_eq!(result.end, ScriptEnd::Signalled(libc::SIGKILL));
    let child = std::fs::read_to_string(&pid_file).unwrap();
    let child = child.trim();
    for _ in 0..100 {
        if process_gone(child) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the script's child {child} survived SIGKILL of its group");
}

#[tokio::test]
async fn one_channel_runs_its_scripts_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slow.sh");
    let out = dir.path().join("log");
    write_script(
        &path,
        "#!/bin/sh\necho \"start $2\" >> \"$1\"\nsleep 0.1\necho \"end $2\" >> \"$1\"\n",
        0o755,
    );
    let prepared = Arc::new(
        policy(true)
            .prepare(&script(&[path.to_str().unwrap(), out.to_str().unwrap()]))
            .unwrap(),
    );
    let queue = NotifyQueue::spawn("VI_1", TIMEOUT, 16);
    for n in 1..=4 {
        queue.push(Arc::clone(&prepared), vec![n.to_string()]);
    }
    for _ in 0..300 {
        if queue.stats().succeeded == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(queue.stats().succeeded, 4, "{:?}", queue.stats());
    assert_eq!(
        lines(&out),
        ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3", "start 4", "end 4"]
    );
}

#[test]
fn a_world_writable_root_script_is_refused_with_security_and_allowed_with_a_warning_without() {
    if skip_unless_root("a_world_writable_root_script_is_refused") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("open.sh");
    write_script(&path, "#!/bin/sh\n", 0o777);
    let shown = path.display().to_string();
    let error = root_policy(true).prepare(&script(&[&shown])).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("refusing '{shown}': file '{shown}' is writable by everyone (mode 0777)")
    );
    let allowed = root_policy(false).prepare(&script(&[&shown])).unwrap();
    assert_eq!(
        allowed.warnings,
        [format!(
            "script '{shown}' runs as root although file '{shown}' is writable by everyone (mode 0777); enable_script_security would refuse it"
        )]
    );
}

#[test]
fn a_script_in_a_world_writable_directory_is_refused_but_a_sticky_one_is_fine() {
    if skip_unless_root("a_script_in_a_world_writable_directory_is_refused") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = open.join("x.sh");
    write_script(&path, "#!/bin/sh\n", 0o755);
    let error = root_policy(true)
        .prepare(&script(&[path.to_str().unwrap()]))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "refusing '{}': directory '{}' is writable by everyone (mode 0777)",
            path.display(),
            open.display()
        )
    );
    // Like /tmp: root-owned, world-writable, sticky.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
    root_policy(true)
        .prepare(&script(&[path.to_str().unwrap()]))
        .unwrap();
}

fn nobody() -> (u32, u32) {
    let user = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    (user.uid.as_raw(), user.gid.as_raw())
}

#[test]
fn a_directory_owned_by_another_user_makes_a_root_script_unsafe() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "a_directory_owned_by_another_user_makes_a_root_script_unsafe",
    ) else {
        return;
    };
    let (uid, gid) = nobody();
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(uid), Some(gid)).unwrap();
    let path = theirs.join("y.sh");
    write_script(&path, "#!/bin/sh\n", 0o755);
    let shown = path.display().to_string();
    let error = root_policy(true).prepare(&script(&[&shown])).unwrap_err();
    assert!(matches!(error, ScriptError::Insecure { .. }));
    assert_eq!(
        error.to_string(),
        format!(
            "refusing '{shown}': directory '{}' is writable by uid {uid} (its owner)",
            theirs.display()
        )
    );
    // The same script run as that user gains nothing: keepalived checks
    // only scripts that run as root.
    let as_them = Script {
        user: Some("nobody".into()),
        ..script(&[&shown])
    };
    root_policy(true).prepare(&as_them).unwrap();
}

#[test]
fn a_group_writable_file_of_a_non_root_group_is_unsafe() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "a_group_writable_file_of_a_non_root_group_is_unsafe",
    ) else {
        return;
    };
    let (_, gid) = nobody();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.sh");
    write_script(&path, "#!/bin/sh\n", 0o775);
    std::os::unix::fs::chown(&path, Some(0), Some(gid)).unwrap();
    let shown = path.display().to_string();
    let error = root_policy(true).prepare(&script(&[&shown])).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("refusing '{shown}': file '{shown}' is writable by group gid {gid} (mode 0775)")
    );
}

#[tokio::test]
async fn a_script_runs_as_its_user_without_supplementary_groups() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "a_script_runs_as_its_user_without_supplementary_groups",
    ) else {
        return;
    };
    let (uid, gid) = nobody();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::os::unix::fs::chown(&out_dir, Some(uid), Some(gid)).unwrap();
    let path = dir.path().join("whoami.sh");
    write_script(
        &path,
        "#!/bin/sh\nid -u > \"$1\"\nid -g >> \"$1\"\nid -G >> \"$1\"\n",
        0o755,
    );
    let out: PathBuf = out_dir.join("id");
    let configured = Script {
        user: Some("nobody".into()),
        ..script(&[path.to_str().unwrap(), out.to_str().unwrap()])
    };
    let prepared = root_policy(true).prepare(&configured).unwrap();
    assert_eq!((prepared.run_as.uid, prepared.run_as.gid), (uid, gid));
    let result = prepared.run(&[], TIMEOUT).await;
    assert!(result.success(), "{result:?}");
    assert_eq!(
        lines(&out),
        [uid.to_string(), gid.to_string(), gid.to_string()]
    );
}

#[test]
fn auditing_a_configuration_refuses_its_unsafe_root_scripts() {
    if skip_unless_root("auditing_a_configuration_refuses_its_unsafe_root_scripts") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let safe = dir.path().join("safe.sh");
    write_script(&safe, "#!/bin/sh\n", 0o755);
    let open = dir.path().join("open.sh");
    write_script(&open, "#!/bin/sh\n", 0o666 | 0o111);
    let config = format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
         vrrp_instance VI_1 {{\n  interface lo\n  virtual_router_id 51\n  priority 100\n  \
         virtual_ipaddress {{\n    198.51.100.10\n  }}\n  \
         notify_master {}\n  notify_backup {}\n}}\n",
        safe.display(),
        open.display()
    );
    let outcome = load_str(Path::new("audit.conf"), &config, &Options::default());
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    let policy = ScriptPolicy::from_global(&outcome.config.global).unwrap();
    let audit = policy.audit(&outcome.config);
    let verdicts: Vec<(String, Result<(), String>)> = audit
        .into_iter()
        .map(|(script, result)| {
            (
                script.argv[0].clone(),
                result.map(|_| ()).map_err(|error| error.to_string()),
            )
        })
        .collect();
    let shown = open.display().to_string();
    assert_eq!(
        verdicts,
        [
            (safe.display().to_string(), Ok(())),
            (
                shown.clone(),
                Err(format!(
                    "refusing '{shown}': file '{shown}' is writable by everyone (mode 0777)"
                ))
            ),
        ]
    );
}

/// A MISC_CHECK runs as its own `user`: the audit judges that user, so the
/// same world-writable script is refused as root and allowed as nobody
/// (a non-root user cannot gain anything from it).
#[test]
fn a_misc_check_script_is_audited_as_the_user_it_runs_as() {
    if skip_unless_root("a_misc_check_script_is_audited_as_the_user_it_runs_as") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let open = dir.path().join("open.sh");
    write_script(&open, "#!/bin/sh\n", 0o777);
    let misc = |user: &str| {
        format!(
            "    real_server 198.51.100.{} 80 {{\n      MISC_CHECK {{\n        user {user}\n        misc_path {}\n      }}\n    }}\n",
            if user == "root" { 1 } else { 2 },
            open.display()
        )
    };
    let config = format!(
        "global_defs {{\n  enable_script_security\n}}\n\
         virtual_server 198.51.100.10 80 {{\n    protocol TCP\n{}{}}}\n",
        misc("root"),
        misc("nobody")
    );
    let outcome = load_str(Path::new("misc.conf"), &config, &Options::default());
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    let policy = ScriptPolicy::from_global(&outcome.config.global).unwrap();
    let verdicts: Vec<(Option<String>, bool)> = policy
        .audit(&outcome.config)
        .into_iter()
        .map(|(script, result)| (script.user.clone(), result.is_ok()))
        .collect();
    assert_eq!(
        verdicts,
        [(Some("root".into()), false), (Some("nobody".into()), true)]
    );
}
