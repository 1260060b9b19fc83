//! Splits a preprocessed line into tokens with keepalived's rules.
//!
//! keepalived.conf(5), "Quoted strings": `"` and `'` quote runs of text inside
//! a word (`abcd" efg"h` is one word `abcd efgh`), the quotes are removed, and
//! quoted text may hold shell-like escapes (`\n`, `\t`, `\x41`, `\101`, `\cC`,
//! `\C`). Comments start with `!` or `#` anywhere outside quotes. `{` and `}`
//! delimit blocks; a brace glued to a word (`VI_1{`) still opens a block, but
//! braces inside a word (`a{2}`, an undefined `${NAME}`) stay part of it.
//!
//! This module never reads files and never reports anything but lexical
//! problems (an unterminated quote).

use compact_str::CompactString;

use super::diagnostic::{Diagnostic, Diagnostics};
use super::token::{SourceLine, Token};

/// Appends the tokens of `line` to `out`.
pub fn tokenize(line: &SourceLine, out: &mut Vec<Token>, diagnostics: &mut Diagnostics) {
    let text = line.text.as_str();
    let bytes = text.as_bytes();
    let columns = Columns::of(line);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if is_comment(line, columns, i) {
            return;
        }
        if b == b'{' || b == b'}' {
            out.push(make_token(line, columns, b_str(b), i, i + 1, false));
            i += 1;
            continue;
        }
        // Fast path: a plain word (no quotes, braces or escapes) is a slice.
        let end = i + bytes[i..]
            .iter()
            .position(|&c| {
                c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'{' | b'}' | b'!' | b'#')
            })
            .unwrap_or(bytes.len() - i);
        let stop = bytes.get(end).copied();
        let ends_plainly = match stop {
            None => true,
            Some(b'!' | b'#') => is_comment(line, columns, end),
            Some(c) => c.is_ascii_whitespace() || c == b'}',
        };
        if ends_plainly {
            out.push(make_token(
                line,
                columns,
                text.get(i..end).unwrap_or(""),
                i,
                end,
                false,
            ));
            i = end;
            continue;
        }
        i = read_word(line, columns, i, out, diagnostics);
    }
}

/// Whether the byte at `offset` starts a comment: an unquoted `!` or `#`
/// written in the source (not produced by `${_HASH}` / `${_BANG}`).
fn is_comment(line: &SourceLine, columns: Columns, offset: usize) -> bool {
    matches!(line.text.as_bytes().get(offset), Some(b'!' | b'#'))
        && (matches!(columns, Columns::Direct(_)) || !line.is_expanded(offset))
}

fn b_str(b: u8) -> &'static str {
    if b == b'{' {
        "{"
    } else {
        "}"
    }
}

/// How to turn byte offsets into columns for one line: directly when the
/// line is a single verbatim ASCII run (the common case), else through the
/// line's segments.
#[derive(Debug, Clone, Copy)]
enum Columns {
    Direct(crate::config::source::Location),
    Segments,
}

impl Columns {
    fn of(line: &SourceLine) -> Self {
        match line.segments.as_slice() {
            [only] if !only.expanded && line.text.is_ascii() => Columns::Direct(only.origin),
            _ => Columns::Segments,
        }
    }

    fn at(self, line: &SourceLine, offset: usize) -> crate::config::source::Location {
        match self {
            Columns::Direct(origin) => {
                let mut at = origin;
                at.column = at
                    .column
                    .saturating_add(u32::try_from(offset).unwrap_or(u32::MAX));
                at
            }
            Columns::Segments => line.location_of(offset),
        }
    }
}

/// Reads one word starting at `start`; returns the offset after it. May push
/// a trailing brace token as well (`VI_1{`).
fn read_word(
    line: &SourceLine,
    columns: Columns,
    start: usize,
    out: &mut Vec<Token>,
    diagnostics: &mut Diagnostics,
) -> usize {
    let text = line.text.as_str();
    let bytes = text.as_bytes();
    let mut value = String::new();
    let mut quoted = false;
    let mut inner_braces = 0usize;
    let mut i = start;
    let mut trailing_brace: Option<usize> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() || is_comment(line, columns, i) {
            break;
        }
        match b {
            b'"' | b'\'' => {
                quoted = true;
                i = read_quoted(line, i, &mut value, diagnostics);
            }
            b'{' => {
                let next = bytes.get(i + 1).copied();
                let ends_word = next.is_none_or(|n| n.is_ascii_whitespace())
                    || is_comment(line, columns, i + 1);
                if ends_word {
                    trailing_brace = Some(i);
                    i += 1;
                    break;
                }
                inner_braces += 1;
                value.push('{');
                i += 1;
            }
            b'}' => {
                if inner_braces == 0 {
                    break;
                }
                inner_braces -= 1;
                value.push('}');
                i += 1;
            }
            _ => {
                // Copy one whole UTF-8 character.
                let ch_len = utf8_len(b);
                let end = (i + ch_len).min(bytes.len());
                value.push_str(text.get(i..end).unwrap_or(""));
                i = end;
            }
        }
    }
    let end = trailing_brace.unwrap_or(i);
    let mut token = make_token(line, columns, "", start, end, quoted);
    token.text = value.into();
    out.push(token);
    if let Some(at) = trailing_brace {
        out.push(make_token(line, columns, "{", at, at + 1, false));
    }
    i
}

/// Reads a quoted run starting at the quote character at `start`, appending
/// its unescaped contents to `value`. Returns the offset after the closing
/// quote (or the end of the line when the quote is not closed).
fn read_quoted(
    line: &SourceLine,
    start: usize,
    value: &mut String,
    diagnostics: &mut Diagnostics,
) -> usize {
    let text = line.text.as_str();
    let bytes = text.as_bytes();
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if b == quote {
            return i + 1;
        }
        if b == b'\\' && i + 1 < bytes.len() {
            i = read_escape(text, i + 1, value);
            continue;
        }
        let ch_len = utf8_len(b);
        let end = (i + ch_len).min(bytes.len());
        value.push_str(text.get(i..end).unwrap_or(""));
        i = end;
    }
    diagnostics.push(
        Diagnostic::warning(
            "unterminated-quote",
            format!(
                "unterminated {} quote: the string runs to the end of the line",
                quote as char
            ),
        )
        .spanning(line.location_of(start), 1)
        .with_help(format!("add the closing {}", quote as char)),
    );
    i
}

/// Resolves one escape whose character is at `at` (just after the `\`).
fn read_escape(text: &str, at: usize, value: &mut String) -> usize {
    let bytes = text.as_bytes();
    let b = bytes[at];
    let simple = match b {
        b'a' => Some('\x07'),
        b'b' => Some('\x08'),
        b'E' => Some('\x1b'),
        b'f' => Some('\x0c'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        b'v' => Some('\x0b'),
        _ => None,
    };
    if let Some(c) = simple {
        value.push(c);
        return at + 1;
    }
    match b {
        b'0'..=b'7' => {
            let mut n: u32 = 0;
            let mut i = at;
            while i < bytes.len() && i < at + 3 && (b'0'..=b'7').contains(&bytes[i]) {
                n = n * 8 + u32::from(bytes[i] - b'0');
                i += 1;
            }
            value.push(char::from_u32(n & 0xff).unwrap_or('\u{fffd}'));
            i
        }
        b'x' => {
            let mut n: u32 = 0;
            let mut i = at + 1;
            while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                n = (n << 4 | u32::from(hex_value(bytes[i]))) & 0xff;
                i += 1;
            }
            if i == at + 1 {
                value.push('x');
            } else {
                value.push(char::from_u32(n).unwrap_or('\u{fffd}'));
            }
            i
        }
        b'c' if at + 1 < bytes.len() && bytes[at + 1].is_ascii() => {
            value.push(char::from(bytes[at + 1].to_ascii_uppercase() ^ 0x40));
            at + 2
        }
        _ => {
            let ch_len = utf8_len(b);
            let end = (at + ch_len).min(bytes.len());
            value.push_str(text.get(at..end).unwrap_or(""));
            end
        }
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

fn make_token(
    line: &SourceLine,
    columns: Columns,
    text: &str,
    start: usize,
    end: usize,
    quoted: bool,
) -> Token {
    let at = columns.at(line, start);
    let end_at = columns.at(line, end);
    let width = if end_at.line == at.line && end_at.file == at.file && end_at.column > at.column {
        end_at.column - at.column
    } else {
        u32::try_from(line.text.get(start..end).map_or(1, |s| s.chars().count()))
            .unwrap_or(1)
            .max(1)
    };
    Token {
        text: CompactString::from(text),
        at,
        width,
        quoted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::FileId;

    fn words(text: &str) -> Vec<String> {
        let line = SourceLine::verbatim(text, FileId(0), 1);
        let mut out = Vec::new();
        let mut diagnostics = Diagnostics::new();
        tokenize(&line, &mut out, &mut diagnostics);
        out.into_iter().map(|t| t.text.to_string()).collect()
    }

    #[test]
    fn splits_on_whitespace_and_drops_comments() {
        assert_eq!(words("  priority 100 # master"), ["priority", "100"]);
        assert_eq!(words("weight 3!comment"), ["weight", "3"]);
        assert_eq!(words("! whole line"), Vec::<String>::new());
    }

    #[test]
    fn quotes_join_runs_inside_a_word() {
        assert_eq!(words(r#"abcd" efg h jkl "mnop"#), ["abcd efg h jkl mnop"]);
        assert_eq!(
            words(r#"abcd "efg h jkl" mnop"#),
            ["abcd", "efg h jkl", "mnop"]
        );
        assert_eq!(
            words(r#"misc_path "/bin/x 'a b'""#),
            ["misc_path", "/bin/x 'a b'"]
        );
        assert_eq!(words(r#"pass "a#b!c""#), ["pass", "a#b!c"]);
    }

    #[test]
    fn quoted_escapes_follow_the_shell() {
        assert_eq!(words(r#""a\tb\x41\101\"q\\""#), ["a\tbAA\"q\\"]);
        assert_eq!(words(r#""\cA""#), ["\x01"]);
    }

    #[test]
    fn braces_are_tokens_even_when_glued() {
        assert_eq!(words("vrrp_instance VI_1{"), ["vrrp_instance", "VI_1", "{"]);
        assert_eq!(
            words("virtual_ipaddress { 10.0.0.1 }"),
            ["virtual_ipaddress", "{", "10.0.0.1", "}"]
        );
        assert_eq!(words("}}"), ["}", "}"]);
        assert_eq!(words("regex a{2}b"), ["regex", "a{2}b"]);
        assert_eq!(words("path /x/${UNDEF}/y"), ["path", "/x/${UNDEF}/y"]);
    }

    #[test]
    fn tokens_know_their_columns() {
        let line = SourceLine::verbatim("  weight  3", FileId(0), 7);
        let mut out = Vec::new();
        tokenize(&line, &mut out, &mut Diagnostics::new());
        assert_eq!((out[0].at.line, out[0].at.column, out[0].width), (7, 3, 6));
        assert_eq!((out[1].at.column, out[1].width), (11, 1));
    }

    #[test]
    fn hash_and_bang_from_expansion_are_text_not_comments() {
        let mut diagnostics = Diagnostics::new();
        let loaded = crate::config::preprocess::load_str(
            std::path::Path::new("x.conf"),
            "auth_pass a${_HASH}b${_BANG}c # real comment\n",
            &crate::config::preprocess::LoadOptions::with_config_id("x"),
            &mut diagnostics,
        );
        let mut out = Vec::new();
        for line in &loaded.lines {
            tokenize(line, &mut out, &mut diagnostics);
        }
        let texts: Vec<&str> = out.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["auth_pass", "a#b!c"]);
    }

    #[test]
    fn unterminated_quote_is_reported() {
        let line = SourceLine::verbatim("misc_path \"/bin/true", FileId(0), 1);
        let mut out = Vec::new();
        let mut diagnostics = Diagnostics::new();
        tokenize(&line, &mut out, &mut diagnostics);
        assert_eq!(out[1].text, "/bin/true");
        assert_eq!(diagnostics.len(), 1);
    }
}
