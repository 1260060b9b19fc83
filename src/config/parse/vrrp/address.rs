//! Address, route and rule lines (`virtual_ipaddress`, `static_routes`,
//! `virtual_rules`, …) in keepalived's `ip address/route/rule` vocabulary.
//! keepalived skips a line it cannot read (with a warning), so this does too.
//! Route and rule options lvstop does not pass to the kernel are reported
//! as "parsed, not acted on" (the run-time translation is
//! `vrrp::routing`).

use std::net::IpAddr;

use super::super::instead;
use super::super::keywords::{self, acted, alias, unacted, Keyword, KeywordKind};
use super::super::Parser;
use crate::config::diagnostic::Diagnostic;
use crate::config::model::vrrp::{Route, Rule, VirtualAddress};
use crate::config::source::Spanned;
use crate::config::token::Token;
use crate::config::tree::Node;

/// All words of a list line: the keyword position holds the first word.
fn words(item: &Node) -> impl Iterator<Item = &Token> {
    std::iter::once(&item.keyword).chain(item.args.iter())
}

/// Route words keepalived 2.2.7 reads a value after, wherever they stand
/// on the line (measured one by one with `keepalived -t`); a route type
/// takes the destination.
const ROUTE_WORDS_WITH_VALUE: &[&str] = &[
    "src",
    "from",
    "to",
    "via",
    "gw",
    "or",
    "dev",
    "table",
    "metric",
    "priority",
    "preference",
    "scope",
    "protocol",
    "realms",
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "hoplimit",
    "initcwnd",
    "initrwnd",
    "features",
    "congctl",
    "fastopen_no_cookie",
    "rto_min",
    "ttl-propagate",
    "quickack",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
];

/// Rule words keepalived 2.2.7 reads a value after (measured likewise).
const RULE_WORDS_WITH_VALUE: &[&str] = &[
    "from",
    "to",
    "table",
    "lookup",
    "iif",
    "oif",
    "fwmark",
    "tos",
    "dsfield",
    "order",
    "priority",
    "preference",
    "realms",
    "suppress_prefixlength",
    "sup_pl",
    "suppress_ifgroup",
    "sup_group",
    "goto",
    "uidrange",
    "sport",
    "dport",
    "ipproto",
    "protocol",
];

/// keepalived reads a route or rule line word by word, each of
/// `with_value` taking the next word as its value: when that word is
/// missing it stops reading the configuration. Reports that stop and
/// returns true.
fn value_missing(parser: &mut Parser<'_>, item: &Node, with_value: &[&str]) -> bool {
    let mut words = words(item);
    while let Some(word) = words.next() {
        if with_value.contains(&word.text.as_str()) && words.next().is_none() {
            let message = format!("'{}' needs a value", word.text);
            parser.error(word, crate::config::verdict::missing::ABORTS, message);
            return true;
        }
    }
    false
}

fn skip_line(parser: &mut Parser<'_>, token: &Token, message: String) {
    parser.push(
        Diagnostic::warning("invalid-address", message)
            .on(token)
            .with_help("keepalived skips this line; fix the address or remove the line"),
    );
}

/// The options of a `virtual_ipaddress` line after the address.
pub(super) const ADDRESS_OPTIONS: &[Keyword] = &[
    acted("brd"),
    alias("broadcast", "brd"),
    acted("dev"),
    acted("scope"),
    acted("label"),
    unacted("peer", instead::VIP_OPTION),
    unacted("track_group", instead::VIP_OPTION),
    unacted("preferred_lft", instead::VIP_OPTION),
    unacted("home", instead::VIP_OPTION),
    unacted("nodad", instead::VIP_OPTION),
    alias("-nodad", "nodad"),
    unacted("mngtmpaddr", instead::VIP_OPTION),
    unacted("noprefixroute", instead::VIP_OPTION),
    unacted("autojoin", instead::VIP_OPTION),
    unacted("no_track", instead::VIP_OPTION),
    acted("use_vmac"),
];

/// Splits `ADDR[/LEN]`.
fn address_prefix(text: &str) -> Option<(IpAddr, Option<u8>)> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let address: IpAddr = address.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => Some(p.parse::<u8>().ok().filter(|p| *p <= max)?),
        None => None,
    };
    Some((address, prefix))
}

/// The lines of an address block.
pub fn addresses(parser: &mut Parser<'_>, node: &Node, into: &mut Vec<VirtualAddress>) {
    for item in parser.list_items(node) {
        if let Some(address) = address_line(parser, item) {
            into.push(address);
        }
    }
}

fn address_line(parser: &mut Parser<'_>, item: &Node) -> Option<VirtualAddress> {
    parser.no_block(item);
    let mut words = words(item).peekable();
    let first = words.next()?;
    let Some((ip, prefix)) = address_prefix(&first.text) else {
        skip_line(
            parser,
            first,
            format!("'{}' is not an IP address", first.text),
        );
        return None;
    };
    let mut vip = VirtualAddress::new(Spanned::new(ip, first.at));
    vip.prefix = prefix;
    while let Some(word) = words.next() {
        let option = word.text.as_str();
        if let Some(KeywordKind::Unacted(what)) = option_kind(option) {
            parser.warn_unacted_word(word, what);
        }
        let mut value = |parser: &mut Parser<'_>| -> Option<String> {
            let found = words.next().map(|t| t.text.to_string());
            if found.is_none() {
                parser.error(
                    word,
                    crate::config::verdict::missing::REPORTED,
                    format!("'{option}' needs a value"),
                );
            }
            found
        };
        match option {
            "brd" | "broadcast" => vip.broadcast = value(parser),
            "dev" => {
                let at = word.at;
                vip.dev = value(parser).map(|dev| Spanned::new(dev, at));
            }
            "scope" => vip.scope = value(parser),
            "label" => vip.label = value(parser),
            "peer" => vip.peer = value(parser),
            "track_group" => vip.track_group = value(parser),
            "preferred_lft" => vip.preferred_lft = value(parser),
            "home" => vip.home = true,
            "-nodad" | "nodad" => vip.nodad = true,
            "mngtmpaddr" => vip.mngtmpaddr = true,
            "noprefixroute" => vip.noprefixroute = true,
            "autojoin" => vip.autojoin = true,
            "no_track" => vip.no_track = true,
            "use_vmac" => {
                let name = words
                    .next_if(|t| !is_address_option(&t.text))
                    .map(|t| t.text.to_string());
                vip.use_vmac = Some(name);
            }
            _ => {
                let message = format!("unknown address option '{option}'; it is ignored");
                parser.warning(word, "unknown-option", message);
            }
        }
    }
    Some(vip)
}

fn is_address_option(word: &str) -> bool {
    keywords::lookup(ADDRESS_OPTIONS, word).is_some()
}

/// How lvstop treats an address option (an alias as the option it names).
fn option_kind(word: &str) -> Option<KeywordKind> {
    match keywords::lookup(ADDRESS_OPTIONS, word)?.kind {
        KeywordKind::Alias(of) => keywords::lookup(ADDRESS_OPTIONS, of).map(|k| k.kind),
        kind => Some(kind),
    }
}

/// Route options lvstop passes to the kernel besides the typed fields;
/// `proto`/`protocol` and `mtu` take a value.
pub const ROUTE_OPTIONS_ACTED: &[&str] = &[
    "inet6", "prepend", "append", "onlink", "proto", "protocol", "mtu",
];

/// Route options of ip-route(8) that take a value (`lock` may come first)
/// and that lvstop does not act on.
pub const ROUTE_OPTIONS_VALUED: &[&str] = &[
    "tos",
    "dsfield",
    "realm",
    "realms",
    "hoplimit",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "expires",
    "vrf",
    "fastopen_no_cookie",
    "ttl-propagate",
    "encap",
    "nhid",
];

/// Rule options lvstop passes to the kernel besides `from`, `to`,
/// `table` and `preference`, with whether each takes a value.
pub const RULE_OPTIONS_ACTED: &[(&str, bool)] = &[
    ("inet", false),
    ("inet6", false),
    ("not", false),
    ("iif", true),
    ("dev", true),
    ("oif", true),
    ("fwmark", true),
    ("goto", true),
    ("nop", false),
    ("blackhole", false),
    ("unreachable", false),
    ("prohibit", false),
    ("tos", true),
    ("dsfield", true),
    ("protocol", true),
    ("proto", true),
    ("suppress_prefixlength", true),
    ("sup_pl", true),
    ("suppress_ifgroup", true),
    ("sup_group", true),
    ("uidrange", true),
    ("ipproto", true),
    ("ip_proto", true),
    ("sport", true),
    ("dport", true),
    ("l3mdev", false),
    ("realms", true),
    ("realm", true),
];

/// Rule options that take a value and that lvstop does not act on.
pub const RULE_OPTIONS_VALUED: &[&str] = &["tun_id"];

const ROUTE_TYPES: &[&str] = &[
    "unicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "local",
    "broadcast",
    "multicast",
    "anycast",
    "nat",
];

/// The lines of a route block.
pub fn routes(parser: &mut Parser<'_>, node: &Node, into: &mut Vec<Route>) {
    for item in parser.list_items(node) {
        if let Some(route) = route_line(parser, item) {
            into.push(route);
        }
    }
}

fn route_line(parser: &mut Parser<'_>, item: &Node) -> Option<Route> {
    parser.no_block(item);
    if value_missing(parser, item, ROUTE_WORDS_WITH_VALUE) {
        return None;
    }
    let mut words = words(item).peekable();
    let mut route_type = None;
    let mut src = None;
    // `inet6` before the destination: kept, it makes `default` IPv6.
    let mut options = Vec::new();
    // Legacy form: `src ADDR [to] DEST …`.
    let destination = loop {
        let word = words.next()?;
        match word.text.as_str() {
            "src" => src = Some(route_ip(parser, word, words.next())?),
            "to" => {}
            "inet6" => options.push(word.text.to_string()),
            text if ROUTE_TYPES.contains(&text) && route_type.is_none() => {
                route_type = Some(text.to_string());
            }
            text => break Spanned::new(text.to_string(), word.at),
        }
    };
    if destination.value != "default" && address_prefix(&destination.value).is_none() {
        let token = Token {
            text: destination.value.as_str().into(),
            at: destination.at,
            width: u32::try_from(destination.value.chars().count()).unwrap_or(1),
            quoted: false,
        };
        skip_line(
            parser,
            &token,
            format!(
                "route destination '{}' is not an address",
                destination.value
            ),
        );
        return None;
    }
    let mut route = Route {
        route_type,
        destination,
        src,
        via: None,
        dev: None,
        table: None,
        metric: None,
        scope: None,
        no_track: false,
        track_group: None,
        options,
    };
    while let Some(word) = words.next() {
        match word.text.as_str() {
            // Everything after the first `nexthop` describes the nexthops.
            "nexthop" => {
                parser.warn_unacted_word(word, instead::MULTIPATH_ROUTE);
                route.options.push(word.text.to_string());
                route
                    .options
                    .extend(words.by_ref().map(|t| t.text.to_string()));
            }
            "src" => route.src = Some(route_ip(parser, word, words.next())?),
            "via" => route.via = Some(route_ip(parser, word, words.next())?),
            "gw" => {
                parser.push(
                    Diagnostic::warning(
                        "deprecated-keyword",
                        "'gw' for routes is deprecated; the modern form is 'via'",
                    )
                    .on(word)
                    .with_help("write 'via' instead"),
                );
                route.via = Some(route_ip(parser, word, words.next())?);
            }
            "dev" | "oif" => route.dev = words.next().map(|t| t.text.to_string()),
            "table" => route.table = words.next().map(|t| t.text.to_string()),
            "scope" => route.scope = words.next().map(|t| t.text.to_string()),
            "metric" | "priority" | "preference" => {
                route.metric = match words.next() {
                    Some(value) => parser
                        .number_token(item, value, 0u32, u32::MAX)
                        .map(|n| n.value),
                    None => None,
                }
            }
            "no_track" => route.no_track = true,
            "track_group" => {
                parser.warn_unacted_word(word, instead::TRACK_GROUP);
                route.track_group = words.next().map(|t| t.text.to_string());
            }
            "or" => {
                parser.warn_unacted_word(word, instead::MULTIPATH_ROUTE);
                parser.push(
                    Diagnostic::warning(
                        "deprecated-keyword",
                        "'or' for routes is deprecated; the modern form is 'nexthop'",
                    )
                    .on(word)
                    .with_help("write 'nexthop via ADDR' for each gateway"),
                );
                route.options.push(word.text.to_string());
                // The alternative gateway.
                route
                    .options
                    .extend(words.next().map(|t| t.text.to_string()));
            }
            other => {
                route.options.push(other.to_string());
                let valued = ROUTE_OPTIONS_VALUED.contains(&other);
                if valued || !ROUTE_OPTIONS_ACTED.contains(&other) {
                    parser.warn_unacted_word(word, instead::ROUTE_OPTION);
                }
                if valued || matches!(other, "proto" | "protocol" | "mtu") {
                    route_value(&mut words, &mut route.options);
                }
            }
        }
    }
    Some(route)
}

/// Moves an option's value (after `lock`, when written) into `options`.
fn route_value<'t>(words: &mut impl Iterator<Item = &'t Token>, options: &mut Vec<String>) {
    if let Some(value) = words.next() {
        options.push(value.text.to_string());
        if value.text == "lock" {
            options.extend(words.next().map(|t| t.text.to_string()));
        }
    }
}

fn route_ip(parser: &mut Parser<'_>, keyword: &Token, value: Option<&Token>) -> Option<IpAddr> {
    let Some(value) = value else {
        let message = format!("'{}' needs an address", keyword.text);
        parser.error(keyword, "missing-value", message);
        return None;
    };
    match value.text.parse() {
        Ok(ip) => Some(ip),
        Err(_) => {
            skip_line(
                parser,
                value,
                format!("'{}' is not an IP address", value.text),
            );
            None
        }
    }
}

/// The lines of a rule block.
pub fn rules(parser: &mut Parser<'_>, node: &Node, into: &mut Vec<Rule>) {
    for item in parser.list_items(node) {
        if let Some(rule) = rule_line(parser, item) {
            into.push(rule);
        }
    }
}

fn rule_line(parser: &mut Parser<'_>, item: &Node) -> Option<Rule> {
    parser.no_block(item);
    if value_missing(parser, item, RULE_WORDS_WITH_VALUE) {
        return None;
    }
    let mut rule = Rule {
        from: None,
        to: None,
        table: None,
        preference: None,
        no_track: false,
        track_group: None,
        options: Vec::new(),
        at: Spanned::new((), item.keyword.at),
    };
    let mut words = words(item);
    while let Some(word) = words.next() {
        match word.text.as_str() {
            "from" | "to" => {
                let value = words.next()?;
                if value.text != "all" && address_prefix(&value.text).is_none() {
                    let message = format!("invalid rule {} address '{}'", word.text, value.text);
                    skip_line(parser, value, message);
                    return None;
                }
                let field = if word.text == "from" {
                    &mut rule.from
                } else {
                    &mut rule.to
                };
                *field = Some(value.text.to_string());
            }
            "table" | "lookup" => rule.table = words.next().map(|t| t.text.to_string()),
            "preference" | "priority" | "pref" => {
                rule.preference = match words.next() {
                    Some(value) => parser
                        .number_token(item, value, 0u32, u32::MAX)
                        .map(|n| n.value),
                    None => None,
                }
            }
            "no_track" => rule.no_track = true,
            "track_group" => {
                parser.warn_unacted_word(word, instead::TRACK_GROUP);
                rule.track_group = words.next().map(|t| t.text.to_string());
            }
            other => {
                rule.options.push(other.to_string());
                let acted = RULE_OPTIONS_ACTED.iter().find(|(name, _)| *name == other);
                if acted.is_none() {
                    parser.warn_unacted_word(word, instead::RULE_OPTION);
                }
                if acted.is_some_and(|(_, valued)| *valued) || RULE_OPTIONS_VALUED.contains(&other)
                {
                    rule.options
                        .extend(words.next().map(|t| t.text.to_string()));
                }
            }
        }
    }
    if rule.preference.is_none() {
        let preference = parser.default_rule_preference();
        rule.preference = Some(preference);
        parser.push(
            Diagnostic::warning(
                "rule-no-preference",
                format!("rule has no preference; keepalived sets {preference}, and so does lvstop"),
            )
            .on(&item.keyword)
            .with_help("add 'preference N' so the rule order does not depend on transitions"),
        );
    }
    Some(rule)
}
