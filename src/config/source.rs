//! Source files and positions.
//!
//! Owns the text of every file a configuration was read from (the main file and
//! everything it includes) and the `Location` type that ties each token,
//! model element and diagnostic back to a file, line and column. It never
//! reads files itself: the preprocessor does the I/O and registers the text.

use std::fmt;
use std::path::{Path, PathBuf};

/// Index of a file inside a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A position in a source file: 1-based line and column (columns count
/// characters, not bytes, so carets line up under UTF-8 text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Location {
    pub file: FileId,
    pub line: u32,
    pub column: u32,
}

impl Location {
    pub fn new(file: FileId, line: u32, column: u32) -> Self {
        Self { file, line, column }
    }
}

/// One file's text and how it was reached.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Where the `include` that pulled this file in stands; `None` for the
    /// main file.
    pub included_from: Option<Location>,
}

/// Every file read for one configuration load.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a file's text and returns its id.
    pub fn add(&mut self, path: PathBuf, text: String, included_from: Option<Location>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile {
            path,
            text,
            included_from,
        });
        id
    }

    pub fn file(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    pub fn path(&self, id: FileId) -> Option<&Path> {
        self.file(id).map(|f| f.path.as_path())
    }

    /// The text of the line a location points into, without its newline.
    pub fn line_text(&self, location: Location) -> Option<&str> {
        let file = self.file(location.file)?;
        let index = usize::try_from(location.line.checked_sub(1)?).ok()?;
        file.text.lines().nth(index)
    }

    /// `path:line:col` for messages.
    pub fn describe(&self, location: Location) -> DisplayLocation<'_> {
        DisplayLocation {
            map: self,
            location,
        }
    }
}

/// Formats a location as `path:line:col`.
#[derive(Debug)]
pub struct DisplayLocation<'a> {
    map: &'a SourceMap,
    location: Location,
}

impl fmt::Display for DisplayLocation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self
            .map
            .path(self.location.file)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<unknown>".to_string());
        write!(
            f,
            "{}:{}:{}",
            path, self.location.line, self.location.column
        )
    }
}

/// A value together with where it was written. Equality and hashing look at
/// the value only, so two models read from differently laid out files compare
/// equal when they say the same thing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spanned<T> {
    pub value: T,
    pub at: Location,
}

impl<T> Spanned<T> {
    pub fn new(value: T, at: Location) -> Self {
        Self { value, at }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl<T: std::hash::Hash> std::hash::Hash for Spanned<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}
