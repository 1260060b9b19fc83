//! The configuration a director runs: loaded and validated, with every
//! error and warning ("parsed, not acted on" among them) in the log at
//! every load, so the operator of a running director hears of them.

use std::path::{Path, PathBuf};

use super::diagnostic::{render_text, Severity};
use super::load::{self, Options};
use super::model::Config;
use super::preprocess::LoadError;

/// Why a director will not run a file.
#[derive(Debug, thiserror::Error)]
pub enum RefusedConfig {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("'{path}' has {errors} error(s); not starting")]
    Invalid { path: PathBuf, errors: usize },
}

/// Load and validate `path`; warnings are logged, errors refuse it.
pub fn load_for_director(path: &Path) -> Result<Config, RefusedConfig> {
    let outcome = load::load_file(path, &Options::default())?;
    log_diagnostics(&outcome);
    let errors = outcome.diagnostics.count(Severity::Error);
    if errors > 0 {
        return Err(RefusedConfig::Invalid {
            path: path.to_path_buf(),
            errors,
        });
    }
    Ok(outcome.config)
}

/// Logs the warnings of configuration text a director just applied (a
/// reload or an apply), off the async runtime and after the apply has
/// answered: the apply itself may have reused parts of the running model
/// and skipped them.
pub fn log_applied_warnings(path: PathBuf, text: String) {
    tokio::task::spawn_blocking(move || {
        log_diagnostics(&load::load_str(&path, &text, &Options::default()));
    });
}

/// Logs a load's errors and warnings; notes stay for `lvstop check -v`.
fn log_diagnostics(outcome: &load::Outcome) {
    for diagnostic in &outcome.diagnostics {
        let text = render_text(&outcome.sources, diagnostic);
        match diagnostic.severity {
            Severity::Error => tracing::error!("{text}"),
            Severity::Warning => tracing::warn!("{text}"),
            Severity::Note => {}
        }
    }
}

/// The director's name: `router_id`, else the host name.
pub fn director_name(config: &Config) -> String {
    config
        .global
        .router_id
        .as_ref()
        .map(|r| r.value.clone())
        .or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
        })
        .unwrap_or_else(|| "lvstop".into())
}
