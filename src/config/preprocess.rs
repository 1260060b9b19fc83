//! Placeholder until the real preprocessor lands: reads a file's lines
//! verbatim (no includes, conditionals, parameters or sequences).

use std::path::{Path, PathBuf};

use super::diagnostic::Diagnostics;
use super::source::SourceMap;
use super::token::SourceLine;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub config_id: String,
    pub random_seed: Option<u64>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            config_id: "localhost".into(),
            random_seed: None,
        }
    }
}

impl LoadOptions {
    pub fn with_config_id(id: impl Into<String>) -> Self {
        Self {
            config_id: id.into(),
            random_seed: None,
        }
    }
}

#[derive(Debug)]
pub struct Loaded {
    pub sources: SourceMap,
    pub lines: Vec<SourceLine>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read '{path}': {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn load_file(
    path: &Path,
    options: &LoadOptions,
    diagnostics: &mut Diagnostics,
) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(load_str(path, &text, options, diagnostics))
}

pub fn load_str(
    path: &Path,
    text: &str,
    _options: &LoadOptions,
    _diagnostics: &mut Diagnostics,
) -> Loaded {
    let mut sources = SourceMap::new();
    let file = sources.add(path.to_path_buf(), text.to_string(), None);
    let lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| SourceLine::verbatim(l, file, u32::try_from(i + 1).unwrap_or(u32::MAX)))
        .collect();
    Loaded { sources, lines }
}
