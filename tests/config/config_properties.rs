//! Property tests for the configuration pipeline:
//! - random bytes and mutated keepalived samples never make it panic;
//! - for generated configurations, `--dump` output parses back to the same
//!   model (render → parse is the identity on models).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::path::Path;
use std::sync::OnceLock;

use lvstop::config::load::{self, Options};
use lvstop::config::render;
use proptest::prelude::*;
use support::corpus;

fn options() -> Options {
    Options::default()
}

fn load_text(text: &str) -> load::Outcome {
    // A directory that does not exist: relative includes find nothing.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nonexistent-proptest/p.conf");
    load::load_str(&path, text, &options())
}

/// keepalived's samples (see `support::corpus`), read once; empty (after
/// a skip line) on a machine without them.
fn samples() -> &'static [String] {
    static SAMPLES: OnceLock<Vec<String>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        corpus::keepalived_samples("mutated_samples_never_panic")
            .unwrap_or_default()
            .into_iter()
            .map(|sample| sample.text)
            .collect()
    })
}

/// Pieces that stress the preprocessor and parser when spliced in.
const NASTY: &[&str] = &[
    "{",
    "}",
    "\"",
    "'",
    "\\",
    "$X=${X}${X}",
    "${X}",
    "$",
    "~SEQ(I,0,1,3)",
    "~LST({A,B},{1,2})",
    "~SEQ(",
    "@",
    "@^x",
    "include *",
    "!",
    "#",
    "\n",
    " ",
    "virtual_server",
    "real_server",
    "vrrp_instance",
    "TCP_CHECK",
    "url {",
    "999999999999999999999",
    "-1",
    "0x",
    "::",
    "/",
    "$A= \\\n",
    "${_RANDOM 9 1}",
    "${_ENV HOME}",
    "\u{0}",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = load_text(&text);
    }

    #[test]
    fn mutated_samples_never_panic(
        which in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..NASTY.len(), 0usize..40), 1..12),
    ) {
        let samples = samples();
        if samples.is_empty() {
            return Ok(());
        }
        let mut text = samples[which.index(samples.len())].clone();
        for (position, piece, delete) in edits {
            let mut at = position.index(text.len() + 1);
            while !text.is_char_boundary(at) { at -= 1; }
            let mut end = (at + delete).min(text.len());
            while !text.is_char_boundary(end) { end -= 1; }
            text.replace_range(at..end.max(at), NASTY[piece]);
        }
        let _ = load_text(&text);
    }
}

/// Strategies for generated configurations that should be valid.
fn ipv4() -> impl Strategy<Value = String> {
    (1u8..=254, 1u8..=254).prop_map(|(a, b)| format!("198.51.{a}.{b}"))
}

fn instance() -> impl Strategy<Value = String> {
    (
        1u8..=255,
        1u8..=254,
        prop::bool::ANY,
        1u8..=10,
        proptest::collection::vec(ipv4(), 1..4),
        prop::bool::ANY,
    )
        .prop_map(|(vrid, priority, master, interval, vips, nopreempt)| {
            let mut s = format!(
                "vrrp_instance VI_{vrid} {{\n    state {}\n    interface eth0\n    virtual_router_id {vrid}\n    priority {priority}\n    advert_int {interval}\n",
                if master { "MASTER" } else { "BACKUP" }
            );
            if nopreempt && !master {
                s.push_str("    nopreempt\n");
            }
            s.push_str("    authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n    virtual_ipaddress {\n");
            for vip in vips {
                s.push_str(&format!("        {vip}/32 dev eth0 label eth0:1\n"));
            }
            s.push_str("    }\n}\n");
            s
        })
}

fn checker() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..30, 1u32..5).prop_map(|(t, r)| format!("        TCP_CHECK {{\n            connect_timeout {t}\n            retry {r}\n        }}\n")),
        (200u16..300, 1u32..30).prop_map(|(code, t)| format!(
            "        HTTP_GET {{\n            url {{\n                path /health\n                status_code {code}\n            }}\n            connect_timeout {t}\n        }}\n"
        )),
        Just("        MISC_CHECK {\n            misc_path \"/usr/local/bin/check --fast\"\n            misc_timeout 5\n        }\n".to_string()),
    ]
}

fn virtual_server(index: usize) -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["rr", "wrr", "lc", "wlc", "sh", "mh"]),
        prop::sample::select(vec!["DR", "NAT", "TUN"]),
        0u32..3600,
        proptest::collection::vec((0u32..=65535, checker()), 1..4),
    )
        .prop_map(move |(sched, kind, persistence, reals)| {
            let port = 1000 + index;
            let mut s = format!(
                "virtual_server 198.51.100.{} {port} {{\n    delay_loop 6\n    lb_algo {sched}\n    lb_kind {kind}\n    protocol TCP\n",
                index % 250 + 1
            );
            if persistence > 0 {
                s.push_str(&format!("    persistence_timeout {persistence}\n"));
            }
            for (i, (weight, check)) in reals.into_iter().enumerate() {
                s.push_str(&format!(
                    "    real_server 203.0.113.{} {port} {{\n        weight {weight}\n{check}    }}\n",
                    i + 1
                ));
            }
            s.push_str("}\n");
            s
        })
}

fn configuration() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(instance(), 0..3),
        proptest::collection::vec(virtual_server(0), 0..2),
        proptest::collection::vec(virtual_server(1), 0..2),
    )
        .prop_map(|(instances, a, b)| {
            let mut s = String::from("global_defs {\n    router_id PROP\n}\n");
            let mut seen = std::collections::HashSet::new();
            for i in instances {
                // One instance per VRID: duplicates would be (rightly) errors.
                let key = i.lines().next().unwrap_or_default().to_string();
                if seen.insert(key) {
                    s.push_str(&i);
                }
            }
            for v in a.into_iter().take(1).chain(b.into_iter().take(1)) {
                s.push_str(&v);
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn dump_parses_back_to_the_same_model(text in configuration()) {
        let first = load_text(&text);
        let rendered = render::render(&first.config);
        let second = load_text(&rendered);
        prop_assert_eq!(&first.config, &second.config, "rendered:\n{}", rendered);
        prop_assert_eq!(render::render(&second.config), rendered);
    }
}
