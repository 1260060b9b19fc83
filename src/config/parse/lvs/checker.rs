//! Checker blocks inside `real_server`: one keyword table per kind (the
//! shared connection and timing keywords written once, through
//! [`checker_table!`]), and the readers for each kind's own options.
//!
//! Never decides anything about the real server around the checker.

use super::timing_keyword;
use crate::config::diagnostic::Diagnostic;
use crate::config::model::lvs::checker::DNS_TYPES;
use crate::config::model::lvs::{
    BfdCheck, Checker, CheckerKind, Connection, DnsCheck, FileCheck, HttpCheck, HttpProtocol,
    MiscCheck, SmtpCheck, StatusRange, UdpCheck, Url,
};
use crate::config::model::Script;
use crate::config::parse::context::split_command;
use crate::config::parse::instead;
use crate::config::parse::keywords::{acted, deprecated, obsolete, unacted, Keyword, KeywordTable};
use crate::config::parse::Parser;
use crate::config::source::Spanned;
use crate::config::tree::Node;

/// A checker keyword table: the connection and timing keywords every
/// connecting checker accepts, then the kind's own.
macro_rules! checker_table {
    ($name:ident, [$($extra:expr),* $(,)?]) => {
        const $name: &[Keyword] = &[
            acted("connect_ip"),
            acted("connect_port"),
            acted("bindto"),
            acted("bind_if"),
            acted("bind_port"),
            unacted("fwmark", instead::CHECKER_FWMARK),
            acted("alpha"),
            acted("connect_timeout"),
            acted("retry"),
            acted("delay_before_retry"),
            acted("warmup"),
            acted("delay_loop"),
            acted("log_all_failures"),
            $($extra),*
        ];
    };
}

checker_table!(TCP, []);
checker_table!(PING, []);
checker_table!(
    HTTP,
    [
        acted("http_protocol"),
        acted("virtualhost"),
        unacted("fast_recovery", instead::FAST_RECOVERY),
        acted("enable_sni"),
        acted("url"),
        deprecated("nb_get_retry", "retry"),
    ]
);
checker_table!(SMTP, [acted("helo_name"), acted("host")]);
checker_table!(DNS, [acted("type"), acted("name")]);
checker_table!(
    UDP,
    [
        acted("payload"),
        acted("require_reply"),
        acted("min_reply_length"),
        acted("max_reply_length"),
    ]
);

/// keepalived 2.2.7: MISC_CHECK has the timing keywords only (connect_*,
/// bindto and fwmark are "Unknown keyword" there).
const MISC: &[Keyword] = &[
    acted("alpha"),
    acted("retry"),
    acted("delay_before_retry"),
    acted("warmup"),
    acted("delay_loop"),
    acted("log_all_failures"),
    acted("misc_path"),
    acted("misc_timeout"),
    acted("misc_dynamic"),
    acted("user"),
];
/// keepalived 2.2.7: FILE_CHECK and BFD_CHECK take none of the shared
/// options; FILE_CHECK's `dynamic`, although in keepalived.conf(5), is an
/// "Unknown keyword" to the 2.2.7 binary.
const FILE: &[Keyword] = &[
    acted("track_file"),
    obsolete(
        "dynamic",
        "keepalived 2.2.7 does not accept it in FILE_CHECK ('Unknown keyword'), \
         although keepalived.conf(5) lists it",
    ),
    acted("weight"),
];
const BFD: &[Keyword] = &[acted("name")];

const SMTP_HOST: &[Keyword] = &[
    acted("connect_ip"),
    acted("connect_port"),
    acted("bindto"),
    acted("bind_if"),
    acted("bind_port"),
    unacted("fwmark", instead::CHECKER_FWMARK),
];

const URL: &[Keyword] = &[
    acted("path"),
    acted("digest"),
    acted("status_code"),
    acted("virtualhost"),
    acted("regex"),
    acted("regex_no_match"),
    acted("regex_options"),
    unacted("regex_stack", instead::REGEX_STACK),
    acted("regex_min_offset"),
    acted("regex_max_offset"),
];

/// The checker tables (HTTP_GET's serves SSL_GET too).
pub(super) const TABLES: &[KeywordTable] = &[
    KeywordTable {
        block: "TCP_CHECK",
        keywords: TCP,
    },
    KeywordTable {
        block: "PING_CHECK",
        keywords: PING,
    },
    KeywordTable {
        block: "HTTP_GET",
        keywords: HTTP,
    },
    KeywordTable {
        block: "SMTP_CHECK",
        keywords: SMTP,
    },
    KeywordTable {
        block: "DNS_CHECK",
        keywords: DNS,
    },
    KeywordTable {
        block: "UDP_CHECK",
        keywords: UDP,
    },
    KeywordTable {
        block: "MISC_CHECK",
        keywords: MISC,
    },
    KeywordTable {
        block: "FILE_CHECK",
        keywords: FILE,
    },
    KeywordTable {
        block: "BFD_CHECK",
        keywords: BFD,
    },
    KeywordTable {
        block: "SMTP_CHECK host",
        keywords: SMTP_HOST,
    },
    KeywordTable {
        block: "url",
        keywords: URL,
    },
];

/// Parses the checker block `node` whose canonical keyword is `kind`.
pub(super) fn checker(parser: &mut Parser<'_>, kind: &str, node: &Node) -> Option<Checker> {
    let (model_kind, table): (CheckerKind, &[Keyword]) = match kind {
        "TCP_CHECK" => (CheckerKind::Tcp, TCP),
        "HTTP_GET" => (CheckerKind::Http(HttpCheck::default()), HTTP),
        "SSL_GET" => (CheckerKind::Ssl(HttpCheck::default()), HTTP),
        "SMTP_CHECK" => (CheckerKind::Smtp(SmtpCheck::default()), SMTP),
        "DNS_CHECK" => (CheckerKind::Dns(DnsCheck::default()), DNS),
        "MISC_CHECK" => (CheckerKind::Misc(MiscCheck::default()), MISC),
        "BFD_CHECK" => (CheckerKind::Bfd(BfdCheck::default()), BFD),
        "UDP_CHECK" => (CheckerKind::Udp(UdpCheck::default()), UDP),
        "PING_CHECK" => (CheckerKind::Ping, PING),
        "FILE_CHECK" => (CheckerKind::File(FileCheck::default()), FILE),
        _ => return None,
    };
    parser.extra_args(node, 0);
    let mut checker = Checker::new(Spanned::new(model_kind, node.keyword.at));
    if !parser.need_block(node) {
        return Some(checker);
    }
    for child in node.children() {
        if child.name() == "nb_get_retry" && !std::ptr::eq(table, HTTP) {
            nb_get_retry_outside_http(parser, kind, child, &mut checker);
            continue;
        }
        let Some(keyword) = parser.keyword(child, table, kind) else {
            continue;
        };
        if keyword == "retry" {
            // A checker's own `retry` may be 0: down on the first failure
            // (keepalived's checker parser takes 0 and up; at the virtual
            // and real server levels it starts at 1).
            checker.timing.retry = parser.number(child, 0u32, u32::MAX);
            continue;
        }
        if timing_keyword(parser, keyword, child, &mut checker.timing)
            || connection_keyword(parser, keyword, child, &mut checker.connection)
        {
            continue;
        }
        if keyword == "log_all_failures" {
            checker.log_all_failures = Some(parser.boolean(child));
            continue;
        }
        match &mut checker.kind.value {
            CheckerKind::Http(http) | CheckerKind::Ssl(http) => {
                http_keyword(parser, keyword, child, http)
            }
            CheckerKind::Smtp(smtp) => match keyword {
                "helo_name" => smtp.helo_name = parser.string(child),
                _ => smtp_host(parser, child, smtp),
            },
            CheckerKind::Dns(dns) => match keyword {
                "type" => dns.query_type = dns_type(parser, child),
                _ => dns.name = parser.string(child),
            },
            CheckerKind::Misc(misc) => misc_keyword(parser, keyword, child, misc),
            CheckerKind::Bfd(bfd) => bfd.name = parser.string(child),
            CheckerKind::Udp(udp) => udp_keyword(parser, keyword, child, udp),
            CheckerKind::File(file) => file_keyword(parser, keyword, child, file),
            CheckerKind::Tcp | CheckerKind::Ping => {}
        }
    }
    if let CheckerKind::Misc(misc) = &mut checker.kind.value {
        // The script runs as the checker's `user` (wherever the keyword
        // stands in the block): the script says so, so that script
        // security and `lvstop check` judge the user it really runs as.
        if let Some(path) = &mut misc.path {
            path.user = misc.user.as_ref().map(|u| u.value.clone());
            path.group = misc.group.as_ref().map(|g| g.value.clone());
        }
    }
    Some(checker)
}

/// `nb_get_retry` is an HTTP_GET/SSL_GET keyword only. keepalived 2.2.7
/// says "Unknown keyword 'nb_get_retry'" elsewhere (the reference deployment
/// has it in TCP_CHECK) and the retry count does not change; compat mode reads
/// it as `retry`, which is what the operator meant.
fn nb_get_retry_outside_http(
    parser: &mut Parser<'_>,
    kind: &str,
    node: &Node,
    checker: &mut Checker,
) {
    let value = node.args.first().map_or("N", |t| t.text.as_str());
    let at = node.keyword.at;
    let width = node.keyword.width as usize;
    if parser.options.compat {
        parser.push(
            Diagnostic::warning(
                "nb-get-retry-mapped",
                format!(
                    "'nb_get_retry' is not a {kind} keyword (keepalived ignores it here); \
                     compat mode reads it as 'retry {value}'"
                ),
            )
            .spanning(at, width)
            .with_help(format!("write 'retry {value}' so keepalived agrees")),
        );
        checker.timing.retry = parser.number(node, 1u32, u32::MAX);
    } else {
        parser.push(
            Diagnostic::warning(
                "nb-get-retry-ignored",
                format!(
                    "'nb_get_retry' is not a {kind} keyword: keepalived ignores it \
                     ('Unknown keyword'), so retry stays 1"
                ),
            )
            .spanning(at, width)
            .with_help(format!("write 'retry {value}' to retry failed checks")),
        );
    }
}

fn connection_keyword(
    parser: &mut Parser<'_>,
    keyword: &str,
    node: &Node,
    connection: &mut Connection,
) -> bool {
    match keyword {
        "connect_ip" => connection.connect_ip = parser.ip(node),
        "connect_port" => connection.connect_port = parser.number(node, 1u16, 65535),
        "bindto" => connection.bindto = parser.ip(node),
        "bind_if" => connection.bind_if = parser.string(node),
        "bind_port" => connection.bind_port = parser.number(node, 1u16, 65535),
        "fwmark" => connection.fwmark = parser.number(node, 0u32, u32::MAX),
        _ => return false,
    }
    true
}

fn http_keyword(parser: &mut Parser<'_>, keyword: &str, node: &Node, http: &mut HttpCheck) {
    match keyword {
        "http_protocol" => {
            http.http_protocol = parser.choice(node, &["1.0", "1.0C", "1.1"]).map(|i| {
                let p = match i.value {
                    0 => HttpProtocol::V1_0,
                    1 => HttpProtocol::V1_0Close,
                    _ => HttpProtocol::V1_1,
                };
                Spanned::new(p, i.at)
            })
        }
        "virtualhost" => http.virtualhost = parser.string(node),
        "fast_recovery" => http.fast_recovery = Some(parser.boolean(node)),
        "enable_sni" => http.enable_sni = Some(parser.boolean(node)),
        _ => {
            if parser.need_block(node) {
                http.urls.push(url(parser, node));
            }
        }
    }
}

fn url(parser: &mut Parser<'_>, node: &Node) -> Url {
    parser.extra_args(node, 0);
    let mut url = Url {
        at: Spanned::new((), node.keyword.at),
        ..Url::default()
    };
    for child in node.children() {
        let Some(keyword) = parser.keyword(child, URL, "url") else {
            continue;
        };
        match keyword {
            "path" => url.path = parser.rest(child),
            "digest" => {
                let read = digest(parser, child);
                // keepalived 2.2.7: "Digest '…' is a duplicate".
                if let (Some(new), Some(old)) = (&read, &url.digest) {
                    if new.value.eq_ignore_ascii_case(&old.value) {
                        let message = format!("digest '{}' is a duplicate in this url", new.value);
                        parser.push(
                            Diagnostic::error("duplicate-digest", message).on(&child.keyword),
                        );
                    }
                }
                url.digest = read;
            }
            "status_code" => status_codes(parser, child, &mut url),
            "virtualhost" => url.virtualhost = parser.string(child),
            "regex" => url.regex = parser.rest(child),
            "regex_no_match" => url.regex_no_match = Some(parser.boolean(child)),
            "regex_options" => {
                url.regex_options = child
                    .args
                    .iter()
                    .map(|t| Spanned::new(t.text.to_string(), t.at))
                    .collect()
            }
            "regex_stack" => {
                let Some(start) = parser.arg(child, 0, "a start size in bytes") else {
                    continue;
                };
                let Some(first) = parser.number_token(child, start, 0u32, u32::MAX) else {
                    continue;
                };
                let max = match child.args.get(1) {
                    Some(t) => parser
                        .number_token(child, t, 0u32, u32::MAX)
                        .map(|m| m.value),
                    None => None,
                };
                parser.extra_args(child, 2);
                url.regex_stack = Some(Spanned::new((first.value, max), first.at));
            }
            "regex_min_offset" => url.regex_min_offset = parser.number(child, 0u32, u32::MAX),
            _ => url.regex_max_offset = parser.number(child, 0u32, u32::MAX),
        }
    }
    url
}

fn digest(parser: &mut Parser<'_>, node: &Node) -> Option<crate::config::model::Text> {
    let text = parser.string(node)?;
    if text.value.len() == 32 && text.value.chars().all(|c| c.is_ascii_hexdigit()) {
        return Some(text);
    }
    let width = text.value.chars().count();
    parser.push(
        Diagnostic::error(
            "value-digest",
            format!("digest '{}' is not an MD5 digest", text.value),
        )
        .spanning(text.at, width)
        .with_help("write 32 hexadecimal digits, as printed by genhash"),
    );
    None
}

/// `status_code 200 300-399 …`: keepalived accepts codes 100-599.
fn status_codes(parser: &mut Parser<'_>, node: &Node, url: &mut Url) {
    parser.no_block(node);
    if parser.arg(node, 0, "status codes or ranges").is_none() {
        return;
    }
    for token in &node.args {
        let (first, last) = token
            .text
            .split_once('-')
            .unwrap_or((token.text.as_str(), token.text.as_str()));
        match (first.parse::<u16>(), last.parse::<u16>()) {
            (Ok(first), Ok(last))
                if (100..=599).contains(&first) && (first..=599).contains(&last) =>
            {
                url.status_codes
                    .push(Spanned::new(StatusRange { first, last }, token.at));
            }
            _ => parser.push(
                Diagnostic::error(
                    "value-status-code",
                    format!(
                        "status_code '{}' is not a code or range within 100-599",
                        token.text
                    ),
                )
                .on(token)
                .with_help("write codes like '200' or ranges like '200-299'"),
            ),
        }
    }
}

fn smtp_host(parser: &mut Parser<'_>, node: &Node, smtp: &mut SmtpCheck) {
    parser.extra_args(node, 0);
    let mut connection = Connection::default();
    if parser.need_block(node) {
        for child in node.children() {
            if let Some(keyword) = parser.keyword(child, SMTP_HOST, "host") {
                connection_keyword(parser, keyword, child, &mut connection);
            }
        }
    }
    smtp.hosts.push(Spanned::new(connection, node.keyword.at));
}

fn dns_type(parser: &mut Parser<'_>, node: &Node) -> Option<crate::config::model::Text> {
    let index = parser.choice(node, DNS_TYPES)?;
    DNS_TYPES
        .get(index.value)
        .map(|t| Spanned::new((*t).to_string(), index.at))
}

fn misc_keyword(parser: &mut Parser<'_>, keyword: &str, node: &Node, misc: &mut MiscCheck) {
    match keyword {
        "misc_path" => {
            parser.no_block(node);
            let Some(first) = parser.arg(node, 0, "a program to run") else {
                return;
            };
            let words: Vec<&str> = node.args.iter().map(|t| t.text.as_str()).collect();
            let argv = split_command(&words.join(" "));
            misc.path = Some(Script {
                argv,
                user: None,
                group: None,
                at: first.at,
            });
        }
        "misc_timeout" => misc.timeout = parser.number(node, 0u32, u32::MAX),
        "misc_dynamic" => misc.dynamic = Some(parser.boolean(node)),
        _ => {
            parser.no_block(node);
            let Some(user) = parser.arg(node, 0, "a user name") else {
                return;
            };
            misc.user = Some(Spanned::new(user.text.to_string(), user.at));
            misc.group = node
                .args
                .get(1)
                .map(|g| Spanned::new(g.text.to_string(), g.at));
            parser.extra_args(node, 2);
        }
    }
}

fn udp_keyword(parser: &mut Parser<'_>, keyword: &str, node: &Node, udp: &mut UdpCheck) {
    match keyword {
        "payload" => udp.payload = hex_string(parser, node, false),
        "require_reply" => {
            udp.require_reply = if node.args.is_empty() {
                Some(Spanned::new(None, node.keyword.at))
            } else {
                hex_string(parser, node, true).map(|h| Spanned::new(Some(h.value), h.at))
            }
        }
        "min_reply_length" => udp.min_reply_length = parser.number(node, 0u32, 65535),
        _ => udp.max_reply_length = parser.number(node, 0u32, 65535),
    }
}

/// keepalived's free-form hex string: the rest of the line, hex digits in
/// space-separated groups (`x` wildcards allowed in `require_reply`).
fn hex_string(
    parser: &mut Parser<'_>,
    node: &Node,
    wildcards: bool,
) -> Option<crate::config::model::Text> {
    parser.no_block(node);
    let text = parser.rest(node)?;
    let valid = text
        .value
        .chars()
        .all(|c| c.is_ascii_hexdigit() || c == ' ' || (wildcards && (c == 'x' || c == 'X')));
    if valid {
        return Some(text);
    }
    let width = text.value.chars().count();
    parser.push(
        Diagnostic::error(
            "value-hex",
            format!("{} '{}' is not a hex string", node.name(), text.value),
        )
        .spanning(text.at, width)
        .with_help(
            "write hexadecimal digits, e.g. 'Ab12f 3 456'; put other keywords on their own lines",
        ),
    );
    None
}

fn file_keyword(parser: &mut Parser<'_>, keyword: &str, node: &Node, file: &mut FileCheck) {
    match keyword {
        "track_file" => file.track_file = parser.string(node),
        _ => {
            parser.no_block(node);
            let Some(value) = parser.arg(node, 0, "a weight") else {
                return;
            };
            file.weight = parser.number_token(node, value, -2_147_483_647i32, 2_147_483_647);
            file.reverse = false;
            if let Some(word) = node.args.get(1) {
                if word.text == "reverse" {
                    file.reverse = true;
                } else {
                    parser.error(
                        word,
                        "value-choice",
                        format!("expected 'reverse' after the weight, found '{}'", word.text),
                    );
                }
            }
            parser.extra_args(node, 2);
        }
    }
}
