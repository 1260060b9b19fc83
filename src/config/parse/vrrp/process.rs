//! Parses a `track_process` block (keepalived.conf(5) "VRRP track
//! processes"). Checks value ranges; references to the block are checked
//! in validate.

use super::super::global::{flag, set};
use super::super::keywords::{acted, Keyword};
use super::super::Parser;
use super::{block_name, weight_reverse};
use crate::config::model::vrrp::{ParamMatch, TrackProcess, VrrpConfig};
use crate::config::source::Spanned;
use crate::config::tree::Node;

/// keepalived.conf(5) "VRRP track processes": every keyword is acted on.
pub(super) const TRACK_PROCESS_KEYWORDS: &[Keyword] = &[
    acted("process"),
    acted("param_match"),
    acted("weight"),
    acted("quorum"),
    acted("quorum_max"),
    acted("fork_delay"),
    acted("terminate_delay"),
    acted("delay"),
    acted("full_command"),
];

/// The longest delay accepted (one hour: far past any reload a delay
/// is meant to ride out).
const MAX_DELAY: f64 = 3600.0;

/// The largest process count accepted for `quorum` / `quorum_max`.
const MAX_QUORUM: u32 = 65_535;

pub fn track_process(parser: &mut Parser<'_>, node: &Node, vrrp: &mut VrrpConfig) {
    let Some(name) = block_name(parser, node) else {
        return;
    };
    let block = format!("track_process '{}'", name.value);
    let mut tracker = TrackProcess {
        name,
        ..TrackProcess::default()
    };
    for child in node.children() {
        let Some(keyword) = parser.keyword(child, TRACK_PROCESS_KEYWORDS, &block) else {
            continue;
        };
        match keyword {
            "process" => {
                parser.no_block(child);
                if let Some(first) = parser.arg(child, 0, "a process name") {
                    // The lexer has removed the quotes: each word is one
                    // element, as the man page reads a quoted string.
                    let words = child.args.iter().map(|t| t.text.to_string()).collect();
                    tracker.process = Some(Spanned::new(words, first.at));
                }
            }
            "param_match" => {
                tracker.param_match = parser.choice(child, &["initial", "partial"]).map(|c| {
                    let kind = if c.value == 0 {
                        ParamMatch::Initial
                    } else {
                        ParamMatch::Partial
                    };
                    Spanned::new(kind, c.at)
                });
            }
            "weight" => {
                let (weight, reverse) = weight_reverse(parser, child, -254, 254);
                set(&mut tracker.weight, weight);
                tracker.reverse = reverse == Some(true);
            }
            "quorum" => set(&mut tracker.quorum, parser.number(child, 0, MAX_QUORUM)),
            "quorum_max" => set(&mut tracker.quorum_max, parser.number(child, 0, MAX_QUORUM)),
            "fork_delay" => set(&mut tracker.fork_delay, parser.timer(child, 0.0, MAX_DELAY)),
            "terminate_delay" => set(
                &mut tracker.terminate_delay,
                parser.timer(child, 0.0, MAX_DELAY),
            ),
            "delay" => {
                // "this sets fork_delay and terminate_delay".
                if let Some(delay) = parser.timer(child, 0.0, MAX_DELAY) {
                    tracker.fork_delay = Some(delay);
                    tracker.terminate_delay = Some(delay);
                }
            }
            "full_command" => tracker.full_command = flag(parser, child),
            _ => parser.keep(child, &mut tracker.other),
        }
    }
    vrrp.track_processes.push(tracker);
}
