//! One `virtual_rules` / `static_rules` line in the kernel's terms: the
//! selectors and actions of `ip rule add` (ip-rule(8)); keepalived marks
//! its rules `proto keepalived` (measured with keepalived 2.2.7:
//! `ip rule show` lists them so).

use std::net::IpAddr;

use super::route_words::{prefix, protocol};
use super::{parse_u32, Skipped, TableNames, Translated};
use crate::config::model::vrrp::Rule;
use crate::config::parse::instead;
use crate::net::route::RTPROT_KEEPALIVED;
use crate::net::rule::{RuleKind, RuleSpec};

/// The kernel form of `rule`.
pub fn rule_spec(rule: &Rule, tables: &TableNames) -> Result<Translated<RuleSpec>, Skipped> {
    let line = || {
        let mut words = Vec::new();
        if let Some(from) = &rule.from {
            words.push(format!("from {from}"));
        }
        if let Some(to) = &rule.to {
            words.push(format!("to {to}"));
        }
        words.extend(rule.options.iter().cloned());
        words.join(" ")
    };
    let skip = |reason: String| Skipped {
        line: line(),
        reason,
    };
    let mut spec = RuleSpec {
        priority: rule.preference,
        protocol: RTPROT_KEEPALIVED,
        ..RuleSpec::default()
    };
    let selector = |text: &Option<String>| -> Result<Option<(IpAddr, u8)>, Skipped> {
        match text.as_deref() {
            None | Some("all") => Ok(None),
            Some(text) => prefix(text)
                .map(Some)
                .ok_or_else(|| skip(format!("'{text}' is not an address"))),
        }
    };
    spec.from = selector(&rule.from)?;
    spec.to = selector(&rule.to)?;
    if let Some(table) = &rule.table {
        let id = tables
            .id(table)
            .ok_or_else(|| skip(format!("unknown routing table '{table}'")))?;
        spec.kind = Some(RuleKind::Table(id));
    }
    let mut not_acted_on = Vec::new();
    let mut words = rule.options.iter().map(String::as_str);
    let number = |word: &str, text: &str| {
        parse_u32(text).map_err(|_| skip(format!("'{word} {text}': not a number")))
    };
    let mut inet6 = false;
    while let Some(word) = words.next() {
        let mut value = || -> Result<String, Skipped> {
            words
                .next()
                .map(str::to_string)
                .ok_or_else(|| skip(format!("'{word}' needs a value")))
        };
        match word {
            "inet6" => inet6 = true,
            "inet" => {}
            "not" => spec.invert = true,
            "iif" | "dev" => spec.iif = Some(value()?),
            "oif" => spec.oif = Some(value()?),
            "fwmark" => {
                let text = value()?;
                let (mark, mask) = match text.split_once('/') {
                    Some((mark, mask)) => (mark, Some(mask)),
                    None => (text.as_str(), None),
                };
                let mask = mask.map(|m| number("fwmark", m)).transpose()?;
                spec.fwmark = Some((number("fwmark", mark)?, mask));
            }
            "goto" => spec.kind = Some(RuleKind::Goto(number("goto", &value()?)?)),
            "nop" => spec.kind = Some(RuleKind::Nop),
            "blackhole" => spec.kind = Some(RuleKind::Blackhole),
            "unreachable" => spec.kind = Some(RuleKind::Unreachable),
            "prohibit" => spec.kind = Some(RuleKind::Prohibit),
            "tos" | "dsfield" => {
                let text = value()?;
                let tos = parse_u32(&text)
                    .ok()
                    .and_then(|t| u8::try_from(t).ok())
                    .ok_or_else(|| skip(format!("'{word} {text}': not a TOS value")))?;
                spec.tos = Some(tos);
            }
            "protocol" | "proto" => {
                let text = value()?;
                spec.protocol =
                    protocol(&text).ok_or_else(|| skip(format!("'{text}' is not a protocol")))?;
            }
            "suppress_prefixlength" | "sup_pl" => {
                spec.suppress_prefixlength = Some(number(word, &value()?)?);
            }
            "suppress_ifgroup" | "sup_group" => {
                spec.suppress_ifgroup = Some(number(word, &value()?)?);
            }
            "uidrange" => {
                let text = value()?;
                let (start, end) = text
                    .split_once('-')
                    .ok_or_else(|| skip(format!("'uidrange {text}': expected START-END")))?;
                spec.uid_range = Some((number("uidrange", start)?, number("uidrange", end)?));
            }
            "ipproto" | "ip_proto" => {
                let text = value()?;
                spec.ip_proto = Some(
                    ip_protocol(&text)
                        .ok_or_else(|| skip(format!("'{text}' is not an IP protocol")))?,
                );
            }
            "sport" | "dport" => {
                let text = value()?;
                let range = port_range(&text)
                    .ok_or_else(|| skip(format!("'{word} {text}': expected PORT[-PORT]")))?;
                if word == "sport" {
                    spec.sport = Some(range);
                } else {
                    spec.dport = Some(range);
                }
            }
            "l3mdev" => spec.l3mdev = true,
            "realms" | "realm" => {
                let text = value()?;
                let realm = |t: &str| parse_u32(t).ok().and_then(|n| u16::try_from(n).ok());
                let (from, to) = match text.split_once('/') {
                    Some((from, to)) => (realm(from), realm(to)),
                    None => (Some(0), realm(&text)),
                };
                match (from, to) {
                    (Some(from), Some(to)) => spec.realms = Some((from, to)),
                    _ => return Err(skip(format!("'realms {text}': realms are numbers here"))),
                }
            }
            "tun_id" => {
                let text = value()?;
                not_acted_on.push(note(&format!("tun_id {text}")));
            }
            other => not_acted_on.push(note(other)),
        }
    }
    spec.ipv6 = inet6
        || [spec.from, spec.to]
            .iter()
            .flatten()
            .any(|(a, _)| a.is_ipv6());
    Ok(Translated { spec, not_acted_on })
}

fn note(what: &str) -> String {
    format!("parsed, not acted on: '{what}' ({})", instead::RULE_OPTION)
}

/// `PORT` or `START-END`.
fn port_range(text: &str) -> Option<(u16, u16)> {
    match text.split_once('-') {
        Some((start, end)) => Some((start.parse().ok()?, end.parse().ok()?)),
        None => {
            let port = text.parse().ok()?;
            Some((port, port))
        }
    }
}

/// An IP protocol number or the names ip-rule(8) users write.
fn ip_protocol(text: &str) -> Option<u8> {
    Some(match text.to_ascii_lowercase().as_str() {
        "icmp" => 1,
        "igmp" => 2,
        "tcp" => 6,
        "udp" => 17,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" | "icmpv6" => 58,
        "sctp" => 132,
        "udplite" => 136,
        other => return other.parse().ok(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::source::{Location, Spanned};

    fn rule(from: Option<&str>, table: Option<&str>, options: &[&str]) -> Rule {
        Rule {
            from: from.map(String::from),
            to: None,
            table: table.map(String::from),
            preference: Some(302),
            no_track: false,
            track_group: None,
            options: options.iter().map(|s| s.to_string()).collect(),
            at: Spanned::new((), Location::default()),
        }
    }

    #[test]
    fn selectors_and_goto_become_the_kernel_form() {
        let r = rule(
            Some("198.51.100.224/28"),
            None,
            &["fwmark", "5/0xff", "iif", "veth0", "goto", "400", "not"],
        );
        let t = rule_spec(&r, &TableNames::default()).unwrap();
        let s = t.spec;
        assert_eq!(s.from, Some(("198.51.100.224".parse().unwrap(), 28)));
        assert_eq!(s.fwmark, Some((5, Some(0xff))));
        assert_eq!(s.iif.as_deref(), Some("veth0"));
        assert_eq!(s.kind, Some(RuleKind::Goto(400)));
        assert!(s.invert && !s.ipv6);
        assert_eq!((s.priority, s.protocol), (Some(302), RTPROT_KEEPALIVED));
        assert!(t.not_acted_on.is_empty());
    }

    #[test]
    fn ipv6_ranges_and_protocols_are_read() {
        let r = rule(
            Some("2001:db8::/96"),
            Some("6908"),
            &[
                "uidrange",
                "10000-19999",
                "ip_proto",
                "UDP",
                "sport",
                "10-20",
                "dport",
                "53",
            ],
        );
        let s = rule_spec(&r, &TableNames::default()).unwrap().spec;
        assert!(s.ipv6);
        assert_eq!(s.kind, Some(RuleKind::Table(6908)));
        assert_eq!(s.uid_range, Some((10000, 19999)));
        assert_eq!(s.ip_proto, Some(17));
        assert_eq!((s.sport, s.dport), (Some((10, 20)), Some((53, 53))));
    }

    #[test]
    fn from_all_is_no_selector_and_unknown_words_are_named() {
        let r = rule(Some("all"), Some("main"), &["tun_id", "7", "odd"]);
        let t = rule_spec(&r, &TableNames::default()).unwrap();
        assert_eq!(t.spec.from, None);
        assert_eq!(t.spec.kind, Some(RuleKind::Table(254)));
        assert_eq!(t.not_acted_on.len(), 2);
        assert!(t.not_acted_on[0].contains("'tun_id 7'"));
    }

    #[test]
    fn every_option_the_parser_calls_acted_is_acted_on() {
        for (word, valued) in crate::config::parse::vrrp::RULE_OPTIONS_ACTED {
            let value = match *word {
                "uidrange" => "1-2",
                "protocol" | "proto" | "ipproto" | "ip_proto" => "17",
                _ => "5",
            };
            let mut options = vec![*word];
            if *valued {
                options.push(value);
            }
            let t = rule_spec(&rule(None, Some("1"), &options), &TableNames::default()).unwrap();
            assert!(t.not_acted_on.is_empty(), "{word}");
        }
    }

    #[test]
    fn a_bad_value_skips_the_rule_with_a_reason() {
        let r = rule(None, Some("1"), &["fwmark", "x5"]);
        let e = rule_spec(&r, &TableNames::default()).unwrap_err();
        assert!(e.reason.contains("not a number"), "{e}");
    }
}
