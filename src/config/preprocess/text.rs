//! Raw-text helpers for the preprocessor: finding comments and trailing
//! backslashes while respecting quotes, recognising the first word of a line,
//! and cutting [`SourceLine`]s into pieces without losing where each byte
//! came from.
//!
//! This module never interprets keywords, parameters or generators; it only
//! knows keepalived's lexical rules for quotes and comments (the same ones
//! the lexer applies later).

use crate::config::source::Location;
use crate::config::token::{Segment, Segments, SourceLine};

/// What a quote-aware scan of a line found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Byte offset where a `!` or `#` comment starts, or the line length.
    pub comment: usize,
    /// Whether the text before `comment` ends inside an unterminated quote.
    pub open_quote: bool,
}

/// Finds the comment start of `text` the way the lexer does: `!` and `#`
/// start a comment anywhere outside `"`/`'` quotes; inside quotes a
/// backslash escapes the next character.
pub fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'!' | b'#' => {
                    return Scan {
                        comment: i,
                        open_quote: false,
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    Scan {
        comment: text.len(),
        open_quote: quote.is_some(),
    }
}

/// The text of a line without its comment.
pub fn without_comment(text: &str) -> &str {
    text.get(..scan(text).comment).unwrap_or(text)
}

/// When the line (comment removed) ends with a `\` outside quotes, the byte
/// offset of that backslash.
pub fn trailing_backslash(text: &str) -> Option<usize> {
    let found = scan(text);
    if found.open_quote {
        return None;
    }
    let body = text.get(..found.comment)?.trim_end();
    if body.ends_with('\\') {
        Some(body.len() - 1)
    } else {
        None
    }
}

/// Whether the line holds nothing but whitespace and maybe a comment.
pub fn is_blank_or_comment(text: &str) -> bool {
    match text.as_bytes().get(indent(text)) {
        None => true,
        Some(b) => *b == b'!' || *b == b'#',
    }
}

/// Offset of the first non-whitespace byte (the length when there is none).
/// Whitespace is ASCII whitespace, as keepalived's `isspace()` in the C
/// locale; this runs on every line, so it works on bytes.
pub fn indent(text: &str) -> usize {
    text.bytes()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len())
}

/// The first whitespace-separated word and the offset where it starts.
pub fn first_word(text: &str) -> (usize, &str) {
    let start = indent(text);
    let rest = text.get(start..).unwrap_or("");
    let end = rest
        .bytes()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    (start, rest.get(..end).unwrap_or(""))
}

/// Whether `name` is a valid parameter name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_param_name(name: &str) -> bool {
    let mut chars = name.bytes();
    match chars.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    chars.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Length of the parameter name at the start of `text` (0 when none).
pub fn param_name_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {}
        _ => return 0,
    }
    bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .unwrap_or(bytes.len())
}

/// Appends to `out` the segments that describe `src.text[start..end]` once
/// it is placed at `out_offset` in another line.
pub fn copy_segments(
    src: &SourceLine,
    start: usize,
    end: usize,
    out_offset: usize,
    out: &mut Segments,
) {
    if start >= end {
        return;
    }
    let first = src
        .segments
        .partition_point(|s| s.offset <= start)
        .saturating_sub(1);
    let expanded = src.segments.get(first).is_some_and(|s| s.expanded);
    out.push(Segment {
        offset: out_offset,
        origin: src.location_of(start),
        expanded,
    });
    for segment in src.segments.iter().skip(first + 1) {
        if segment.offset >= end {
            break;
        }
        if segment.offset > start {
            out.push(Segment {
                offset: segment.offset - start + out_offset,
                ..*segment
            });
        }
    }
}

/// The part `start..end` of a line, keeping every byte's origin.
pub fn sub_line(src: &SourceLine, start: usize, end: usize) -> SourceLine {
    let end = end.min(src.text.len());
    let start = start.min(end);
    let text = src.text.get(start..end).unwrap_or("").to_string();
    let mut segments = Segments::new();
    copy_segments(src, start, end, 0, &mut segments);
    if segments.is_empty() {
        segments.push(Segment {
            offset: 0,
            origin: src.location_of(start),
            expanded: false,
        });
    }
    SourceLine { text, segments }
}

/// Appends `text`, which starts at `origin` in the source, to `line`.
pub fn append_verbatim(line: &mut SourceLine, text: &str, origin: Location) {
    if text.is_empty() {
        return;
    }
    let segment = Segment {
        offset: line.text.len(),
        origin,
        expanded: false,
    };
    // A run that ended up empty (a line that was only a backslash) is replaced,
    // keeping offsets strictly increasing.
    match line.segments.last_mut() {
        Some(last) if last.offset == segment.offset => *last = segment,
        _ => line.segments.push(segment),
    }
    line.text.push_str(text);
}

/// Splits a line at every `\n` (text produced by a multiline parameter).
pub fn split_lines(line: &SourceLine) -> Vec<SourceLine> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in line.text.bytes().enumerate() {
        if b == b'\n' {
            out.push(sub_line(line, start, i));
            start = i + 1;
        }
    }
    out.push(sub_line(line, start, line.text.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::FileId;

    #[test]
    fn comments_inside_quotes_are_text() {
        assert_eq!(scan("a \"b # c\" # d").comment, 10);
        assert_eq!(scan("a 'b ! c' ! d").comment, 10);
        assert_eq!(scan("a \"x\\\"#\" b").comment, 10);
        assert!(scan("a \"open").open_quote);
    }

    #[test]
    fn trailing_backslash_ignores_comments_and_quotes() {
        assert_eq!(trailing_backslash("foo \\ ! note"), Some(4));
        assert_eq!(trailing_backslash("foo \"bar \\"), None);
        assert_eq!(trailing_backslash("foo \\x"), None);
    }

    #[test]
    fn sub_line_keeps_columns() {
        let line = SourceLine::verbatim("abc def", FileId(2), 7);
        let part = sub_line(&line, 4, 7);
        assert_eq!(part.text, "def");
        assert_eq!(part.start(), Location::new(FileId(2), 7, 5));
    }

    #[test]
    fn split_lines_keeps_each_piece_located() {
        let mut line = SourceLine::verbatim("a\nb", FileId(0), 1);
        append_verbatim(&mut line, " c", Location::new(FileId(0), 2, 3));
        let parts = split_lines(&line);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].text, "b c");
        assert_eq!(parts[1].start(), Location::new(FileId(0), 1, 3));
        assert_eq!(parts[1].location_of(1), Location::new(FileId(0), 2, 3));
    }
}
