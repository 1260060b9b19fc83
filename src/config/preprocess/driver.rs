//! The preprocessing loop: walks each file's physical lines, joins
//! continuations, collects multiline definitions, follows includes, and
//! runs every logical line through conditionals, definitions, generators
//! and substitution until it can be emitted.
//!
//! It owns the loader's mutable state (source map, parameters, include
//! stack, expansion budget). It never tokenizes lines and never panics or
//! loops forever: nesting, include depth and the number of generated lines
//! are all capped.

use std::path::{Path, PathBuf};

use super::conditional::{conditional, Cond};
use super::generate::{self, Head};
use super::include::{self, Checks, IncludeLine};
use super::params::{self, Context, LazyRandom, Params, Substituted};
use super::text::{
    append_verbatim, first_word, indent, is_blank_or_comment, split_lines, sub_line,
    trailing_backslash, without_comment,
};
use super::{LoadOptions, Loaded, MAX_INCLUDE_DEPTH};
use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::source::{FileId, Location, SourceMap};
use crate::config::token::SourceLine;

/// Most lines expansion (parameters, generators) may produce in one load.
/// keepalived.conf(5)'s largest example makes about a million.
pub const MAX_GENERATED_LINES: u64 = 2_500_000;
/// Deepest nesting of expansions (generators inside generators, parameters
/// producing parameters).
pub const MAX_EXPANSION_DEPTH: usize = 64;

/// One file being read.
#[derive(Debug)]
struct Frame {
    canonical: PathBuf,
    path: PathBuf,
    /// Directory relative includes resolve against.
    dir: PathBuf,
    /// `${_PWD}`.
    pwd: String,
    /// The `include_check` level, saved per file.
    checks: Checks,
}

/// A `$NAME= \` definition being collected.
#[derive(Debug)]
struct Multiline {
    name: String,
    lines: Vec<String>,
    /// `false` when a conditional excluded the definition: its lines are
    /// consumed but nothing is defined.
    keep: bool,
}

/// Lines without any of these characters, and not starting with an
/// include or `random_seed` keyword, pass through untouched.
fn is_plain(raw: &str) -> bool {
    if raw.bytes().any(|b| matches!(b, b'$' | b'@' | b'~' | b'\\')) {
        return false;
    }
    let (_, word) = first_word(raw);
    !word.starts_with("include") && word != "random_seed"
}

fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

#[derive(Debug)]
pub struct Driver<'a> {
    options: &'a LoadOptions,
    diagnostics: &'a mut Diagnostics,
    sources: SourceMap,
    lines: Vec<SourceLine>,
    params: Params,
    random: LazyRandom,
    frames: Vec<Frame>,
    budget: u64,
    exhausted: bool,
    /// Runaway recursion is reported once, not once per dropped line.
    too_deep_reported: bool,
}

impl<'a> Driver<'a> {
    pub fn new(options: &'a LoadOptions, diagnostics: &'a mut Diagnostics) -> Self {
        let mut random = LazyRandom::default();
        if let Some(seed) = options.random_seed {
            random.seed(seed);
        }
        Self {
            options,
            diagnostics,
            sources: SourceMap::new(),
            lines: Vec::new(),
            params: Params::default(),
            random,
            frames: Vec::new(),
            budget: MAX_GENERATED_LINES,
            exhausted: false,
            too_deep_reported: false,
        }
    }

    pub fn finish(self) -> Loaded {
        Loaded {
            sources: self.sources,
            lines: self.lines,
        }
    }

    pub fn run_main(&mut self, path: &Path, bytes: Vec<u8>) {
        self.run_file(path.to_path_buf(), bytes, None, Checks::default());
    }

    /// Registers and reads one file with `checks` as its starting
    /// `include_check` level.
    fn run_file(
        &mut self,
        path: PathBuf,
        bytes: Vec<u8>,
        included_from: Option<Location>,
        checks: Checks,
    ) {
        let (text, bad_utf8_at) = match String::from_utf8(bytes) {
            Ok(text) => (text, None),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                let line = bytes
                    .get(..valid)
                    .map(|b| b.iter().filter(|&&c| c == b'\n').count())
                    .unwrap_or(0);
                (String::from_utf8_lossy(&bytes).into_owned(), Some(line))
            }
        };
        let file = self.sources.add(path.clone(), text.clone(), included_from);
        if let Some(index) = bad_utf8_at {
            self.diagnostics.push(
                Diagnostic::warning(
                    "not-utf8",
                    format!(
                        "'{}' is not valid UTF-8; invalid bytes were replaced with U+FFFD",
                        path.display()
                    ),
                )
                .at(Location::new(file, line_number(index), 1)),
            );
        }
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        // Includes resolve against the directory as the path was written
        // (keepalived changes into dirname of the path it opened), which
        // also keeps relative paths relative in messages.
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let pwd = if dir.is_absolute() {
            dir.display().to_string()
        } else {
            std::env::current_dir()
                .map(|cwd| cwd.join(&dir).display().to_string())
                .unwrap_or_else(|_| dir.display().to_string())
        };
        self.frames.push(Frame {
            canonical,
            path,
            dir,
            pwd,
            checks,
        });
        self.read_lines(file, &text);
        self.frames.pop();
    }

    fn read_lines(&mut self, file: FileId, text: &str) {
        let mut pending: Option<SourceLine> = None;
        let mut multiline: Option<Multiline> = None;
        for (index, raw) in text.lines().enumerate() {
            let number = line_number(index);
            if let Some(def) = multiline.as_mut() {
                // keepalived looks for the continuing `\` at the end of the
                // raw line, so a comment line ending in `\` keeps the
                // definition open and adds nothing to it.
                let trimmed = raw.trim_end();
                let (content, more) = match trimmed.strip_suffix('\\') {
                    Some(part) => (part, true),
                    None => (trimmed, false),
                };
                let body = without_comment(content).trim();
                if !body.is_empty() {
                    def.lines.push(body.to_string());
                }
                if !more {
                    if let Some(done) = multiline.take() {
                        self.define_multiline(done);
                    }
                }
                continue;
            }
            if pending.is_none() && is_plain(raw) {
                if !is_blank_or_comment(raw) {
                    self.emit(SourceLine::verbatim(raw, file, number));
                }
                continue;
            }
            let mut line = match pending.take() {
                Some(mut joined) => {
                    append_verbatim(&mut joined, raw, Location::new(file, number, 1));
                    joined
                }
                None => SourceLine::verbatim(raw, file, number),
            };
            if let Some(cut) = trailing_backslash(&line.text) {
                if let Some(def) = self.multiline_start(&line.text) {
                    multiline = Some(def);
                    continue;
                }
                self.diagnostics.push(
                    Diagnostic::warning(
                        "line-continuation",
                        "line ends in '\\': joined with the next line",
                    )
                    .spanning(line.location_of(cut), 1)
                    .with_help(
                        "keepalived joins lines only inside multiline '$NAME= \\' definitions",
                    ),
                );
                line.text.truncate(cut);
                line.segments.retain(|s| s.offset < cut.max(1));
                pending = Some(line);
                continue;
            }
            self.logical(line);
        }
        if let Some(line) = pending {
            self.logical(line);
        }
        if let Some(def) = multiline {
            self.define_multiline(def);
        }
    }

    /// `$NAME= \` (maybe behind a conditional) opening a multiline value.
    fn multiline_start(&self, text: &str) -> Option<Multiline> {
        let (keep, body) = match conditional(text, &self.options.config_id) {
            Cond::Plain => (true, text),
            Cond::Kept(at) => (true, text.get(at..).unwrap_or("")),
            Cond::Rejected => {
                // Skip the `@id` word so the definition is still consumed.
                let rest = text.get(indent(text)..).unwrap_or("");
                let word = rest
                    .find(|c: char| c.is_ascii_whitespace())
                    .unwrap_or(rest.len());
                (false, rest.get(word..).unwrap_or(""))
            }
        };
        let def = params::parse_definition(body)?;
        def.opens_multiline().then(|| {
            let first = def.first_line();
            Multiline {
                name: def.name.to_string(),
                lines: if first.is_empty() {
                    Vec::new()
                } else {
                    vec![first.to_string()]
                },
                keep,
            }
        })
    }

    fn define_multiline(&mut self, def: Multiline) {
        if def.keep {
            self.params.define(&def.name, def.lines.join("\n"));
        }
    }

    /// A complete line read from a file.
    fn logical(&mut self, line: SourceLine) {
        match include::include_line(&line.text) {
            Some(found) => self.include(&line, found),
            None => self.process(line, 0),
        }
    }

    fn include(&mut self, line: &SourceLine, found: IncludeLine<'_>) {
        let at = line.location_of(found.at);
        let Some((offset, pattern)) = found.pattern else {
            self.diagnostics.push(
                Diagnostic::error(
                    "include-syntax",
                    format!("'{}' needs a file name or pattern", found.keyword),
                )
                .spanning(at, found.keyword.len()),
            );
            return;
        };
        let pattern_at = line.location_of(offset);
        let width = pattern.chars().count();
        let (dir, current) = match self.frames.last() {
            Some(frame) => (frame.dir.clone(), frame.checks),
            None => (PathBuf::from("."), Checks::default()),
        };
        let checks = current.union(found.checks);
        let (files, problems) = include::resolve(pattern, &dir, checks);
        for problem in problems {
            let (code, message) = match &problem {
                include::Problem::Missing(name) => (
                    "include-missing",
                    format!("included file '{name}' does not exist"),
                ),
                include::Problem::NoMatch(name) => {
                    ("include-no-match", format!("no file matches '{name}'"))
                }
                include::Problem::BadPattern(message) => ("include-syntax", message.clone()),
            };
            let diagnostic = if problem.is_error(checks) {
                Diagnostic::error(code, message)
            } else {
                Diagnostic::warning(code, message)
                    .with_help("use 'includer' or 'includea' to make this an error")
            };
            self.diagnostics
                .push(diagnostic.spanning(pattern_at, width));
        }
        for path in files {
            self.include_file(path, at, pattern_at, width, current, checks);
        }
    }

    fn include_file(
        &mut self,
        path: PathBuf,
        at: Location,
        pattern_at: Location,
        width: usize,
        inherited: Checks,
        checks: Checks,
    ) {
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if let Some(start) = self.frames.iter().position(|f| f.canonical == canonical) {
            let chain: Vec<String> = self.frames[start..]
                .iter()
                .map(|f| f.path.display().to_string())
                .chain(std::iter::once(path.display().to_string()))
                .collect();
            self.diagnostics.push(
                Diagnostic::error(
                    "include-cycle",
                    format!("include cycle: {}", chain.join(" -> ")),
                )
                .spanning(pattern_at, width)
                .with_help("a file must not include itself, directly or through others"),
            );
            return;
        }
        if self.frames.len() >= MAX_INCLUDE_DEPTH {
            self.diagnostics.push(
                Diagnostic::error(
                    "include-depth",
                    format!(
                        "includes nested deeper than {MAX_INCLUDE_DEPTH} levels at '{}'",
                        path.display()
                    ),
                )
                .spanning(pattern_at, width),
            );
            return;
        }
        let read = match std::fs::metadata(&path) {
            Ok(meta) if !meta.is_file() => Err("it is not a regular file".to_string()),
            Ok(_) => std::fs::read(&path).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match read {
            Ok(bytes) => self.run_file(path, bytes, Some(at), inherited),
            Err(why) => {
                let message = format!("cannot read included file '{}': {why}", path.display());
                let diagnostic = if checks.wants_readable() {
                    Diagnostic::error("include-unreadable", message)
                } else {
                    Diagnostic::warning("include-unreadable", message)
                };
                self.diagnostics
                    .push(diagnostic.spanning(pattern_at, width));
            }
        }
    }

    /// Counts one expanded line against the budget.
    fn charge(&mut self, at: Location) -> bool {
        if self.exhausted {
            return false;
        }
        if self.budget == 0 {
            self.exhausted = true;
            self.diagnostics.push(
                Diagnostic::error(
                    "expansion-limit",
                    format!(
                        "expansion produced more than {MAX_GENERATED_LINES} lines; the rest is ignored"
                    ),
                )
                .at(at),
            );
            return false;
        }
        self.budget -= 1;
        true
    }

    /// Runs one logical line through conditionals, definitions, generators
    /// and substitution.
    fn process(&mut self, line: SourceLine, depth: usize) {
        if depth > 0 && !self.charge(line.start()) {
            return;
        }
        if depth > MAX_EXPANSION_DEPTH {
            if std::mem::replace(&mut self.too_deep_reported, true) {
                return;
            }
            self.diagnostics.push(
                Diagnostic::error(
                    "param-recursion",
                    format!("expansion nested deeper than {MAX_EXPANSION_DEPTH} levels"),
                )
                .at(line.start())
                .with_help("does a multiline parameter use itself?"),
            );
            return;
        }
        let line = match conditional(&line.text, &self.options.config_id) {
            Cond::Plain => line,
            Cond::Rejected => return,
            Cond::Kept(body) => sub_line(&line, body, line.text.len()),
        };
        if is_blank_or_comment(&line.text) {
            return;
        }
        if let Some(def) = params::parse_definition(&line.text) {
            let value = if def.opens_multiline() { "" } else { def.value };
            self.params.define(def.name, value.to_string());
            return;
        }
        match generate::head(&line.text) {
            Ok(Some(head)) => return self.generate(&line, head, depth),
            Ok(None) => {}
            Err((kind, at)) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        kind.code(),
                        format!("'{}(' is not closed by ')'", kind.keyword()),
                    )
                    .spanning(line.location_of(at), kind.keyword().len() + 1),
                );
                return;
            }
        }
        if !line.text.contains('$') {
            return self.emit(line);
        }
        let Some(done) = self.substitute(&line, &line.text) else {
            return;
        };
        if done.spans.is_empty() {
            for problem in &done.problems {
                self.diagnostics.push(
                    Diagnostic::error("param-syntax", problem.message.clone())
                        .spanning(line.location_of(problem.at), problem.len),
                );
            }
            return self.emit(line);
        }
        let expanded = done.into_line(&line);
        if expanded.text.contains('\n') {
            for piece in split_lines(&expanded) {
                self.process(piece, depth + 1);
            }
        } else {
            self.process(expanded, depth + 1);
        }
    }

    /// Substitutes parameters in `text` (part of `line`), reporting fatal
    /// problems at their place in `line`.
    fn substitute(&mut self, line: &SourceLine, text: &str) -> Option<Substituted> {
        let pwd = self.frames.last().map(|f| f.pwd.as_str()).unwrap_or(".");
        let mut ctx = Context {
            pwd,
            instance: &self.options.config_id,
            random: &mut self.random,
        };
        match params::substitute(&self.params, text, &mut ctx) {
            Ok(done) => Some(done),
            Err(params::Fatal::Recursion { name, at }) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "param-recursion",
                        format!("parameter '{name}' refers to itself; the line is dropped"),
                    )
                    .spanning(line.location_of(at), name.len() + 1),
                );
                None
            }
            Err(params::Fatal::TooLong { at }) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "param-too-long",
                        format!(
                            "parameter substitution makes this line longer than {} KiB; the line is dropped",
                            params::MAX_LINE_BYTES / 1024
                        ),
                    )
                    .at(line.location_of(at)),
                );
                None
            }
        }
    }

    fn generate(&mut self, line: &SourceLine, head: Head, depth: usize) {
        let at = line.location_of(head.at);
        let width = head.rest - head.at;
        let raw = line.text.get(head.spec_start..head.spec_end).unwrap_or("");
        // keepalived expands `$NAME` arguments of a generator even where a
        // comma, not whitespace, ends the name: `~SEQ(I,$FIRST,$LAST)`.
        let raw = brace_bare_references(raw);
        let spec = match self.substitute(line, &raw) {
            Some(done) => done.text,
            None => return,
        };
        let generator = match generate::parse(head.kind, &spec) {
            Ok(g) => g,
            Err(why) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        head.kind.code(),
                        format!("invalid {} specification: {why}", head.kind.keyword()),
                    )
                    .spanning(at, width),
                );
                return;
            }
        };
        let count = generator.count();
        if count > u128::from(self.budget) {
            self.exhausted = true;
            self.diagnostics.push(
                Diagnostic::error(
                    "expansion-limit",
                    format!(
                        "{} would produce {count} lines, more than the {MAX_GENERATED_LINES} allowed",
                        head.kind.keyword()
                    ),
                )
                .spanning(at, width),
            );
            return;
        }
        let rest = sub_line(line, head.rest, line.text.len());
        for index in 0..count {
            if self.exhausted {
                break;
            }
            for (var, value) in generator.assignment(index) {
                self.params.define(var, value);
            }
            self.process(rest.clone(), depth + 1);
        }
    }

    /// Keeps a finished line, acting on `include_check` and `random_seed`.
    fn emit(&mut self, line: SourceLine) {
        let (at, word) = first_word(&line.text);
        if word == "include_check" {
            let args = line.text.get(at + word.len()..).unwrap_or("");
            if let Some(frame) = self.frames.last_mut() {
                let (checks, unknown) = include::apply_include_check(frame.checks, args);
                frame.checks = checks;
                for option in unknown {
                    let offset = args.find(option).map(|o| at + word.len() + o);
                    self.diagnostics.push(
                        Diagnostic::warning(
                            "include-check-option",
                            format!("unknown include_check option '{option}'"),
                        )
                        .spanning(line.location_of(offset.unwrap_or(at)), option.len())
                        .with_help("options are readable, match, wildcard_match and brace_match"),
                    );
                }
            }
        } else if word == "random_seed" && self.options.random_seed.is_none() {
            let args = line.text.get(at + word.len()..).unwrap_or("");
            if let Some(seed) = without_comment(args)
                .split_ascii_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
            {
                self.random.seed(seed);
            }
        }
        self.lines.push(line);
    }
}

/// Rewrites each bare `$NAME` in a generator's argument list as `${NAME}`,
/// so that a name ended by `,` or `)` is still a reference.
fn brace_bare_references(spec: &str) -> String {
    let mut out = String::with_capacity(spec.len() + 8);
    let mut rest = spec;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if len == 0 {
            out.push('$');
        } else {
            out.push_str("${");
            out.push_str(&after[..len]);
            out.push('}');
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}
