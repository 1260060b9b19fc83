//! VRRP virtual MAC interfaces (keepalived's `use_vmac`): a macvlan in
//! private mode over a base interface, carrying the RFC 5798 §7.3 virtual
//! router MAC, so the VIPs answer ARP / ND with the virtual MAC and keep
//! it when the master role moves to another router.
//!
//! This module owns the names and MACs (pure) and the rtnetlink calls that
//! create, bring up and remove a macvlan, and give an IPv6 one its base's
//! link-local address. It never touches sysctls or VIPs, and never
//! decides which instance needs a VMAC.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use futures_util::stream::TryStreamExt;
use rtnetlink::packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressScope};
use rtnetlink::packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, LinkAttribute, LinkInfo, MacVlanMode,
};
use rtnetlink::{Handle, LinkMacVlan, LinkUnspec};

use super::address::validate_ifname;

/// The virtual router MAC prefix of IPv4 (RFC 5798 §7.3:
/// `00-00-5E-00-01-{VRID}`).
pub const VMAC_PREFIX_V4: [u8; 5] = [0x00, 0x00, 0x5e, 0x00, 0x01];
/// The virtual router MAC prefix of IPv6 (RFC 5798 §7.3:
/// `00-00-5E-00-02-{VRID}`).
pub const VMAC_PREFIX_V6: [u8; 5] = [0x00, 0x00, 0x5e, 0x00, 0x02];
/// keepalived's default `vmac_prefix`.
pub const DEFAULT_PREFIX: &str = "vrrp";

/// A MAC address, printed `00:00:5e:00:01:33`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// The virtual router MAC of `vrid` (RFC 5798 §7.3).
pub fn virtual_mac(vrid: u8, ipv6: bool) -> Mac {
    let p = if ipv6 { VMAC_PREFIX_V6 } else { VMAC_PREFIX_V4 };
    Mac([p[0], p[1], p[2], p[3], p[4], vrid])
}

/// The MAC of `use_vmac NAME MAC`: six octets, or five with the VRID as
/// the sixth (keepalived.conf(5)); `None` when it is neither.
pub fn parse_mac(text: &str, vrid: u8) -> Option<Mac> {
    let mut octets = Vec::with_capacity(6);
    for part in text.split([':', '-']) {
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        octets.push(u8::from_str_radix(part, 16).ok()?);
    }
    match octets.len() {
        5 => octets.push(vrid),
        6 => {}
        _ => return None,
    }
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&octets);
    Some(Mac(mac))
}

/// The name keepalived gives the VMAC of an instance: `vrrp.VRID`, for
/// IPv6 instances too (keepalived 2.2.7 names an IPv6 VMAC `vrrp.52`).
pub fn instance_vmac_name(vrid: u8) -> String {
    format!("{DEFAULT_PREFIX}.{vrid}")
}

/// The name keepalived gives the `n`-th (from 1) extra VMAC of an
/// instance, made for a VIP on another interface (`use_vmac_addr`):
/// `vrrpN.VRID` (keepalived 2.2.7: `vrrp1.53` on the second interface).
pub fn extra_vmac_name(n: usize, vrid: u8) -> String {
    format!("{DEFAULT_PREFIX}{n}.{vrid}")
}

/// One VMAC to create: its name, the interface under it, its MAC.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VmacSpec {
    pub name: String,
    pub base: String,
    pub mac: Mac,
}

/// What went wrong creating or removing a VMAC.
#[derive(Debug, thiserror::Error)]
pub enum VmacError {
    #[error("cannot open a route netlink socket: {0}")]
    Connect(#[source] std::io::Error),
    #[error("'{0}' is not a valid interface name")]
    InvalidName(String),
    #[error("no such interface '{0}' (the base of a VMAC)")]
    NoSuchBase(String),
    #[error("interface '{name}' exists and is not lvstop's VMAC (its MAC is not {mac})")]
    NameTaken { name: String, mac: Mac },
    #[error("cannot {action} '{name}': {reason}")]
    Netlink {
        action: &'static str,
        name: String,
        reason: String,
    },
}

/// A route netlink connection for VMAC work; the connection task stops
/// when it drops.
#[derive(Debug)]
pub struct Vmacs {
    handle: Handle,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Vmacs {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the kernel says about an existing link.
struct Existing {
    index: u32,
    mac: Option<[u8; 6]>,
    macvlan: bool,
}

impl Vmacs {
    /// Opens the connection. Must be called inside a tokio runtime.
    pub fn connect() -> Result<Self, VmacError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(VmacError::Connect)?;
        let task = tokio::spawn(connection);
        Ok(Self { handle, task })
    }

    async fn find(&self, name: &str) -> Result<Option<Existing>, VmacError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(link)) => {
                let mut mac = None;
                let mut macvlan = false;
                for attribute in &link.attributes {
                    match attribute {
                        LinkAttribute::Address(bytes) if bytes.len() == 6 => {
                            let mut m = [0u8; 6];
                            m.copy_from_slice(bytes);
                            mac = Some(m);
                        }
                        LinkAttribute::LinkInfo(infos) => {
                            macvlan |= infos.iter().any(|i| {
                                matches!(
                                    i,
                                    LinkInfo::Kind(
                                        rtnetlink::packet_route::link::InfoKind::MacVlan
                                    )
                                )
                            });
                        }
                        _ => {}
                    }
                }
                Ok(Some(Existing {
                    index: link.header.index,
                    mac,
                    macvlan,
                }))
            }
            Ok(None) => Ok(None),
            // ENODEV: the kernel's answer for a name it does not know.
            Err(rtnetlink::Error::NetlinkError(e))
                if e.code.map(|c| -c.get()) == Some(libc::ENODEV) =>
            {
                Ok(None)
            }
            Err(e) => Err(VmacError::Netlink {
                action: "look up",
                name: name.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// Creates the macvlan of `spec` (mode private, no IPv6 address of its
    /// own, as keepalived makes it) and brings it up. A leftover VMAC of
    /// the same name and MAC (an earlier run that did not stop cleanly) is
    /// taken over; any other interface of that name is refused.
    pub async fn create(&self, spec: &VmacSpec) -> Result<(), VmacError> {
        validate_ifname(&spec.name).map_err(|_| VmacError::InvalidName(spec.name.clone()))?;
        let base = self
            .find(&spec.base)
            .await?
            .ok_or_else(|| VmacError::NoSuchBase(spec.base.clone()))?;
        if let Some(existing) = self.find(&spec.name).await? {
            if !existing.macvlan || existing.mac != Some(spec.mac.0) {
                return Err(VmacError::NameTaken {
                    name: spec.name.clone(),
                    mac: spec.mac,
                });
            }
            return self.up(&spec.name, existing.index).await;
        }
        let message = LinkMacVlan::new(&spec.name, base.index, MacVlanMode::Private)
            .address(spec.mac.0.to_vec())
            .build();
        self.handle
            .link()
            .add(message)
            .execute()
            .await
            .map_err(|e| VmacError::Netlink {
                action: "create the macvlan",
                name: spec.name.clone(),
                reason: e.to_string(),
            })?;
        let created = self
            .find(&spec.name)
            .await?
            .ok_or_else(|| VmacError::Netlink {
                action: "find the new macvlan",
                name: spec.name.clone(),
                reason: "it vanished".into(),
            })?;
        // No IPv6 address of its own (`addrgenmode none`, as keepalived
        // leaves it): set before the link comes up, when the kernel would
        // generate one. The kernel takes it on an existing link only.
        let message = LinkUnspec::new_with_index(created.index)
            .append_extra_attribute(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
                vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
            )]))
            .build();
        if let Err(e) = self.handle.link().set(message).execute().await {
            tracing::warn!("{}: cannot set addrgenmode none: {e}", spec.name);
        }
        self.up(&spec.name, created.index).await
    }

    async fn up(&self, name: &str, index: u32) -> Result<(), VmacError> {
        let message = LinkUnspec::new_with_index(index).up().build();
        self.handle
            .link()
            .set(message)
            .execute()
            .await
            .map_err(|e| VmacError::Netlink {
                action: "bring up",
                name: name.to_string(),
                reason: e.to_string(),
            })
    }

    /// Gives the IPv6 VMAC `spec` the link-local address of its base,
    /// without DAD (the address is already the host's), so adverts leave
    /// the VMAC from the same source as from the base (keepalived 2.2.7
    /// does so: `fe80::…/64 scope link nodad` on `vrrp.52`). Returns the
    /// address, `None` when the base has none.
    pub async fn borrow_link_local(&self, spec: &VmacSpec) -> Result<Option<Ipv6Addr>, VmacError> {
        let netlink = |action: &'static str, name: &str, e: rtnetlink::Error| VmacError::Netlink {
            action,
            name: name.to_string(),
            reason: e.to_string(),
        };
        let base = self
            .find(&spec.base)
            .await?
            .ok_or_else(|| VmacError::NoSuchBase(spec.base.clone()))?;
        let vmac = self
            .find(&spec.name)
            .await?
            .ok_or_else(|| VmacError::Netlink {
                action: "find",
                name: spec.name.clone(),
                reason: "no such interface".into(),
            })?;
        let mut addresses = self
            .handle
            .address()
            .get()
            .set_link_index_filter(base.index)
            .execute();
        let mut link_local = None;
        while let Some(message) = addresses
            .try_next()
            .await
            .map_err(|e| netlink("list the addresses of", &spec.base, e))?
        {
            for attribute in &message.attributes {
                if let AddressAttribute::Address(IpAddr::V6(v6)) = attribute {
                    if (v6.segments()[0] & 0xffc0) == 0xfe80 && link_local.is_none() {
                        link_local = Some((*v6, message.header.prefix_len));
                    }
                }
            }
        }
        let Some((addr, prefix_len)) = link_local else {
            return Ok(None);
        };
        let mut request = self
            .handle
            .address()
            .add(vmac.index, IpAddr::V6(addr), prefix_len);
        let header = &mut request.message_mut().header;
        header.flags |= AddressHeaderFlags::Nodad;
        header.scope = AddressScope::Link;
        match request.execute().await {
            Ok(()) => Ok(Some(addr)),
            Err(rtnetlink::Error::NetlinkError(e))
                if e.code.map(|c| -c.get()) == Some(libc::EEXIST) =>
            {
                Ok(Some(addr))
            }
            Err(e) => Err(netlink(
                "add the base's link-local address to",
                &spec.name,
                e,
            )),
        }
    }

    /// Removes the VMAC `spec` (true), or nothing when it is gone or is
    /// no longer the macvlan with the VMAC's MAC (false).
    pub async fn remove(&self, spec: &VmacSpec) -> Result<bool, VmacError> {
        let Some(existing) = self.find(&spec.name).await? else {
            return Ok(false);
        };
        if !existing.macvlan || existing.mac != Some(spec.mac.0) {
            return Ok(false);
        }
        self.handle
            .link()
            .del(existing.index)
            .execute()
            .await
            .map(|()| true)
            .map_err(|e| VmacError::Netlink {
                action: "remove",
                name: spec.name.clone(),
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_virtual_mac_ends_with_the_vrid_under_the_family_prefix() {
        assert_eq!(virtual_mac(51, false).to_string(), "00:00:5e:00:01:33");
        assert_eq!(virtual_mac(52, true).to_string(), "00:00:5e:00:02:34");
        assert_eq!(virtual_mac(255, false).0, [0, 0, 0x5e, 0, 1, 0xff]);
    }

    #[test]
    fn vmac_names_follow_keepalived() {
        assert_eq!(instance_vmac_name(51), "vrrp.51");
        assert_eq!(extra_vmac_name(1, 53), "vrrp1.53");
    }

    #[test]
    fn a_configured_mac_takes_six_octets_or_five_and_the_vrid() {
        assert_eq!(
            parse_mac("02:00:00:00:00:07", 9),
            Some(Mac([2, 0, 0, 0, 0, 7]))
        );
        assert_eq!(
            parse_mac("02:00:00:00:00", 9),
            Some(Mac([2, 0, 0, 0, 0, 9]))
        );
        assert_eq!(
            parse_mac("02-00-00-00-00", 9),
            Some(Mac([2, 0, 0, 0, 0, 9]))
        );
        assert_eq!(parse_mac("02:00:00:00", 9), None);
        assert_eq!(parse_mac("02:00:00:00:00:00:01", 9), None);
        assert_eq!(parse_mac("zz:00:00:00:00", 9), None);
        assert_eq!(parse_mac("002:00:00:00:00", 9), None);
    }
}
