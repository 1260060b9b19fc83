//! The keepalived.conf language: reading, preprocessing, parsing into the
//! typed model, validating, rendering and diffing configurations.
//!
//! Pipeline: files → [`preprocess`] (includes, `@id` conditionals, `$PARAM`s,
//! `~SEQ`/`~LST`) → [`lexer`] → [`tree`] (statements and blocks) → parse
//! (keywords into the typed model) → validate. Every stage reports through
//! [`diagnostic::Diagnostics`] with source locations and never panics on bad
//! input.

pub mod diagnostic;
#[cfg(any(test, feature = "test-support"))]
pub mod generate;
pub mod lexer;
pub mod load;
pub mod model;
pub mod parse;
pub mod preprocess;
pub mod render;
pub mod running;
pub mod source;
pub mod token;
pub mod tree;
pub mod validate;
pub mod verdict;

/// keepalived's sample configurations for the unit tests: the same helper
/// the integration tests use.
#[cfg(test)]
#[path = "../../tests/support/corpus.rs"]
pub(crate) mod test_corpus;
