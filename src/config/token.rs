//! Tokens and preprocessed lines: the interface between the preprocessor
//! (which reads files and expands includes, conditionals, parameters and
//! sequences) and the lexer/tree builder.
//!
//! A [`SourceLine`] is one logical line of configuration text after
//! preprocessing, with enough bookkeeping to map every byte back to the file,
//! line and column it came from. Lines that needed no expansion carry a single
//! segment, so the common case costs nothing extra.

use compact_str::CompactString;

use super::source::{FileId, Location};

/// A word of configuration: a keyword, a value, or a `{` / `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The text with quotes removed and escapes resolved. Short words (the
    /// vast majority) are stored inline, without a heap allocation.
    pub text: CompactString,
    /// Where the token starts in the source.
    pub at: Location,
    /// How many source characters the token covers (for caret underlines).
    pub width: u32,
    /// Whether any part of the token was quoted; a quoted `{` is a value, not
    /// a block opener.
    pub quoted: bool,
}

impl Token {
    pub fn is_open_brace(&self) -> bool {
        !self.quoted && self.text == "{"
    }

    pub fn is_close_brace(&self) -> bool {
        !self.quoted && self.text == "}"
    }
}

/// Where a run of bytes in a [`SourceLine`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Byte offset in `SourceLine::text` where this run starts.
    pub offset: usize,
    /// Source position of the run's first character.
    pub origin: Location,
    /// `true` when the run was produced by expansion (`$NAME`, `~SEQ`): every
    /// byte in it maps to `origin` rather than to successive columns.
    pub expanded: bool,
}

/// The segments of a line; the common single-segment case needs no heap
/// allocation.
pub type Segments = smallvec::SmallVec<[Segment; 1]>;

/// One logical line after preprocessing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    pub text: String,
    /// Non-empty, sorted by `offset`, first offset 0.
    pub segments: Segments,
}

impl SourceLine {
    /// A line taken verbatim from `file` at `line`, starting at column 1.
    pub fn verbatim(text: impl Into<String>, file: FileId, line: u32) -> Self {
        Self::verbatim_at(text, Location::new(file, line, 1))
    }

    /// A line taken verbatim starting at `origin` (used when a prefix such as
    /// `@id ` has been stripped).
    pub fn verbatim_at(text: impl Into<String>, origin: Location) -> Self {
        Self {
            text: text.into(),
            segments: smallvec::smallvec![Segment {
                offset: 0,
                origin,
                expanded: false,
            }],
        }
    }

    /// The source location of the byte at `offset`.
    pub fn location_of(&self, offset: usize) -> Location {
        let index = self
            .segments
            .partition_point(|s| s.offset <= offset)
            .saturating_sub(1);
        let Some(segment) = self.segments.get(index) else {
            return Location::default();
        };
        if segment.expanded {
            return segment.origin;
        }
        let start = segment.offset.min(self.text.len());
        let end = offset.min(self.text.len());
        let chars = self
            .text
            .get(start..end)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        let mut at = segment.origin;
        at.column = at
            .column
            .saturating_add(u32::try_from(chars).unwrap_or(u32::MAX));
        at
    }

    /// Whether the byte at `offset` was produced by expansion. A `#` or `!`
    /// produced by `${_HASH}` / `${_BANG}` is text, not a comment.
    pub fn is_expanded(&self, offset: usize) -> bool {
        let index = self
            .segments
            .partition_point(|s| s.offset <= offset)
            .saturating_sub(1);
        self.segments.get(index).is_some_and(|s| s.expanded)
    }

    /// Location of the first byte.
    pub fn start(&self) -> Location {
        self.location_of(0)
    }
}
