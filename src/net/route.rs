//! Routes over rtnetlink: the kernel form of one `ip route add` line
//! ([`RouteSpec`]), its `RTM_NEWROUTE`/`RTM_DELROUTE` message, and the
//! [`Routing`] connection that adds and removes routes (and, in
//! [`super::rule`], policy rules) idempotently with typed errors.
//!
//! This module never decides *which* routes should exist (VRRP and the
//! static blocks do) and never shells out to `ip`. Adding a route that is
//! already there is [`AddOutcome::AlreadyPresent`]; removing one that is
//! not is [`RemoveOutcome::Absent`].

use std::fmt;
use std::io;
use std::net::IpAddr;

use futures_util::stream::{StreamExt, TryStreamExt};
use rtnetlink::packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteMetric,
    RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::Handle;

use super::address::validate_ifname;
pub use super::address::{AddOutcome, RemoveOutcome};

/// `RTPROT_KEEPALIVED` (include/uapi/linux/rtnetlink.h): keepalived marks
/// its routes and rules so, and `ip route` shows them as `proto keepalived`.
pub const RTPROT_KEEPALIVED: u8 = 18;

/// `RT_TABLE_MAIN` (include/uapi/linux/rtnetlink.h).
pub const RT_TABLE_MAIN: u32 = 254;

/// Route type, as `ip route` spells it before the destination
/// (rtnetlink(7) `rtm_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Unicast,
    Local,
    Broadcast,
    Anycast,
    Multicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
    Nat,
}

impl RouteKind {
    /// The `ip route` word for a type, if it is one.
    pub fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "unicast" => Self::Unicast,
            "local" => Self::Local,
            "broadcast" => Self::Broadcast,
            "anycast" => Self::Anycast,
            "multicast" => Self::Multicast,
            "blackhole" => Self::Blackhole,
            "unreachable" => Self::Unreachable,
            "prohibit" => Self::Prohibit,
            "throw" => Self::Throw,
            "nat" => Self::Nat,
            _ => return None,
        })
    }

    fn to_kernel(self) -> RouteType {
        match self {
            Self::Unicast => RouteType::Unicast,
            Self::Local => RouteType::Local,
            Self::Broadcast => RouteType::Broadcast,
            Self::Anycast => RouteType::Anycast,
            Self::Multicast => RouteType::Multicast,
            Self::Blackhole => RouteType::BlackHole,
            Self::Unreachable => RouteType::Unreachable,
            Self::Prohibit => RouteType::Prohibit,
            Self::Throw => RouteType::Throw,
            Self::Nat => RouteType::Nat,
        }
    }

    /// Types that drop or bounce a packet and so have no next hop.
    pub fn has_next_hop(self) -> bool {
        !matches!(
            self,
            Self::Blackhole | Self::Unreachable | Self::Prohibit | Self::Throw
        )
    }
}

/// Route scope (`ip route ... scope`), rtnetlink(7) `rtm_scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteScopeName {
    Global,
    Site,
    Link,
    Host,
    Nowhere,
}

impl RouteScopeName {
    /// `global`/`universe`, `site`, `link`, `host`, `nowhere`, or a number.
    pub fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "global" | "universe" | "0" => Self::Global,
            "site" | "200" => Self::Site,
            "link" | "253" => Self::Link,
            "host" | "254" => Self::Host,
            "nowhere" | "255" => Self::Nowhere,
            _ => return None,
        })
    }

    fn to_kernel(self) -> RouteScope {
        match self {
            Self::Global => RouteScope::Universe,
            Self::Site => RouteScope::Site,
            Self::Link => RouteScope::Link,
            Self::Host => RouteScope::Host,
            Self::Nowhere => RouteScope::NoWhere,
        }
    }
}

/// One route: what to add or remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub kind: RouteKind,
    /// Destination network (host bits are the caller's business).
    pub destination: IpAddr,
    pub prefix_len: u8,
    /// Next hop (`via`).
    pub gateway: Option<IpAddr>,
    /// Preferred source address (`src`, `RTA_PREFSRC`).
    pub source: Option<IpAddr>,
    /// Output interface (`dev`).
    pub ifname: Option<String>,
    /// Routing table id (`table`; main when unset by the operator).
    pub table: u32,
    /// `metric`/`priority`/`preference` (`RTA_PRIORITY`).
    pub metric: Option<u32>,
    /// `None`: ip-route(8)'s default (see [`RouteSpec::effective_scope`]).
    pub scope: Option<RouteScopeName>,
    /// `rtm_protocol`; [`RTPROT_KEEPALIVED`] unless the operator says.
    pub protocol: u8,
    /// `onlink`: pretend the gateway is directly attached.
    pub onlink: bool,
    /// `mtu N` (`RTAX_MTU`).
    pub mtu: Option<u32>,
    /// `append`: after matching routes (`NLM_F_APPEND`) rather than before.
    pub append: bool,
}

impl RouteSpec {
    /// A unicast route to `destination/prefix_len` in the main table,
    /// marked `proto keepalived`.
    pub fn new(destination: IpAddr, prefix_len: u8) -> Self {
        Self {
            kind: RouteKind::Unicast,
            destination,
            prefix_len,
            gateway: None,
            source: None,
            ifname: None,
            table: RT_TABLE_MAIN,
            metric: None,
            scope: None,
            protocol: RTPROT_KEEPALIVED,
            onlink: false,
            mtu: None,
            append: false,
        }
    }

    /// ip-route(8) "scope": when omitted, global for gatewayed unicast
    /// routes, link for direct unicast and broadcast routes, host for local
    /// routes (and global for the types that have no next hop).
    pub fn effective_scope(&self) -> RouteScopeName {
        if let Some(scope) = self.scope {
            return scope;
        }
        match self.kind {
            RouteKind::Local | RouteKind::Nat => RouteScopeName::Host,
            RouteKind::Broadcast | RouteKind::Multicast | RouteKind::Anycast => {
                RouteScopeName::Link
            }
            RouteKind::Unicast if self.gateway.is_none() && self.ifname.is_some() => {
                RouteScopeName::Link
            }
            _ => RouteScopeName::Global,
        }
    }

    /// Checks the parts the kernel would reject with an unhelpful EINVAL.
    pub fn validate(&self) -> Result<(), RoutingError> {
        if let Some(ifname) = &self.ifname {
            validate_ifname(ifname)
                .map_err(|_| RoutingError::InvalidInterfaceName(ifname.clone()))?;
        }
        let max = if self.destination.is_ipv4() { 32 } else { 128 };
        if self.prefix_len > max {
            return Err(RoutingError::Invalid {
                what: self.to_string(),
                reason: "prefix length too long for the family",
            });
        }
        let mixed = [self.gateway, self.source]
            .iter()
            .flatten()
            .any(|a| a.is_ipv4() != self.destination.is_ipv4());
        if mixed {
            return Err(RoutingError::Invalid {
                what: self.to_string(),
                reason: "gateway and source must be of the destination's family",
            });
        }
        Ok(())
    }
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != RouteKind::Unicast {
            write!(f, "{:?} ", self.kind)?;
        }
        write!(f, "{}/{}", self.destination, self.prefix_len)?;
        if let Some(gw) = self.gateway {
            write!(f, " via {gw}")?;
        }
        if let Some(dev) = &self.ifname {
            write!(f, " dev {dev}")?;
        }
        if self.table != RT_TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        Ok(())
    }
}

fn family(addr: IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// The `RTM_NEWROUTE` body for `spec`, with `oif` the index of its
/// interface. `RTM_DELROUTE` takes the same body with scope "nowhere",
/// which the kernel reads as "any scope" (as `ip route del` sends it).
pub fn route_message(spec: &RouteSpec, oif: Option<u32>) -> RouteMessage {
    let mut header = RouteHeader {
        address_family: family(spec.destination),
        destination_prefix_length: spec.prefix_len,
        protocol: RouteProtocol::from(spec.protocol),
        scope: spec.effective_scope().to_kernel(),
        kind: spec.kind.to_kernel(),
        ..RouteHeader::default()
    };
    if spec.onlink {
        header.flags |= RouteFlags::Onlink;
    }
    let mut attributes = Vec::new();
    // rtnetlink(7): a table id above 255 goes in RTA_TABLE only (and
    // `ip route` sends RTA_TABLE for those alone).
    match u8::try_from(spec.table) {
        Ok(table) => header.table = table,
        Err(_) => {
            header.table = RouteHeader::RT_TABLE_UNSPEC;
            attributes.push(RouteAttribute::Table(spec.table));
        }
    }
    attributes.push(RouteAttribute::Destination(RouteAddress::from(
        spec.destination,
    )));
    if let Some(source) = spec.source {
        attributes.push(RouteAttribute::PrefSource(RouteAddress::from(source)));
    }
    if let Some(gateway) = spec.gateway {
        attributes.push(RouteAttribute::Gateway(RouteAddress::from(gateway)));
    }
    if let Some(oif) = oif {
        attributes.push(RouteAttribute::Oif(oif));
    }
    if let Some(metric) = spec.metric {
        attributes.push(RouteAttribute::Priority(metric));
    }
    if let Some(mtu) = spec.mtu {
        attributes.push(RouteAttribute::Metrics(vec![RouteMetric::Mtu(mtu)]));
    }
    let mut message = RouteMessage::default();
    message.header = header;
    message.attributes = attributes;
    message
}

/// Errors from the route and rule API, worded for an operator.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("no such interface '{0}'")]
    NoSuchInterface(String),
    #[error("'{0}' is not a valid interface name (1 to 15 bytes, no '/', ':' or whitespace)")]
    InvalidInterfaceName(String),
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: &'static str },
    #[error("permission denied changing {0}: needs CAP_NET_ADMIN (run as root)")]
    PermissionDenied(String),
    #[error("cannot open a netlink route socket: {0}")]
    Connect(#[source] io::Error),
    #[error("cannot {action}: {source}")]
    Kernel {
        /// What was attempted, e.g. "add route 198.51.100.0/24 via …".
        action: String,
        #[source]
        source: io::Error,
    },
}

/// A connection to the kernel's routing netlink, for routes and rules.
///
/// The connection task runs on the current tokio runtime and stops when
/// this drops.
#[derive(Debug)]
pub struct Routing {
    pub(super) handle: Handle,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Routing {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Routing {
    /// Opens a route netlink socket. Must be called inside a tokio runtime.
    pub fn connect() -> Result<Self, RoutingError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(RoutingError::Connect)?;
        let task = tokio::spawn(connection);
        Ok(Self { handle, task })
    }

    /// The index of the named interface.
    pub(super) async fn ifindex(&self, ifname: &str) -> Result<u32, RoutingError> {
        validate_ifname(ifname).map_err(|_| RoutingError::InvalidInterfaceName(ifname.into()))?;
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(ifname.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(link)) => Ok(link.header.index),
            Ok(None) => Err(RoutingError::NoSuchInterface(ifname.to_string())),
            Err(e) if errno(&e) == Some(libc::ENODEV) => {
                Err(RoutingError::NoSuchInterface(ifname.to_string()))
            }
            Err(e) => Err(map_error(e, &format!("look up interface '{ifname}'"))),
        }
    }

    /// Adds a route; Ok(AlreadyPresent) when the kernel already has it.
    pub async fn add_route(&self, spec: &RouteSpec) -> Result<AddOutcome, RoutingError> {
        spec.validate()?;
        let oif = match &spec.ifname {
            Some(ifname) => Some(self.ifindex(ifname).await?),
            None => None,
        };
        let message = RouteNetlinkMessage::NewRoute(route_message(spec, oif));
        let placement = if spec.append {
            NLM_F_APPEND
        } else {
            NLM_F_EXCL
        };
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | placement;
        match self.request(message, flags).await {
            Ok(()) => Ok(AddOutcome::Added),
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(AddOutcome::AlreadyPresent),
            Err(e) => Err(map_error(e, &format!("add route {spec}"))),
        }
    }

    /// Removes a route; Ok(Absent) when it is not there (or its interface
    /// has gone, which takes its routes with it).
    pub async fn remove_route(&self, spec: &RouteSpec) -> Result<RemoveOutcome, RoutingError> {
        spec.validate()?;
        let oif = match &spec.ifname {
            Some(ifname) => match self.ifindex(ifname).await {
                Ok(index) => Some(index),
                Err(RoutingError::NoSuchInterface(_)) => return Ok(RemoveOutcome::Absent),
                Err(e) => return Err(e),
            },
            None => None,
        };
        let mut body = route_message(spec, oif);
        body.header.scope = RouteScope::NoWhere;
        let message = RouteNetlinkMessage::DelRoute(body);
        match self.request(message, NLM_F_REQUEST | NLM_F_ACK).await {
            Ok(()) => Ok(RemoveOutcome::Removed),
            Err(e) if errno(&e) == Some(libc::ESRCH) => Ok(RemoveOutcome::Absent),
            Err(e) => Err(map_error(e, &format!("remove route {spec}"))),
        }
    }

    /// Sends one request and waits for the kernel's acknowledgement.
    pub(super) async fn request(
        &self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(), rtnetlink::Error> {
        let mut request = NetlinkMessage::from(message);
        request.header.flags = flags;
        let mut handle = self.handle.clone();
        let mut replies = handle.request(request)?;
        while let Some(reply) = replies.next().await {
            if let NetlinkPayload::Error(e) = reply.payload {
                if e.code.is_some() {
                    return Err(rtnetlink::Error::NetlinkError(e));
                }
            }
        }
        Ok(())
    }
}

/// The positive errno of a netlink error reply, if that is what it is.
pub(super) fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(msg) => msg.code.map(|c| -c.get()),
        _ => None,
    }
}

pub(super) fn map_error(e: rtnetlink::Error, action: &str) -> RoutingError {
    match errno(&e) {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            RoutingError::PermissionDenied(action.to_string())
        }
        Some(code) => RoutingError::Kernel {
            action: action.to_string(),
            source: io::Error::from_raw_os_error(code),
        },
        None => RoutingError::Kernel {
            action: action.to_string(),
            source: io::Error::other(e.to_string()),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rtnetlink::packet_core::Emitable;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_gatewayed_route_carries_table_gateway_interface_and_keepalived_protocol() {
        let mut spec = RouteSpec::new(ip("198.51.100.176"), 28);
        spec.gateway = Some(ip("198.51.100.2"));
        spec.ifname = Some("veth0".into());
        spec.metric = Some(7);
        let msg = route_message(&spec, Some(3));
        assert_eq!(msg.header.address_family, AddressFamily::Inet);
        assert_eq!(msg.header.destination_prefix_length, 28);
        assert_eq!(msg.header.table, 254);
        assert_eq!(msg.header.protocol, RouteProtocol::KeepAlived);
        assert_eq!(msg.header.scope, RouteScope::Universe);
        assert_eq!(msg.header.kind, RouteType::Unicast);
        assert_eq!(
            msg.attributes,
            vec![
                RouteAttribute::Destination(RouteAddress::Inet("198.51.100.176".parse().unwrap())),
                RouteAttribute::Gateway(RouteAddress::Inet("198.51.100.2".parse().unwrap())),
                RouteAttribute::Oif(3),
                RouteAttribute::Priority(7),
            ]
        );
    }

    #[test]
    fn the_message_bytes_match_what_ip_route_sends() {
        // `ip route add blackhole 198.51.100.144/28 proto keepalived`, as
        // `strace -e trace=sendmsg -xx` shows ip sending it.
        let mut spec = RouteSpec::new(ip("198.51.100.144"), 28);
        spec.kind = RouteKind::Blackhole;
        let msg = route_message(&spec, None);
        let mut bytes = vec![0; msg.buffer_len()];
        msg.emit(&mut bytes);
        #[rustfmt::skip]
        let expected = [
            2, 28, 0, 0,      // AF_INET, dst_len 28, src_len 0, tos 0
            254, 18, 0, 6,    // RT_TABLE_MAIN, RTPROT_KEEPALIVED, RT_SCOPE_UNIVERSE, RTN_BLACKHOLE
            0, 0, 0, 0,       // flags
            8, 0, 1, 0, 198, 51, 100, 144,  // RTA_DST, len=8
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn a_table_above_255_goes_only_in_the_attribute() {
        let mut spec = RouteSpec::new(ip("2001:db8::"), 64);
        spec.table = 6909;
        spec.source = Some(ip("2001:db8::1"));
        spec.onlink = true;
        spec.mtu = Some(1400);
        let msg = route_message(&spec, None);
        assert_eq!(msg.header.table, 0);
        assert_eq!(msg.header.address_family, AddressFamily::Inet6);
        assert!(msg.header.flags.contains(RouteFlags::Onlink));
        assert!(msg.attributes.contains(&RouteAttribute::Table(6909)));
        assert!(msg
            .attributes
            .contains(&RouteAttribute::PrefSource(RouteAddress::Inet6(
                "2001:db8::1".parse().unwrap()
            ))));
        assert!(msg
            .attributes
            .contains(&RouteAttribute::Metrics(vec![RouteMetric::Mtu(1400)])));
    }

    #[test]
    fn scope_defaults_follow_ip_route() {
        let mut direct = RouteSpec::new(ip("198.51.100.0"), 24);
        direct.ifname = Some("eth0".into());
        assert_eq!(direct.effective_scope(), RouteScopeName::Link);
        direct.gateway = Some(ip("198.51.100.1"));
        assert_eq!(direct.effective_scope(), RouteScopeName::Global);
        let mut local = RouteSpec::new(ip("198.51.100.9"), 32);
        local.kind = RouteKind::Local;
        assert_eq!(local.effective_scope(), RouteScopeName::Host);
        local.scope = Some(RouteScopeName::Link);
        assert_eq!(local.effective_scope(), RouteScopeName::Link);
    }

    #[test]
    fn a_gateway_of_the_other_family_is_refused_before_the_kernel_sees_it() {
        let mut spec = RouteSpec::new(ip("198.51.100.0"), 24);
        spec.gateway = Some(ip("2001:db8::1"));
        assert!(matches!(spec.validate(), Err(RoutingError::Invalid { .. })));
    }
}
