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

/// Whether `text` needs the preprocessor (conservatively).
fn preprocessed(text: &str) -> bool {
    text.contains('$')
        || text.contains("~SEQ")
        || text.contains("~LST")
        || text.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with('@') || line.starts_with("include")
        })
}

/// 1-based numbers of the first and last line where `a` and `b` differ,
/// when they have as many lines; `None` when they are equal or do not.
fn changed_lines(a: &str, b: &str) -> Option<(usize, usize)> {
    let lines = |t: &str| t.bytes().filter(|&c| c == b'\n').count();
    if a == b || lines(a) != lines(b) {
        return None;
    }
    let prefix = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let suffix = a
        .bytes()
        .rev()
        .zip(b.bytes().rev())
        .take_while(|(x, y)| x == y)
        .count()
        .min(a.len().min(b.len()) - prefix);
    let line_of = |offset: usize| {
        a.as_bytes()[..offset]
            .iter()
            .filter(|&&c| c == b'\n')
            .count()
            + 1
    };
    let first = line_of(prefix);
    let last = line_of(a.len() - suffix);
    Some((first, last.max(first)))
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
    let lines: Vec<&str> = text.split('\n').collect();
    let region = lines.get(from - 1..to.unwrap_or(lines.len()))?;
    // Pad with empty lines so the re-parsed blocks carry their real lines.
    let mut padded = "\n".repeat(from - 1);
    padded.push_str(&region.join("\n"));
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
