//! `include` lines and the `include_check` policy: recognising the keyword
//! and its checked variants, parsing `include_check` options, expanding csh
//! brace expressions and wildcards into the list of files to read, and
//! saying which problems each check turns into errors.
//!
//! This module looks at the file system only to match patterns; it never
//! reads file contents and never reports diagnostics itself.

use std::path::{Path, PathBuf};

use super::text::{first_word, without_comment};

/// Most patterns one brace expression may expand to.
const MAX_BRACE_EXPANSIONS: usize = 4096;
/// Most brace groups expanded within one another or in a row.
const MAX_BRACE_DEPTH: usize = 64;

/// The `include_check` settings (keepalived.conf(5), global_defs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checks {
    /// Error if a match is not a readable file.
    pub readable: bool,
    /// Error if no file matches a pattern without wildcards.
    pub matched: bool,
    /// Error if no file matches, even with wildcards.
    pub wildcard_match: bool,
    /// Error if one alternative of a brace expression matches nothing.
    pub brace_match: bool,
}

impl Checks {
    pub const ALL: Checks = Checks {
        readable: true,
        matched: true,
        wildcard_match: true,
        brace_match: true,
    };

    pub fn union(self, other: Checks) -> Checks {
        Checks {
            readable: self.readable || other.readable,
            matched: self.matched || other.matched,
            wildcard_match: self.wildcard_match || other.wildcard_match,
            brace_match: self.brace_match || other.brace_match,
        }
    }

    /// `match`, `wildcard_match` and `brace_match` imply `readable`.
    pub fn wants_readable(self) -> bool {
        self.readable || self.matched || self.wildcard_match || self.brace_match
    }

    fn option(name: &str) -> Option<Checks> {
        let mut c = Checks::default();
        match name {
            "readable" => c.readable = true,
            "match" => c.matched = true,
            "wildcard_match" => c.wildcard_match = true,
            "brace_match" => c.brace_match = true,
            _ => return None,
        }
        Some(c)
    }

    fn without(self, other: Checks) -> Checks {
        Checks {
            readable: self.readable && !other.readable,
            matched: self.matched && !other.matched,
            wildcard_match: self.wildcard_match && !other.wildcard_match,
            brace_match: self.brace_match && !other.brace_match,
        }
    }
}

/// Applies an `include_check [OPTIONS]` line to `current`. Returns the new
/// setting and the options that were not understood.
pub fn apply_include_check(current: Checks, args: &str) -> (Checks, Vec<&str>) {
    let words: Vec<&str> = without_comment(args).split_ascii_whitespace().collect();
    if words.is_empty() {
        return (Checks::ALL, Vec::new());
    }
    let relative = words[0].starts_with(['+', '-']);
    let mut result = if relative { current } else { Checks::default() };
    let mut adding = true;
    let mut unknown = Vec::new();
    for word in words {
        let mut name = word;
        if let Some(rest) = name.strip_prefix('+') {
            adding = true;
            name = rest;
        } else if let Some(rest) = name.strip_prefix('-') {
            adding = false;
            name = rest;
        }
        if name.is_empty() {
            continue;
        }
        match Checks::option(name) {
            Some(flag) if adding => result = result.union(flag),
            Some(flag) => result = result.without(flag),
            None => unknown.push(word),
        }
    }
    (result, unknown)
}

/// A recognised include line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludeLine<'a> {
    /// Offset of the keyword.
    pub at: usize,
    pub keyword: &'a str,
    /// Checks the variant adds to the current level.
    pub checks: Checks,
    /// The file pattern and its offset, when one was given.
    pub pattern: Option<(usize, &'a str)>,
}

/// Recognises `include`, `includer`, `includem`, `includew`, `includeb` and
/// `includea` as the first word of a line.
pub fn include_line(text: &str) -> Option<IncludeLine<'_>> {
    let (at, keyword) = first_word(text);
    let checks = match keyword {
        "include" => Checks::default(),
        "includer" => Checks::option("readable")?,
        "includem" => Checks::option("match")?,
        "includew" => Checks::option("wildcard_match")?,
        "includeb" => Checks::option("brace_match")?,
        "includea" => Checks::ALL,
        _ => return None,
    };
    let after = at + keyword.len();
    let rest = without_comment(text.get(after..).unwrap_or(""));
    let pattern = rest.split_ascii_whitespace().next().map(|word| {
        let offset = after + rest.find(word).unwrap_or(0);
        let unquoted = word
            .strip_prefix('"')
            .and_then(|w| w.strip_suffix('"'))
            .unwrap_or(word);
        (offset, unquoted)
    });
    Some(IncludeLine {
        at,
        keyword,
        checks,
        pattern,
    })
}

/// Why an include pattern's braces cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BraceError {
    #[error("more than {MAX_BRACE_DEPTH} brace expressions in one pattern")]
    TooDeep,
    #[error("brace expression expands to more than {MAX_BRACE_EXPANSIONS} patterns")]
    TooMany,
}

/// Expands csh brace expressions: `{foo/{,cat,dog},bar}` →
/// `foo/`, `foo/cat`, `foo/dog`, `bar`. Braces without a top-level comma
/// are kept as written. Errors when the expansion grows too large.
pub fn expand_braces(pattern: &str) -> Result<Vec<String>, BraceError> {
    let mut out = Vec::new();
    expand_into(pattern, 0, &mut out)?;
    Ok(out)
}

fn expand_into(pattern: &str, depth: usize, out: &mut Vec<String>) -> Result<(), BraceError> {
    if depth > MAX_BRACE_DEPTH {
        return Err(BraceError::TooDeep);
    }
    let bytes = pattern.as_bytes();
    let mut search = 0;
    while let Some(open) = pattern.get(search..).and_then(|s| s.find('{')) {
        let open = search + open;
        let mut level = 0usize;
        let mut commas = Vec::new();
        let mut close = None;
        for (i, &b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'{' => level += 1,
                b'}' => {
                    level -= 1;
                    if level == 0 {
                        close = Some(i);
                        break;
                    }
                }
                b',' if level == 1 => commas.push(i),
                _ => {}
            }
        }
        let Some(close) = close else { break };
        if commas.is_empty() {
            search = open + 1;
            continue;
        }
        let prefix = pattern.get(..open).unwrap_or("");
        let suffix = pattern.get(close + 1..).unwrap_or("");
        let mut start = open + 1;
        commas.push(close);
        for end in commas {
            let alternative = pattern.get(start..end).unwrap_or("");
            expand_into(&format!("{prefix}{alternative}{suffix}"), depth + 1, out)?;
            if out.len() > MAX_BRACE_EXPANSIONS {
                return Err(BraceError::TooMany);
            }
            start = end + 1;
        }
        return Ok(());
    }
    out.push(pattern.to_string());
    Ok(())
}

/// Something wrong with one include pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A name without wildcards that does not exist.
    Missing(String),
    /// A wildcard pattern (or the whole include) that matched nothing.
    NoMatch(String),
    /// A malformed pattern.
    BadPattern(String),
}

impl Problem {
    /// Whether `checks` make this an error (otherwise keepalived only logs
    /// it, or says nothing).
    pub fn is_error(&self, checks: Checks) -> bool {
        match self {
            Problem::Missing(_) => checks.wants_readable(),
            Problem::NoMatch(_) => checks.wildcard_match || checks.brace_match,
            Problem::BadPattern(_) => true,
        }
    }
}

fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Files an include pattern names, in order (each pattern's matches
/// sorted), and the problems found. `base` is the including file's
/// directory.
pub fn resolve(pattern: &str, base: &Path, checks: Checks) -> (Vec<PathBuf>, Vec<Problem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let alternatives = match expand_braces(pattern) {
        Ok(list) => list,
        Err(error) => return (files, vec![Problem::BadPattern(error.to_string())]),
    };
    let braced = alternatives.len() > 1;
    let mut any_wildcard = false;
    for alternative in &alternatives {
        let before = files.len();
        let relative = !alternative.starts_with('/');
        if has_wildcard(alternative) {
            any_wildcard = true;
            let full = if relative {
                let base = glob::Pattern::escape(&base.to_string_lossy());
                format!("{}/{alternative}", base.trim_end_matches('/'))
            } else {
                alternative.clone()
            };
            let options = glob::MatchOptions {
                case_sensitive: true,
                require_literal_separator: true,
                require_literal_leading_dot: true,
            };
            match glob::glob_with(&full, options) {
                Ok(paths) => {
                    let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                    found.sort();
                    files.extend(found);
                }
                Err(e) => problems.push(Problem::BadPattern(format!(
                    "'{alternative}' is not a valid pattern: {}",
                    e.msg
                ))),
            }
        } else {
            let path = if relative {
                base.join(alternative)
            } else {
                PathBuf::from(alternative)
            };
            if path.exists() {
                files.push(path);
            } else {
                problems.push(Problem::Missing(alternative.clone()));
            }
        }
        if braced && files.len() == before && checks.brace_match && has_wildcard(alternative) {
            problems.push(Problem::NoMatch(alternative.clone()));
        }
    }
    if files.is_empty() && any_wildcard && checks.wildcard_match {
        problems.push(Problem::NoMatch(pattern.to_string()));
    }
    (files, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_expand_like_csh() {
        assert_eq!(
            expand_braces("{foo/{,cat,dog},bar}").unwrap(),
            ["foo/", "foo/cat", "foo/dog", "bar"]
        );
        assert_eq!(
            expand_braces("a{1,2}b{x,y}").unwrap(),
            ["a1bx", "a1by", "a2bx", "a2by"]
        );
        assert_eq!(expand_braces("a{b}c{").unwrap(), ["a{b}c{"]);
        assert!(expand_braces(&"{a,b,c,d}".repeat(8)).is_err());
        assert!(expand_braces(&"{a,b}".repeat(10_000)).is_err());
        assert!(expand_braces(&format!("{}x{}", "{a,".repeat(100), "}".repeat(100))).is_err());
    }

    #[test]
    fn include_check_options() {
        let (c, bad) = apply_include_check(Checks::default(), "");
        assert_eq!((c, bad.len()), (Checks::ALL, 0));
        let (c, _) = apply_include_check(Checks::ALL, "readable");
        assert!(c.readable && !c.matched && !c.wildcard_match);
        let (c, _) = apply_include_check(Checks::default(), "+match -wildcard_match");
        assert!(c.matched && !c.wildcard_match && !c.readable);
        let (c, _) = apply_include_check(Checks::ALL, "-wildcard_match brace_match");
        assert!(c.matched && !c.wildcard_match && !c.brace_match);
        let (_, bad) = apply_include_check(Checks::default(), "readible");
        assert_eq!(bad, ["readible"]);
    }

    #[test]
    fn include_keywords() {
        let line = include_line("  includea \"conf.d/*.conf\" ! x").unwrap();
        assert_eq!(line.at, 2);
        assert_eq!(line.checks, Checks::ALL);
        assert_eq!(line.pattern, Some((11, "conf.d/*.conf")));
        assert_eq!(include_line("include").unwrap().pattern, None);
        assert!(include_line("include_check readable").is_none());
        assert!(include_line("x include a").is_none());
    }
}
