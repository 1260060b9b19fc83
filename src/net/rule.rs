//! Policy routing rules over rtnetlink: the kernel form of one
//! `ip rule add` line ([`RuleSpec`]), its `RTM_NEWRULE`/`RTM_DELRULE`
//! message (include/uapi/linux/fib_rules.h), and adding and removing rules
//! through the [`Routing`] connection of [`super::route`].
//!
//! Like routes, rules never shell out and are idempotent: adding a rule
//! the kernel already holds is [`AddOutcome::AlreadyPresent`], removing
//! one it does not is [`RemoveOutcome::Absent`].

use std::fmt;
use std::net::IpAddr;

use rtnetlink::packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use rtnetlink::packet_route::route::{RouteProtocol, RouteRealm};
use rtnetlink::packet_route::rule::{
    RuleAction, RuleAttribute, RuleFlags, RuleHeader, RuleMessage, RulePortRange, RuleUidRange,
};
use rtnetlink::packet_route::{AddressFamily, IpProtocol, RouteNetlinkMessage};

use super::route::{errno, map_error, AddOutcome, RemoveOutcome, Routing, RoutingError};

/// What a matching packet does (`ip rule ... table|goto|blackhole|…`,
/// fib_rules.h `FR_ACT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `table ID` / `lookup ID`.
    Table(u32),
    /// `goto PREFERENCE`.
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One rule: what to add or remove.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleSpec {
    /// IPv6 (`inet6`, or an IPv6 selector); IPv4 otherwise.
    pub ipv6: bool,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    /// `not`: the selectors match everything they would not.
    pub invert: bool,
    /// `preference`/`priority`/`pref`; the kernel picks one when `None`.
    pub priority: Option<u32>,
    pub kind: Option<RuleKind>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    pub tos: Option<u8>,
    /// `FRA_PROTOCOL`; `proto keepalived` unless the operator says.
    pub protocol: u8,
    pub suppress_prefixlength: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
    pub uid_range: Option<(u32, u32)>,
    pub ip_proto: Option<u8>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
    pub l3mdev: bool,
    /// `realms [FROM/]TO`.
    pub realms: Option<(u16, u16)>,
}

impl RuleSpec {
    /// Checks what the kernel would refuse with a bare EINVAL.
    pub fn validate(&self) -> Result<(), RoutingError> {
        let wrong_family = [self.from, self.to]
            .iter()
            .flatten()
            .any(|(a, _)| a.is_ipv6() != self.ipv6);
        if wrong_family {
            return Err(RoutingError::Invalid {
                what: format!("rule {self}"),
                reason: "from and to must be of one family",
            });
        }
        if self.kind.is_none() && !self.l3mdev {
            return Err(RoutingError::Invalid {
                what: format!("rule {self}"),
                reason:
                    "a rule needs a table, goto, or a type (blackhole, unreachable, prohibit, nop)",
            });
        }
        Ok(())
    }
}

impl fmt::Display for RuleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(pref) = self.priority {
            write!(f, "{pref}: ")?;
        }
        if self.invert {
            f.write_str("not ")?;
        }
        match self.from {
            Some((a, len)) => write!(f, "from {a}/{len}")?,
            None => f.write_str("from all")?,
        }
        if let Some((a, len)) = self.to {
            write!(f, " to {a}/{len}")?;
        }
        if let Some(iif) = &self.iif {
            write!(f, " iif {iif}")?;
        }
        if let Some(oif) = &self.oif {
            write!(f, " oif {oif}")?;
        }
        if let Some((mark, mask)) = self.fwmark {
            write!(f, " fwmark {mark:#x}")?;
            if let Some(mask) = mask {
                write!(f, "/{mask:#x}")?;
            }
        }
        match self.kind {
            Some(RuleKind::Table(t)) => write!(f, " lookup {t}"),
            Some(RuleKind::Goto(p)) => write!(f, " goto {p}"),
            Some(RuleKind::Nop) => f.write_str(" nop"),
            Some(RuleKind::Blackhole) => f.write_str(" blackhole"),
            Some(RuleKind::Unreachable) => f.write_str(" unreachable"),
            Some(RuleKind::Prohibit) => f.write_str(" prohibit"),
            None => Ok(()),
        }
    }
}

/// The `RTM_NEWRULE` (and `RTM_DELRULE`) body for `spec`.
pub fn rule_message(spec: &RuleSpec) -> RuleMessage {
    let mut header = RuleHeader {
        family: if spec.ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        },
        tos: spec.tos.unwrap_or(0),
        ..RuleHeader::default()
    };
    if spec.invert {
        header.flags |= RuleFlags::Invert;
    }
    // Attributes in the order `ip rule add` sends them.
    let mut attributes = Vec::new();
    if let Some((addr, len)) = spec.from {
        header.src_len = len;
        attributes.push(RuleAttribute::Source(addr));
    }
    if let Some((addr, len)) = spec.to {
        header.dst_len = len;
        attributes.push(RuleAttribute::Destination(addr));
    }
    if let Some(priority) = spec.priority {
        attributes.push(RuleAttribute::Priority(priority));
    }
    if let Some((mark, mask)) = spec.fwmark {
        attributes.push(RuleAttribute::FwMark(mark));
        if let Some(mask) = mask {
            attributes.push(RuleAttribute::FwMask(mask));
        }
    }
    if let Some(iif) = &spec.iif {
        attributes.push(RuleAttribute::Iifname(iif.clone()));
    }
    if let Some(oif) = &spec.oif {
        attributes.push(RuleAttribute::Oifname(oif.clone()));
    }
    header.action = match spec.kind {
        Some(RuleKind::Table(table)) => {
            // fib_rules.h: ids above 255 live in FRA_TABLE only.
            match u8::try_from(table) {
                Ok(table) => header.table = table,
                Err(_) => attributes.push(RuleAttribute::Table(table)),
            }
            RuleAction::ToTable
        }
        Some(RuleKind::Goto(target)) => {
            attributes.push(RuleAttribute::Goto(target));
            RuleAction::Goto
        }
        Some(RuleKind::Nop) => RuleAction::Nop,
        Some(RuleKind::Blackhole) => RuleAction::Blackhole,
        Some(RuleKind::Unreachable) => RuleAction::Unreachable,
        Some(RuleKind::Prohibit) => RuleAction::Prohibit,
        // An l3mdev rule looks its table up from the device.
        None => RuleAction::ToTable,
    };
    if let Some(len) = spec.suppress_prefixlength {
        attributes.push(RuleAttribute::SuppressPrefixLen(len));
    }
    if let Some(group) = spec.suppress_ifgroup {
        attributes.push(RuleAttribute::SuppressIfGroup(group));
    }
    if let Some((source, destination)) = spec.realms {
        attributes.push(RuleAttribute::Realm(RouteRealm {
            source,
            destination,
        }));
    }
    if spec.l3mdev {
        attributes.push(RuleAttribute::L3MDev(true));
    }
    if let Some((start, end)) = spec.uid_range {
        attributes.push(RuleAttribute::UidRange(RuleUidRange { start, end }));
    }
    attributes.push(RuleAttribute::Protocol(RouteProtocol::from(spec.protocol)));
    if let Some(proto) = spec.ip_proto {
        attributes.push(RuleAttribute::IpProtocol(IpProtocol::from(proto)));
    }
    if let Some((start, end)) = spec.sport {
        attributes.push(RuleAttribute::SourcePortRange(RulePortRange { start, end }));
    }
    if let Some((start, end)) = spec.dport {
        attributes.push(RuleAttribute::DestinationPortRange(RulePortRange {
            start,
            end,
        }));
    }
    let mut message = RuleMessage::default();
    message.header = header;
    message.attributes = attributes;
    message
}

impl Routing {
    /// Adds a rule; Ok(AlreadyPresent) when the kernel holds an identical
    /// one (`NLM_F_EXCL`).
    pub async fn add_rule(&self, spec: &RuleSpec) -> Result<AddOutcome, RoutingError> {
        spec.validate()?;
        let message = RouteNetlinkMessage::NewRule(rule_message(spec));
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        match self.request(message, flags).await {
            Ok(()) => Ok(AddOutcome::Added),
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(AddOutcome::AlreadyPresent),
            Err(e) => Err(map_error(e, &format!("add rule {spec}"))),
        }
    }

    /// Removes a rule; Ok(Absent) when the kernel has none like it.
    pub async fn remove_rule(&self, spec: &RuleSpec) -> Result<RemoveOutcome, RoutingError> {
        spec.validate()?;
        let message = RouteNetlinkMessage::DelRule(rule_message(spec));
        match self.request(message, NLM_F_REQUEST | NLM_F_ACK).await {
            Ok(()) => Ok(RemoveOutcome::Removed),
            Err(e) if errno(&e) == Some(libc::ENOENT) => Ok(RemoveOutcome::Absent),
            Err(e) => Err(map_error(e, &format!("remove rule {spec}"))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rtnetlink::packet_core::Emitable;

    #[test]
    fn a_source_rule_names_its_table_and_preference() {
        let spec = RuleSpec {
            from: Some(("198.51.100.160".parse().unwrap(), 28)),
            priority: Some(300),
            kind: Some(RuleKind::Table(200)),
            protocol: 18,
            ..RuleSpec::default()
        };
        let msg = rule_message(&spec);
        let mut bytes = vec![0; msg.buffer_len()];
        msg.emit(&mut bytes);
        // `ip rule add from 198.51.100.160/28 table 200 pref 300 proto
        // keepalived`, as `strace -e trace=sendmsg -xx` shows ip sending it.
        #[rustfmt::skip]
        let expected = [
            2, 0, 28, 0,      // AF_INET, dst_len 0, src_len 28, tos 0
            200, 0, 0, 1,     // table 200, reserved, FR_ACT_TO_TBL
            0, 0, 0, 0,       // flags
            8, 0, 2, 0, 198, 51, 100, 160,  // FRA_SRC, len=8
            8, 0, 6, 0, 44, 1, 0, 0,        // FRA_PRIORITY, len=8: 300
            5, 0, 21, 0, 18, 0, 0, 0,       // FRA_PROTOCOL, len=5: RTPROT_KEEPALIVED
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn selectors_become_their_attributes() {
        let spec = RuleSpec {
            from: Some(("198.51.100.224".parse().unwrap(), 28)),
            iif: Some("veth0".into()),
            oif: Some("veth1".into()),
            fwmark: Some((5, Some(0xff))),
            priority: Some(302),
            kind: Some(RuleKind::Goto(400)),
            invert: true,
            tos: Some(0x10),
            protocol: 18,
            sport: Some((10, 20)),
            ..RuleSpec::default()
        };
        let msg = rule_message(&spec);
        assert_eq!(msg.header.action, RuleAction::Goto);
        assert_eq!(msg.header.tos, 0x10);
        assert!(msg.header.flags.contains(RuleFlags::Invert));
        for attribute in [
            RuleAttribute::Iifname("veth0".into()),
            RuleAttribute::Oifname("veth1".into()),
            RuleAttribute::FwMark(5),
            RuleAttribute::FwMask(0xff),
            RuleAttribute::Goto(400),
            RuleAttribute::SourcePortRange(RulePortRange { start: 10, end: 20 }),
        ] {
            assert!(msg.attributes.contains(&attribute), "{attribute:?}");
        }
    }

    #[test]
    fn a_large_table_id_goes_only_in_the_attribute() {
        let spec = RuleSpec {
            ipv6: true,
            to: Some(("2001:db8::".parse().unwrap(), 64)),
            kind: Some(RuleKind::Table(6908)),
            ..RuleSpec::default()
        };
        let msg = rule_message(&spec);
        assert_eq!(msg.header.table, 0);
        assert_eq!(msg.header.dst_len, 64);
        assert!(msg.attributes.contains(&RuleAttribute::Table(6908)));
    }

    #[test]
    fn a_rule_without_an_action_or_of_mixed_families_is_refused() {
        let no_action = RuleSpec::default();
        assert!(no_action.validate().is_err());
        let mixed = RuleSpec {
            from: Some(("2001:db8::".parse().unwrap(), 64)),
            kind: Some(RuleKind::Nop),
            ..RuleSpec::default()
        };
        assert!(mixed.validate().is_err());
    }
}
