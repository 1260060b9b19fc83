//! Loading a candidate configuration fast when it differs from the running
//! one in a few `virtual_server` blocks: only those blocks are parsed
//! again, the rest of the running model is reused, and the whole is
//! validated. On a director with tens of thousands of real servers this
//! turns an apply's parse from a full load into a few milliseconds (issue
//! 7: "apply of a one-line change … target under 100 ms").
//!
//! The fast path is taken only when it cannot differ from a full load:
//! both texts free of preprocessing (`include`, `@` conditionals, `$`
//! parameters, `~SEQ`/`~LST`), the same number of lines (so every reused
//! location still points at the right line), the edits inside
//! `virtual_server` blocks, the re-parsed part yielding exactly those
//! blocks, and no error in the result. Anything else — and every invalid
//! candidate, so its diagnostics come from the real thing — takes the
//! full load. This module never reads files.

use std::path::Path;

use crate::config::diagnostic::Diagnostics;
use crate::config::load::{self, Options};
use crate::config::model::Config;
use crate::config::validate;

/// What the director runs, with the text it was loaded from.
#[derive(Debug, Clone, Copy)]
pub struct RunningText<'a> {
    pub text: &'a str,
    pub config: &'a Config,
}

/// Whether `text` needs the preprocessor (conservatively): a `$`, a
/// `~SEQ`/`~LST`, or a line that starts with `@` or `include`. Memchr
/// scans, so a multi-megabyte text costs well under a millisecond.
fn preprocessed(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Only blanks (or, to be safe, any non-ASCII byte) before `at` on its line.
    let starts_line = |at: usize| {
        bytes[..at]
            .iter()
            .rev()
            .take_while(|&&c| c != b'\n')
            .all(|&c| c.is_ascii_whitespace() || !c.is_ascii())
    };
    memchr::memchr(b'$', bytes).is_some()
        || memchr::memmem::find(bytes, b"~SEQ").is_some()
        || memchr::memmem::find(bytes, b"~LST").is_some()
        || memchr::memchr_iter(b'@', bytes).any(starts_line)
        || memchr::memmem::find_iter(bytes, b"include").any(starts_line)
}

fn newlines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// Bytes `a` and `b` share at their start; whole blocks compare as one
/// `memcmp` before the byte that differs is looked for.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let mut at = 0;
    while at + BLOCK <= n && a[at..at + BLOCK] == b[at..at + BLOCK] {
        at += BLOCK;
    }
    at + a[at..n]
        .iter()
        .zip(&b[at..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// Bytes `a` and `b` share at their end.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut len = 0;
    while len + BLOCK <= n && a[n - len - BLOCK..n - len] == b[n - len - BLOCK..n - len] {
        len += BLOCK;
    }
    len + a[..n - len]
        .iter()
        .rev()
        .zip(b[..n - len].iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// 1-based numbers of the first and last line where `a` and `b` differ,
/// when they have as many lines; `None` when they are equal or do not.
fn changed_lines(a: &str, b: &str) -> Option<(usize, usize)> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b || newlines(a) != newlines(b) {
        return None;
    }
    let prefix = common_prefix(a, b);
    let suffix = common_suffix(a, b).min(a.len().min(b.len()) - prefix);
    let first = newlines(&a[..prefix]) + 1;
    let last = newlines(&a[..a.len() - suffix]) + 1;
    Some((first, last.max(first)))
}

/// The byte offset where 1-based line `line` starts (the text's length
/// when it has fewer lines).
fn line_start(text: &str, line: usize) -> usize {
    match line.checked_sub(2) {
        None => 0,
        Some(skip) => memchr::memchr_iter(b'\n', text.as_bytes())
            .nth(skip)
            .map_or(text.len(), |newline| newline + 1),
    }
}

/// The candidate's model by the fast path, or `None` when it does not
/// apply (see the module docs).
pub fn reuse(running: RunningText<'_>, path: &Path, text: &str) -> Option<Config> {
    if preprocessed(running.text) || preprocessed(text) {
        return None;
    }
    let (first, last) = changed_lines(running.text, text)?;
    let servers = &running.config.lvs.virtual_servers;
    let starts: Vec<usize> = servers
        .iter()
        .map(|vs| vs.service.at.line as usize)
        .collect();
    // Blocks are in file order; each runs to the next one's line.
    if starts.first().is_none_or(|&s| s == 0)
        || starts.windows(2).any(|w| w[0] >= w[1])
        || servers.iter().any(|vs| vs.service.at.file.0 != 0)
    {
        return None;
    }
    let a = starts.iter().rposition(|&s| s <= first)?;
    let b = starts.iter().rposition(|&s| s <= last)?;
    let from = starts[a];
    let to = starts.get(b + 1).map(|s| s - 1);
    // Lines `from` to `to` (or the end), without the newline after `to`.
    let begin = line_start(text, from);
    let end = match to {
        Some(to) => line_start(text, to + 1).saturating_sub(1).max(begin),
        None => text.len(),
    };
    let region = text.get(begin..end)?;
    // Pad with empty lines so the re-parsed blocks carry their real lines.
    let mut padded = "\n".repeat(from - 1);
    padded.push_str(region);
    let part = load::load_str(path, &padded, &Options::default());
    let fresh = part.config;
    if part.diagnostics.has_errors()
        || fresh.lvs.virtual_servers.len() != b - a + 1
        || !fresh.lvs.groups.is_empty()
        || fresh.lvs.ssl.is_some()
        || fresh.vrrp != Default::default()
        || fresh.global != Default::default()
        || !fresh.other.is_empty()
    {
        return None;
    }
    let mut config = running.config.clone();
    config
        .lvs
        .virtual_servers
        .splice(a..=b, fresh.lvs.virtual_servers);
    let mut diagnostics = Diagnostics::new();
    validate::validate(&config, &mut diagnostics);
    (!diagnostics.has_errors()).then_some(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn full(text: &str) -> Config {
        load::load_str(Path::new("k.conf"), text, &Options::default()).config
    }

    fn vs(port: u16, weight: u32) -> String {
        format!(
            "virtual_server 198.51.100.88 {port} {{\n    lb_algo wrr\n    protocol TCP\n    real_server 198.51.100.82 {port} {{\n        weight {weight}\n        TCP_CHECK {{\n            connect_timeout 3\n        }}\n    }}\n}}\n"
        )
    }

    fn text(weights: [u32; 3]) -> String {
        format!(
            "global_defs {{\n    router_id A\n}}\n{}{}{}",
            vs(80, weights[0]),
            vs(81, weights[1]),
            vs(82, weights[2])
        )
    }

    #[test]
    fn an_edit_inside_a_virtual_server_reparses_that_block_alone_and_matches_a_full_load() {
        let running_text = text([1, 1, 1]);
        let running = full(&running_text);
        let candidate = text([1, 5, 1]);
        let fast = reuse(
            RunningText {
                text: &running_text,
                config: &running,
            },
            Path::new("k.conf"),
            &candidate,
        )
        .expect("the fast path applies");
        let slow = full(&candidate);
        assert_eq!(fast, slow);
        // Locations too: the edited weight sits on its real line.
        let weight = fast.lvs.virtual_servers[1].real_servers[0].weight.unwrap();
        assert_eq!(
            weight.at.line,
            slow.lvs.virtual_servers[1].real_servers[0]
                .weight
                .unwrap()
                .at
                .line
        );
        assert_eq!(weight.value, 5);
    }

    #[test]
    fn block_scans_agree_with_byte_by_byte_ones_across_block_edges() {
        let a: Vec<u8> = (0..20_000u32)
            .map(|i| b"abc\nde"[(i % 6) as usize])
            .collect();
        for at in [0, 1, 4095, 4096, 4097, 8191, 12_288, 19_999] {
            let mut b = a.clone();
            b[at] = b'#';
            let naive_prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            let naive_suffix = a
                .iter()
                .rev()
                .zip(b.iter().rev())
                .take_while(|(x, y)| x == y)
                .count();
            assert_eq!(common_prefix(&a, &b), naive_prefix, "edit at {at}");
            assert_eq!(common_suffix(&a, &b), naive_suffix, "edit at {at}");
        }
        assert_eq!(common_prefix(&a, &a[..5000]), 5000);
        assert_eq!(common_suffix(&a, &a[6000..]), 14_000);
    }

    #[test]
    fn preprocessing_is_seen_at_line_starts_only() {
        assert!(preprocessed("global_defs {\n  @main router_id A\n}\n"));
        assert!(preprocessed("include /etc/keepalived/vs/*.conf\n"));
        assert!(preprocessed("\t include x\n"));
        assert!(preprocessed("vrrp_instance VI_$N {\n}\n"));
        assert!(preprocessed("~SEQ(N, 1, 3)\n"));
        assert!(!preprocessed(
            "notification_email {\n  ops@example.com\n}\n"
        ));
        assert!(!preprocessed(
            "  misc_path \"/usr/bin/check --include x\"\n"
        ));
        assert_eq!(line_start("a\nb\nc", 1), 0);
        assert_eq!(line_start("a\nb\nc", 3), 4);
        assert_eq!(line_start("a\nb\nc", 9), 5);
    }

    #[test]
    fn other_edits_take_the_full_load() {
        let running_text = text([1, 1, 1]);
        let running = full(&running_text);
        let from = RunningText {
            text: &running_text,
            config: &running,
        };
        let k = Path::new("k.conf");
        // A line more: locations after it would move.
        let longer = running_text.replacen(
            "    lb_algo wrr\n",
            "    lb_algo wrr\n    delay_loop 3\n",
            2,
        );
        assert!(reuse(from, k, &longer).is_none());
        // Outside the virtual servers.
        assert!(reuse(from, k, &running_text.replace("router_id A", "router_id B")).is_none());
        // An error: the full load must report it.
        let broken = running_text.replacen("lb_algo wrr", "lb_algo", 1);
        assert!(reuse(from, k, &broken).is_none());
        assert!(
            reuse(from, k, &running_text).is_none(),
            "nothing to reparse"
        );
        let with_param = format!("$W=1\n{running_text}");
        assert!(reuse(from, k, &with_param).is_none());
    }

    #[test]
    fn every_single_line_edit_gives_what_a_full_load_gives() {
        let running_text = crate::config::generate::director(12, 3);
        let running = full(&running_text);
        let from = RunningText {
            text: &running_text,
            config: &running,
        };
        let lines: Vec<&str> = running_text.split('\n').collect();
        let mut fast = 0;
        for (index, line) in lines.iter().enumerate() {
            // Change the first digit of the line, if it has one.
            let Some(at) = line.find(|c: char| c.is_ascii_digit()) else {
                continue;
            };
            let mut edited = line.to_string();
            let digit = if &line[at..=at] == "7" { "3" } else { "7" };
            edited.replace_range(at..=at, digit);
            let mut all = lines.clone();
            all[index] = &edited;
            let candidate = all.join("\n");
            let slow = load::load_str(Path::new("k.conf"), &candidate, &Options::default());
            if let Some(config) = reuse(from, Path::new("k.conf"), &candidate) {
                fast += 1;
                assert!(
                    !slow.has_errors(),
                    "line {}: reused an invalid file",
                    index + 1
                );
                assert_eq!(config, slow.config, "line {}: {edited}", index + 1);
            }
        }
        assert!(fast > 100, "the fast path served only {fast} edits");
    }
}
