//! FILE_CHECK: the real server's state and weight follow a number in a file
//! (keepalived.conf(5), "Track files" and "File checker").
//!
//! The checker names a top-level `track_file` block, which gives the file
//! and a default `weight [reverse]`; the FILE_CHECK's own non-zero `weight`
//! overrides both. The file is read as a decimal integer (leading spaces
//! and a sign allowed, anything after the number ignored); lvstop reads a
//! missing, empty or non-numeric file as 0.
//!
//! With weight 0, the number is a status: 0 passes, anything else fails
//! (`reverse` swaps the two). With a non-zero weight, value × weight (negated
//! by `reverse`) is added to the real server's configured weight, and the
//! probe passes with that weight clamped to 0..=65535 (IPVS's range; a
//! result below zero gives weight 0). keepalived only fails such a checker
//! when the product reaches −2147483648 ("FAULT"); lvstop does the same.
//! keepalived watches the file with inotify; lvstop reads it at every probe,
//! so a change is seen at the next delay loop.

use std::path::PathBuf;

use super::{down, ProbeSpec};
use crate::config::model::lvs::FileCheck;
use crate::config::model::vrrp::TrackFile;
use crate::health::outcome::{Reason, Verdict};

/// The largest weight IPVS accepts.
const IPVS_WEIGHT_MAX: i64 = 65535;
/// A product at or below this puts the checker in FAULT (keepalived.conf(5):
/// values are limited to −2147483648..2147483648).
const FAULT: i64 = i32::MIN as i64;

/// A FILE_CHECK resolved against its `track_file` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFileTarget {
    /// The `track_file` block's name, for reasons.
    pub name: String,
    pub path: PathBuf,
    pub weight: i32,
    pub reverse: bool,
}

impl TrackFileTarget {
    /// `None` when the named block does not exist or names no file.
    pub fn resolve(check: &FileCheck, track_files: &[TrackFile]) -> Option<Self> {
        let name = &check.track_file.as_ref()?.value;
        let block = track_files.iter().find(|t| &t.name.value == name)?;
        let path = PathBuf::from(&block.file.as_ref()?.value);
        let (weight, reverse) = match check.weight {
            Some(w) if w.value != 0 => (w.value, check.reverse),
            _ => (block.effective_weight(), block.reverse),
        };
        Some(Self {
            name: name.clone(),
            path,
            weight,
            reverse,
        })
    }
}

/// strtol-like: the leading integer of `text`, else 0.
fn leading_integer(text: &str) -> i64 {
    let text = text.trim_start();
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end]
        .parse::<i64>()
        .map_or(0, |value| sign * value.min(i64::from(i32::MAX) + 1))
}

pub(super) async fn probe(spec: &ProbeSpec) -> Verdict {
    let Some(target) = &spec.track_file else {
        return down(Reason::Protocol {
            detail: "FILE_CHECK names no track_file with a file".into(),
        });
    };
    let value = tokio::fs::read_to_string(&target.path)
        .await
        .map_or(0, |text| leading_integer(&text));
    judge(target, value, spec.real_server_weight)
}

fn judge(target: &TrackFileTarget, value: i64, real_server_weight: u32) -> Verdict {
    let fails = || {
        down(Reason::TrackFile {
            name: target.name.clone(),
            value,
        })
    };
    if target.weight == 0 {
        return if (value != 0) != target.reverse {
            fails()
        } else {
            Verdict::Up
        };
    }
    let mut product = value.saturating_mul(i64::from(target.weight));
    if target.reverse {
        product = -product;
    }
    if product <= FAULT {
        return fails();
    }
    let weight = (i64::from(real_server_weight) + product).clamp(0, IPVS_WEIGHT_MAX);
    Verdict::UpWithWeight {
        weight: weight as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(weight: i32, reverse: bool) -> TrackFileTarget {
        TrackFileTarget {
            name: "state".into(),
            path: PathBuf::from("/nonexistent"),
            weight,
            reverse,
        }
    }

    #[test]
    fn numbers_are_read_like_strtol() {
        assert_eq!(leading_integer("  42\n"), 42);
        assert_eq!(leading_integer("-7 apples"), -7);
        assert_eq!(leading_integer("apples"), 0);
        assert_eq!(leading_integer(""), 0);
    }

    #[test]
    fn weight_zero_makes_the_value_a_status() {
        assert_eq!(judge(&target(0, false), 0, 5), Verdict::Up);
        assert_eq!(
            judge(&target(0, false), 3, 5).to_owned(),
            Verdict::Down {
                reason: Reason::TrackFile {
                    name: "state".into(),
                    value: 3
                }
            }
        );
        assert_eq!(judge(&target(0, true), 3, 5), Verdict::Up);
    }

    #[test]
    fn a_weight_scales_the_value_into_the_real_server_weight() {
        assert_eq!(
            judge(&target(2, false), 3, 5),
            Verdict::UpWithWeight { weight: 11 }
        );
        assert_eq!(
            judge(&target(2, true), 3, 5),
            Verdict::UpWithWeight { weight: 0 }
        );
        assert!(matches!(
            judge(&target(1, false), i64::from(i32::MIN), 5),
            Verdict::Down { .. }
        ));
    }
}
