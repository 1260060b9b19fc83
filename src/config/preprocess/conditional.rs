//! `@id` / `@^id` conditional lines (keepalived.conf(5), "Conditional
//! configuration and configuration id"): decides whether a line is kept
//! for the current configuration id and where its body starts.
//!
//! This module only looks at the line's first word; it never changes text.

use super::text::indent;

/// The outcome of an `@id` prefix.
pub enum Cond {
    Plain,
    Rejected,
    /// Kept; the body starts at this offset.
    Kept(usize),
}

pub fn conditional(text: &str, config_id: &str) -> Cond {
    let start = indent(text);
    let Some(rest) = text.get(start..).and_then(|r| r.strip_prefix('@')) else {
        return Cond::Plain;
    };
    let word_len = rest
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let word = rest.get(..word_len).unwrap_or("");
    let (negated, id) = match word.strip_prefix('^') {
        Some(id) => (true, id),
        None => (false, word),
    };
    if (id == config_id) == negated {
        return Cond::Rejected;
    }
    let after = start + 1 + word_len;
    let body = after + indent(text.get(after..).unwrap_or(""));
    if body >= text.len() {
        Cond::Rejected
    } else {
        Cond::Kept(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body<'t>(text: &'t str, id: &str) -> Option<&'t str> {
        match conditional(text, id) {
            Cond::Plain => Some("plain"),
            Cond::Rejected => None,
            Cond::Kept(at) => Some(&text[at..]),
        }
    }

    #[test]
    fn matches_the_word_right_after_the_at_sign() {
        assert_eq!(body("  @main  priority 1", "main"), Some("priority 1"));
        assert_eq!(body("@main priority 1", "backup"), None);
        assert_eq!(body("@^main x", "backup"), Some("x"));
        assert_eq!(body("@^main x", "main"), None);
        assert_eq!(body("@main", "main"), None);
        assert_eq!(body("@main$P=1", "main"), None);
        assert_eq!(body("x @main", "main"), Some("plain"));
    }
}
