//! keepalived's own sample configurations (Debian's package, see
//! `support::corpus`) all load, and for each one the test records what lvstop reports
//! (`tests/golden/corpus/NAME.expected`: every diagnostic including notes,
//! then a summary), so any change in how lvstop reads them shows up here.
//! The re-rendered model must also parse back to the same model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use support::corpus;

use std::path::Path;

use lvstop::config::diagnostic::{render_text, Severity};
use lvstop::config::load::{self, Options};
use lvstop::config::preprocess::LoadOptions;
use lvstop::config::render;

fn options() -> Options {
    Options {
        preprocess: LoadOptions::with_config_id("director1"),
        ..Options::default()
    }
}

/// Debian ships 25 samples and the synopsis.
const DEBIAN_SAMPLES: usize = 26;

#[test]
fn every_sample_loads_with_its_recorded_outcome() {
    let Some(samples) = corpus::keepalived_samples("every_sample_loads_with_its_recorded_outcome")
    else {
        return;
    };
    assert!(
        samples.len() >= DEBIAN_SAMPLES,
        "corpus has {} samples",
        samples.len()
    );
    let mut failures = Vec::new();
    for sample in &samples {
        let path = sample.load_path();
        let outcome = load::load_str(&path, &sample.text, &options());
        let folder = path.parent().expect("folder").display().to_string();
        let mut text = String::new();
        for d in &outcome.diagnostics {
            text.push_str(&render_text(&outcome.sources, d).replace(&folder, "CORPUS"));
            text.push('\n');
        }
        let d = &outcome.diagnostics;
        text.push_str(&format!(
            "summary: {} error(s), {} warning(s), {} note(s)\n",
            d.count(Severity::Error),
            d.count(Severity::Warning),
            d.count(Severity::Note)
        ));
        let golden = Path::new("tests/golden/corpus").join(format!("{}.expected", sample.name));
        if let Err(mismatch) = support::golden::check(&golden, &text) {
            failures.push(mismatch);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_sample_round_trips_through_its_rendering() {
    let Some(samples) =
        corpus::keepalived_samples("every_sample_round_trips_through_its_rendering")
    else {
        return;
    };
    for sample in samples {
        let path = sample.load_path();
        let outcome = load::load_str(&path, &sample.text, &options());
        let rendered = render::render(&outcome.config);
        let again = load::load_str(Path::new("rendered.conf"), &rendered, &options());
        assert_eq!(
            outcome.config,
            again.config,
            "{} changes after render + parse:\n{rendered}",
            path.display()
        );
        // Errors the sample has (a refused keyword) come back; no others.
        let errors = |o: &load::Outcome| -> Vec<String> {
            o.diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.message.clone())
                .collect()
        };
        let before = errors(&outcome);
        let new_problems: Vec<_> = errors(&again)
            .into_iter()
            .filter(|e| !before.contains(e))
            .collect();
        assert!(
            new_problems.is_empty(),
            "{}: rendering has errors {new_problems:?}",
            path.display()
        );
    }
}
