//! Rendering the model back to canonical keepalived syntax
//! (`lvstop check --dump`). Parsing the output gives the same model.
//!
//! Canonical means: modern keyword names, one statement per line, four-space
//! indentation, values quoted only when they must be. This module never
//! changes what the configuration means.

mod global;
mod lvs;
mod vrrp;

use std::borrow::Cow;

use crate::config::model::{Config, RawSetting, Script};
use crate::config::preprocess::include;

/// Renders a whole configuration.
pub fn render(config: &Config) -> String {
    let mut writer = Writer::default();
    global::render(&mut writer, &config.global);
    vrrp::render(&mut writer, &config.vrrp);
    lvs::render(&mut writer, &config.lvs);
    for setting in &config.other {
        writer.raw(setting);
    }
    writer.finish()
}

/// Builds indented keepalived text.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    /// One statement: words joined by spaces, each quoted if needed.
    pub fn line<S: AsRef<str>>(&mut self, words: &[S]) {
        self.indent();
        self.words(words);
        self.out.push('\n');
    }

    /// A statement that opens a block.
    pub fn open<S: AsRef<str>>(&mut self, words: &[S]) {
        self.indent();
        self.words(words);
        if !words.is_empty() {
            self.out.push(' ');
        }
        self.out.push_str("{\n");
        self.depth += 1;
    }

    /// Closes the innermost block.
    pub fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("}\n");
    }

    /// An empty line between top-level blocks.
    pub fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// A kept-but-not-acted-on setting, with its block.
    pub fn raw(&mut self, setting: &RawSetting) {
        let mut words: Vec<&str> = vec![setting.keyword.value.as_str()];
        words.extend(setting.args.iter().map(String::as_str));
        match &setting.block {
            Some(children) => {
                self.open(&words);
                for child in children {
                    self.raw(child);
                }
                self.close();
            }
            None => self.line(&words),
        }
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
    }

    fn words<S: AsRef<str>>(&mut self, words: &[S]) {
        for (i, word) in words.iter().enumerate() {
            let word = word.as_ref();
            if i > 0 {
                self.out.push(' ');
            }
            // A bare `include…` word opening a line is a preprocessor
            // directive; a name that happens to be one (a sync group
            // member called `includew`) is written quoted.
            if i == 0 && include::include_line(word).is_some() {
                self.out.push_str(&format!("\"{word}\""));
            } else {
                self.out.push_str(&quote(word));
            }
        }
    }
}

/// A script's command line as one word: keepalived splits it again on
/// unquoted spaces, so words holding spaces or quotes are quoted with the
/// other quote character.
pub fn script_command(script: &Script) -> String {
    script
        .argv
        .iter()
        .map(|word| {
            let needs_quotes = word.is_empty()
                || word.contains(char::is_whitespace)
                || word.contains('"')
                || word.contains('\'');
            if !needs_quotes {
                word.clone()
            } else if word.contains('\'') {
                format!("\"{word}\"")
            } else {
                format!("'{word}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `keyword "cmd args" [user [group]]`.
pub fn script_line(writer: &mut Writer, keyword: &str, script: &Script) {
    let mut words = vec![keyword.to_string(), script_command(script)];
    words.extend(script.user.clone());
    words.extend(script.group.clone());
    writer.line(&words);
}

/// Quotes a word when the lexer would otherwise split or alter it.
pub fn quote(word: &str) -> Cow<'_, str> {
    let plain = !word.is_empty()
        && !word.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '"' | '\'' | '!' | '#' | '{' | '}' | '\\' | '$' | '~' | '@'
                )
        });
    if plain {
        return Cow::Borrowed(word);
    }
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('"');
    for c in word.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            // Three-digit octal: `\x` would swallow a following hex digit.
            c if c.is_control() && u32::from(c) < 0x100 => {
                quoted.push_str(&format!("\\{:03o}", u32::from(c)))
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    Cow::Owned(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("p#ss"), "\"p#ss\"");
        assert_eq!(quote("\u{0}c"), "\"\\000c\"");
    }

    /// Found by fuzzing: a sync group member named like an include
    /// directive, rendered alone on its line, was read back as a directive.
    #[test]
    fn names_that_look_like_include_directives_round_trip() {
        use crate::config::load::{load_str, Options};
        let text = "vrrp_sync_group G {\n    group {\n        VI_1 includew includea\n    }\n}\n";
        let first = load_str(std::path::Path::new("a.conf"), text, &Options::default());
        assert_eq!(first.config.vrrp.sync_groups[0].members.len(), 3);
        let dumped = render(&first.config);
        let second = load_str(std::path::Path::new("b.conf"), &dumped, &Options::default());
        assert_eq!(first.config, second.config, "{dumped}");
    }

    #[test]
    fn control_characters_survive_a_dump_round_trip() {
        use crate::config::load::{load_str, Options};
        let text = "global_defs {\n    router_id \"a\\x00c\\tb\\001\"\n}\n";
        let first = load_str(std::path::Path::new("a.conf"), text, &Options::default());
        let dumped = render(&first.config);
        let second = load_str(std::path::Path::new("b.conf"), &dumped, &Options::default());
        assert_eq!(first.config, second.config, "{dumped}");
    }

    #[test]
    fn script_words_with_quotes_and_spaces_round_trip() {
        use crate::config::load::{load_str, Options};
        let text = "vrrp_script chk {\n    script \"/bin/echo \\\"it's ok\\\" 'a b' plain\"\n}\n";
        let first = load_str(std::path::Path::new("a.conf"), text, &Options::default());
        let argv = &first.config.vrrp.scripts[0]
            .script
            .as_ref()
            .map(|s| s.argv.clone());
        assert_eq!(
            argv.as_deref(),
            Some(
                &[
                    "/bin/echo".to_string(),
                    "it's ok".into(),
                    "a b".into(),
                    "plain".into()
                ][..]
            )
        );
        let dumped = render(&first.config);
        let second = load_str(std::path::Path::new("b.conf"), &dumped, &Options::default());
        assert_eq!(first.config, second.config, "{dumped}");
    }
}
