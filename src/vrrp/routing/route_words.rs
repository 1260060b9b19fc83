//! One `virtual_routes` / `static_routes` line in the kernel's terms.
//! keepalived.conf(5) "Static routes/addresses/rules": the options are
//! those of `ip route add` (ip-route(8)); keepalived marks its routes
//! `proto keepalived` unless told otherwise (measured with keepalived
//! 2.2.7: `ip route show table all` lists them so).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{parse_u32, Skipped, TableNames, Translated};
use crate::config::model::vrrp::Route;
use crate::config::parse::instead;
use crate::config::parse::vrrp::ROUTE_OPTIONS_VALUED;
use crate::net::route::{RouteKind, RouteScopeName, RouteSpec};

/// The kernel form of `route`.
pub fn route_spec(route: &Route, tables: &TableNames) -> Result<Translated<RouteSpec>, Skipped> {
    let skip = |reason: String| Skipped {
        line: route.destination.value.clone(),
        reason,
    };
    let ipv6 = route.options.iter().any(|w| w == "inet6")
        || [route.via, route.src].iter().flatten().any(IpAddr::is_ipv6);
    let (destination, prefix_len) =
        destination(&route.destination.value, ipv6).ok_or_else(|| {
            skip(format!(
                "'{}' is not a destination",
                route.destination.value
            ))
        })?;
    let mut spec = RouteSpec::new(destination, prefix_len);
    if let Some(word) = &route.route_type {
        spec.kind = RouteKind::from_word(word)
            .ok_or_else(|| skip(format!("'{word}' is not a route type")))?;
    }
    spec.gateway = route.via;
    spec.source = route.src;
    spec.ifname = route.dev.clone();
    spec.metric = route.metric;
    if let Some(table) = &route.table {
        spec.table = tables
            .id(table)
            .ok_or_else(|| skip(format!("unknown routing table '{table}'")))?;
    }
    if let Some(scope) = &route.scope {
        spec.scope = Some(
            RouteScopeName::from_word(scope)
                .ok_or_else(|| skip(format!("'{scope}' is not a route scope")))?,
        );
    }
    let mut not_acted_on = Vec::new();
    let mut words = route.options.iter().map(String::as_str).peekable();
    while let Some(word) = words.next() {
        match word {
            "inet6" | "prepend" => {}
            "append" => spec.append = true,
            "onlink" => spec.onlink = true,
            "proto" | "protocol" => {
                let value = words.next().unwrap_or("");
                spec.protocol = protocol(value)
                    .ok_or_else(|| skip(format!("'{value}' is not a route protocol")))?;
            }
            "mtu" => {
                let mut value = words.next().unwrap_or("");
                if value == "lock" {
                    not_acted_on.push(note("mtu lock"));
                    value = words.next().unwrap_or("");
                }
                spec.mtu =
                    Some(parse_u32(value).map_err(|_| skip(format!("'{value}' is not an MTU")))?);
            }
            "nexthop" | "or" => {
                return Err(skip(format!("'{word}': {}", instead::MULTIPATH_ROUTE)))
            }
            valued if ROUTE_OPTIONS_VALUED.contains(&valued) => {
                let mut value = words.next();
                if value == Some("lock") {
                    value = words.next();
                }
                not_acted_on.push(note(&format!("{valued} {}", value.unwrap_or(""))));
            }
            other => not_acted_on.push(note(other)),
        }
    }
    if spec.kind.has_next_hop() && spec.gateway.is_none() && spec.ifname.is_none() {
        return Err(skip(
            "a route needs 'via' or 'dev' (or a type such as blackhole)".into(),
        ));
    }
    Ok(Translated { spec, not_acted_on })
}

fn note(what: &str) -> String {
    format!(
        "parsed, not acted on: '{}' ({})",
        what.trim(),
        instead::ROUTE_OPTION
    )
}

/// `IP[/LEN]` (a missing length is a host route) or `default`.
fn destination(text: &str, ipv6: bool) -> Option<(IpAddr, u8)> {
    if text == "default" {
        let any = if ipv6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        return Some((any, 0));
    }
    prefix(text)
}

/// `IP[/LEN]`, with /32 or /128 when the length is missing.
pub fn prefix(text: &str) -> Option<(IpAddr, u8)> {
    let (address, len) = match text.split_once('/') {
        Some((address, len)) => (address, Some(len)),
        None => (text, None),
    };
    let address: IpAddr = address.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(len) => len.parse::<u8>().ok().filter(|l| *l <= max)?,
        None => max,
    };
    Some((address, len))
}

/// A route protocol: a number or an rt_protos(5) name.
pub fn protocol(word: &str) -> Option<u8> {
    Some(match word {
        "unspec" => 0,
        "redirect" => 1,
        "kernel" => 2,
        "boot" => 3,
        "static" => 4,
        "gated" => 8,
        "ra" => 9,
        "mrt" => 10,
        "zebra" => 11,
        "bird" => 12,
        "dnrouted" => 13,
        "xorp" => 14,
        "ntk" => 15,
        "dhcp" => 16,
        "keepalived" => 18,
        "babel" => 42,
        "bgp" => 186,
        "isis" => 187,
        "ospf" => 188,
        "rip" => 189,
        "eigrp" => 192,
        other => return parse_u32(other).ok().and_then(|n| u8::try_from(n).ok()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::source::{Location, Spanned};
    use crate::net::route::RTPROT_KEEPALIVED;

    fn route(destination: &str) -> Route {
        Route {
            route_type: None,
            destination: Spanned::new(destination.to_string(), Location::default()),
            src: None,
            via: None,
            dev: None,
            table: None,
            metric: None,
            scope: None,
            no_track: false,
            track_group: None,
            options: Vec::new(),
        }
    }

    #[test]
    fn a_gatewayed_route_keeps_its_table_metric_and_keepalived_protocol() {
        let mut r = route("198.51.100.176/28");
        r.via = Some("198.51.100.2".parse().unwrap());
        r.dev = Some("veth0".into());
        r.table = Some("main".into());
        r.metric = Some(7);
        let t = route_spec(&r, &TableNames::default()).unwrap();
        assert_eq!(
            t.spec.destination,
            "198.51.100.176".parse::<IpAddr>().unwrap()
        );
        assert_eq!(t.spec.prefix_len, 28);
        assert_eq!(t.spec.table, 254);
        assert_eq!(t.spec.metric, Some(7));
        assert_eq!(t.spec.protocol, RTPROT_KEEPALIVED);
        assert!(t.not_acted_on.is_empty());
    }

    #[test]
    fn type_proto_onlink_mtu_and_append_reach_the_kernel_form() {
        let mut r = route("198.51.100.192/28");
        r.route_type = Some("unreachable".into());
        r.table = Some("201".into());
        r.options = ["proto", "static", "onlink", "mtu", "1400", "append"]
            .map(String::from)
            .to_vec();
        let t = route_spec(&r, &TableNames::default()).unwrap();
        assert_eq!(t.spec.kind, RouteKind::Unreachable);
        assert_eq!((t.spec.table, t.spec.protocol), (201, 4));
        assert!(t.spec.onlink && t.spec.append);
        assert_eq!(t.spec.mtu, Some(1400));
    }

    #[test]
    fn default_follows_the_gateway_family() {
        let mut r = route("default");
        r.via = Some("2001:db8::1".parse().unwrap());
        let t = route_spec(&r, &TableNames::default()).unwrap();
        assert_eq!(t.spec.destination, "::".parse::<IpAddr>().unwrap());
        assert_eq!(t.spec.prefix_len, 0);
    }

    #[test]
    fn inet6_makes_default_an_ipv6_route() {
        let mut r = route("default");
        r.dev = Some("veth0".into());
        r.options = vec!["inet6".into()];
        let t = route_spec(&r, &TableNames::default()).unwrap();
        assert_eq!(t.spec.destination, "::".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn options_lvstop_does_not_act_on_are_named() {
        let mut r = route("198.51.100.0/24");
        r.dev = Some("veth0".into());
        r.options = ["tos", "0x04", "advmss", "lock", "101", "fancy"]
            .map(String::from)
            .to_vec();
        let t = route_spec(&r, &TableNames::default()).unwrap();
        assert_eq!(t.not_acted_on.len(), 3);
        assert!(t.not_acted_on[0].starts_with("parsed, not acted on: 'tos 0x04'"));
        assert!(t.not_acted_on[1].contains("'advmss 101'"));
        assert!(t.not_acted_on[2].contains("'fancy'"));
    }

    #[test]
    fn multipath_routes_and_unknown_tables_are_skipped_with_a_reason() {
        let mut r = route("198.51.100.0/24");
        r.options = ["nexthop", "via", "198.51.100.1"]
            .map(String::from)
            .to_vec();
        let e = route_spec(&r, &TableNames::default()).unwrap_err();
        assert!(e.reason.contains("single-path"), "{e}");
        let mut r = route("198.51.100.0/24");
        r.dev = Some("veth0".into());
        r.table = Some("nosuch".into());
        let e = route_spec(&r, &TableNames::default()).unwrap_err();
        assert!(e.reason.contains("unknown routing table 'nosuch'"), "{e}");
    }

    #[test]
    fn every_option_the_parser_calls_not_acted_on_is_named_at_run_time() {
        for word in ROUTE_OPTIONS_VALUED {
            let mut r = route("198.51.100.0/24");
            r.dev = Some("veth0".into());
            r.options = vec![word.to_string(), "1".into()];
            let t = route_spec(&r, &TableNames::default()).unwrap();
            assert_eq!(t.not_acted_on.len(), 1, "{word}");
        }
        for word in crate::config::parse::vrrp::ROUTE_OPTIONS_ACTED {
            let mut r = route("198.51.100.0/24");
            r.dev = Some("veth0".into());
            r.options = vec![word.to_string()];
            if matches!(*word, "proto" | "protocol" | "mtu") {
                r.options.push("4".into());
            }
            let t = route_spec(&r, &TableNames::default()).unwrap();
            assert!(t.not_acted_on.is_empty(), "{word}");
        }
    }

    #[test]
    fn a_unicast_route_needs_a_next_hop() {
        let r = route("198.51.100.0/24");
        assert!(route_spec(&r, &TableNames::default()).is_err());
    }
}
