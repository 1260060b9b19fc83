//! Value readers specific to the LVS blocks: service addresses, endpoints,
//! address ranges, forwarding methods and persistence masks.
//!
//! Each reader reports its own bad values through the parser and returns
//! `None` (or a safe default) on error; none of them knows about blocks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::diagnostic::Diagnostic;
use crate::config::model::lvs::{
    AddressRange, Endpoint, ForwardMethod, GroupMember, IpFamily, PersistenceMask, Tunnel,
    TunnelChecksum, TunnelKind,
};
use crate::config::parse::context::parse_integer;
use crate::config::parse::Parser;
use crate::config::source::Spanned;
use crate::config::token::Token;
use crate::config::tree::Node;

/// A port value `0..=65535` from a token.
pub fn port_token(parser: &mut Parser<'_>, node: &Node, token: &Token) -> Option<u16> {
    parser
        .number_token(node, token, 0u16, 65535)
        .map(|p| p.value)
}

/// `IP [PORT]` from the statement's arguments starting at `from`.
pub fn endpoint(parser: &mut Parser<'_>, node: &Node, from: usize) -> Option<Spanned<Endpoint>> {
    let ip_token = parser.arg(node, from, "an IP address")?;
    let ip = match with_prefix(ip_token) {
        // keepalived reads `ADDRESS/PREFIX` here as the address alone.
        Some(ip) => {
            parser.push(
                crate::config::diagnostic::Diagnostic::note(
                    "address-prefix-ignored",
                    format!(
                        "'{}': the '/' prefix is ignored, as keepalived does",
                        ip_token.text
                    ),
                )
                .on(ip_token),
            );
            Spanned::new(ip, ip_token.at)
        }
        None => parser.ip_token(node, ip_token)?,
    };
    let port = match node.args.get(from + 1) {
        Some(token) => Some(port_token(parser, node, token)?),
        None => None,
    };
    parser.extra_args(node, from + 2);
    Some(Spanned::new(Endpoint { ip: ip.value, port }, ip_token.at))
}

/// `ADDRESS/PREFIX` with a prefix that fits the address family.
fn with_prefix(token: &crate::config::token::Token) -> Option<std::net::IpAddr> {
    let (address, prefix) = token.text.split_once('/')?;
    let ip: std::net::IpAddr = address.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some(ip)
}

/// One line of a `virtual_server_group`.
pub fn group_member(parser: &mut Parser<'_>, node: &Node) -> Option<Spanned<GroupMember>> {
    parser.no_block(node);
    let at = node.keyword.at;
    if node.name() == "fwmark" {
        let mark = node.args.first();
        let Some(mark) = mark else {
            parser.arg(node, 0, "a firewall mark")?;
            return None;
        };
        let mark = parser.number_token(node, mark, 1u32, u32::MAX)?.value;
        let family = match node.args.get(1) {
            Some(token) => {
                let index = parser.choice_token(node, token, &["inet", "inet6"])?;
                Some(if index.value == 0 {
                    IpFamily::Inet
                } else {
                    IpFamily::Inet6
                })
            }
            None => None,
        };
        parser.extra_args(node, 2);
        return Some(Spanned::new(GroupMember::Fwmark { mark, family }, at));
    }
    let Some(range) = address_range(&node.keyword.text) else {
        parser.push(
            Diagnostic::error(
                "value-address",
                format!(
                    "virtual_server_group entry '{}' is not an address, range or fwmark",
                    node.keyword.text
                ),
            )
            .spanning(at, node.keyword.width as usize)
            .with_help("write 'IP [PORT]', 'IP-LAST [PORT]', 'IP/LEN [PORT]' or 'fwmark N'"),
        );
        return None;
    };
    let port = match node.args.first() {
        Some(token) => Some(port_token(parser, node, token)?),
        None => None,
    };
    parser.extra_args(node, 1);
    Some(Spanned::new(GroupMember::Addresses { range, port }, at))
}

/// Parses `A`, `A-N` (last octet / last IPv6 group), `A-B` and `A/LEN`.
/// Ranges that run backwards or mix families are rejected.
pub fn address_range(text: &str) -> Option<AddressRange> {
    if let Some((address, length)) = text.split_once('/') {
        let address: IpAddr = address.parse().ok()?;
        let length: u8 = length.parse().ok()?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        return (length <= max).then_some(AddressRange::Prefix { address, length });
    }
    if let Some((first, last)) = text.split_once('-') {
        let first: IpAddr = first.parse().ok()?;
        let last: IpAddr = match last.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => replace_last_part(first, last)?,
        };
        let ordered = match (first, last) {
            (IpAddr::V4(a), IpAddr::V4(b)) => a <= b,
            (IpAddr::V6(a), IpAddr::V6(b)) => a <= b,
            _ => false,
        };
        return ordered.then_some(AddressRange::Span { first, last });
    }
    text.parse().ok().map(AddressRange::Single)
}

fn replace_last_part(first: IpAddr, last: &str) -> Option<IpAddr> {
    match first {
        IpAddr::V4(v4) => {
            let octet: u8 = last.parse().ok()?;
            let [a, b, c, _] = v4.octets();
            Some(IpAddr::V4(Ipv4Addr::new(a, b, c, octet)))
        }
        IpAddr::V6(v6) => {
            let group = u16::from_str_radix(last, 16).ok()?;
            let mut segments = v6.segments();
            segments[7] = group;
            Some(IpAddr::V6(Ipv6Addr::from(segments)))
        }
    }
}

/// `NAT | DR | TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
pub fn forward_method(parser: &mut Parser<'_>, node: &Node) -> Option<Spanned<ForwardMethod>> {
    parser.no_block(node);
    let first = parser.arg(node, 0, "NAT, DR or TUN")?;
    let index = parser.choice_token(node, first, &["NAT", "DR", "TUN"])?;
    match index.value {
        0 | 1 => {
            parser.extra_args(node, 1);
            let method = if index.value == 0 {
                ForwardMethod::Nat
            } else {
                ForwardMethod::Dr
            };
            Some(Spanned::new(method, first.at))
        }
        _ => {
            let tunnel = tunnel_options(parser, node)?;
            Some(Spanned::new(ForwardMethod::Tun(tunnel), first.at))
        }
    }
}

fn tunnel_options(parser: &mut Parser<'_>, node: &Node) -> Option<Tunnel> {
    let mut tunnel = Tunnel::default();
    let mut gue_port: Option<u16> = None;
    let mut gue = false;
    let mut words = node.args.iter().skip(1);
    while let Some(word) = words.next() {
        match word.text.to_ascii_lowercase().as_str() {
            "type" => {
                let kind = words.next();
                let Some(kind) = kind else {
                    parser.error(word, "missing-value", "'type' needs ipip, gue or gre");
                    return None;
                };
                match parser
                    .choice_token(node, kind, &["ipip", "gue", "gre"])?
                    .value
                {
                    0 => tunnel.kind = TunnelKind::Ipip,
                    1 => gue = true,
                    _ => tunnel.kind = TunnelKind::Gre,
                }
            }
            "port" => {
                let Some(value) = words.next() else {
                    parser.error(word, "missing-value", "'port' needs a UDP port");
                    return None;
                };
                gue_port = Some(parser.number_token(node, value, 1u16, 65535)?.value);
            }
            "nocsum" => tunnel.checksum = Some(TunnelChecksum::NoCsum),
            "csum" => tunnel.checksum = Some(TunnelChecksum::Csum),
            "remcsum" => tunnel.checksum = Some(TunnelChecksum::RemCsum),
            _ => {
                parser.error(
                    word,
                    "value-choice",
                    format!("unexpected '{}' after TUN", word.text),
                );
                return None;
            }
        }
    }
    if gue {
        let Some(port) = gue_port else {
            parser.push(
                Diagnostic::error("tunnel-port", "a gue tunnel needs a port")
                    .on(&node.keyword)
                    .with_help("write 'TUN type gue port 5555'"),
            );
            return None;
        };
        tunnel.kind = TunnelKind::Gue { port };
    } else if gue_port.is_some() {
        parser.push(
            Diagnostic::error("tunnel-port", "only gue tunnels take a port")
                .on(&node.keyword)
                .with_help("remove 'port N', or use 'type gue'"),
        );
        return None;
    }
    if tunnel.kind == TunnelKind::Gre && tunnel.checksum == Some(TunnelChecksum::RemCsum) {
        parser.push(
            Diagnostic::error(
                "tunnel-checksum",
                "gre tunnels do not support the remcsum option",
            )
            .on(&node.keyword)
            .with_help("use 'csum' or 'nocsum'"),
        );
        return None;
    }
    Some(tunnel)
}

/// `persistence_granularity MASK|LEN`.
pub fn persistence_mask(parser: &mut Parser<'_>, node: &Node) -> Option<Spanned<PersistenceMask>> {
    parser.no_block(node);
    let token = parser.arg(node, 0, "a netmask or prefix length")?;
    parser.extra_args(node, 1);
    if let Ok(mask) = token.text.parse::<Ipv4Addr>() {
        let bits = u32::from(mask);
        if bits.leading_ones() + bits.trailing_zeros() == 32 {
            return Some(Spanned::new(PersistenceMask::Netmask(mask), token.at));
        }
    } else if let Some(length) = parse_integer::<u8>(&token.text).filter(|l| *l <= 128) {
        return Some(Spanned::new(
            PersistenceMask::PrefixLength(length),
            token.at,
        ));
    }
    parser.push(
        Diagnostic::error(
            "value-netmask",
            format!(
                "persistence_granularity '{}' is not a netmask or prefix length",
                token.text
            ),
        )
        .on(token)
        .with_help("write a contiguous IPv4 netmask such as 255.255.255.0, or a prefix length"),
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_ranges_in_every_written_form() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            address_range("192.168.200.3-10"),
            Some(AddressRange::Span {
                first: ip("192.168.200.3"),
                last: ip("192.168.200.10")
            })
        );
        assert_eq!(
            address_range("10.0.0.250-10.0.1.5").map(|r| r.bounds()),
            Some((ip("10.0.0.250"), ip("10.0.1.5")))
        );
        assert_eq!(
            address_range("10.0.2.8/29").map(|r| r.bounds()),
            Some((ip("10.0.2.8"), ip("10.0.2.15")))
        );
        assert_eq!(
            address_range("2001:db8::1-ff").map(|r| r.bounds()),
            Some((ip("2001:db8::1"), ip("2001:db8::ff")))
        );
        assert_eq!(address_range("10.0.0.9-3"), None);
        assert_eq!(address_range("bogus"), None);
    }
}
