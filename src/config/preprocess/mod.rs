//! The preprocessor: reads the main configuration file and everything it
//! includes, and turns raw text into the logical lines the lexer consumes.
//!
//! It owns, in keepalived's order (keepalived.conf(5), "ADVANCED
//! CONFIGURATION"): `include` and its checked variants (recognised on the
//! raw line, before anything else), `@id` / `@^id` conditionals, `$NAME=VALUE`
//! definitions (including multiline ones), `$NAME` / `${NAME}` substitution
//! and the `~SEQ` / `~SEQx` / `~LST` generators. Every byte of every output
//! line keeps the file, line and column it came from.
//!
//! Deviations from keepalived 2.2.7, on purpose:
//! - A line ending in `\` (outside quotes, after its comment) is joined with
//!   the next line, with a `line-continuation` warning: keepalived only
//!   joins lines inside multiline `$NAME= \` definitions.
//! - Include cycles and nesting deeper than [`MAX_INCLUDE_DEPTH`] are errors
//!   (keepalived recurses until it runs out of file descriptors).
//! - A parameter that refers back to itself is an error (keepalived grows
//!   the line until its buffer is full).
//! - `${_ENV NAME}` expands to an environment variable (lvstop extension).
//! - Files that are not UTF-8 are decoded lossily, with a `not-utf8`
//!   warning.
//!
//! Kept as keepalived 2.2.7 does it, although the man page reads otherwise:
//! a blank line ends a multiline definition (the man page's `$RS`/`$VS`
//! example has blank lines inside its definitions and is cut short by
//! keepalived too), and the variable of a `~SEQ`/`~LST` keeps its last
//! value after the line.
//!
//! It never tokenizes (that is the lexer's job) and never interprets
//! keywords other than `include*`, `include_check` and `random_seed`.

mod conditional;
mod driver;
mod generate;
pub(crate) mod include;
mod params;
mod text;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use super::diagnostic::Diagnostics;
use super::source::SourceMap;
use super::token::SourceLine;

/// Deepest chain of nested includes accepted.
pub const MAX_INCLUDE_DEPTH: usize = 32;

/// What the loader needs to know besides the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// The configuration id compared by `@id` conditionals and shown by
    /// `${_INSTANCE}` (keepalived's `-i`).
    pub config_id: String,
    /// Seed for `${_RANDOM}`; overrides a `random_seed` in global_defs.
    pub random_seed: Option<u64>,
}

impl LoadOptions {
    pub fn with_config_id(id: impl Into<String>) -> Self {
        Self {
            config_id: id.into(),
            random_seed: None,
        }
    }

    /// keepalived's default config id: the host name up to its first dot,
    /// read from `/proc/sys/kernel/hostname`, or `localhost` when that
    /// cannot be read.
    pub fn default_config_id() -> String {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .and_then(|name| {
                let first = name.trim().split('.').next().unwrap_or("").to_string();
                (!first.is_empty()).then_some(first)
            })
            .unwrap_or_else(|| "localhost".to_string())
    }
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self::with_config_id(Self::default_config_id())
    }
}

/// The files read and the logical lines they produced.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    /// Non-empty logical lines, in order; blank and comment-only lines are
    /// dropped.
    pub lines: Vec<SourceLine>,
}

/// Why the main configuration file could not be read at all. Problems with
/// included files are diagnostics, not errors.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("configuration file '{}' does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("configuration file '{}' is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("cannot read configuration file '{}': {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads and preprocesses the configuration file at `path`.
pub fn load_file(
    path: &Path,
    options: &LoadOptions,
    diagnostics: &mut Diagnostics,
) -> Result<Loaded, LoadError> {
    let metadata = std::fs::metadata(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => LoadError::Missing {
            path: path.to_path_buf(),
        },
        _ => LoadError::Unreadable {
            path: path.to_path_buf(),
            source,
        },
    })?;
    if !metadata.is_file() {
        return Err(LoadError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let bytes = std::fs::read(path).map_err(|source| LoadError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let mut driver = driver::Driver::new(options, diagnostics);
    driver.run_main(path, bytes);
    Ok(driver.finish())
}

/// Preprocesses `text` as if it were the file `path` (used in messages;
/// includes resolve relative to its directory).
pub fn load_str(
    path: &Path,
    text: &str,
    options: &LoadOptions,
    diagnostics: &mut Diagnostics,
) -> Loaded {
    let mut driver = driver::Driver::new(options, diagnostics);
    driver.run_main(path, text.as_bytes().to_vec());
    driver.finish()
}
