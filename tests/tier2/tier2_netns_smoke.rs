//! Privileged tier smoke test: two network namespaces joined by a veth pair
//! can ping each other, and everything is cleaned up afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use support::netns::{link, Netns};

#[test]
fn veth_pair_between_namespaces_carries_ping() {
    let Some(_group) =
        support::privileged_test(module_path!(), "veth_pair_between_namespaces_carries_ping")
    else {
        return;
    };
    let left_name = support::unique_name("lvsL");
    let right_name = support::unique_name("lvsR");
    {
        let left = Netns::new(&left_name);
        let right = Netns::new(&right_name);
        link(&left, "198.51.100.1/24", &right, "198.51.100.2/24");
        let out = left.exec("ping", &["-c", "1", "-W", "5", "198.51.100.2"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("1 received"), "ping output: {text}");
    }
    let listed = support::netns::run("ip", &["netns", "list"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        !listed.contains(&left_name) && !listed.contains(&right_name),
        "namespaces left behind: {listed}"
    );
}
