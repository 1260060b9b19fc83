//! `lvstop check` as an operator runs it: exit codes (keepalived's
//! `--config-test` mapping), text and JSON reports, `--dump`, `--compat`, and
//! the subcommands that are not built yet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn lvstop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvstop"))
        .args(args)
        .env_remove("LVSTOP_SOCKET")
        .output()
        .expect("run lvstop")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const SEED: &str = "examples/seed/keepalived.conf";

#[test]
fn seed_config_warns_about_nb_get_retry_at_each_place_and_exits_5() {
    let out = lvstop(&["check", "-f", SEED]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let text = stderr(&out);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("warning:") && l.contains("nb_get_retry"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("examples/seed/keepalived.conf:49:9: warning:"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("examples/seed/keepalived.conf:58:9: warning:"),
        "{text}"
    );
    assert!(text.contains("retry"), "{text}");
}

#[test]
fn compat_reads_nb_get_retry_as_retry() {
    let out = lvstop(&["check", "--compat", "-f", SEED, "--dump"]);
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(dump.contains("retry 3"), "{dump}\n{}", stderr(&out));
    assert!(!dump.contains("nb_get_retry"), "{dump}");
}

#[test]
fn clean_config_exits_0() {
    let out = lvstop(&["check", "-f", "examples/seed/clean.conf"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("configuration OK"));
    assert!(!stderr(&out).contains("note:"), "notes need -v");
    // Aliases are named once each, as notes: keepalived accepts them
    // silently, so they must not change the exit code.
    let out = lvstop(&["check", "-v", "-f", "examples/seed/clean.conf"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stderr(&out);
    assert!(
        text.contains("clean.conf:31:5: note: 'lb_algo' is another name for 'lvs_sched'"),
        "{text}"
    );
    assert_eq!(
        text.matches("'lb_kind' is another name").count(),
        1,
        "{text}"
    );
}

#[test]
fn missing_file_exits_7_with_the_path() {
    let out = lvstop(&["check", "-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(out.status.code(), Some(7));
    assert!(
        stderr(&out).contains("'/nonexistent/keepalived.conf'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_report_has_locations_and_codes() {
    let out = lvstop(&[
        "check",
        "--format",
        "json",
        "-f",
        "tests/fixtures/invalid/vrid-out-of-range.conf",
    ]);
    assert_eq!(out.status.code(), Some(5));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["valid"], false);
    assert_eq!(report["exit_code"], 5);
    let first = report["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .find(|d| d["severity"] == "error" && d["code"] == "value-range")
        .expect("a range error");
    assert_eq!(first["line"], 4);
    assert_eq!(first["code"], "value-range");
    assert!(first["message"]
        .as_str()
        .expect("message")
        .contains("'300'"));
}

#[test]
fn dump_reparses_to_the_same_report() {
    let out = lvstop(&["check", "-f", "examples/seed/clean.conf", "--dump"]);
    let dump = String::from_utf8_lossy(&out.stdout).into_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dumped.conf");
    std::fs::write(&path, &dump).expect("write");
    let again = lvstop(&["check", "-f", path.to_str().expect("utf8"), "--dump"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(String::from_utf8_lossy(&again.stdout), dump);
}

#[test]
fn config_id_selects_conditional_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("k.conf");
    std::fs::write(
        &path,
        "global_defs {\n    @main router_id MAIN\n    @^main router_id OTHER\n}\n",
    )
    .expect("write");
    let p = path.to_str().expect("utf8");
    let main = lvstop(&["check", "-f", p, "--config-id", "main", "--dump"]);
    assert!(String::from_utf8_lossy(&main.stdout).contains("router_id MAIN"));
    let other = lvstop(&["check", "-f", p, "-i", "backup", "--dump"]);
    assert!(String::from_utf8_lossy(&other.stdout).contains("router_id OTHER"));
}

/// The console says what it cannot do before it takes the terminal: an
/// embedded engine needs a configuration and excludes --source.
#[test]
fn the_console_explains_what_it_cannot_read() {
    let out = lvstop(&["--engine", "--source", "daemon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("give one or the other"),
        "{}",
        stderr(&out)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("none.sock");
    let config = dir.path().join("missing.conf");
    let out = lvstop(&[
        "--engine",
        "--socket",
        socket.to_str().expect("utf8"),
        "-f",
        config.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("try `lvstop demo`"),
        "{}",
        stderr(&out)
    );
}

/// `lvstop ctl`'s documented exit codes for what needs no daemon: 2 for a
/// bad command line (with the bad value quoted), 3 when nothing answers.
#[test]
fn ctl_says_what_is_wrong_with_the_command_line_or_the_socket() {
    let missing = lvstop(&["ctl", "drain"]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("--real-server"),
        "{}",
        stderr(&missing)
    );
    let bad = lvstop(&[
        "ctl",
        "weight",
        "-t",
        "198.51.100.88",
        "-r",
        "198.51.100.82",
        "-w",
        "2",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("service '198.51.100.88': needs a port"),
        "{}",
        stderr(&bad)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("none.sock");
    let socket = socket.to_str().expect("utf8");
    let nobody = lvstop(&["ctl", "--socket", socket, "reload"]);
    assert_eq!(nobody.status.code(), Some(3), "{}", stderr(&nobody));
    assert!(
        stderr(&nobody).contains("no lvstop daemon at"),
        "{}",
        stderr(&nobody)
    );
}

#[test]
fn realserver_rejects_bad_vips_before_touching_the_system() {
    for (args, message) in [
        (&["realserver", "start"][..], "start needs --vip"),
        (
            &["realserver", "start", "--vip", "300.1.1.1"],
            "'300.1.1.1' is not an IP address",
        ),
        (
            &[
                "realserver",
                "status",
                "--state-file",
                "/nonexistent/lvstop/rs.json",
            ],
            "status needs --vip",
        ),
    ] {
        let out = lvstop(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn help_lists_every_subcommand() {
    let out = lvstop(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for command in ["check", "daemon", "ctl", "demo", "realserver"] {
        assert!(text.contains(command), "{command} missing from --help");
    }
    assert!(Path::new(SEED).exists());
}

#[test]
fn a_directory_is_not_a_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = lvstop(&["check", "-f", dir.path().to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(7));
    assert!(
        stderr(&out).contains("is not a regular file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn include_problems_point_at_the_include_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = dir.path().join("keepalived.conf");
    std::fs::write(
        &main,
        "includea conf.d/*.conf\ninclude missing.conf\nincludea keepalived.conf\n",
    )
    .expect("write");
    let out = lvstop(&["check", "-f", main.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(5));
    let text = stderr(&out);
    assert!(
        text.contains("keepalived.conf:1:10: error: no file matches"),
        "{text}"
    );
    assert!(text.contains("keepalived.conf:2:9: warning:"), "{text}");
    assert!(text.contains("keepalived.conf:3:10: error:"), "{text}");
    assert!(
        text.to_lowercase().contains("cycle") || text.contains("includes itself"),
        "{text}"
    );
}

use crate::support;

#[test]
fn an_unreadable_file_is_reported_with_the_reason() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "an_unreadable_file_is_reported_with_the_reason",
    ) else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod dir");
    let file = dir.path().join("secret.conf");
    std::fs::write(&file, "global_defs {\n}\n").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    // Run as nobody: root reads everything.
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_lvstop"),
        ])
        .args(["check", "-f", file.to_str().expect("utf8")])
        .output()
        .expect("setpriv");
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ermission denied"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn scripts_without_script_security_exit_6_like_keepalived() {
    let out = lvstop(&["check", "-f", "tests/fixtures/check/script-security.conf"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("script-security") || stderr(&out).contains("enable_script_security")
    );
    let out = lvstop(&[
        "check",
        "-f",
        "tests/fixtures/check/script-security-enabled.conf",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn keywords_lvstop_does_not_act_on_are_warnings_shown_without_v() {
    let out = lvstop(&["check", "-f", "tests/fixtures/check/not-acted-on.conf"]);
    let text = stderr(&out);
    // keepalived accepts these keywords: the exit code is its verdict,
    // and only --strict makes lvstop's warnings problems.
    assert_eq!(out.status.code(), Some(0), "{text}");
    let strict = lvstop(&[
        "check",
        "--strict",
        "-f",
        "tests/fixtures/check/not-acted-on.conf",
    ]);
    assert_eq!(strict.status.code(), Some(5), "{}", stderr(&strict));
    assert!(
        text.contains("not-acted-on.conf:5:5: warning: parsed, not acted on: 'lvs_flush' (lvstop "),
        "{text}"
    );
    assert!(
        text.contains(
            "not-acted-on.conf:12:5: warning: parsed, not acted on: 'ha_suspend' (lvstop "
        ),
        "{text}"
    );
    assert!(text.contains("0 error(s), 2 warning(s)"), "{text}");
}

#[test]
fn bfd_check_is_refused_with_the_line_and_the_reason() {
    let out = lvstop(&["check", "-f", "tests/fixtures/check/bfd-check.conf"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{text}");
    assert!(
        text.contains("bfd-check.conf:10:9: error: 'BFD_CHECK' is not supported: lvstop does not implement BFD"),
        "{text}"
    );
    assert!(text.contains("1 error(s)"), "{text}");
}
