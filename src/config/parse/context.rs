//! The parser's working state: diagnostics, options, and the helpers every
//! block parser uses to resolve keywords and read values.

use std::collections::HashSet;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use super::keywords::{self, Keyword, KeywordKind};
use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::model::{RawSetting, Script, Text, Timer};
use crate::config::source::Spanned;
use crate::config::token::Token;
use crate::config::tree::Node;

/// Diagnostic code of "parsed, not acted on" warnings.
pub const NOT_ACTED_ON: &str = "not-acted-on";
/// Diagnostic code of keywords whose configuration lvstop refuses.
pub const REFUSED: &str = "not-supported";

/// Options that change how keywords are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Map keywords the way operators usually meant them where keepalived
    /// ignores them (`nb_get_retry` in `TCP_CHECK` → `retry`).
    pub compat: bool,
}

/// Parser state shared by all block parsers.
#[derive(Debug)]
pub struct Parser<'d> {
    pub diagnostics: &'d mut Diagnostics,
    pub options: ParseOptions,
    /// Keywords already reported as "parsed, not acted on" (each is reported
    /// once per load).
    reported_unacted: HashSet<String>,
    /// Alias spellings already noted.
    reported_aliases: HashSet<String>,
    /// The preference the next rule without one gets.
    next_rule_preference: u32,
}

/// keepalived 2.2.7 gives a rule without a preference 16384, the next one
/// 16383, and so on in file order, static and virtual rules alike
/// (measured: "Rule has no preference specified - setting to 16384").
const FIRST_DEFAULT_RULE_PREFERENCE: u32 = 16384;

impl<'d> Parser<'d> {
    pub fn new(diagnostics: &'d mut Diagnostics, options: ParseOptions) -> Self {
        Self {
            diagnostics,
            options,
            reported_unacted: HashSet::new(),
            reported_aliases: HashSet::new(),
            next_rule_preference: FIRST_DEFAULT_RULE_PREFERENCE,
        }
    }

    /// The preference keepalived gives the next rule written without one.
    pub fn default_rule_preference(&mut self) -> u32 {
        let preference = self.next_rule_preference;
        self.next_rule_preference = preference.saturating_sub(1);
        preference
    }

    pub fn error(&mut self, at: &Token, code: &'static str, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::error(code, message).on(at));
    }

    pub fn warning(&mut self, at: &Token, code: &'static str, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::warning(code, message).on(at));
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Resolves a statement's keyword against `table` and returns the
    /// canonical name. Aliases map silently; deprecated spellings map with a
    /// warning; obsolete keywords warn and return `None`; unknown keywords
    /// warn (with a suggestion when one is close) and return `None`.
    /// `Unacted` keywords are returned too (the caller keeps them) after a
    /// "parsed, not acted on" warning; `Refused` ones after an error.
    pub fn keyword(&mut self, node: &Node, table: &[Keyword], block: &str) -> Option<&'static str> {
        let name = node.name();
        let Some(found) = keywords::lookup(table, name) else {
            self.unknown(node, table, block);
            return None;
        };
        let canonical = match found.kind {
            KeywordKind::Acted | KeywordKind::Unacted(_) | KeywordKind::Refused(_) => found.name,
            KeywordKind::Alias(of) => {
                self.note_alias(node, found.name, of);
                of
            }
            KeywordKind::Deprecated(modern) => {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "deprecated-keyword",
                        format!(
                            "'{}' is deprecated; the modern form is '{modern}'",
                            found.name
                        ),
                    )
                    .on(&node.keyword)
                    .with_help(format!("write '{modern}' instead")),
                );
                modern
            }
            KeywordKind::Obsolete(why) => {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "obsolete-keyword",
                        format!("'{}' is ignored: {why}", found.name),
                    )
                    .on(&node.keyword),
                );
                return None;
            }
        };
        // An alias or old spelling is treated as the keyword it names.
        let kind = match found.kind {
            KeywordKind::Alias(_) | KeywordKind::Deprecated(_) => {
                keywords::lookup(table, canonical).map_or(KeywordKind::Acted, |k| k.kind)
            }
            kind => kind,
        };
        crate::config::verdict::missing::check_unparsed(node, kind, self.diagnostics);
        if crate::config::verdict::missing::unknown_to_keepalived(table, node.name()) {
            self.diagnostics.push(
                Diagnostic::warning(
                    crate::config::verdict::missing::UNKNOWN_TO_KEEPALIVED,
                    format!(
                        "keepalived 2.2.7 as Debian builds it does not know '{}' here (it reports an unknown keyword)",
                        node.name()
                    ),
                )
                .on(&node.keyword),
            );
        }
        match kind {
            KeywordKind::Unacted(instead) => self.warn_unacted(node, instead),
            KeywordKind::Refused(why) => self.refuse(node, why),
            _ => {}
        }
        Some(canonical)
    }

    /// Warns about an unknown keyword, suggesting a close one.
    pub fn unknown(&mut self, node: &Node, table: &[Keyword], block: &str) {
        let name = node.name();
        let mut diagnostic = Diagnostic::warning(
            "unknown-keyword",
            format!("unknown keyword '{name}' in {block}; it is ignored"),
        )
        .on(&node.keyword);
        if let Some(close) = keywords::suggest(table, name) {
            diagnostic = diagnostic.with_help(format!("did you mean '{close}'?"));
        }
        self.diagnostics.push(diagnostic);
    }

    /// Keeps a recognised keyword that lvstop does not act on (the warning
    /// was given when the keyword was resolved).
    pub fn keep(&mut self, node: &Node, into: &mut Vec<RawSetting>) {
        into.push(raw_setting(node));
    }

    /// Notes (once per spelling) that an alias was read as its modern name.
    /// A note, not a warning: keepalived accepts these silently, and
    /// `lvstop check` keeps keepalived's exit codes.
    fn note_alias(&mut self, node: &Node, alias: &str, modern: &str) {
        if self.reported_aliases.insert(alias.to_string()) {
            self.diagnostics.push(
                Diagnostic::note(
                    "alias-keyword",
                    format!("'{alias}' is another name for '{modern}'; --dump writes '{modern}'"),
                )
                .on(&node.keyword),
            );
        }
    }

    /// Warns (once per keyword and load) that a keyword is parsed but not
    /// acted on, saying what lvstop does instead. A warning, not a note:
    /// the operator must hear of it without asking.
    pub fn warn_unacted(&mut self, node: &Node, instead: &str) {
        self.warn_unacted_word(&node.keyword, instead);
    }

    /// [`Parser::warn_unacted`] for a word that is not a statement's keyword
    /// (an option inside a `virtual_ipaddress` line).
    pub fn warn_unacted_word(&mut self, word: &Token, instead: &str) {
        if self.reported_unacted.insert(word.text.to_string()) {
            self.diagnostics.push(
                Diagnostic::warning(
                    NOT_ACTED_ON,
                    format!("parsed, not acted on: '{}' ({instead})", word.text),
                )
                .on(word),
            );
        }
    }

    /// Refuses a keyword lvstop cannot honour: an error at each use.
    pub fn refuse(&mut self, node: &Node, why: &str) {
        self.diagnostics.push(
            Diagnostic::error(
                REFUSED,
                format!("'{}' is not supported: {why}", node.name()),
            )
            .on(&node.keyword),
        );
    }

    /// The `index`-th argument, or an error naming what is missing.
    pub fn arg<'n>(&mut self, node: &'n Node, index: usize, what: &str) -> Option<&'n Token> {
        let found = node.args.get(index);
        if found.is_none() {
            let code = crate::config::verdict::missing::code(node.name());
            self.diagnostics.push(
                Diagnostic::error(code, format!("'{}' needs {what}", node.name()))
                    .on(&node.keyword),
            );
        }
        found
    }

    /// Warns about arguments beyond the first `allowed`.
    pub fn extra_args(&mut self, node: &Node, allowed: usize) {
        if let Some(extra) = node.args.get(allowed) {
            let message = format!(
                "'{}' takes {allowed} value(s); '{}' and anything after it is ignored",
                node.name(),
                extra.text
            );
            self.warning(extra, "extra-value", message);
        }
    }

    /// Warns when a statement that takes no block has one, and vice versa
    /// for blocks that need one.
    pub fn no_block(&mut self, node: &Node) {
        if let Some(block) = &node.block {
            self.diagnostics.push(
                Diagnostic::warning(
                    "unexpected-block",
                    format!(
                        "'{}' does not take a block; its contents are ignored",
                        node.name()
                    ),
                )
                .spanning(block.open, 1),
            );
        }
    }

    /// Requires a block; returns false (after an error) when there is none.
    pub fn need_block(&mut self, node: &Node) -> bool {
        if node.block.is_some() {
            return true;
        }
        self.diagnostics.push(
            Diagnostic::error(
                "missing-block",
                format!("'{}' needs a '{{ … }}' block", node.name()),
            )
            .on(&node.keyword)
            .with_help("open the block with '{' at the end of the line"),
        );
        false
    }

    /// The single string value of a statement.
    pub fn string(&mut self, node: &Node) -> Option<Text> {
        self.no_block(node);
        let token = self.arg(node, 0, "a value")?;
        self.extra_args(node, 1);
        Some(Spanned::new(token.text.to_string(), token.at))
    }

    /// The first value and the rest joined by spaces (for keywords whose
    /// value may contain unquoted spaces, such as a URL path or e-mail).
    pub fn rest(&mut self, node: &Node) -> Option<Text> {
        let token = self.arg(node, 0, "a value")?;
        let text = node
            .args
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Some(Spanned::new(text, token.at))
    }

    /// An integer in `min..=max` from the statement's first value.
    pub fn number<T>(&mut self, node: &Node, min: T, max: T) -> Option<Spanned<T>>
    where
        T: FromStr + PartialOrd + Copy + std::fmt::Display,
    {
        self.no_block(node);
        let token = self.arg(node, 0, "a number")?;
        self.extra_args(node, 1);
        self.number_token(node, token, min, max)
    }

    /// An integer in `min..=max` from a given token.
    pub fn number_token<T>(
        &mut self,
        node: &Node,
        token: &Token,
        min: T,
        max: T,
    ) -> Option<Spanned<T>>
    where
        T: FromStr + PartialOrd + Copy + std::fmt::Display,
    {
        let parsed = parse_integer::<T>(&token.text);
        if let Some(value) = parsed {
            if value >= min && value <= max {
                return Some(Spanned::new(value, token.at));
            }
        }
        // A number that does not even fit the type is out of range too, not
        // "not a number".
        let is_number = parsed.is_some() || parse_integer::<i128>(&token.text).is_some();
        let (code, message) = if is_number {
            (
                "value-range",
                format!(
                    "{} '{}' is out of range {min}-{max}",
                    node.name(),
                    token.text
                ),
            )
        } else {
            (
                "value-number",
                format!("{} '{}' is not a number", node.name(), token.text),
            )
        };
        self.diagnostics.push(
            Diagnostic::error(code, message)
                .on(token)
                .with_help(format!("use a whole number between {min} and {max}")),
        );
        None
    }

    /// A `<TIMER>` (seconds, fractional allowed, microsecond resolution) in
    /// `min..=max` seconds.
    pub fn timer(&mut self, node: &Node, min: f64, max: f64) -> Option<Timer> {
        self.no_block(node);
        let token = self.arg(node, 0, "a time in seconds")?;
        self.extra_args(node, 1);
        self.timer_token(node, token, min, max)
    }

    pub fn timer_token(&mut self, node: &Node, token: &Token, min: f64, max: f64) -> Option<Timer> {
        match parse_seconds(&token.text) {
            Some(seconds) if seconds >= min && seconds <= max => {
                let micros = (seconds * 1_000_000.0).round() as u64;
                Some(Spanned::new(Duration::from_micros(micros), token.at))
            }
            parsed => {
                let message = match parsed {
                    Some(_) => format!(
                        "{} '{}' is out of range {min}-{max} seconds",
                        node.name(),
                        token.text
                    ),
                    None => format!("{} '{}' is not a time in seconds", node.name(), token.text),
                };
                self.diagnostics.push(
                    Diagnostic::error("value-range", message)
                        .on(token)
                        .with_help("write seconds, e.g. '3' or '0.5'"),
                );
                None
            }
        }
    }

    /// A `<BOOL>` (on|off|true|false|yes|no); a bare keyword means true.
    pub fn boolean(&mut self, node: &Node) -> Spanned<bool> {
        self.no_block(node);
        self.extra_args(node, 1);
        let Some(token) = node.args.first() else {
            return Spanned::new(true, node.keyword.at);
        };
        match parse_bool(&token.text) {
            Some(value) => Spanned::new(value, token.at),
            None => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "value-bool",
                        format!("{} '{}' is not a yes/no value", node.name(), token.text),
                    )
                    .on(token)
                    .with_help("use one of on, off, true, false, yes, no"),
                );
                Spanned::new(true, node.keyword.at)
            }
        }
    }

    /// A virtual or real server flag (`alpha`, `omega`, `ha_suspend`,
    /// `inhibit_on_failure`): keepalived 2.2.7 accepts any value after
    /// these and never reports it. A yes/no word or a number (`alpha 1`,
    /// zero meaning no) is read as a boolean; anything else leaves the
    /// flag set, with a note.
    pub fn server_flag(&mut self, node: &Node) -> Spanned<bool> {
        self.no_block(node);
        let Some(token) = node.args.first() else {
            return Spanned::new(true, node.keyword.at);
        };
        let value =
            parse_bool(&token.text).or_else(|| token.text.parse::<i64>().ok().map(|n| n != 0));
        match value {
            Some(value) => Spanned::new(value, token.at),
            None => {
                self.diagnostics.push(
                    Diagnostic::note(
                        "value-bool",
                        format!(
                            "{} '{}' is not a yes/no value; keepalived ignores it and sets the flag",
                            node.name(),
                            token.text
                        ),
                    )
                    .on(token),
                );
                Spanned::new(true, node.keyword.at)
            }
        }
    }

    /// An IP address (v4 or v6) from a token.
    pub fn ip_token(&mut self, node: &Node, token: &Token) -> Option<Spanned<IpAddr>> {
        match token.text.parse::<IpAddr>() {
            Ok(ip) => Some(Spanned::new(ip, token.at)),
            Err(_) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "value-address",
                        format!("{} '{}' is not an IP address", node.name(), token.text),
                    )
                    .on(token),
                );
                None
            }
        }
    }

    /// The single IP address value of a statement.
    pub fn ip(&mut self, node: &Node) -> Option<Spanned<IpAddr>> {
        self.no_block(node);
        let token = self.arg(node, 0, "an IP address")?;
        self.extra_args(node, 1);
        self.ip_token(node, token)
    }

    /// One of a fixed set of words (case-insensitive), returning its index in
    /// `choices`.
    pub fn choice(&mut self, node: &Node, choices: &[&str]) -> Option<Spanned<usize>> {
        self.no_block(node);
        let token = self.arg(node, 0, &format!("one of {}", choices.join(", ")))?;
        self.extra_args(node, 1);
        self.choice_token(node, token, choices)
    }

    pub fn choice_token(
        &mut self,
        node: &Node,
        token: &Token,
        choices: &[&str],
    ) -> Option<Spanned<usize>> {
        match choices
            .iter()
            .position(|c| c.eq_ignore_ascii_case(&token.text))
        {
            Some(index) => Some(Spanned::new(index, token.at)),
            None => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "value-choice",
                        format!(
                            "{} '{}' is not one of {}",
                            node.name(),
                            token.text,
                            choices.join(", ")
                        ),
                    )
                    .on(token),
                );
                None
            }
        }
    }

    /// A script statement: `keyword "command args" [user [group]]`.
    /// keepalived splits the command on unquoted spaces; since the lexer has
    /// already removed the quotes, a quoted command arrives as one token and
    /// is split on spaces here, with single-quoted parts kept together.
    pub fn script(&mut self, node: &Node) -> Option<Script> {
        self.no_block(node);
        let command = self.arg(node, 0, "a script path")?;
        let argv = split_command(&command.text);
        if argv.is_empty() {
            self.error(
                command,
                "value-script",
                format!("'{}' has an empty command", node.name()),
            );
            return None;
        }
        self.extra_args(node, 3);
        Some(Script {
            argv,
            user: node.args.get(1).map(|t| t.text.to_string()),
            group: node.args.get(2).map(|t| t.text.to_string()),
            at: command.at,
        })
    }

    /// A `vrrp_script`'s `script`: the whole line is the command, every
    /// word after the first an argument; its user comes from the block's
    /// own `user` keyword, never from this line (measured on keepalived
    /// 2.2.7: `script "/bin/check" nobody` runs `/bin/check nobody` as root).
    pub fn script_command(&mut self, node: &Node) -> Option<Script> {
        self.no_block(node);
        let command = self.arg(node, 0, "a script path")?;
        let mut argv = split_command(&command.text);
        if argv.is_empty() {
            self.error(
                command,
                "value-script",
                format!("'{}' has an empty command", node.name()),
            );
            return None;
        }
        argv.extend(node.args.iter().skip(1).map(|t| t.text.to_string()));
        Some(Script {
            argv,
            user: None,
            group: None,
            at: command.at,
        })
    }

    /// Each child statement of a list block (`notification_email { … }`),
    /// as its words.
    pub fn list_items<'n>(&mut self, node: &'n Node) -> Vec<&'n Node> {
        if !self.need_block(node) {
            return Vec::new();
        }
        node.children().iter().collect()
    }
}

/// Converts a node (and its block) into a [`RawSetting`].
pub fn raw_setting(node: &Node) -> RawSetting {
    RawSetting {
        keyword: Spanned::new(node.name().to_string(), node.keyword.at),
        args: node.args.iter().map(|t| t.text.to_string()).collect(),
        block: node
            .block
            .as_ref()
            .map(|b| b.children.iter().map(raw_setting).collect()),
    }
}

/// Parses a decimal integer: keepalived 2.2.7 reads its numbers in base 10
/// ("invalid number '0x10'" for a fwmark, a VRID, a priority, a timeout).
pub fn parse_integer<T: FromStr>(text: &str) -> Option<T> {
    text.parse().ok()
}

/// Parses `<TIMER>` seconds: digits with an optional fraction.
pub fn parse_seconds(text: &str) -> Option<f64> {
    let valid = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit() || c == '.')
        && text.chars().filter(|c| *c == '.').count() <= 1
        && text != ".";
    if !valid {
        return None;
    }
    text.parse().ok()
}

/// Parses keepalived's `<BOOL>`.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// Splits a command line on unquoted whitespace; single or double quotes
/// group words and are removed.
pub fn split_command(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_accept_hex_and_reject_junk() {
        assert_eq!(parse_integer::<u8>("0x10"), None);
        assert_eq!(parse_integer::<u32>("42"), Some(42));
        assert_eq!(parse_integer::<u32>("4x"), None);
        assert_eq!(parse_integer::<u8>("300"), None);
    }

    #[test]
    fn seconds_are_plain_decimals() {
        assert_eq!(parse_seconds("2.5"), Some(2.5));
        assert_eq!(parse_seconds("3"), Some(3.0));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("1e3"), None);
    }

    #[test]
    fn commands_split_like_keepalived() {
        assert_eq!(
            split_command("/bin/check a 'b c' d"),
            ["/bin/check", "a", "b c", "d"]
        );
        assert_eq!(split_command("  /x  "), ["/x"]);
    }
}
