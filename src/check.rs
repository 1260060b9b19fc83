//! `lvstop check`: validate a configuration the way `keepalived
//! --config-test` does, with better diagnostics.
//!
//! The exit code is keepalived 2.2.7's `--config-test` verdict on the same
//! host (see [`crate::config::verdict`]); everything lvstop finds beyond
//! keepalived is printed but does not move it, unless `--strict` asks for
//! lvstop's own judgement:
//!
//! | code | keepalived -t | `--strict` |
//! |------|---------------|------------|
//! | 0 | clean, or only warnings keepalived logs | no errors, no warnings |
//! | 2 | a keyword's value is missing: keepalived stops reading | — |
//! | 5 | configuration errors (host checks included) | any error or warning |
//! | 6 | a script would run as root without `enable_script_security` | scripts without `enable_script_security` are the only problem |
//! | 7 | the main file is missing or unreadable (keepalived only logs it and exits 0) | same |
//!
//! `--offline` skips the host checks (interfaces, users, script files).
//! Notes ("parsed, not acted on") never change the exit code.

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{CheckArgs, CommonOptions, OutputFormat};
use crate::config::diagnostic::{render_text, JsonDiagnostic, Severity};
use crate::config::load::{self, Options, Outcome};
use crate::config::parse::ParseOptions;
use crate::config::preprocess::LoadOptions;
use crate::config::render;

/// Exit codes of `lvstop check` (see the module documentation).
pub mod exit {
    pub use crate::config::verdict::exit::{ABORTED, CONFIG_ERRORS, OK, SCRIPT_SECURITY};
    pub const NO_CONFIG: u8 = 7;
}

use crate::config::verdict;

pub fn run(common: &CommonOptions, args: &CheckArgs) -> ExitCode {
    let mut preprocess = LoadOptions::default();
    if let Some(id) = &args.config_id {
        preprocess.config_id = id.clone();
    }
    let options = Options {
        preprocess,
        parse: ParseOptions {
            compat: args.compat,
        },
    };
    let mut outcome = match load::load_file(&common.config, &options) {
        Ok(outcome) => outcome,
        Err(error) => {
            match args.format {
                OutputFormat::Text => eprintln!("lvstop check: error: {error}"),
                OutputFormat::Json => {
                    print_json(&JsonReport::failed(&common.config, &error.to_string()))
                }
            }
            return ExitCode::from(exit::NO_CONFIG);
        }
    };
    let insecure = if args.offline {
        verdict::check_offline(&outcome.config, None, &mut outcome.diagnostics)
    } else {
        verdict::check_host(
            &outcome.config,
            &verdict::LiveHost,
            &mut outcome.diagnostics,
        )
    };
    outcome.diagnostics.sort();
    let code = if args.strict {
        verdict::strict_exit(&outcome.diagnostics)
    } else {
        let mut unjudged = outcome.unread_by_keepalived.clone();
        unjudged.extend(verdict::dropped::locations(&outcome.config));
        verdict::keepalived_exit(&outcome.diagnostics, &insecure, &unjudged)
    };
    match args.format {
        OutputFormat::Text => print_text(&outcome, args, common, code),
        OutputFormat::Json => print_json(&JsonReport::new(&common.config, &outcome, args, code)),
    }
    ExitCode::from(code)
}

fn print_text(outcome: &Outcome, args: &CheckArgs, common: &CommonOptions, code: u8) {
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for diagnostic in &outcome.diagnostics {
        if diagnostic.severity == Severity::Note && !args.verbose {
            continue;
        }
        let _ = writeln!(err, "{}", render_text(&outcome.sources, diagnostic));
    }
    let d = &outcome.diagnostics;
    let notes = d.count(Severity::Note);
    let hint = if notes > 0 && !args.verbose {
        " (-v shows notes)"
    } else {
        ""
    };
    let verdict = if code == exit::OK {
        "configuration OK"
    } else {
        "configuration has problems"
    };
    let _ = writeln!(
        err,
        "{}: {verdict}: {} error(s), {} warning(s), {notes} note(s){hint}",
        common.config.display(),
        d.count(Severity::Error),
        d.count(Severity::Warning),
    );
    if args.dump {
        let stdout = std::io::stdout();
        let _ = stdout
            .lock()
            .write_all(render::render(&outcome.config).as_bytes());
    }
}

/// `lvstop check --format json` output. Stable field names; documented in
/// the README.
#[derive(Debug, Serialize)]
struct JsonReport {
    file: String,
    valid: bool,
    exit_code: u8,
    errors: usize,
    warnings: usize,
    notes: usize,
    diagnostics: Vec<JsonDiagnostic>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dump: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    load_error: Option<String>,
}

impl JsonReport {
    fn new(path: &std::path::Path, outcome: &Outcome, args: &CheckArgs, code: u8) -> Self {
        let d = &outcome.diagnostics;
        Self {
            file: path.display().to_string(),
            valid: code == exit::OK,
            exit_code: code,
            errors: d.count(Severity::Error),
            warnings: d.count(Severity::Warning),
            notes: d.count(Severity::Note),
            diagnostics: d
                .iter()
                .map(|x| JsonDiagnostic::from_diagnostic(&outcome.sources, x))
                .collect(),
            dump: args.dump.then(|| render::render(&outcome.config)),
            load_error: None,
        }
    }

    fn failed(path: &std::path::Path, error: &str) -> Self {
        Self {
            file: path.display().to_string(),
            valid: false,
            exit_code: exit::NO_CONFIG,
            errors: 1,
            warnings: 0,
            notes: 0,
            diagnostics: Vec::new(),
            dump: None,
            load_error: Some(error.to_string()),
        }
    }
}

fn print_json(report: &JsonReport) {
    match serde_json::to_string_pretty(report) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("lvstop check: cannot encode JSON: {error}"),
    }
}
