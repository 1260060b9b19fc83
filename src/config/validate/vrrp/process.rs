//! Rules for `track_process` blocks on their own (keepalived.conf(5) "VRRP
//! track processes"): one without `process` tracks nothing, and a
//! `quorum_max` below `quorum` can never be met.

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::model::vrrp::TrackProcess;

pub fn validate(processes: &[TrackProcess], diagnostics: &mut Diagnostics) {
    for tracker in processes {
        let name = &tracker.name;
        if tracker.process.is_none() {
            diagnostics.push(
                Diagnostic::warning(
                    "process-missing",
                    format!("track_process '{}' has no 'process'", name.value),
                )
                .spanning(name.at, name.value.chars().count())
                .with_help("add 'process NAME'; the tracker is ignored otherwise"),
            );
        }
        if let (Some(min), Some(max)) = (tracker.quorum, tracker.quorum_max) {
            if max.value < min.value {
                diagnostics.push(
                    Diagnostic::warning(
                        "quorum-range",
                        format!(
                            "track_process '{}': quorum_max {} is below quorum {}, so it is always down",
                            name.value, max.value, min.value
                        ),
                    )
                    .at(max.at)
                    .with_help("make quorum_max at least quorum"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load::{load_str, Options};

    fn codes(text: &str) -> Vec<&'static str> {
        let outcome = load_str(std::path::Path::new("t.conf"), text, &Options::default());
        outcome.diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn a_tracker_without_process_or_with_an_impossible_quorum_is_warned() {
        let found = codes("track_process t {\n quorum 3\n quorum_max 2\n}\n");
        assert!(found.contains(&"process-missing"), "{found:?}");
        assert!(found.contains(&"quorum-range"), "{found:?}");
    }

    #[test]
    fn an_undefined_track_process_reference_is_warned() {
        let found = codes(
            "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n track_process {\n  nope\n }\n}\n",
        );
        assert!(found.contains(&"undefined-reference"), "{found:?}");
    }
}
