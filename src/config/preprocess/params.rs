//! `$NAME` parameters: the table of definitions, parsing of `$NAME=VALUE`
//! lines, and substitution of `$NAME` / `${NAME}` references, including the
//! predefined `${_PWD}`, `${_INSTANCE}`, `${_RANDOM [MIN [MAX]]}`,
//! `${_HASH}`, `${_BANG}` and the lvstop extension `${_ENV NAME}` (the value
//! of an environment variable, empty when unset; keepalived has no such
//! name).
//!
//! Substitution follows keepalived: values are expanded when used, not when
//! defined; a replaced value is scanned again in the context of the text
//! that follows it (so `$B` at the end of a value is only replaced when
//! whitespace follows in the line); undefined references stay as written.
//! A value that refers to itself, directly or through others, is an error
//! here (keepalived grows the line until its buffer is full). Multiline
//! values are inserted verbatim and expanded later, line by line, by the
//! caller. This module never reads files and never reports diagnostics
//! itself: it returns what went wrong and where.

use std::collections::HashMap;

use super::text::{copy_segments, param_name_len, without_comment};
use crate::config::token::{Segment, Segments, SourceLine};

/// Longest line substitution may produce (keepalived's own line buffer is
/// far smaller); with [`MAX_REPLACEMENTS`] it bounds the work per line.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most replacements in one line before giving up.
const MAX_REPLACEMENTS: usize = 10_000;

/// Defined parameters.
#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<String, String>,
}

impl Params {
    pub fn define(&mut self, name: &str, value: String) {
        self.values.insert(name.to_string(), value);
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// A `$NAME=VALUE` line, split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Definition<'a> {
    pub name: &'a str,
    /// The value with the comment removed and surrounding whitespace trimmed.
    pub value: &'a str,
    /// Offset of the `$` in the line.
    pub at: usize,
}

impl Definition<'_> {
    /// A value ending in `\` opens a multiline definition (`$NAME= \`,
    /// or `$NAME=first line \`).
    pub fn opens_multiline(&self) -> bool {
        self.value.ends_with('\\')
    }

    /// The part of a multiline definition written on its `$NAME=` line.
    pub fn first_line(&self) -> &str {
        self.value.strip_suffix('\\').unwrap_or(self.value).trim()
    }
}

/// Recognises `$NAME=VALUE` (only whitespace before `$`, nothing between
/// the name and `=`).
pub fn parse_definition(text: &str) -> Option<Definition<'_>> {
    let at = text.len() - text.trim_start().len();
    let rest = text.get(at..)?.strip_prefix('$')?;
    let len = param_name_len(rest);
    if len == 0 {
        return None;
    }
    let name = rest.get(..len)?;
    let value = rest.get(len..)?.strip_prefix('=')?;
    Some(Definition {
        name,
        value: without_comment(value).trim(),
        at,
    })
}

/// What the predefined names need from the loader.
#[derive(Debug)]
pub struct Context<'a> {
    /// Directory of the file being read.
    pub pwd: &'a str,
    /// The configuration id (`-i`).
    pub instance: &'a str,
    pub random: &'a mut LazyRandom,
}

/// Why a line could not be substituted; the line is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fatal {
    /// A parameter's value refers back to itself.
    Recursion { name: String, at: usize },
    /// The line grew past [`MAX_LINE_BYTES`] or took too many replacements.
    TooLong { at: usize },
}

/// A reference that was left as written because it is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: usize,
    pub len: usize,
    pub message: String,
}

/// A replaced reference in the original line: `orig` bytes of the input
/// became `out` bytes of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub orig_start: usize,
    pub orig_end: usize,
    pub out_start: usize,
    pub out_end: usize,
}

/// Result of substituting one line.
#[derive(Debug, Default)]
pub struct Substituted {
    pub text: String,
    /// Top-level replacements, in order; empty when nothing changed.
    pub spans: Vec<Span>,
    pub problems: Vec<Problem>,
}

/// A reference found at a `$`.
struct Reference<'t> {
    len: usize,
    name: &'t str,
    args: &'t str,
}

fn find_reference(text: &str, at: usize) -> Option<Reference<'_>> {
    let rest = text.get(at + 1..)?;
    if let Some(inner) = rest.strip_prefix('{') {
        let close = inner.find('}')?;
        let body = inner.get(..close)?;
        let name_len = param_name_len(body);
        if name_len == 0 {
            return None;
        }
        let args = body.get(name_len..)?;
        if !args.is_empty() && !args.starts_with(|c: char| c.is_ascii_whitespace()) {
            return None;
        }
        return Some(Reference {
            len: close + 3,
            name: body.get(..name_len)?,
            args: args.trim(),
        });
    }
    let name_len = param_name_len(rest);
    if name_len == 0 {
        return None;
    }
    let after = rest.as_bytes().get(name_len);
    if after.is_some_and(|b| !b.is_ascii_whitespace()) {
        return None;
    }
    Some(Reference {
        len: name_len + 1,
        name: rest.get(..name_len)?,
        args: "",
    })
}

/// How a reference resolves.
enum Resolution {
    Undefined,
    /// A user value: scanned again after insertion unless multiline.
    User(String),
    /// A predefined value: inserted literally.
    Literal(String),
    Malformed(String),
}

fn resolve(params: &Params, reference: &Reference<'_>, ctx: &mut Context<'_>) -> Resolution {
    if reference.args.is_empty() {
        if let Some(value) = params.get(reference.name) {
            return Resolution::User(value.to_string());
        }
    }
    match reference.name {
        "_PWD" | "_INSTANCE" | "_HASH" | "_BANG" if !reference.args.is_empty() => {
            Resolution::Malformed(format!("'{}' takes no arguments", reference.name))
        }
        "_PWD" => Resolution::Literal(ctx.pwd.to_string()),
        "_INSTANCE" => Resolution::Literal(ctx.instance.to_string()),
        "_HASH" => Resolution::Literal("#".to_string()),
        "_BANG" => Resolution::Literal("!".to_string()),
        "_RANDOM" => random(reference.args, ctx),
        "_ENV" => {
            let mut words = reference.args.split_ascii_whitespace();
            match (words.next(), words.next()) {
                (Some(var), None) => Resolution::Literal(std::env::var(var).unwrap_or_default()),
                _ => Resolution::Malformed(
                    "'_ENV' needs exactly one environment variable name, as in ${_ENV HOME}"
                        .to_string(),
                ),
            }
        }
        _ => Resolution::Undefined,
    }
}

fn random(args: &str, ctx: &mut Context<'_>) -> Resolution {
    let mut bounds = [0u64, 32767];
    let mut words = args.split_ascii_whitespace();
    for bound in bounds.iter_mut() {
        if let Some(word) = words.next() {
            match word.parse::<u64>() {
                Ok(value) => *bound = value,
                Err(_) => {
                    return Resolution::Malformed(format!(
                        "'_RANDOM' bound '{word}' is not a non-negative integer"
                    ))
                }
            }
        }
    }
    if words.next().is_some() {
        return Resolution::Malformed("'_RANDOM' takes at most MIN and MAX".to_string());
    }
    let [min, max] = bounds;
    if min > max {
        return Resolution::Malformed(format!("'_RANDOM' MIN {min} is above MAX {max}"));
    }
    let span = max - min;
    let draw = ctx.random.next_u64();
    let value = if span == u64::MAX {
        draw
    } else {
        min + draw % (span + 1)
    };
    Resolution::Literal(value.to_string())
}

/// Replaces every defined reference in `text`.
pub fn substitute(
    params: &Params,
    text: &str,
    ctx: &mut Context<'_>,
) -> Result<Substituted, Fatal> {
    let mut out = Substituted {
        text: text.to_string(),
        ..Substituted::default()
    };
    // Values being rescanned: (name, end offset in `out.text`). Nested, so
    // inner ends never exceed outer ones.
    let mut active: Vec<(String, usize)> = Vec::new();
    let mut shift: isize = 0;
    let mut replacements = 0usize;
    let mut pos = 0;
    while let Some(found) = out.text.get(pos..).and_then(|rest| rest.find('$')) {
        let dollar = pos + found;
        while active.last().is_some_and(|(_, end)| *end <= dollar) {
            active.pop();
        }
        let Some(reference) = find_reference(&out.text, dollar) else {
            pos = dollar + 1;
            continue;
        };
        let len = reference.len;
        let (value, rescan) = match resolve(params, &reference, ctx) {
            Resolution::Undefined => {
                pos = dollar + 1;
                continue;
            }
            Resolution::Malformed(message) => {
                if active.is_empty() {
                    out.problems.push(Problem {
                        at: offset_in_original(dollar, shift),
                        len,
                        message,
                    });
                }
                pos = dollar + len;
                continue;
            }
            Resolution::User(value) => {
                let multiline = value.contains('\n');
                // keepalived expands a multiline definition only when its
                // name is the whole line; elsewhere the name stays as
                // written (and is then an unknown keyword).
                let whole_line = out.text[..dollar].trim().is_empty()
                    && out.text[dollar + len..].trim().is_empty();
                if multiline && !whole_line {
                    pos = dollar + len;
                    continue;
                }
                (value, !multiline)
            }
            Resolution::Literal(value) => (value, false),
        };
        let name = reference.name.to_string();
        if rescan && active.iter().any(|(n, _)| *n == name) {
            return Err(Fatal::Recursion {
                name,
                at: origin_of_active(&out.spans, dollar, shift, active.is_empty()),
            });
        }
        replacements += 1;
        if replacements > MAX_REPLACEMENTS || out.text.len() - len + value.len() > MAX_LINE_BYTES {
            return Err(Fatal::TooLong {
                at: origin_of_active(&out.spans, dollar, shift, active.is_empty()),
            });
        }
        out.text.replace_range(dollar..dollar + len, &value);
        let delta = value.len() as isize - len as isize;
        if active.is_empty() {
            let orig_start = offset_in_original(dollar, shift);
            out.spans.push(Span {
                orig_start,
                orig_end: orig_start + len,
                out_start: dollar,
                out_end: dollar + value.len(),
            });
        } else {
            for (_, end) in active.iter_mut() {
                *end = end.saturating_add_signed(delta);
            }
            if let Some(span) = out.spans.last_mut() {
                span.out_end = span.out_end.saturating_add_signed(delta);
            }
        }
        shift += delta;
        if rescan {
            active.push((name, dollar + value.len()));
            pos = dollar;
        } else {
            pos = dollar + value.len();
        }
    }
    Ok(out)
}

fn offset_in_original(out_offset: usize, shift: isize) -> usize {
    out_offset.saturating_add_signed(-shift)
}

/// Where in the original line the reference being expanded started.
fn origin_of_active(spans: &[Span], dollar: usize, shift: isize, top_level: bool) -> usize {
    if top_level {
        return offset_in_original(dollar, shift);
    }
    spans.last().map(|s| s.orig_start).unwrap_or(0)
}

/// The `${_RANDOM}` source: seeded by `LoadOptions::random_seed` or a
/// `random_seed` line when there is one, else from the clock at first use.
#[derive(Debug, Default)]
pub struct LazyRandom {
    rng: Option<SplitMix64>,
}

impl LazyRandom {
    pub fn seed(&mut self, seed: u64) {
        self.rng = Some(SplitMix64::new(seed));
    }

    pub fn next_u64(&mut self) -> u64 {
        let rng = self.rng.get_or_insert_with(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            SplitMix64::new(nanos ^ u64::from(std::process::id()))
        });
        rng.next_u64()
    }
}

/// A small deterministic generator (splitmix64) for `${_RANDOM}`: seeded
/// configurations must expand the same way on every run.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Substituted {
    /// The substituted line, with each replacement mapped to the reference
    /// it replaced and the surrounding text to its own columns.
    pub fn into_line(self, src: &SourceLine) -> SourceLine {
        let done = self;
        let mut segments = Segments::with_capacity(done.spans.len() * 2 + 1);
        let mut orig = 0;
        let mut out = 0;
        for span in &done.spans {
            copy_segments(src, orig, span.orig_start, out, &mut segments);
            if span.out_end > span.out_start {
                segments.push(Segment {
                    offset: span.out_start,
                    origin: src.location_of(span.orig_start),
                    expanded: true,
                });
            }
            orig = span.orig_end;
            out = span.out_end;
        }
        copy_segments(src, orig, src.text.len(), out, &mut segments);
        if segments.is_empty() {
            segments.push(Segment {
                offset: 0,
                origin: src.start(),
                expanded: false,
            });
        }
        SourceLine {
            text: done.text,
            segments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(params: &Params, text: &str) -> Result<Substituted, Fatal> {
        let mut random = LazyRandom::default();
        random.seed(1);
        let mut ctx = Context {
            pwd: "/etc/keepalived",
            instance: "main",
            random: &mut random,
        };
        substitute(params, text, &mut ctx)
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        let mut p = Params::default();
        for (k, v) in pairs {
            p.define(k, v.to_string());
        }
        p
    }

    #[test]
    fn definitions_need_dollar_name_equals() {
        let d = parse_definition("  $A=1 2 # c").unwrap();
        assert_eq!((d.name, d.value, d.at), ("A", "1 2", 2));
        assert_eq!(parse_definition("$E=").unwrap().value, "");
        assert!(parse_definition("$A = 1").is_none());
        assert!(parse_definition("x $A=1").is_none());
        assert!(parse_definition("$1A=1").is_none());
        assert!(parse_definition("$M= \\").unwrap().opens_multiline());
    }

    #[test]
    fn bare_references_need_whitespace_after() {
        let p = params(&[("P", "val")]);
        assert_eq!(
            run(&p, "a$P $Pz ${P}z $P").unwrap().text,
            "aval $Pz valz val"
        );
    }

    #[test]
    fn replacement_is_recursive_at_use_time() {
        let mut p = params(&[("B", "10.2.${S}"), ("S", "0")]);
        assert_eq!(run(&p, "${B}.100/32").unwrap().text, "10.2.0.100/32");
        p.define("S", "10".to_string());
        assert_eq!(run(&p, "${B}.100/32").unwrap().text, "10.2.10.100/32");
    }

    #[test]
    fn spans_map_back_to_the_original() {
        let p = params(&[("A", "${B}${B}"), ("B", "xyz")]);
        let s = run(&p, "k ${A} ${B}").unwrap();
        assert_eq!(s.text, "k xyzxyz xyz");
        assert_eq!(
            s.spans,
            vec![
                Span {
                    orig_start: 2,
                    orig_end: 6,
                    out_start: 2,
                    out_end: 8
                },
                Span {
                    orig_start: 7,
                    orig_end: 11,
                    out_start: 9,
                    out_end: 12
                },
            ]
        );
    }

    #[test]
    fn self_reference_is_an_error_not_a_hang() {
        let p = params(&[("A", "${A}x")]);
        assert!(matches!(
            run(&p, "v ${A}"),
            Err(Fatal::Recursion { at: 2, .. })
        ));
        let p = params(&[("A", "${B}"), ("B", "${A}")]);
        assert!(matches!(run(&p, "${A}"), Err(Fatal::Recursion { .. })));
    }

    #[test]
    fn exponential_values_stop_at_the_size_cap() {
        let mut p = Params::default();
        p.define("A0", "xxxxxxxxxxxxxxxx".to_string());
        for i in 1..40 {
            p.define(&format!("A{i}"), format!("${{A{0}}}${{A{0}}}", i - 1));
        }
        assert!(matches!(run(&p, "${A39}"), Err(Fatal::TooLong { .. })));
    }

    #[test]
    fn predefined_names() {
        let p = Params::default();
        let s = run(&p, "${_PWD} ${_INSTANCE} ${_HASH}${_BANG} ${_RANDOM 5 5}").unwrap();
        assert_eq!(s.text, "/etc/keepalived main #! 5");
        let r: u32 = run(&p, "${_RANDOM}").unwrap().text.parse().unwrap();
        assert!(r <= 32767);
        let bad = run(&p, "${_RANDOM 9 1}").unwrap();
        assert_eq!(bad.text, "${_RANDOM 9 1}");
        assert_eq!(bad.problems.len(), 1);
    }

    #[test]
    fn user_definitions_shadow_predefined_names() {
        let p = params(&[("_PWD", "x")]);
        assert_eq!(run(&p, "d$_PWD").unwrap().text, "dx");
        assert_eq!(run(&p, "${_PWD}").unwrap().text, "x");
    }

    #[test]
    fn undefined_stays_untouched() {
        let p = Params::default();
        assert_eq!(run(&p, "a ${U} $U $ ${").unwrap().text, "a ${U} $U $ ${");
    }

    #[test]
    fn multiline_values_are_not_rescanned() {
        let p = params(&[("M", "a ${X}\nb"), ("X", "1")]);
        assert_eq!(run(&p, "$M").unwrap().text, "a ${X}\nb");
    }

    #[test]
    fn a_multiline_value_replaces_only_a_whole_line() {
        let p = params(&[("M", "a\nb")]);
        assert_eq!(run(&p, "  $M  ").unwrap().text, "  a\nb  ");
        assert_eq!(run(&p, "$M extra").unwrap().text, "$M extra");
        assert_eq!(run(&p, "key $M").unwrap().text, "key $M");
    }
}
