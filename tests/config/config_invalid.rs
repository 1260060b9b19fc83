//! Malformed configurations and their exact diagnostics (golden files).
//!
//! Each `tests/fixtures/invalid/NAME.conf` has `NAME.expected`: the errors
//! and warnings `lvstop check` prints for it, rustc style. Every fixture must
//! produce at least one error or warning. `tier2_check_vs_keepalived.rs`
//! runs the real keepalived on the same files: it rejects all but the few
//! where lvstop is deliberately stricter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::path::{Path, PathBuf};

use lvstop::config::diagnostic::{render_text, Severity};
use lvstop::config::load::{self, Options};
use lvstop::config::preprocess::LoadOptions;

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/fixtures/invalid")
        .expect("fixture directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    files
}

/// The text `lvstop check` prints for a file's errors and warnings.
fn report(path: &Path) -> (String, usize) {
    let options = Options {
        preprocess: LoadOptions::with_config_id("director1"),
        ..Options::default()
    };
    match load::load_file(path, &options) {
        Ok(outcome) => {
            let mut text = String::new();
            let mut problems = 0;
            for d in outcome
                .diagnostics
                .iter()
                .filter(|d| d.severity >= Severity::Warning)
            {
                problems += 1;
                text.push_str(&render_text(&outcome.sources, d));
                text.push('\n');
            }
            (text, problems)
        }
        Err(error) => (format!("load error: {error}\n"), 1),
    }
}

#[test]
fn there_are_at_least_thirty_malformed_fixtures() {
    assert!(fixtures().len() >= 30, "only {} fixtures", fixtures().len());
}

#[test]
fn every_malformed_config_has_its_golden_diagnostics() {
    let mut failures = Vec::new();
    for path in fixtures() {
        let (text, problems) = report(&path);
        if problems == 0 {
            failures.push(format!("{}: no error or warning reported", path.display()));
            continue;
        }
        if let Err(mismatch) = support::golden::check(&path.with_extension("expected"), &text) {
            failures.push(mismatch);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
