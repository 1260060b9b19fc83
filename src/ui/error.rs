//! Why the console could not start or had to stop.

use std::path::PathBuf;

use super::keymap::KeymapError;
use super::theme::ThemeError;

/// A console failure an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(transparent)]
    Keymap(#[from] KeymapError),
    #[error(transparent)]
    Theme(#[from] ThemeError),
    #[error("cannot read '{}': {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}
