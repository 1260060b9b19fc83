//! Privileged tier: `virtual_routes` and `virtual_rules` follow MASTER,
//! the static blocks follow the daemon. Two `lvstop daemon` directors on
//! one bridged segment carry the same configuration; `ip route show table
//! all` and `ip rule show` inside each director's namespace show an
//! instance's routes and rules (marked `proto keepalived`, as keepalived
//! 2.2.7 marks them) while it is MASTER and never otherwise, the static
//! address, route and rule on both directors all the time, and nothing
//! left after a clean stop (keepalived removes its static entries at stop
//! too). A reload swaps a static route that left the configuration for
//! the new one. The same expectations run against keepalived itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::time::Duration;

use harness::{always, eventually, vrrp_config, Director, Lan};
use support::netns::Netns;

const WAIT: Duration = Duration::from_secs(15);

/// The instance's routes and rules: a gatewayed route, a typed route in
/// another table, one whose source is the VIP itself (so it can only go
/// in after the VIP), a destination rule and a source rule with a mark
/// and a goto.
const VIRTUAL: &str = "  virtual_routes {
    198.51.100.176/28 via 198.51.100.3
    unreachable 198.51.100.192/28 table 201 metric 7
    src 198.51.100.100 198.51.100.240/28 via 198.51.100.3
  }
  virtual_rules {
    to 198.51.100.208/28 table 201 preference 301
    from 198.51.100.224/28 fwmark 5/0xff goto 303 preference 302
  }";

const STATICS: &str = "static_ipaddress {
  198.51.100.201/32 dev lo
}
static_routes {
  blackhole 198.51.100.144/28
}
static_rules {
  from 198.51.100.160/28 table 200 preference 300
}
";

/// Every line of the virtual blocks as `ip` prints it: each entry is the
/// words one line must hold.
const VIRTUAL_LINES: &[&[&str]] = &[
    &["198.51.100.176/28 via 198.51.100.3", "proto keepalived"],
    &[
        "unreachable 198.51.100.192/28 table 201",
        "proto keepalived",
        "metric 7",
    ],
    &[
        "198.51.100.240/28 via 198.51.100.3",
        "proto keepalived",
        "src 198.51.100.100",
    ],
    &[
        "301:",
        "to 198.51.100.208/28 lookup 201",
        "proto keepalived",
    ],
    &[
        "302:",
        "from 198.51.100.224/28 fwmark 0x5/0xff goto 303",
        "proto keepalived",
    ],
];

const STATIC_LINES: &[&[&str]] = &[
    &["blackhole 198.51.100.144/28", "proto keepalived"],
    &[
        "300:",
        "from 198.51.100.160/28 lookup 200",
        "proto keepalived",
    ],
    &["inet 198.51.100.201/32", "lo"],
];

/// `ip route show table all`, `ip rule show` and `ip -o addr show` of
/// `ns`, one after the other.
fn routing_of(ns: &Netns) -> String {
    let mut text = String::new();
    for args in [
        &["route", "show", "table", "all"][..],
        &["rule", "show"],
        &["-o", "-4", "addr", "show"],
    ] {
        let out = ns.exec("ip", args);
        text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    text
}

/// How many of `expected` have a line holding all its words.
fn present(text: &str, expected: &[&[&str]]) -> usize {
    expected
        .iter()
        .filter(|words| text.lines().any(|l| words.iter().all(|w| l.contains(w))))
        .count()
}

fn config(interface: &str, priority: u8) -> String {
    format!(
        "{STATICS}{}",
        vrrp_config(interface, priority, 2, "1", VIRTUAL)
    )
}

fn pair_moves_virtual_routes_with_master(test: &str, keepalived_a: bool) {
    let Some(_group) = support::privileged_test(module_path!(), test) else {
        return;
    };
    let lan = Lan::new();
    let start_a = |lan: &Lan| {
        let conf = config(&lan.a_if, 150);
        if keepalived_a {
            Director::keepalived(&lan.a, &conf)
        } else {
            Director::lvstop(&lan.a, &conf)
        }
    };
    let mut a = start_a(&lan);
    let b = Director::lvstop(&lan.b, &config(&lan.b_if, 100));
    let state = |a: &Director, b: &Director| {
        format!(
            "A:\n{}\n{}\nB:\n{}\n{}",
            routing_of(&lan.a),
            a.log(),
            routing_of(&lan.b),
            b.log()
        )
    };
    let all = VIRTUAL_LINES.len();
    let statics = STATIC_LINES.len();

    // A is MASTER: its routes and rules are in; B has only the statics.
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)
            && present(&routing_of(&lan.a), VIRTUAL_LINES) == all),
        "A never installed its virtual routes as MASTER\n{}",
        state(&a, &b)
    );
    assert!(
        always(Duration::from_secs(2), || {
            let (on_a, on_b) = (routing_of(&lan.a), routing_of(&lan.b));
            present(&on_a, VIRTUAL_LINES) == all
                && present(&on_b, VIRTUAL_LINES) == 0
                && present(&on_a, STATIC_LINES) == statics
                && present(&on_b, STATIC_LINES) == statics
        }),
        "{}",
        state(&a, &b)
    );

    // A stops cleanly: everything of A's goes, B takes MASTER and its
    // routes and rules come in.
    a.stop();
    let on_a = routing_of(&lan.a);
    assert_eq!(present(&on_a, VIRTUAL_LINES), 0, "{on_a}");
    assert_eq!(present(&on_a, STATIC_LINES), 0, "stop left statics\n{on_a}");
    assert!(
        eventually(WAIT, || present(&routing_of(&lan.b), VIRTUAL_LINES) == all),
        "B never installed its virtual routes as MASTER\n{}",
        state(&a, &b)
    );

    // A returns and preempts: B goes back to BACKUP and takes its routes
    // and rules out, keeping its statics.
    let a = start_a(&lan);
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)
            && present(&routing_of(&lan.b), VIRTUAL_LINES) == 0
            && present(&routing_of(&lan.a), VIRTUAL_LINES) == all),
        "the routes did not follow MASTER back to A\n{}",
        state(&a, &b)
    );
    assert_eq!(
        present(&routing_of(&lan.b), STATIC_LINES),
        statics,
        "{}",
        state(&a, &b)
    );
}

#[test]
fn virtual_routes_and_rules_follow_master_and_statics_follow_the_daemon() {
    pair_moves_virtual_routes_with_master(
        "virtual_routes_and_rules_follow_master_and_statics_follow_the_daemon",
        false,
    );
}

/// The same expectations with keepalived 2.2.7 as director A: lvstop's
/// view of what an operator sees matches keepalived's own.
#[test]
fn keepalived_installs_and_removes_the_same_routes_and_rules() {
    pair_moves_virtual_routes_with_master(
        "keepalived_installs_and_removes_the_same_routes_and_rules",
        true,
    );
}

#[test]
fn a_reload_swaps_the_static_route_that_left_the_configuration() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "a_reload_swaps_the_static_route_that_left_the_configuration",
    ) else {
        return;
    };
    let lan = Lan::new();
    let mut a = Director::lvstop(&lan.a, &config(&lan.a_if, 150));
    assert!(
        eventually(WAIT, || present(&routing_of(&lan.a), STATIC_LINES)
            == STATIC_LINES.len()),
        "{}\n{}",
        routing_of(&lan.a),
        a.log()
    );
    let swapped = config(&lan.a_if, 150).replace(
        "blackhole 198.51.100.144/28",
        "prohibit 198.51.100.128/28 table 200",
    );
    std::fs::write(a.config_path(), swapped).unwrap();
    a.hup();
    let new_route: &[&[&str]] = &[&["prohibit 198.51.100.128/28 table 200", "proto keepalived"]];
    assert!(
        eventually(WAIT, || {
            let text = routing_of(&lan.a);
            present(&text, new_route) == 1 && !text.contains("198.51.100.144/28")
        }),
        "{}\n{}",
        routing_of(&lan.a),
        a.log()
    );
    // The static address and rule that stayed are still there.
    assert_eq!(present(&routing_of(&lan.a), &STATIC_LINES[1..]), 2);
    a.stop();
    assert!(!routing_of(&lan.a).contains("198.51.100.128/28"));
}
