//! Which real servers' health checking a new configuration adds, removes
//! or changes, and which keep their check state. The rule is the health
//! runner's own ([`crate::health::machine::HealthMachine::inherit`]): a real
//! server keeps its state when a virtual server of the same name still
//! has it, with the same checkers in the same order and the same
//! effective timing and target. Pure; nothing here probes.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::textdiff;
use crate::config::model::lvs::{LvsConfig, Protocol, RealServer, ServiceAddress, VirtualServer};
use crate::config::model::Config;
use crate::health::machine::texts;
use crate::ipvs::desired;
use crate::ipvs::model::{DestKey, ServiceKey};

/// What happens to one real server's checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckChangeKind {
    /// A new real server with checkers: starts like at start-up.
    Added,
    /// Its checkers stop with it.
    Removed,
    /// Its checkers changed: it starts afresh (up unless `alpha`).
    Changed,
}

/// One real server whose checking changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckChange {
    /// keepalived's name of the virtual server (`[198.51.100.88]:tcp:80`).
    pub virtual_server: String,
    pub real_server: SocketAddr,
    pub action: CheckChangeKind,
    /// What changed (`TCP_CHECK: connect_timeout 3 -> 5`, `HTTP_GET added`).
    pub details: Vec<String>,
}

impl CheckChange {
    /// `check 198.51.100.82:80 in [198.51.100.88]:tcp:80: HTTP_GET added`.
    pub fn lines(&self) -> Vec<String> {
        let head = format!("check {} in {}", self.real_server, self.virtual_server);
        if self.details.is_empty() {
            let word = match self.action {
                CheckChangeKind::Added => "added",
                CheckChangeKind::Removed => "removed",
                CheckChangeKind::Changed => "changed",
            };
            return vec![format!("{head}: {word}")];
        }
        self.details
            .iter()
            .map(|d| format!("{head}: {d}"))
            .collect()
    }
}

/// The checking side of a plan.
#[derive(Debug, Clone, Default)]
pub struct ChecksDiff {
    pub changes: Vec<CheckChange>,
    /// Real servers with checkers that keep their state.
    pub kept: usize,
    /// IPVS destinations of real servers whose checking restarts.
    pub restarted: HashSet<(ServiceKey, DestKey)>,
}

/// Virtual and real server settings a checker inherits
/// (keepalived.conf(5), "real_server" and "virtual_server").
const INHERITED: &[&str] = &[
    "delay_loop",
    "connect_timeout",
    "retry",
    "delay_before_retry",
    "warmup",
    "alpha",
    "no_alpha",
    "virtualhost",
];

/// What names a virtual server, as [`texts::virtual_server_name`] does,
/// without building the text (there may be tens of thousands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum VsId<'a> {
    Address(IpAddr, Option<Protocol>, u16),
    Fwmark(u32),
    Group(&'a str),
}

fn vs_id(vs: &VirtualServer) -> VsId<'_> {
    match &vs.service.value {
        ServiceAddress::Address { ip, port } => {
            VsId::Address(*ip, vs.effective_protocol(), port.unwrap_or(0))
        }
        ServiceAddress::Fwmark(mark) => VsId::Fwmark(*mark),
        ServiceAddress::Group(name) => VsId::Group(name),
    }
}

/// Virtual servers by name; the first of a name wins, as in the runner.
fn by_name(config: &Config) -> HashMap<VsId<'_>, &VirtualServer> {
    let mut out = HashMap::with_capacity(config.lvs.virtual_servers.len());
    for vs in &config.lvs.virtual_servers {
        out.entry(vs_id(vs)).or_insert(vs);
    }
    out
}

/// Real servers of `vs` by address; the first of an address wins.
fn real_servers(vs: &VirtualServer) -> HashMap<SocketAddr, &RealServer> {
    let mut out = HashMap::with_capacity(vs.real_servers.len());
    for rs in &vs.real_servers {
        out.entry(address(vs, rs)).or_insert(rs);
    }
    out
}

fn address(vs: &VirtualServer, rs: &RealServer) -> SocketAddr {
    SocketAddr::new(rs.endpoint.value.ip, rs.effective_port(vs))
}

/// Whether the health runner would carry this real server's state over.
fn same_checking(a: (&VirtualServer, &RealServer), b: (&VirtualServer, &RealServer)) -> bool {
    let ((avs, ars), (bvs, brs)) = (a, b);
    ars.checkers.len() == brs.checkers.len()
        && ars.checkers.iter().zip(&brs.checkers).all(|(x, y)| {
            x == y
                && x.effective_timing(ars, avs) == y.effective_timing(brs, bvs)
                && x.effective_connect_ip(ars) == y.effective_connect_ip(brs)
                && x.effective_connect_port(ars, avs) == y.effective_connect_port(brs, bvs)
                && x.effective_virtualhost(ars, avs) == y.effective_virtualhost(brs, bvs)
        })
}

/// `vs` holding only `rs`: what renders and expands for one real server.
fn alone(vs: &VirtualServer, rs: &RealServer) -> VirtualServer {
    VirtualServer {
        service: vs.service.clone(),
        scheduler: vs.scheduler.clone(),
        sched_flags: vs.sched_flags.clone(),
        one_packet: vs.one_packet,
        method: vs.method,
        persistence_timeout: vs.persistence_timeout,
        persistence_granularity: vs.persistence_granularity,
        persistence_engine: vs.persistence_engine.clone(),
        protocol: vs.protocol,
        ip_family: vs.ip_family,
        ha_suspend: vs.ha_suspend,
        virtualhost: vs.virtualhost.clone(),
        omega: vs.omega,
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        quorum_up: vs.quorum_up.clone(),
        quorum_down: vs.quorum_down.clone(),
        sorry_server: vs.sorry_server,
        sorry_server_inhibit: vs.sorry_server_inhibit,
        sorry_server_method: vs.sorry_server_method,
        inhibit_on_failure: vs.inhibit_on_failure,
        smtp_alert: vs.smtp_alert,
        timing: vs.timing.clone(),
        real_servers: vec![rs.clone()],
        other: vs.other.clone(),
    }
}

fn rendered(vs: &VirtualServer, rs: &RealServer) -> String {
    let config = Config {
        lvs: LvsConfig {
            virtual_servers: vec![alone(vs, rs)],
            ..LvsConfig::default()
        },
        ..Config::default()
    };
    crate::config::render::render(&config)
}

fn kinds(rs: &RealServer) -> Vec<&'static str> {
    rs.checkers.iter().map(|c| c.kind.keyword()).collect()
}

/// Keywords in `a` beyond those in `b` (as multisets).
fn beyond(a: &[&'static str], b: &[&'static str]) -> Vec<&'static str> {
    let mut rest = b.to_vec();
    let mut out = Vec::new();
    for kind in a {
        match rest.iter().position(|k| k == kind) {
            Some(i) => {
                rest.remove(i);
            }
            None => out.push(*kind),
        }
    }
    out
}

fn details(old: (&VirtualServer, &RealServer), new: (&VirtualServer, &RealServer)) -> Vec<String> {
    let (before, after) = (kinds(old.1), kinds(new.1));
    let mut out: Vec<String> = beyond(&after, &before)
        .into_iter()
        .map(|k| format!("{k} added"))
        .chain(
            beyond(&before, &after)
                .into_iter()
                .map(|k| format!("{k} removed")),
        )
        .collect();
    if out.is_empty() {
        // Inside a checker block, or a setting checkers inherit.
        out = textdiff::changes(&rendered(old.0, old.1), &rendered(new.0, new.1), 2)
            .into_iter()
            .filter(|c| !c.inner.is_empty() || INHERITED.contains(&c.keyword.as_str()))
            .map(|c| c.phrase)
            .collect();
    }
    out
}

/// The IPVS destinations `rs` of `vs` becomes in `lvs` (several for a
/// `virtual_server group`).
fn destinations(
    lvs: &LvsConfig,
    vs: &VirtualServer,
    rs: &RealServer,
) -> Vec<(ServiceKey, DestKey)> {
    let one = LvsConfig {
        groups: lvs.groups.clone(),
        virtual_servers: vec![alone(vs, rs)],
        ..LvsConfig::default()
    };
    desired::from_config(&one)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|s| {
            let key = s.config.key;
            s.dests.into_iter().map(move |d| (key, d.key))
        })
        .collect()
}

fn checked(vs: &VirtualServer) -> usize {
    vs.real_servers
        .iter()
        .filter(|rs| !rs.checkers.is_empty())
        .count()
}

fn removed(vs: &VirtualServer, rs: &RealServer) -> CheckChange {
    CheckChange {
        virtual_server: texts::virtual_server_name(vs),
        real_server: address(vs, rs),
        action: CheckChangeKind::Removed,
        details: kinds(rs).iter().map(|k| format!("{k} removed")).collect(),
    }
}

/// Compares the checking of `running` and `candidate`. Virtual servers
/// that compare equal as a whole are skipped in one step: their real
/// servers all keep their state.
pub fn diff(running: &Config, candidate: &Config) -> ChecksDiff {
    let before = by_name(running);
    let mut out = ChecksDiff::default();
    let mut seen: HashSet<VsId<'_>> = HashSet::with_capacity(before.len());
    for vs in &candidate.lvs.virtual_servers {
        let id = vs_id(vs);
        if !seen.insert(id) {
            continue;
        }
        match before.get(&id) {
            Some(old) if *old == vs => out.kept += checked(vs),
            Some(old) => compare(&candidate.lvs, old, vs, &mut out),
            None => {
                for rs in vs.real_servers.iter().filter(|rs| !rs.checkers.is_empty()) {
                    out.changes.push(CheckChange {
                        virtual_server: texts::virtual_server_name(vs),
                        real_server: address(vs, rs),
                        action: CheckChangeKind::Added,
                        details: kinds(rs).iter().map(|k| format!("{k} added")).collect(),
                    });
                }
            }
        }
    }
    for vs in &running.lvs.virtual_servers {
        let id = vs_id(vs);
        let first = before.get(&id).is_some_and(|v| std::ptr::eq(*v, vs));
        if first && !seen.contains(&id) {
            out.changes.extend(
                vs.real_servers
                    .iter()
                    .filter(|rs| !rs.checkers.is_empty())
                    .map(|rs| removed(vs, rs)),
            );
        }
    }
    out
}

/// The real servers of one virtual server present in both.
fn compare(lvs: &LvsConfig, old_vs: &VirtualServer, vs: &VirtualServer, out: &mut ChecksDiff) {
    let before = real_servers(old_vs);
    let mut seen: HashSet<SocketAddr> = HashSet::with_capacity(before.len());
    for rs in &vs.real_servers {
        let addr = address(vs, rs);
        if !seen.insert(addr) {
            continue;
        }
        let change = match before.get(&addr) {
            Some(old) if same_checking((old_vs, old), (vs, rs)) => {
                if !rs.checkers.is_empty() {
                    out.kept += 1;
                }
                continue;
            }
            Some(old) => {
                out.restarted.extend(destinations(lvs, vs, rs));
                CheckChange {
                    virtual_server: texts::virtual_server_name(vs),
                    real_server: addr,
                    action: CheckChangeKind::Changed,
                    details: details((old_vs, old), (vs, rs)),
                }
            }
            None if rs.checkers.is_empty() => continue,
            None => CheckChange {
                virtual_server: texts::virtual_server_name(vs),
                real_server: addr,
                action: CheckChangeKind::Added,
                details: kinds(rs).iter().map(|k| format!("{k} added")).collect(),
            },
        };
        out.changes.push(change);
    }
    for rs in &old_vs.real_servers {
        let addr = address(old_vs, rs);
        if !seen.contains(&addr)
            && !rs.checkers.is_empty()
            && before.get(&addr).is_some_and(|r| std::ptr::eq(*r, rs))
        {
            out.changes.push(removed(old_vs, rs));
        }
    }
}
