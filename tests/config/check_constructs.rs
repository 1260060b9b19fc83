//! keepalived.conf constructs `lvstop check` must read as keepalived does:
//! each `tests/fixtures/check/constructs/NAME.conf` has beside it
//! `NAME.keepalived`, keepalived 2.2.7's exit code and output recorded by
//! `record.sh` (the command is in the file), and lvstop must exit with the
//! same code. No keepalived is needed to run this test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const DIR: &str = "tests/fixtures/check/constructs";

fn recorded_exit(path: &Path) -> i32 {
    let text = std::fs::read_to_string(path.with_extension("keepalived"))
        .unwrap_or_else(|e| panic!("{}: no recorded verdict: {e}", path.display()));
    text.lines()
        .find_map(|l| l.strip_prefix("exit: "))
        .and_then(|code| code.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: recorded verdict has no 'exit:' line", path.display()))
}

fn lvstop_check(path: &Path, extra: &[&str]) -> i32 {
    Command::new(env!("CARGO_BIN_EXE_lvstop"))
        .arg("check")
        .args(extra)
        .arg("-f")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run lvstop")
        .code()
        .unwrap_or(-1)
}

fn fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(DIR)
        .expect("constructs fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_construct_gets_keepalived_s_exit_code() {
    let paths = fixtures();
    assert!(
        paths.len() >= 10,
        "expected the construct fixtures in {DIR}"
    );
    let mismatches: Vec<String> = paths
        .iter()
        .filter_map(|path| {
            let expected = recorded_exit(path);
            let got = lvstop_check(path, &[]);
            (got != expected).then(|| {
                format!(
                    "{}: keepalived -t exits {expected}, lvstop check {got}",
                    path.display()
                )
            })
        })
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn offline_skips_the_host_s_interfaces_and_script_files() {
    let missing_interface = Path::new(DIR).join("interface-missing.conf");
    assert_eq!(lvstop_check(&missing_interface, &[]), 5);
    // Without the host, the instance itself is sound.
    assert_eq!(lvstop_check(&missing_interface, &["--offline"]), 0);
    // Offline, every script counts as present: the missing tracking
    // script would run as root without enable_script_security.
    let missing_script = Path::new(DIR).join("tracking-script-missing.conf");
    assert_eq!(lvstop_check(&missing_script, &[]), 5);
    assert_eq!(lvstop_check(&missing_script, &["--offline"]), 6);
}

#[test]
fn strict_counts_every_warning_as_a_problem() {
    // keepalived accepts a notify script it cannot find; lvstop's own
    // judgement flags scripts without enable_script_security.
    let notify = Path::new(DIR).join("notify-script-missing.conf");
    assert_eq!(lvstop_check(&notify, &[]), 0);
    assert_eq!(lvstop_check(&notify, &["--strict"]), 5);
}
