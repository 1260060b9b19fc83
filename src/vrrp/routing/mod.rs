//! The routes, rules and static addresses lvstop installs beside VRRP:
//! `virtual_routes` / `virtual_rules` of an instance (present while it is
//! MASTER) and `static_ipaddress` / `static_routes` / `static_rules`
//! (present while the daemon runs).
//!
//! - [`route_words`] and [`rule_words`] translate keepalived's
//!   `ip route` / `ip rule` vocabulary (the config model) into the kernel
//!   forms of [`crate::net::route`] and [`crate::net::rule`], naming every
//!   word lvstop parses but does not act on. No I/O.
//! - [`statics`] adds and removes the static blocks at start, reload and
//!   stop.
//!
//! Which instance's routes go in or out on a transition is the runner's
//! business (`vrrp::driver::routes`); this module never watches a state.

pub mod route_words;
pub mod rule_words;
pub mod statics;

use std::collections::BTreeMap;

use crate::config::model::vrrp::{Route, Rule};
use crate::net::route::RouteSpec;
use crate::net::rule::RuleSpec;

pub use route_words::route_spec;
pub use rule_words::rule_spec;

/// Where keepalived's and iproute2's table names live (rt_tables(5)).
const RT_TABLES: &[&str] = &["/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables"];

/// Routing table names: the kernel's own and those of rt_tables(5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableNames {
    names: BTreeMap<String, u32>,
}

impl TableNames {
    /// Reads rt_tables(5) (blocking: call it on the blocking pool). A
    /// missing file contributes nothing.
    pub fn load() -> Self {
        let mut names = Self::default();
        for path in RT_TABLES {
            if let Ok(text) = std::fs::read_to_string(path) {
                names.read(&text);
            }
        }
        names
    }

    /// Adds the `ID NAME` lines of an rt_tables(5) text.
    pub fn read(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            if let (Some(id), Some(name)) = (words.next(), words.next()) {
                if let Ok(id) = parse_u32(id) {
                    self.names.entry(name.to_string()).or_insert(id);
                }
            }
        }
    }

    /// The id of table `word`: a number, a kernel name (`main`, `local`,
    /// `default`; include/uapi/linux/rtnetlink.h `RT_TABLE_*`) or a name
    /// from rt_tables(5).
    pub fn id(&self, word: &str) -> Option<u32> {
        match word {
            "main" => Some(254),
            "local" => Some(255),
            "default" => Some(253),
            "unspec" => Some(0),
            _ => parse_u32(word)
                .ok()
                .or_else(|| self.names.get(word).copied()),
        }
    }
}

/// A decimal or `0x` hexadecimal number, as iproute2 reads them.
pub fn parse_u32(word: &str) -> Result<u32, std::num::ParseIntError> {
    match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => word.parse(),
    }
}

/// A route or rule line lvstop cannot install, with the reason (the
/// operator sees it once, when the runner or daemon starts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}: {reason}")]
pub struct Skipped {
    /// The line as the operator wrote it, roughly.
    pub line: String,
    pub reason: String,
}

/// A translated line: the kernel form, and the words lvstop parsed but
/// does not act on (each as "parsed, not acted on: …").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated<T> {
    pub spec: T,
    pub not_acted_on: Vec<String>,
}

/// The kernel forms of one block of routes and one of rules, in
/// configuration order; lines lvstop cannot install are logged (with
/// `owner`, e.g. `(VI_1)` or `static_routes`) and left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteSet {
    pub routes: Vec<RouteSpec>,
    pub rules: Vec<RuleSpec>,
}

impl RouteSet {
    pub fn build(owner: &str, routes: &[Route], rules: &[Rule], tables: &TableNames) -> Self {
        let mut set = RouteSet::default();
        for route in routes {
            match route_spec(route, tables) {
                Ok(t) => {
                    log_not_acted_on(owner, &t.not_acted_on);
                    set.routes.push(t.spec);
                }
                Err(e) => tracing::warn!("{owner} route not installed: {e}"),
            }
        }
        for rule in rules {
            match rule_spec(rule, tables) {
                Ok(t) => {
                    log_not_acted_on(owner, &t.not_acted_on);
                    set.rules.push(t.spec);
                }
                Err(e) => tracing::warn!("{owner} rule not installed: {e}"),
            }
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.rules.is_empty()
    }
}

fn log_not_acted_on(owner: &str, notes: &[String]) {
    for note in notes {
        tracing::warn!("{owner} {note}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_come_from_the_kernel_and_rt_tables() {
        let mut names = TableNames::default();
        names.read("# reserved\n255\tlocal\n254 main\n100 isp1 # uplink\n0x20 hex\n");
        assert_eq!(names.id("main"), Some(254));
        assert_eq!(names.id("isp1"), Some(100));
        assert_eq!(names.id("hex"), Some(32));
        assert_eq!(names.id("6909"), Some(6909));
        assert_eq!(names.id("nosuch"), None);
    }
}
