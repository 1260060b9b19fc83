//! Diagnostics: what the loader, parser and validator have to say about a
//! configuration, and how it is shown (rustc-style text or JSON).
//!
//! This module owns the message types and their rendering; it never decides
//! what is wrong with a configuration.

use serde::Serialize;

use super::source::{Location, SourceMap};
use super::token::Token;

/// How serious a diagnostic is. Errors make a configuration unusable;
/// warnings are things keepalived would also accept but an operator should
/// know about; notes are informational ("parsed, not acted on").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One message about the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable, kebab-case identifier (`unknown-keyword`, `value-range`, …)
    /// for scripts and tests.
    pub code: &'static str,
    pub message: String,
    pub location: Option<Location>,
    /// How many characters the caret underline covers; 0 means "the word
    /// that starts at the location" (measured from the source when shown).
    pub width: u32,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity,
            code,
            message: message.into(),
            location: None,
            width: 1,
            help: None,
        }
    }

    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    pub fn note(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, code, message)
    }

    /// Points at the word that starts at `location`.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self.width = 0;
        self
    }

    /// Points at a location and underlines `width` characters.
    pub fn spanning(mut self, location: Location, width: usize) -> Self {
        self.location = Some(location);
        self.width = u32::try_from(width.max(1)).unwrap_or(u32::MAX);
        self
    }

    /// Points at a token and underlines all of it.
    pub fn on(self, token: &Token) -> Self {
        self.spanning(token.at, token.width as usize)
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// An ordered collection of diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.items.iter().filter(|d| d.severity == severity).count()
    }

    /// Sorts by file, line and column, keeping the order of equal positions;
    /// diagnostics without a location come first.
    pub fn sort(&mut self) {
        self.items.sort_by_key(|d| d.location);
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// Renders one diagnostic the way rustc does:
///
/// ```text
/// keepalived.conf:12:14: error: priority '300' is out of range 1-255
///    |
/// 12 |     priority 300
///    |              ^^^
///    = help: use a priority between 1 and 254 (255 means address owner)
/// ```
pub fn render_text(map: &SourceMap, diagnostic: &Diagnostic) -> String {
    let mut out = String::new();
    match diagnostic.location {
        Some(location) => out.push_str(&format!(
            "{}: {}: {}\n",
            map.describe(location),
            diagnostic.severity.as_str(),
            diagnostic.message
        )),
        None => out.push_str(&format!(
            "{}: {}\n",
            diagnostic.severity.as_str(),
            diagnostic.message
        )),
    }
    let gutter_width;
    if let Some(location) = diagnostic.location {
        let number = location.line.to_string();
        gutter_width = number.len();
        if let Some(line) = map.line_text(location) {
            let pad = " ".repeat(gutter_width);
            let shown = line.replace('\t', " ");
            let indent = " ".repeat(location.column.saturating_sub(1) as usize);
            let carets = "^".repeat(caret_width(map, diagnostic) as usize);
            out.push_str(&format!(
                "{pad} |\n{number} | {shown}\n{pad} | {indent}{carets}\n"
            ));
        }
        let mut from = map.file(location.file).and_then(|f| f.included_from);
        let mut depth = 0;
        while let Some(site) = from {
            out.push_str(&format!(
                "{} = note: included from {}\n",
                " ".repeat(gutter_width),
                map.describe(site)
            ));
            from = map.file(site.file).and_then(|f| f.included_from);
            depth += 1;
            if depth > 64 {
                break;
            }
        }
    } else {
        gutter_width = 0;
    }
    if let Some(help) = &diagnostic.help {
        out.push_str(&format!("{} = help: {}\n", " ".repeat(gutter_width), help));
    }
    out
}

/// The caret width of a diagnostic: its own, or for width 0 the length of
/// the word at its location in the source (at least 1).
pub fn caret_width(map: &SourceMap, diagnostic: &Diagnostic) -> u32 {
    if diagnostic.width > 0 {
        return diagnostic.width;
    }
    let Some(location) = diagnostic.location else {
        return 1;
    };
    let word = map.line_text(location).map_or(0, |line| {
        line.chars()
            .skip(location.column.saturating_sub(1) as usize)
            .take_while(|c| !c.is_whitespace() && *c != '{' && *c != '}')
            .count()
    });
    u32::try_from(word.max(1)).unwrap_or(1)
}

/// Renders every diagnostic followed by a one-line summary.
pub fn render_all_text(map: &SourceMap, diagnostics: &Diagnostics) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&render_text(map, diagnostic));
        out.push('\n');
    }
    out
}

/// The JSON form of a diagnostic (`lvstop check --format json`).
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub width: u32,
    pub source_line: Option<String>,
    pub help: Option<String>,
}

impl JsonDiagnostic {
    pub fn from_diagnostic(map: &SourceMap, diagnostic: &Diagnostic) -> Self {
        let location = diagnostic.location;
        Self {
            severity: diagnostic.severity,
            code: diagnostic.code,
            message: diagnostic.message.clone(),
            file: location
                .and_then(|l| map.path(l.file))
                .map(|p| p.display().to_string()),
            line: location.map(|l| l.line),
            column: location.map(|l| l.column),
            width: caret_width(map, diagnostic),
            source_line: location.and_then(|l| map.line_text(l)).map(str::to_string),
            help: diagnostic.help.clone(),
        }
    }
}
