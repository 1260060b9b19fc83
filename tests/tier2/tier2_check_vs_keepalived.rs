//! `lvstop check` against the real `keepalived --config-test` (Debian's
//! keepalived 2.2.7) on the same files: where keepalived rejects a
//! configuration, lvstop must reject it too, and the reference deployment's clean config
//! passes both. A few malformed files keepalived accepts silently are
//! listed here: lvstop's exit code follows keepalived's on them, and its
//! stricter judgement (`--strict`) rejects them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::path::Path;
use std::process::{Command, Stdio};

/// Malformed fixtures keepalived 2.2.7 accepts without a word (lvstop
/// reports them; keepalived fixes them up or ignores them at run time).
const KEEPALIVED_ACCEPTS: &[&str] = &[
    "duplicate-virtual-server.conf",
    "undefined-vs-group.conf",
    "weight-out-of-range.conf",
];

fn exit_code(program: &str, args: &[&str]) -> i32 {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
        .status
        .code()
        .unwrap_or(-1)
}

fn keepalived_test(path: &Path) -> i32 {
    exit_code(
        "keepalived",
        &["--config-test", "-f", path.to_str().expect("utf8")],
    )
}

fn lvstop_check(path: &Path, extra: &[&str]) -> i32 {
    let mut args = vec!["check", "-f", path.to_str().expect("utf8")];
    args.extend_from_slice(extra);
    exit_code(env!("CARGO_BIN_EXE_lvstop"), &args)
}

#[test]
fn lvstop_rejects_whatever_keepalived_rejects() {
    let Some(_group) =
        support::privileged_test(module_path!(), "lvstop_rejects_whatever_keepalived_rejects")
    else {
        return;
    };
    let mut entries: Vec<_> = std::fs::read_dir("tests/fixtures/invalid")
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    entries.sort();
    let mut mismatches = Vec::new();
    for path in entries {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let keepalived = keepalived_test(&path);
        let expected_keepalived_ok = KEEPALIVED_ACCEPTS.contains(&name.as_str());
        let lvstop = if expected_keepalived_ok {
            lvstop_check(&path, &["--strict"])
        } else {
            lvstop_check(&path, &[])
        };
        if expected_keepalived_ok != (keepalived == 0) {
            mismatches.push(format!(
                "{name}: keepalived exit {keepalived}, expected it to {}",
                if expected_keepalived_ok {
                    "accept"
                } else {
                    "reject"
                }
            ));
        }
        if lvstop == 0 {
            mismatches.push(format!(
                "{name}: lvstop check accepted a malformed file (exit {lvstop})"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn both_accept_the_clean_seed_and_both_flag_the_original() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "both_accept_the_clean_seed_and_both_flag_the_original",
    ) else {
        return;
    };
    let clean = Path::new("examples/seed/clean.conf");
    assert_eq!(keepalived_test(clean), 0);
    assert_eq!(lvstop_check(clean, &[]), 0);
    let seed = Path::new("examples/seed/keepalived.conf");
    assert_eq!(keepalived_test(seed), 5);
    assert_eq!(lvstop_check(seed, &[]), 5);
    let insecure = Path::new("tests/fixtures/check/script-security.conf");
    assert_eq!(keepalived_test(insecure), 6);
    assert_eq!(lvstop_check(insecure, &[]), 6);
}
