//! Network namespaces and veth pairs that clean up after themselves.
//!
//! Every namespace a test creates is deleted when its guard drops, even when
//! the test fails. Addresses come from 198.51.100.0/24 and 203.0.113.0/24
//! (the test tiers in ARCHITECTURE.md); namespaces get no default route.

use std::process::{Command, Output};

/// Runs a command, panicking with its output when it fails.
pub fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A network namespace, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: &str) -> Self {
        run("ip", &["netns", "add", name]);
        let ns = Self {
            name: name.to_string(),
        };
        ns.exec("ip", &["link", "set", "lo", "up"]);
        ns
    }

    /// Runs a command inside the namespace and asserts success.
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        let mut full = vec!["netns", "exec", self.name.as_str(), program];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// Runs a command inside the namespace and returns its output whatever
    /// the exit status.
    pub fn try_exec(&self, program: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", self.name.as_str(), program])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run ip netns exec: {e}"))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Connects two namespaces with a veth pair and gives each end an address
/// (CIDR notation). The pair disappears with the namespaces.
pub fn link(a: &Netns, a_addr: &str, b: &Netns, b_addr: &str) -> (String, String) {
    let a_if = super::unique_name("va");
    let b_if = super::unique_name("vb");
    run(
        "ip",
        &[
            "link", "add", &a_if, "netns", &a.name, "type", "veth", "peer", "name", &b_if, "netns",
            &b.name,
        ],
    );
    a.exec("ip", &["addr", "add", a_addr, "dev", &a_if]);
    b.exec("ip", &["addr", "add", b_addr, "dev", &b_if]);
    a.exec("ip", &["link", "set", &a_if, "up"]);
    b.exec("ip", &["link", "set", &b_if, "up"]);
    (a_if, b_if)
}
