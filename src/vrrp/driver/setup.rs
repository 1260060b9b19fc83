//! Everything the runner resolves once, before the first input: the host's
//! interfaces, one advert transport per instance (shared between instances
//! that send alike), which transports receive, the kernel form of every
//! VIP (`virtual_ipaddress` options: prefix, `dev`, `scope`, `label`,
//! `brd`), and every configured script prepared under keepalived's script
//! security. Blocking work (user database, `stat`) runs on the blocking
//! pool. This module never runs the state machine.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use futures_util::stream::TryStreamExt;
use rtnetlink::packet_route::link::LinkFlags;

use super::io::Link;
use super::VrrpError;
use crate::config::model::vrrp::VirtualAddress;
use crate::config::model::{Config, Script};
use crate::net::address::{AddressSpec, Addresses, Scope};
use crate::notify::script::SharedScript;
use crate::notify::{ScriptError, ScriptPolicy};
use crate::vrrp::machine::{InstanceConfig, InterfaceInfo, Interfaces, Node, ScriptCommand};
use crate::vrrp::transport::memory::MemorySegment;
use crate::vrrp::transport::raw::{default_source, RawConfig, RawTransport};
use crate::vrrp::transport::{IpFamily, TransportError};

/// How one instance's adverts leave: same interface, family, source,
/// peers and IP protocol (112, or 51 for `auth_type AH`) share one
/// transport.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkKey {
    /// The instance's `interface` (what received adverts are reported on).
    pub interface: String,
    /// The interface the socket is bound to: the instance's, or its VMAC.
    pub device: String,
    pub ipv6: bool,
    pub source: Option<IpAddr>,
    pub peers: Vec<IpAddr>,
    pub authentication_header: bool,
}

/// The transports of a node: by instance name, and the ones whose receive
/// side feeds the node (one per bound interface, family and IP protocol: a
/// raw socket on an interface sees every packet of its protocol there, so
/// a second one would hand each advert up twice).
#[derive(Debug, Default)]
pub struct Links {
    pub by_instance: HashMap<String, Arc<Link>>,
    pub receivers: Vec<(String, Arc<Link>, VridFilter)>,
}

/// Which adverts a receiver hands up, by VRID. A peer's adverts sent from
/// its own MAC reach both an interface and a VMAC over it, so each VRID of
/// an interface is heard on one socket only: a VMAC's for the instances
/// that send there, the interface's for the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum VridFilter {
    #[default]
    All,
    Only(BTreeSet<u8>),
    Except(BTreeSet<u8>),
}

impl VridFilter {
    /// Whether the VRRP message `payload` passes: its second octet is the
    /// VRID (RFC 3768 §5.1, RFC 5798 §5.1); a message too short for one is
    /// left to the codec to refuse.
    pub fn admits(&self, payload: &[u8]) -> bool {
        let Some(vrid) = payload.get(1) else {
            return true;
        };
        match self {
            Self::All => true,
            Self::Only(vrids) => vrids.contains(vrid),
            Self::Except(vrids) => !vrids.contains(vrid),
        }
    }
}

/// Every interface the configuration names: instances, tracked
/// interfaces, VIP devices.
pub fn interface_names(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    };
    for i in &config.vrrp.instances {
        if let Some(ifname) = &i.interface {
            add(&ifname.value);
        }
        for t in &i.track_interfaces {
            add(&t.name.value);
        }
        for vip in i.virtual_addresses.iter().chain(&i.excluded_addresses) {
            if let Some(dev) = &vip.dev {
                add(&dev.value);
            }
        }
    }
    for g in &config.vrrp.sync_groups {
        for t in &g.track_interfaces {
            add(&t.name.value);
        }
    }
    names
}

/// Link state as keepalived reads it: up when administratively up and
/// running (carrier).
pub fn link_is_up(flags: LinkFlags) -> bool {
    flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running)
}

/// Reads the state and addresses of `names` over rtnetlink. A missing
/// interface counts as down with no address.
pub async fn read_interfaces(names: &[String]) -> Result<Interfaces, VrrpError> {
    let addresses = Addresses::connect().map_err(|e| VrrpError::Netlink(e.to_string()))?;
    let mut out = Interfaces::new();
    for name in names {
        let up = link_state(name).await.unwrap_or(false);
        let mut list: Vec<IpAddr> = addresses
            .list(name)
            .await
            .map(|l| l.into_iter().map(|a| a.addr).collect())
            .unwrap_or_default();
        // IPv6: the link-local address first (what adverts leave from).
        list.sort_by_key(|a| match a {
            IpAddr::V4(_) => 0,
            IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => 1,
            IpAddr::V6(_) => 2,
        });
        out.insert(
            name.clone(),
            InterfaceInfo {
                up,
                addresses: list,
            },
        );
    }
    Ok(out)
}

/// Whether `name` is up (`None`: no such interface or netlink failed).
pub async fn link_state(name: &str) -> Option<bool> {
    let (connection, handle, _) = rtnetlink::new_connection().ok()?;
    let task = tokio::spawn(connection);
    let reply = handle
        .link()
        .get()
        .match_name(name.to_string())
        .execute()
        .try_next()
        .await;
    task.abort();
    reply.ok().flatten().map(|l| link_is_up(l.header.flags))
}

/// Opens the raw transports the node's instances need; `advert_devices`
/// names the VMAC an instance's adverts leave from instead of its
/// interface.
pub async fn open_raw_links(
    node: &Node,
    advert_devices: &HashMap<String, String>,
) -> Result<Links, VrrpError> {
    let mut links = Links::default();
    let mut opened: BTreeMap<LinkKey, Arc<Link>> = BTreeMap::new();
    let mut receiving = BTreeSet::new();
    let mut receivers: Vec<(LinkKey, Arc<Link>)> = Vec::new();
    let mut sending: Vec<(u8, LinkKey)> = Vec::new();
    for instance in node.instances() {
        let config = instance.config();
        let Some(mut key) = link_key(config) else {
            return Err(VrrpError::NoInterface(config.name.clone()));
        };
        if let Some(device) = advert_devices.get(&config.name) {
            key.device = device.clone();
        }
        sending.push((config.vrid, key.clone()));
        let link = match opened.get(&key) {
            Some(link) => Arc::clone(link),
            None => {
                let family = if key.ipv6 { IpFamily::V6 } else { IpFamily::V4 };
                let transport_error = |e: TransportError| VrrpError::Transport {
                    instance: config.name.clone(),
                    reason: e.to_string(),
                };
                // A VMAC has no address of its own: adverts from it carry
                // the base interface's (keepalived does the same).
                let source = match key.source {
                    None if key.device != key.interface => Some(
                        default_source(&key.interface, family)
                            .await
                            .map_err(transport_error)?,
                    ),
                    source => source,
                };
                let raw = RawTransport::open(RawConfig {
                    ifname: key.device.clone(),
                    family,
                    source,
                    unicast_peers: key.peers.clone(),
                    authentication_header: key.authentication_header,
                })
                .await
                .map_err(|e| VrrpError::Transport {
                    instance: config.name.clone(),
                    reason: e.to_string(),
                })?;
                let link = Arc::new(Link::Raw(raw));
                // Keyed by the bound device: a macvlan in private mode
                // takes multicast frames whose source MAC is its own (a
                // peer's adverts from the same virtual MAC) away from the
                // base interface, so a VMAC needs a receiver of its own.
                if receiving.insert((key.device.clone(), key.ipv6, key.authentication_header)) {
                    receivers.push((key.clone(), Arc::clone(&link)));
                }
                opened.insert(key, Arc::clone(&link));
                link
            }
        };
        links.by_instance.insert(config.name.clone(), link);
    }
    for (key, link) in receivers {
        let filter = vrid_filter(&key, &sending);
        links.receivers.push((key.interface, link, filter));
    }
    Ok(links)
}

/// The VRIDs the receiver of `key` hands up, given every instance's VRID
/// and link.
fn vrid_filter(key: &LinkKey, sending: &[(u8, LinkKey)]) -> VridFilter {
    let alike = |other: &LinkKey| {
        other.interface == key.interface
            && other.ipv6 == key.ipv6
            && other.authentication_header == key.authentication_header
    };
    if key.device != key.interface {
        let own = sending
            .iter()
            .filter(|(_, k)| alike(k) && k.device == key.device)
            .map(|(vrid, _)| *vrid)
            .collect();
        return VridFilter::Only(own);
    }
    let elsewhere: BTreeSet<u8> = sending
        .iter()
        .filter(|(_, k)| alike(k) && k.device != k.interface)
        .map(|(vrid, _)| *vrid)
        .collect();
    if elsewhere.is_empty() {
        VridFilter::All
    } else {
        VridFilter::Except(elsewhere)
    }
}

/// Attaches the node's instances to an in-memory segment as `address`
/// (one transport per interface and family, multicast or unicast).
pub fn attach_memory_links(node: &Node, segment: &MemorySegment, address: IpAddr) -> Links {
    let mut links = Links::default();
    let mut opened: BTreeMap<LinkKey, Arc<Link>> = BTreeMap::new();
    for instance in node.instances() {
        let config = instance.config();
        let key = link_key(config).unwrap_or_else(|| LinkKey {
            interface: "mem0".into(),
            device: "mem0".into(),
            ipv6: config.is_ipv6(),
            source: None,
            peers: Vec::new(),
            authentication_header: false,
        });
        let link = opened
            .entry(key.clone())
            .or_insert_with(|| {
                let transport = if key.peers.is_empty() {
                    segment.attach(address)
                } else {
                    segment.attach_unicast(address, key.peers.clone())
                };
                let link = Arc::new(Link::Memory(transport));
                links
                    .receivers
                    .push((key.interface.clone(), Arc::clone(&link), VridFilter::All));
                link
            })
            .clone();
        links.by_instance.insert(config.name.clone(), link);
    }
    links
}

fn link_key(config: &InstanceConfig) -> Option<LinkKey> {
    let interface = config.interface.clone()?;
    Some(LinkKey {
        device: interface.clone(),
        interface,
        ipv6: config.is_ipv6(),
        source: config.unicast_src,
        peers: config.unicast_peers.iter().map(|p| p.address).collect(),
        authentication_header: config.auth.ah_key().is_some(),
    })
}

/// The kernel form of every VIP (and excluded VIP) of every instance, by
/// instance name and address, with the options keepalived passes to
/// `ip addr add`; a VIP `vip_devices` places on a VMAC goes there.
pub fn vip_specs(
    config: &Config,
    vip_devices: &HashMap<(String, IpAddr), String>,
) -> HashMap<(String, IpAddr), AddressSpec> {
    let mut out = HashMap::new();
    for instance in &config.vrrp.instances {
        let default_dev = instance.interface.as_ref().map(|i| i.value.as_str());
        for vip in instance
            .virtual_addresses
            .iter()
            .chain(&instance.excluded_addresses)
        {
            let key = (instance.name.value.clone(), vip.address.value);
            let dev = vip_devices
                .get(&key)
                .map(String::as_str)
                .or(vip.dev.as_ref().map(|d| d.value.as_str()))
                .or(default_dev);
            if let Some(dev) = dev {
                let spec = address_spec(vip, dev);
                out.insert(key, spec);
            }
        }
    }
    out
}

/// One `virtual_ipaddress` line as `ip addr add` would take it
/// (keepalived.conf(5) "virtual_ipaddress": `<IPADDR>[/<MASK>] [brd
/// <IPADDR>] [dev <STRING>] [scope <SCOPE>] [label <LABEL>]`).
pub fn address_spec(vip: &VirtualAddress, dev: &str) -> AddressSpec {
    let addr = vip.address.value;
    let prefix_len = vip.effective_prefix();
    let broadcast = match (addr, vip.broadcast.as_deref()) {
        (IpAddr::V4(v4), Some(text)) => broadcast(v4, prefix_len, text),
        _ => None,
    };
    let scope = match vip.scope.as_deref() {
        Some("host") => Scope::Host,
        Some("link") => Scope::Link,
        _ => Scope::Global,
    };
    AddressSpec {
        ifname: dev.to_string(),
        addr,
        prefix_len,
        broadcast,
        scope,
        label: vip.label.clone(),
    }
}

/// `brd ADDR`, or `+` / `-`: the prefix's host bits set / cleared, as
/// ip-address(8) reads them.
fn broadcast(addr: Ipv4Addr, prefix_len: u8, text: &str) -> Option<Ipv4Addr> {
    let host_bits = if prefix_len >= 32 {
        0
    } else {
        u32::MAX >> prefix_len
    };
    match text {
        "+" => Some(Ipv4Addr::from(u32::from(addr) | host_bits)),
        "-" => Some(Ipv4Addr::from(u32::from(addr) & !host_bits)),
        other => other.parse().ok(),
    }
}

/// Every script of the configuration, prepared (or refused) once.
#[derive(Debug, Default)]
pub struct Scripts {
    prepared: Vec<(Script, Result<SharedScript, ScriptError>)>,
}

impl Scripts {
    /// Prepares every script under `policy` on the blocking pool (user
    /// lookups and `stat`s block).
    pub async fn prepare(config: &Config) -> Scripts {
        let config = config.clone();
        let job = move || {
            let policy = match ScriptPolicy::from_global(&config.global) {
                Ok(policy) => policy,
                Err(e) => {
                    let refused = ScriptError::User(e);
                    return Scripts {
                        prepared: config
                            .scripts()
                            .into_iter()
                            .map(|s| (s.clone(), Err(refused.clone())))
                            .collect(),
                    };
                }
            };
            let prepared = policy
                .audit(&config)
                .into_iter()
                .map(|(script, result)| {
                    let result = result.map(|p| {
                        for warning in &p.warnings {
                            tracing::warn!("{warning}");
                        }
                        Arc::new(p)
                    });
                    (script.clone(), result)
                })
                .collect();
            Scripts { prepared }
        };
        tokio::task::spawn_blocking(job).await.unwrap_or_default()
    }

    /// The prepared script `command` runs and the arguments the state
    /// machine appended to the configured words (`notify`'s four).
    pub fn find(
        &self,
        command: &ScriptCommand,
    ) -> Option<(&Result<SharedScript, ScriptError>, Vec<String>)> {
        self.prepared
            .iter()
            .filter(|(s, _)| {
                s.user == command.user
                    && s.group == command.group
                    && command.argv.starts_with(&s.argv)
            })
            .max_by_key(|(s, _)| s.argv.len())
            .map(|(s, result)| (result, command.argv[s.argv.len()..].to_vec()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(device: &str) -> LinkKey {
        LinkKey {
            interface: "eth0".into(),
            device: device.into(),
            ipv6: false,
            source: None,
            peers: Vec::new(),
            authentication_header: false,
        }
    }

    #[test]
    fn each_vrid_of_an_interface_is_heard_on_one_socket() {
        let sending = [
            (51, key("vrrp.51")),
            (52, key("eth0")),
            (53, key("vrrp.53")),
        ];
        let vmac = vrid_filter(&key("vrrp.51"), &sending);
        assert_eq!(vmac, VridFilter::Only(BTreeSet::from([51])));
        let base = vrid_filter(&key("eth0"), &sending);
        assert_eq!(base, VridFilter::Except(BTreeSet::from([51, 53])));
        assert!(base.admits(&[0x21, 52]) && !base.admits(&[0x21, 51]));
        assert!(vmac.admits(&[0x31, 51]) && !vmac.admits(&[0x31, 52]));
        assert_eq!(vrid_filter(&key("eth0"), &sending[1..2]), VridFilter::All);
    }

    #[test]
    fn broadcast_plus_and_minus_set_and_clear_host_bits() {
        let a: Ipv4Addr = "198.51.100.77".parse().unwrap();
        assert_eq!(
            broadcast(a, 24, "+"),
            Some("198.51.100.255".parse().unwrap())
        );
        assert_eq!(broadcast(a, 24, "-"), Some("198.51.100.0".parse().unwrap()));
        assert_eq!(
            broadcast(a, 24, "198.51.100.127"),
            Some("198.51.100.127".parse().unwrap())
        );
        assert_eq!(broadcast(a, 32, "+"), Some(a));
    }
}
