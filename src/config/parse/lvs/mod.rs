//! LVS blocks: `virtual_server_group`, `virtual_server`, `real_server` and
//! the top-level `SSL` block; checkers are in [`checker`].
//!
//! Owns the keyword tables of these blocks and turns their statements into
//! `model::lvs`. Value ranges are checked here; rules spanning blocks
//! (duplicates, references, families) belong to `validate::lvs`.

mod checker;
mod values;

use super::instead;
use super::keywords::{acted, alias, refused, unacted, Keyword, KeywordTable};
use super::Parser;
use crate::config::diagnostic::Diagnostic;
use crate::config::model::lvs::{
    CheckTiming, IpFamily, LvsConfig, Protocol, RealServer, SchedFlag, ServiceAddress, SslConfig,
    VirtualServer, VirtualServerGroup, DEFAULT_PERSISTENCE_TIMEOUT,
};
use crate::config::source::Spanned;
use crate::config::tree::Node;

/// Longest checker timer (seconds): keepalived 2.2.7 reads it in
/// microseconds into 64 bits ("outside range [0.000001,
/// 18446744073709.551614]" for delay_loop; delay_before_retry and warmup
/// accept the same).
const TIMER_MAX: f64 = 18_446_744_073_709.55;
/// keepalived rejects a zero delay_loop or connect_timeout.
const TIMER_MIN_POSITIVE: f64 = 0.000_001;
/// keepalived 2.2.7: "number '5000' outside range [0.000001, 4294.967295]"
/// for connect_timeout.
const CONNECT_TIMEOUT_MAX: f64 = 4_294.967_295;

const VIRTUAL_SERVER: &[Keyword] = &[
    acted("delay_loop"),
    acted("lvs_sched"),
    alias("lb_algo", "lvs_sched"),
    acted("lvs_method"),
    alias("lb_kind", "lvs_method"),
    unacted("persistence_engine", instead::PERSISTENCE_ENGINE),
    acted("persistence_timeout"),
    acted("persistence_granularity"),
    acted("protocol"),
    unacted("ha_suspend", instead::HA_SUSPEND),
    acted("ops"),
    acted("virtualhost"),
    unacted("snmp_name", instead::SNMP),
    acted("alpha"),
    acted("omega"),
    acted("quorum"),
    acted("hysteresis"),
    acted("quorum_up"),
    acted("quorum_down"),
    acted("ip_family"),
    acted("sorry_server"),
    acted("sorry_server_inhibit"),
    acted("sorry_server_lvs_method"),
    acted("connect_timeout"),
    acted("retry"),
    acted("delay_before_retry"),
    acted("warmup"),
    acted("inhibit_on_failure"),
    acted("smtp_alert"),
    acted("flag-1"),
    acted("flag-2"),
    acted("flag-3"),
    acted("sh-port"),
    acted("sh-fallback"),
    acted("mh-port"),
    acted("mh-fallback"),
    acted("real_server"),
];

const REAL_SERVER: &[Keyword] = &[
    acted("weight"),
    acted("lvs_method"),
    acted("notify_up"),
    acted("notify_down"),
    acted("uthreshold"),
    acted("lthreshold"),
    acted("smtp_alert"),
    acted("virtualhost"),
    unacted("snmp_name", instead::SNMP),
    acted("alpha"),
    acted("connect_timeout"),
    acted("retry"),
    acted("delay_before_retry"),
    acted("warmup"),
    acted("delay_loop"),
    acted("inhibit_on_failure"),
    acted("HTTP_GET"),
    acted("SSL_GET"),
    acted("TCP_CHECK"),
    acted("SMTP_CHECK"),
    acted("DNS_CHECK"),
    acted("MISC_CHECK"),
    refused("BFD_CHECK", instead::BFD),
    acted("UDP_CHECK"),
    acted("PING_CHECK"),
    acted("FILE_CHECK"),
];

const SSL: &[Keyword] = &[
    acted("password"),
    acted("ca"),
    acted("certificate"),
    acted("key"),
];

const TABLES: &[KeywordTable] = &[
    KeywordTable {
        block: "virtual_server",
        keywords: VIRTUAL_SERVER,
    },
    KeywordTable {
        block: "real_server",
        keywords: REAL_SERVER,
    },
    KeywordTable {
        block: "SSL",
        keywords: SSL,
    },
];

/// The keyword tables of the LVS blocks and their checkers.
pub(super) fn tables() -> impl Iterator<Item = KeywordTable> {
    TABLES.iter().chain(checker::TABLES.iter()).copied()
}

/// `virtual_server_group NAME { members }`.
pub fn virtual_server_group(parser: &mut Parser<'_>, node: &Node, lvs: &mut LvsConfig) {
    let Some(name) = parser.arg(node, 0, "a group name") else {
        return;
    };
    parser.extra_args(node, 1);
    let mut group = VirtualServerGroup {
        name: Spanned::new(name.text.to_string(), name.at),
        members: Vec::new(),
    };
    // Written without '{', the group makes keepalived's checker stop reading at the
    // next line, whatever it holds (measured on 2.2.7: "Configuration line
    // starting `***MISSING ***` is missing a parameter").
    let without_brace = node.block.as_ref().is_some_and(|b| !b.braced);
    if without_brace {
        let at = node
            .children()
            .first()
            .map_or(&node.keyword, |c| &c.keyword);
        parser.error(
            at,
            crate::config::verdict::missing::ABORTS,
            "virtual_server_group written without '{': keepalived stops reading the configuration at the next line",
        );
    }
    if parser.need_block(node) {
        for child in node.children() {
            // An entry that is a lone brace (the group written without
            // '{' took a block's opening line): keepalived finds no word in
            // it and stops reading the configuration.
            if child.keyword.is_open_brace() {
                if !without_brace {
                    parser.error(
                        &child.keyword,
                        crate::config::verdict::missing::ABORTS,
                        "a '{' alone among the virtual_server_group's entries: keepalived stops reading here",
                    );
                }
                continue;
            }
            if let Some(member) = values::group_member(parser, child) {
                group.members.push(member);
            }
        }
    }
    lvs.groups.push(group);
}

/// `virtual_server IP [PORT] | fwmark N | group NAME { … }`.
pub fn virtual_server(parser: &mut Parser<'_>, node: &Node, lvs: &mut LvsConfig) {
    let Some(service) = service_address(parser, node) else {
        return;
    };
    let mut vs = VirtualServer {
        service,
        ..VirtualServer::default()
    };
    if parser.need_block(node) {
        let real_servers = node
            .children()
            .iter()
            .filter(|c| c.name() == "real_server")
            .count();
        vs.real_servers.reserve_exact(real_servers);
        for child in node.children() {
            virtual_server_keyword(parser, child, &mut vs);
        }
    }
    lvs.virtual_servers.push(vs);
}

fn service_address(parser: &mut Parser<'_>, node: &Node) -> Option<Spanned<ServiceAddress>> {
    let first = parser.arg(node, 0, "an address, 'fwmark N' or 'group NAME'")?;
    let service = match first.text.as_str() {
        "fwmark" => {
            let mark = parser.arg(node, 1, "a firewall mark")?;
            let mark = parser.number_token(node, mark, 1u32, u32::MAX)?;
            parser.extra_args(node, 2);
            ServiceAddress::Fwmark(mark.value)
        }
        "group" => {
            let name = parser.arg(node, 1, "a group name")?;
            parser.extra_args(node, 2);
            ServiceAddress::Group(name.text.to_string())
        }
        _ => {
            let endpoint = values::endpoint(parser, node, 0)?;
            ServiceAddress::Address {
                ip: endpoint.value.ip,
                port: endpoint.value.port,
            }
        }
    };
    Some(Spanned::new(service, first.at))
}

fn virtual_server_keyword(parser: &mut Parser<'_>, child: &Node, vs: &mut VirtualServer) {
    let Some(keyword) = parser.keyword(child, VIRTUAL_SERVER, "virtual_server") else {
        return;
    };
    if keyword == "alpha" {
        vs.timing.alpha = Some(parser.server_flag(child));
        return;
    }
    if timing_keyword(parser, keyword, child, &mut vs.timing) {
        return;
    }
    match keyword {
        "lvs_sched" => vs.scheduler = parser.string(child),
        "lvs_method" => vs.method = values::forward_method(parser, child),
        "persistence_engine" => vs.persistence_engine = parser.string(child),
        "persistence_timeout" => {
            parser.no_block(child);
            vs.persistence_timeout = match child.args.first() {
                None => Some(Spanned::new(DEFAULT_PERSISTENCE_TIMEOUT, child.keyword.at)),
                Some(_) => parser.number(child, 1u32, 2_678_400),
            };
        }
        "persistence_granularity" => {
            vs.persistence_granularity = values::persistence_mask(parser, child)
        }
        "protocol" => vs.protocol = protocol(parser, child),
        "ha_suspend" => vs.ha_suspend = Some(parser.server_flag(child)),
        "ops" => vs.one_packet = Some(parser.boolean(child)),
        "virtualhost" => vs.virtualhost = parser.string(child),
        "omega" => vs.omega = Some(parser.server_flag(child)),
        "quorum" => vs.quorum = parser.number(child, 1u32, u32::MAX),
        "hysteresis" => vs.hysteresis = parser.number(child, 0u32, u32::MAX),
        "quorum_up" => vs.quorum_up = parser.script(child),
        "quorum_down" => vs.quorum_down = parser.script(child),
        "ip_family" => {
            vs.ip_family = parser.choice(child, &["inet", "inet6"]).map(|i| {
                Spanned::new(
                    if i.value == 0 {
                        IpFamily::Inet
                    } else {
                        IpFamily::Inet6
                    },
                    i.at,
                )
            })
        }
        "sorry_server" => {
            parser.no_block(child);
            vs.sorry_server = values::endpoint(parser, child, 0);
        }
        "sorry_server_inhibit" => {
            let value = parser.boolean(child);
            if sorry_server_first(parser, child, vs) {
                vs.sorry_server_inhibit = Some(value);
            }
        }
        "sorry_server_lvs_method" => {
            let method = values::forward_method(parser, child);
            if sorry_server_first(parser, child, vs) {
                vs.sorry_server_method = method;
            }
        }
        "inhibit_on_failure" => vs.inhibit_on_failure = Some(parser.server_flag(child)),
        "smtp_alert" => vs.smtp_alert = Some(parser.boolean(child)),
        "real_server" => real_server(parser, child, vs),
        "snmp_name" => parser.keep(child, &mut vs.other),
        flag => {
            if let Some(flag) = SchedFlag::from_keyword(flag) {
                parser.no_block(child);
                parser.extra_args(child, 0);
                if sched_flag_applies(parser, child, flag, vs) {
                    vs.sched_flags.push(Spanned::new(flag, child.keyword.at));
                }
            }
        }
    }
}

/// keepalived 2.2.7 checks sh-*/mh-* flags against the scheduler set so
/// far and ignores them otherwise ("sh-fallback only applies to sh
/// scheduler - ignoring", even when `lvs_sched sh` follows); lvstop reads
/// them the same way. The sh and mh spellings set the same kernel bits, so
/// either is accepted with either scheduler (validation suggests the
/// matching spelling).
fn sched_flag_applies(
    parser: &mut Parser<'_>,
    node: &Node,
    flag: SchedFlag,
    vs: &VirtualServer,
) -> bool {
    let Some(owner) = flag.scheduler() else {
        return true;
    };
    let current = vs.scheduler.as_ref().map(|s| s.value.as_str());
    if matches!(current, Some("sh" | "mh")) {
        return true;
    }
    let help = match current {
        None => format!("put 'lvs_sched {owner}' before it"),
        Some(_) => format!("remove it, or use 'lvs_sched {owner}'"),
    };
    parser.push(
        Diagnostic::warning(
            "sched-flag-scheduler",
            format!(
                "'{}' only applies to the {owner} scheduler and is ignored here (keepalived \
                 checks the scheduler set above it, currently '{}')",
                flag.keyword(),
                current.unwrap_or("none")
            ),
        )
        .on(&node.keyword)
        .with_help(help),
    );
    false
}

/// keepalived 2.2.7 applies `sorry_server_inhibit` and
/// `sorry_server_lvs_method` only after `sorry_server` ("Ignoring
/// sorry_server inhibit used before or without sorry_server"); lvstop
/// follows it so both read the file the same way.
fn sorry_server_first(parser: &mut Parser<'_>, node: &Node, vs: &VirtualServer) -> bool {
    if vs.sorry_server.is_some() {
        return true;
    }
    parser.push(
        Diagnostic::warning(
            "sorry-server-order",
            format!(
                "'{}' before (or without) 'sorry_server' is ignored by keepalived",
                node.name()
            ),
        )
        .on(&node.keyword)
        .with_help("move it below the 'sorry_server' line"),
    );
    false
}

fn protocol(parser: &mut Parser<'_>, node: &Node) -> Option<Spanned<Protocol>> {
    parser.choice(node, &["TCP", "UDP", "SCTP"]).map(|i| {
        let p = match i.value {
            0 => Protocol::Tcp,
            1 => Protocol::Udp,
            _ => Protocol::Sctp,
        };
        Spanned::new(p, i.at)
    })
}

/// The timing keywords shared by virtual servers, real servers and
/// checkers. Returns whether `keyword` was one of them.
fn timing_keyword(
    parser: &mut Parser<'_>,
    keyword: &str,
    node: &Node,
    timing: &mut CheckTiming,
) -> bool {
    match keyword {
        "alpha" => timing.alpha = Some(parser.boolean(node)),
        "connect_timeout" => {
            timing.connect_timeout = parser.timer(node, TIMER_MIN_POSITIVE, CONNECT_TIMEOUT_MAX)
        }
        "retry" => timing.retry = parser.number(node, 1u32, u32::MAX),
        "delay_before_retry" => timing.delay_before_retry = parser.timer(node, 0.0, TIMER_MAX),
        "warmup" => timing.warmup = parser.timer(node, 0.0, TIMER_MAX),
        "delay_loop" => timing.delay_loop = parser.timer(node, TIMER_MIN_POSITIVE, TIMER_MAX),
        _ => return false,
    }
    true
}

fn real_server(parser: &mut Parser<'_>, node: &Node, vs: &mut VirtualServer) {
    let Some(endpoint) = values::endpoint(parser, node, 0) else {
        return;
    };
    let mut rs = RealServer {
        endpoint,
        ..RealServer::default()
    };
    // Checker blocks are the upper-case keywords.
    let checkers = node
        .children()
        .iter()
        .filter(|c| c.name().starts_with(|ch: char| ch.is_ascii_uppercase()))
        .count();
    rs.checkers.reserve_exact(checkers);
    // keepalived accepts `real_server IP PORT` without a block.
    for child in node.children() {
        let Some(keyword) = parser.keyword(child, REAL_SERVER, "real_server") else {
            continue;
        };
        if keyword == "alpha" {
            rs.timing.alpha = Some(parser.server_flag(child));
            continue;
        }
        if timing_keyword(parser, keyword, child, &mut rs.timing) {
            continue;
        }
        match keyword {
            // keepalived accepts up to 2^31-1, but ipvsadm(8) documents
            // IPVS weights as 0-65535 and lvstop's schedulers assume it.
            "weight" => rs.weight = parser.number(child, 0u32, 65_535),
            "lvs_method" => rs.method = values::forward_method(parser, child),
            "notify_up" => rs.notify_up = parser.script(child),
            "notify_down" => rs.notify_down = parser.script(child),
            "uthreshold" => rs.uthreshold = parser.number(child, 0u32, u32::MAX),
            "lthreshold" => rs.lthreshold = parser.number(child, 0u32, u32::MAX),
            "smtp_alert" => rs.smtp_alert = Some(parser.boolean(child)),
            "virtualhost" => rs.virtualhost = parser.string(child),
            "inhibit_on_failure" => rs.inhibit_on_failure = Some(parser.server_flag(child)),
            "snmp_name" => parser.keep(child, &mut rs.other),
            kind => {
                if let Some(checker) = checker::checker(parser, kind, child) {
                    rs.checkers.push(checker);
                }
            }
        }
    }
    vs.real_servers.push(rs);
}

/// The top-level `SSL { password ca certificate key }` block.
pub fn ssl(parser: &mut Parser<'_>, node: &Node, lvs: &mut LvsConfig) {
    parser.extra_args(node, 0);
    let mut ssl = SslConfig {
        at: Spanned::new((), node.keyword.at),
        ..SslConfig::default()
    };
    if parser.need_block(node) {
        for child in node.children() {
            let Some(keyword) = parser.keyword(child, SSL, "SSL") else {
                continue;
            };
            let value = parser.string(child);
            match keyword {
                "password" => ssl.password = value,
                "ca" => ssl.ca = value,
                "certificate" => ssl.certificate = value,
                _ => ssl.key = value,
            }
        }
    }
    lvs.ssl = Some(ssl);
}

#[cfg(test)]
mod tests;
