//! The services screen's rows, joined from one snapshot: the live IPVS
//! table, the health checks (real servers the checks took out of the table
//! stay listed, with the reason), the operators' overrides and the drains
//! in progress. Also the address resolution the `:` command line shares
//! (`:weight RIP:PORT 0` when the real server is in one service only).
//!
//! Pure data derived from a [`Snapshot`]; it never draws and never sends.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::northbound::{
    DestKey, Forward, KeepalivedService, MissingRealServer, Observation, Protocol, Rates,
    RealServerView, ServiceFlags, ServiceKey, Snapshot, Target, VirtualServerView, WeightSource,
};
use crate::ui::theme::{scope, ThemeScope};

/// What an operator needs to know about a real server at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    Up,
    Draining,
    Down,
    Disabled,
}

impl Health {
    /// The glyph (`▲ ▼ ◐ ✕`), or an ASCII stand-in.
    pub fn glyph(self, ascii: bool) -> &'static str {
        match (self, ascii) {
            (Health::Up, false) => "▲",
            (Health::Down, false) => "▼",
            (Health::Draining, false) => "◐",
            (Health::Disabled, false) => "✕",
            (Health::Up, true) => "+",
            (Health::Down, true) => "v",
            (Health::Draining, true) => "~",
            (Health::Disabled, true) => "x",
        }
    }

    /// The word, so state never rests on colour or glyph alone.
    pub fn word(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Down => "down",
            Health::Draining => "drain",
            Health::Disabled => "off",
        }
    }

    /// The theme scope.
    pub fn scope(self) -> ThemeScope {
        match self {
            Health::Up => scope::RS_UP,
            Health::Down => scope::RS_DOWN,
            Health::Draining => scope::RS_DRAINING,
            Health::Disabled => scope::RS_DISABLED,
        }
    }
}

/// One real server as the screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerRow {
    pub key: DestKey,
    /// `None` when the real server is not in the live table.
    pub forward: Option<Forward>,
    pub weight: Option<i32>,
    /// The configured weight, from the checks (when checked).
    pub configured_weight: Option<u32>,
    pub active: u32,
    pub inactive: u32,
    pub persistent: u32,
    pub rates: Rates,
    pub health: Health,
    pub in_table: bool,
    /// Why it is not plainly up: check failure, override, drain.
    pub reasons: Vec<String>,
}

/// One virtual service and its real servers.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceGroup {
    pub key: ServiceKey,
    pub scheduler: String,
    pub flags: String,
    pub in_table: bool,
    pub active: u32,
    pub inactive: u32,
    pub rates: Rates,
    pub disabled: Vec<String>,
    /// Quorum and sorry-server state from the checks, when checked.
    pub quorum: Option<String>,
    pub servers: Vec<ServerRow>,
}

impl ServiceGroup {
    /// `TCP  192.0.2.1:80`, `FWM  7`.
    pub fn label(&self) -> (String, String) {
        service_label(self.key)
    }
}

/// `(Prot, LocalAddress:Port)` as ipvsadm prints them.
pub fn service_label(key: ServiceKey) -> (String, String) {
    match key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => (
            protocol.as_str().to_string(),
            SocketAddr::new(addr, port).to_string(),
        ),
        ServiceKey::Fwmark { mark, .. } => ("FWM".to_string(), mark.to_string()),
    }
}

/// keepalived's name of a virtual server (`[192.0.2.1]:tcp:80`, `FWM 7`),
/// as the checks report it.
#[cfg(test)]
fn keepalived_name(key: ServiceKey) -> String {
    match key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => format!("[{addr}]:{}:{port}", protocol.as_str().to_lowercase()),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    }
}

/// The service key of a keepalived virtual server name, when it names an
/// address (groups and fwmarks without a family stay unresolved).
fn parse_keepalived_name(name: &str) -> Option<ServiceKey> {
    if let Some(mark) = name.strip_prefix("FWM ") {
        return Some(ServiceKey::Fwmark {
            family: crate::northbound::Family::Inet,
            mark: mark.trim().parse().ok()?,
        });
    }
    let rest = name.strip_prefix('[')?;
    let (ip, rest) = rest.split_once("]:")?;
    let (protocol, port) = rest.split_once(':')?;
    let protocol = match protocol {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "sctp" => Protocol::Sctp,
        _ => return None,
    };
    Some(ServiceKey::Inet {
        protocol,
        addr: ip.parse().ok()?,
        port: port.parse().ok()?,
    })
}

fn flags_text(flags: ServiceFlags, timeout: u32) -> String {
    let mut parts = Vec::new();
    if flags.persistent() {
        parts.push(format!("persistent {timeout}"));
    }
    if flags.one_packet() {
        parts.push("ops".to_string());
    }
    parts.join(" ")
}

/// Every service of the snapshot with its real servers, in ipvsadm's
/// order: the live table joined with the checks and overrides.
pub fn groups(snapshot: &Snapshot) -> Vec<ServiceGroup> {
    let mut out = Joined::default();
    for service in snapshot.table.sorted_services() {
        let key = service.key();
        let mut servers: Vec<ServerRow> = Vec::new();
        for dest in service.sorted_dests() {
            servers.push(ServerRow {
                key: dest.key(),
                forward: Some(dest.config.forward),
                weight: Some(dest.weight()),
                configured_weight: None,
                active: dest.active,
                inactive: dest.inactive,
                persistent: dest.persistent,
                rates: dest.rates,
                health: Health::Up,
                in_table: true,
                reasons: Vec::new(),
            });
        }
        out.push(ServiceGroup {
            key,
            scheduler: service.config.scheduler.to_string(),
            flags: flags_text(service.config.flags, service.config.timeout),
            in_table: true,
            active: service.dests.iter().map(|d| d.active).sum(),
            inactive: service.dests.iter().map(|d| d.inactive).sum(),
            rates: service.rates,
            disabled: Vec::new(),
            quorum: None,
            servers,
        });
    }
    for vs in &snapshot.checks.snapshot.virtual_servers {
        join_checks(&mut out, vs);
    }
    for target in &snapshot.overrides {
        let (service, server) = match target.target {
            Target::Service(s) => (s, None),
            Target::RealServer(s, d) => (s, Some(d)),
        };
        let group = out.group(service);
        let reasons: Vec<String> = target
            .disabled
            .iter()
            .map(|r| format!("disabled by {}: {}", r.by.name, r.reason))
            .collect();
        let Some(server) = server else {
            group.disabled.extend(reasons);
            continue;
        };
        let row = server_mut(group, server);
        if let Some(weight) = &target.weight {
            let what = match weight.source {
                WeightSource::Set => format!("weight {} set", weight.weight),
                WeightSource::Drain { .. } => "draining".to_string(),
                WeightSource::Ramp { to, .. } => format!("ramping to {to}"),
            };
            let why = if weight.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", weight.reason)
            };
            row.reasons
                .push(format!("{what} by {}{why}", weight.by.name));
            if matches!(weight.source, WeightSource::Drain { .. }) {
                row.health = row.health.max(Health::Draining);
            }
        }
        if !reasons.is_empty() {
            row.health = Health::Disabled;
            row.reasons.extend(reasons);
        }
    }
    if let Some(observed) = &snapshot.observed {
        join_observed(&mut out, observed);
    }
    for drain in &snapshot.drains {
        let row = server_mut(out.group(drain.service), drain.server);
        row.health = row.health.max(Health::Draining);
        let left = drain.deadline_ms.saturating_sub(snapshot.clock_ms) / 1000;
        row.reasons.push(format!(
            "drain: {} active left, gives up in {left}s{}",
            row.active,
            if drain.remove { ", then removed" } else { "" }
        ));
    }
    let mut out = out.groups;
    for group in &mut out {
        if !group.disabled.is_empty() {
            for row in &mut group.servers {
                row.health = Health::Disabled;
            }
        }
    }
    out.sort_by_key(|g| g.key);
    out
}

fn join_checks(out: &mut Joined, vs: &VirtualServerView) {
    let Some(key) = parse_keepalived_name(&vs.name) else {
        return;
    };
    let group = out.group(key);
    let mut quorum = format!(
        "quorum {} (live weight {}/{})",
        if vs.quorum_up { "up" } else { "down" },
        vs.weight_sum,
        vs.quorum
    );
    if let Some(sorry) = &vs.sorry_server {
        let state = if vs.sorry_server_active { "in" } else { "out" };
        quorum.push_str(&format!(", sorry {sorry} {state}"));
    }
    group.quorum = Some(quorum);
    for rs in &vs.real_servers {
        let Ok(address) = rs.address.parse::<SocketAddr>() else {
            continue;
        };
        let row = server_mut(group, DestKey::new(address));
        row.configured_weight = Some(rs.weight);
        if !rs.up {
            row.health = row.health.max(Health::Down);
            row.reasons.push(check_reason(rs));
        }
    }
}

/// The observer's facts: configured real servers the kernel's table lacks,
/// and the weights set from this console.
fn join_observed(out: &mut Joined, observed: &Observation) {
    for missing in &observed.missing {
        let row = server_mut(out.group(missing.service), missing.server);
        row.configured_weight = u32::try_from(missing.weight).ok();
        row.health = row.health.max(Health::Down);
        row.reasons.push(MissingRealServer::WHY.to_string());
    }
    if let Some(keepalived) = &observed.keepalived {
        for vs in &keepalived.virtual_servers {
            let KeepalivedService::Address { address, port } = vs.service else {
                continue;
            };
            let protocol = match vs.protocol.as_deref() {
                Some(p) if p.eq_ignore_ascii_case("udp") => Protocol::Udp,
                Some(p) if p.eq_ignore_ascii_case("sctp") => Protocol::Sctp,
                _ => Protocol::Tcp,
            };
            let key = ServiceKey::Inet {
                protocol,
                addr: address,
                port,
            };
            for rs in &vs.real_servers {
                let server = DestKey::new(SocketAddr::new(rs.address, rs.port));
                let row = server_mut(out.group(key), server);
                match rs.alive {
                    Some(true) => {}
                    Some(false) => {
                        let kinds: Vec<&str> = rs
                            .checkers
                            .iter()
                            .filter_map(|c| c.kind.as_deref())
                            .collect();
                        row.health = row.health.max(Health::Down);
                        row.reasons.push(format!(
                            "keepalived: {} failed (keepalived gives no reason)",
                            if kinds.is_empty() {
                                "check".to_string()
                            } else {
                                kinds.join(", ")
                            }
                        ));
                    }
                    None => row.reasons.push("keepalived: check state unknown".into()),
                }
            }
        }
    }
    for set in &observed.weights_set {
        let row = server_mut(out.group(set.service), set.server);
        row.reasons.push(format!(
            "weight {} set by {} (was {}; keepalived may rewrite it)",
            set.weight, set.by, set.previous
        ));
    }
}

/// `TCP_CHECK: connection refused (3 failures)`.
fn check_reason(rs: &RealServerView) -> String {
    let failing: Vec<String> = rs
        .checkers
        .iter()
        .filter(|c| !c.up)
        .map(|c| {
            let why = c.reason.as_deref().unwrap_or("failed");
            let inhibit = if rs.inhibit_on_failure {
                ", weight 0 (inhibit_on_failure)"
            } else {
                ""
            };
            format!(
                "{} {why} ({} failures{inhibit})",
                c.kind, c.consecutive_failures
            )
        })
        .collect();
    if failing.is_empty() {
        "checks: down".to_string()
    } else {
        failing.join("; ")
    }
}

/// The groups being joined, found by key in constant time: the engine's
/// checks and the observer's facts name every service of a table that may
/// hold 10,000 of them, on every snapshot.
#[derive(Default)]
struct Joined {
    groups: Vec<ServiceGroup>,
    index: HashMap<ServiceKey, usize>,
}

impl Joined {
    fn push(&mut self, group: ServiceGroup) {
        self.index.insert(group.key, self.groups.len());
        self.groups.push(group);
    }

    /// The group of this service, added empty (not in the table) when the
    /// table lacks it.
    fn group(&mut self, key: ServiceKey) -> &mut ServiceGroup {
        let index = match self.index.get(&key) {
            Some(&index) => index,
            None => {
                self.push(ServiceGroup {
                    key,
                    scheduler: String::new(),
                    flags: String::new(),
                    in_table: false,
                    active: 0,
                    inactive: 0,
                    rates: Rates::default(),
                    disabled: Vec::new(),
                    quorum: None,
                    servers: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        &mut self.groups[index]
    }
}

fn server_mut(group: &mut ServiceGroup, key: DestKey) -> &mut ServerRow {
    let index = match group.servers.iter().position(|s| s.key == key) {
        Some(index) => index,
        None => {
            group.servers.push(ServerRow {
                key,
                forward: None,
                weight: None,
                configured_weight: None,
                active: 0,
                inactive: 0,
                persistent: 0,
                rates: Rates::default(),
                health: Health::Up,
                in_table: false,
                reasons: Vec::new(),
            });
            group.servers.sort_by_key(|s| s.key);
            group
                .servers
                .iter()
                .position(|s| s.key == key)
                .unwrap_or_default()
        }
    };
    &mut group.servers[index]
}

/// Why an address on the command line names nothing, or too much.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("name a virtual service, a real server, or both")]
    NoTarget,
    #[error("no virtual service '{0}'")]
    NoService(String),
    #[error("no real server '{0}' in any virtual service")]
    NoServer(String),
    #[error("no real server '{server}' in {service}")]
    NotInService { service: String, server: String },
    #[error("'{server}' is a real server of {count} virtual services ({list}); name one: VIP:PORT {server}")]
    Ambiguous {
        server: String,
        count: usize,
        list: String,
    },
    #[error("'{address}' matches {list}; several services share it")]
    AmbiguousService { address: String, list: String },
}

/// The service at `addr` (any protocol; ambiguous when TCP and UDP share it).
pub fn resolve_service(
    groups: &[ServiceGroup],
    addr: SocketAddr,
) -> Result<ServiceKey, ResolveError> {
    let matches: Vec<ServiceKey> = groups
        .iter()
        .map(|g| g.key)
        .filter(|k| k.socket_addr() == Some(addr))
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(ResolveError::NoService(addr.to_string())),
        many => Err(ResolveError::AmbiguousService {
            address: addr.to_string(),
            list: many
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The service and real server for `[VIP:PORT] RIP:PORT`: with the VIP
/// left out, the real server must belong to exactly one service.
pub fn resolve_server(
    groups: &[ServiceGroup],
    service: Option<SocketAddr>,
    server: SocketAddr,
) -> Result<(ServiceKey, DestKey), ResolveError> {
    let dest = DestKey::new(server);
    if let Some(vip) = service {
        let key = resolve_service(groups, vip)?;
        let has = groups
            .iter()
            .any(|g| g.key == key && g.servers.iter().any(|s| s.key == dest));
        return if has {
            Ok((key, dest))
        } else {
            Err(ResolveError::NotInService {
                service: key.to_string(),
                server: server.to_string(),
            })
        };
    }
    let owners: Vec<ServiceKey> = groups
        .iter()
        .filter(|g| g.servers.iter().any(|s| s.key == dest))
        .map(|g| g.key)
        .collect();
    match owners.as_slice() {
        [one] => Ok((*one, dest)),
        [] => Err(ResolveError::NoServer(server.to_string())),
        many => Err(ResolveError::Ambiguous {
            server: server.to_string(),
            count: many.len(),
            list: many
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_names_round_trip_to_service_keys() {
        let key = ServiceKey::tcp("192.0.2.1:80".parse().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(parse_keepalived_name(&keepalived_name(key)), Some(key));
        let v6 = ServiceKey::udp("[2001:db8::1]:53".parse().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(parse_keepalived_name(&keepalived_name(v6)), Some(v6));
        assert_eq!(parse_keepalived_name("[GROUP]:0"), None);
    }
}
