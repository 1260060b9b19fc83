//! keepalived's own sample configurations (`../shared/corpus/keepalived-samples`)
//! all load, and for each one the test records what lvstop reports
//! (`tests/golden/corpus/NAME.expected`: every diagnostic including notes,
//! then a summary), so any change in how lvstop reads them shows up here.
//! The re-rendered model must also parse back to the same model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};

use lvstop::config::diagnostic::{render_text, Severity};
use lvstop::config::load::{self, Options};
use lvstop::config::preprocess::LoadOptions;
use lvstop::config::render;

const CORPUS: &str = "../shared/corpus/keepalived-samples";

fn samples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .unwrap_or_else(|e| {
            panic!("{CORPUS}: {e} (the shared corpus must sit beside the checkout)")
        })
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("keepalived.conf"))
        })
        .collect();
    files.sort();
    files
}

fn options() -> Options {
    Options {
        preprocess: LoadOptions::with_config_id("director1"),
        ..Options::default()
    }
}

#[test]
fn every_sample_loads_with_its_recorded_outcome() {
    let samples = samples();
    assert!(samples.len() >= 28, "corpus has {} samples", samples.len());
    let mut failures = Vec::new();
    for path in &samples {
        let outcome = load::load_file(path, &options()).unwrap_or_else(|e| panic!("{e}"));
        let mut text = String::new();
        for d in &outcome.diagnostics {
            text.push_str(&render_text(&outcome.sources, d).replace(CORPUS, "CORPUS"));
            text.push('\n');
        }
        let d = &outcome.diagnostics;
        text.push_str(&format!(
            "summary: {} error(s), {} warning(s), {} note(s)\n",
            d.count(Severity::Error),
            d.count(Severity::Warning),
            d.count(Severity::Note)
        ));
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let golden = Path::new("tests/golden/corpus").join(format!("{name}.expected"));
        if let Err(mismatch) = support::golden::check(&golden, &text) {
            failures.push(mismatch);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_sample_round_trips_through_its_rendering() {
    for path in samples() {
        let outcome = load::load_file(&path, &options()).expect("load");
        let rendered = render::render(&outcome.config);
        let again = load::load_str(Path::new("rendered.conf"), &rendered, &options());
        assert_eq!(
            outcome.config,
            again.config,
            "{} changes after render + parse:\n{rendered}",
            path.display()
        );
        let new_problems: Vec<_> = again
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.message.clone())
            .collect();
        assert!(
            new_problems.is_empty(),
            "{}: rendering has errors {new_problems:?}",
            path.display()
        );
    }
}
