//! MISC_CHECK with real scripts (passing, failing, dynamic weight, hanging,
//! killed, run as another user), FILE_CHECK with real files, PING_CHECK to
//! loopback and, in the privileged tier, PING_CHECK and TCP_CHECK inside
//! network namespaces to an address that exists, one that does not answer
//! and one without a route.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::health_probe_common;
use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use health_probe_common::{conf, reason, verdict};
use lvstop::health::outcome::Verdict;
use support::netns::{link, Netns};

/// Writes an executable shell script into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn misc(path_line: &str, extra: &str) -> String {
    conf(
        "127.0.0.1 80",
        &format!("  MISC_CHECK {{\n   misc_path {path_line}\n{extra}\n  }}"),
    )
}

// ---- MISC_CHECK ----

#[tokio::test]
async fn misc_check_passes_on_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let ok = script(dir.path(), "ok.sh", "exit 0");
    assert_eq!(
        verdict(&misc(&ok.display().to_string(), "")).await,
        Verdict::Up
    );
}

#[tokio::test]
async fn misc_check_failure_shows_exit_status_and_first_stderr_line() {
    let dir = tempfile::tempdir().unwrap();
    let failing = script(
        dir.path(),
        "fail.sh",
        "echo 'backend pool empty' >&2\necho 'second line' >&2\nexit 1",
    );
    assert_eq!(
        reason(&verdict(&misc(&failing.display().to_string(), "")).await),
        "exit 1: backend pool empty"
    );
}

#[tokio::test]
async fn misc_check_passes_arguments_without_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let echo = script(dir.path(), "args.sh", "echo \"$# $1 $2\" >&2\nexit 1");
    // keepalived splits the quoted string into words; `$HOME` must reach
    // the script unexpanded.
    let line = format!("\"{} --mode $HOME\"", echo.display());
    assert_eq!(
        reason(&verdict(&misc(&line, "")).await),
        "exit 1: 2 --mode $HOME"
    );
}

#[tokio::test]
async fn misc_dynamic_exit_status_sets_the_weight() {
    let dir = tempfile::tempdir().unwrap();
    let five = script(dir.path(), "five.sh", "exit 5");
    let path = five.display().to_string();
    assert_eq!(
        verdict(&misc(&path, "   misc_dynamic")).await,
        Verdict::UpWithWeight { weight: 3 }
    );
    // Without misc_dynamic any non-zero status is a failure.
    assert_eq!(reason(&verdict(&misc(&path, "")).await), "exit 5");
    let one = script(dir.path(), "one.sh", "exit 1");
    assert_eq!(
        reason(&verdict(&misc(&one.display().to_string(), "   misc_dynamic")).await),
        "exit 1"
    );
}

/// Whether process `pid` is gone (or only a zombie waiting for its reaper).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[tokio::test]
async fn misc_check_kills_a_hanging_script_and_its_children_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("child.pid");
    let hang = script(
        dir.path(),
        "hang.sh",
        &format!("sleep 300 &\necho $! > {}\nsleep 300", pid_file.display()),
    );
    assert_eq!(
        reason(&verdict(&misc(&hang.display().to_string(), "   misc_timeout 1")).await),
        "timeout after 1 s"
    );
    let child = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    // SIGKILL is asynchronous: wait (bounded) for the kernel to finish it.
    let mut killed = false;
    for _ in 0..100 {
        if gone(&child) {
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(killed, "background child {child} of the script survived");
}

#[tokio::test]
async fn misc_check_reports_a_script_killed_by_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let killed = script(dir.path(), "killed.sh", "kill -TERM $$");
    assert_eq!(
        reason(&verdict(&misc(&killed.display().to_string(), "")).await),
        "killed by signal 15"
    );
}

#[tokio::test]
async fn misc_check_says_why_a_script_cannot_run() {
    assert_eq!(
        reason(&verdict(&misc("/nonexistent/lvstop/check.sh", "")).await),
        "cannot run '/nonexistent/lvstop/check.sh': no such file or directory"
    );
}

#[tokio::test]
async fn misc_check_runs_as_the_configured_user() {
    let Some(_group) =
        support::privileged_test(module_path!(), "misc_check_runs_as_the_configured_user")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let whoami = script(
        dir.path(),
        "id.sh",
        "echo \"$(id -un):$(id -gn):$(id -G)\" >&2\nexit 1",
    );
    let path = whoami.display().to_string();
    assert_eq!(
        reason(&verdict(&misc(&path, "   user nobody")).await),
        "exit 1: nobody:nogroup:65534"
    );
    assert_eq!(
        reason(&verdict(&misc(&path, "   user nobody daemon")).await),
        "exit 1: nobody:daemon:1"
    );
    assert_eq!(
        reason(&verdict(&misc(&path, "   user no-such-user-lvstop")).await),
        "MISC_CHECK user 'no-such-user-lvstop' does not exist"
    );
}

// ---- FILE_CHECK ----

fn file_check(file: &Path, track_weight: &str, check_body: &str) -> String {
    format!(
        "track_file state {{\n file \"{}\"\n{track_weight}\n}}\n{}",
        file.display(),
        conf(
            "127.0.0.1 80",
            &format!("  FILE_CHECK {{\n   track_file state\n{check_body}\n  }}")
        )
    )
}

#[tokio::test]
async fn file_check_with_weight_0_treats_the_value_as_a_status() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state");
    std::fs::write(&file, "0\n").unwrap();
    let config = file_check(&file, " weight 0", "");
    assert_eq!(verdict(&config).await, Verdict::Up);
    std::fs::write(&file, "1\n").unwrap();
    assert_eq!(
        reason(&verdict(&config).await),
        "track_file 'state' reads 1"
    );
    let reversed = file_check(&file, " weight 0 reverse", "");
    assert_eq!(verdict(&reversed).await, Verdict::Up);
}

#[tokio::test]
async fn file_check_weight_scales_the_value_into_the_real_server_weight() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state");
    std::fs::write(&file, "3\n").unwrap();
    // The real server has weight 4 (see `conf`): 4 + 3 × 2.
    let config = file_check(&file, "", "   weight 2");
    assert_eq!(verdict(&config).await, Verdict::UpWithWeight { weight: 10 });
    std::fs::write(&file, "-1\n").unwrap();
    assert_eq!(verdict(&config).await, Verdict::UpWithWeight { weight: 2 });
}

// ---- BFD_CHECK ----

/// lvstop does not implement BFD, so a real server with a BFD_CHECK is
/// refused at load rather than left down for ever.
#[test]
fn bfd_check_is_refused_at_load() {
    let config = conf("127.0.0.1 80", "  BFD_CHECK {\n   name peer1\n  }");
    let outcome = lvstop::config::load::load_str(
        Path::new("test.conf"),
        &config,
        &lvstop::config::load::Options::default(),
    );
    assert!(outcome.has_errors(), "BFD_CHECK must be refused");
    let messages: Vec<String> = outcome
        .diagnostics
        .iter()
        .map(|item| item.message.clone())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("BFD")),
        "the error names BFD: {messages:?}"
    );
}

// ---- PING_CHECK ----

#[tokio::test]
async fn ping_check_gets_an_echo_reply_from_loopback() {
    let config = conf("127.0.0.1 80", "  PING_CHECK {\n   connect_timeout 2\n  }");
    let verdict = verdict(&config).await;
    if let Verdict::Down { reason } = &verdict {
        // Neither a ping socket nor a raw socket is allowed here.
        if reason.to_string().starts_with("cannot open an ICMP socket") {
            eprintln!("skipped: {reason}");
            return;
        }
    }
    assert_eq!(verdict, Verdict::Up);
}

/// Runs `f` on a thread inside the namespace, with its own runtime.
fn in_netns<F, Fut>(ns: &Netns, f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let path = format!("/var/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f());
    })
    .join()
    .unwrap();
}

/// A director namespace (198.51.100.1) linked to a real-server namespace
/// (198.51.100.2); 198.51.100.3 is on the link but nobody has it, and
/// 203.0.113.0/24 has no route.
fn topology(prefix: &str) -> (Netns, Netns) {
    let director = Netns::new(&support::unique_name(&format!("{prefix}d")));
    let real = Netns::new(&support::unique_name(&format!("{prefix}r")));
    link(&director, "198.51.100.1/24", &real, "198.51.100.2/24");
    (director, real)
}

async fn expect_ping_results() {
    let ping = |ip: &str| {
        conf(
            &format!("{ip} 80"),
            "  PING_CHECK {\n   connect_timeout 1\n  }",
        )
    };
    assert_eq!(verdict(&ping("198.51.100.2")).await, Verdict::Up);
    assert_eq!(
        reason(&verdict(&ping("198.51.100.3")).await),
        "timeout after 1 s"
    );
    assert_eq!(
        reason(&verdict(&ping("203.0.113.9")).await),
        "unreachable: network is unreachable"
    );
}

#[test]
fn ping_check_in_a_namespace_with_a_raw_socket() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "ping_check_in_a_namespace_with_a_raw_socket",
    ) else {
        return;
    };
    let (director, _real) = topology("hpR");
    // No group may open ping sockets: the probe must fall back to raw.
    director.exec("sysctl", &["-qw", "net.ipv4.ping_group_range=1 0"]);
    in_netns(&director, expect_ping_results);
}

#[test]
fn ping_check_in_a_namespace_with_an_unprivileged_ping_socket() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "ping_check_in_a_namespace_with_an_unprivileged_ping_socket",
    ) else {
        return;
    };
    let (director, _real) = topology("hpD");
    director.exec("sysctl", &["-qw", "net.ipv4.ping_group_range=0 2147483647"]);
    in_netns(&director, expect_ping_results);
}

#[test]
fn tcp_check_in_a_namespace_times_out_or_finds_no_route() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "tcp_check_in_a_namespace_times_out_or_finds_no_route",
    ) else {
        return;
    };
    let (director, _real) = topology("hpT");
    in_netns(&director, || async {
        let tcp = |ip: &str| {
            conf(
                &format!("{ip} 80"),
                "  TCP_CHECK {\n   connect_timeout 1\n  }",
            )
        };
        // Nothing listens on the real server's port 80: it answers RST.
        assert_eq!(
            reason(&verdict(&tcp("198.51.100.2")).await),
            "connection refused"
        );
        assert_eq!(
            reason(&verdict(&tcp("198.51.100.3")).await),
            "timeout after 1 s"
        );
        assert_eq!(
            reason(&verdict(&tcp("203.0.113.9")).await),
            "unreachable: network is unreachable"
        );
    });
}
