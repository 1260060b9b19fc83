//! The whole pipeline in one call: read (and preprocess) a configuration,
//! build the tree, parse it into the model and validate it.

use std::collections::HashSet;
use std::path::Path;

use super::diagnostic::Diagnostics;
use super::model::Config;
use super::parse::{self, ParseOptions};
use super::preprocess::{self, LoadError, LoadOptions, Loaded};
use super::source::{Location, SourceMap};
use super::{tree, validate, verdict};

/// Options for a whole load.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub preprocess: LoadOptions,
    pub parse: ParseOptions,
}

/// What a load produced: the model, the files it came from, and what there
/// is to say about it (sorted by position).
#[derive(Debug)]
pub struct Outcome {
    pub config: Config,
    pub sources: SourceMap,
    pub diagnostics: Diagnostics,
    /// Statements no keepalived process reads as its own (see
    /// [`super::verdict::readers`]): findings there do not move
    /// keepalived's verdict.
    pub unread_by_keepalived: HashSet<Location>,
}

impl Outcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }
}

/// Loads, parses and validates the configuration file at `path`.
pub fn load_file(path: &Path, options: &Options) -> Result<Outcome, LoadError> {
    let mut diagnostics = Diagnostics::new();
    let loaded = preprocess::load_file(path, &options.preprocess, &mut diagnostics)?;
    Ok(finish(loaded, options, diagnostics))
}

/// Loads, parses and validates configuration text; `path` names it in
/// messages and anchors relative includes.
pub fn load_str(path: &Path, text: &str, options: &Options) -> Outcome {
    let mut diagnostics = Diagnostics::new();
    let loaded = preprocess::load_str(path, text, &options.preprocess, &mut diagnostics);
    finish(loaded, options, diagnostics)
}

fn finish(loaded: Loaded, options: &Options, mut diagnostics: Diagnostics) -> Outcome {
    let Loaded { sources, lines } = loaded;
    let tree = tree::build_tree(&lines, &mut diagnostics);
    // Each stage's input is released as soon as the next one has what it
    // needs: on very large configurations this halves the peak memory.
    drop(lines);
    let unread_by_keepalived = verdict::readers::unread(&tree);
    let config = parse::parse(&tree.nodes, options.parse, &mut diagnostics);
    drop(tree);
    validate::validate(&config, &mut diagnostics);
    diagnostics.sort();
    Outcome {
        config,
        sources,
        diagnostics,
        unread_by_keepalived,
    }
}
