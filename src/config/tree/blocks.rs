//! Which keywords open a block where they stand, as keepalived 2.2.7 reads
//! braces: the lists it reads line by line, the blocks of keywords, and the
//! blocks it passes over by counting braces.

use super::Node;

/// Blocks keepalived 2.2.7 reads as a list of lines rather than as
/// keywords (`alloc_value_block` in its parser), by the block that holds
/// them (`None` at the top level). keepalived does not look for the `{`:
/// after the keyword's line it takes every line, up to the first one
/// starting with `}`, as an entry, each brace an entry of its own.
const LINE_LIST_BLOCKS: &[(Option<&str>, &[&str])] = &[
    (Some("global_defs"), &["notification_email"]),
    (
        Some("vrrp_instance"),
        &[
            "virtual_ipaddress",
            "virtual_ipaddress_excluded",
            "virtual_routes",
            "virtual_rules",
            "track_interface",
            "track_script",
            "track_file",
            "track_process",
            "track_bfd",
            "unicast_peer",
        ],
    ),
    (
        Some("vrrp_sync_group"),
        &[
            "group",
            "track_interface",
            "track_script",
            "track_file",
            "track_process",
            "track_bfd",
        ],
    ),
    (
        None,
        &[
            "static_ipaddress",
            "static_routes",
            "static_rules",
            "virtual_server_group",
        ],
    ),
];

/// Blocks keepalived 2.2.7 reads as keywords of their own, by the block
/// that holds them (`None` at the top level). Only these and the line
/// lists open a block: keepalived ignores any other `{`.
const KEYWORD_BLOCKS: &[(Option<&str>, &[&str])] = &[
    (
        None,
        &[
            "global_defs",
            "vrrp_script",
            "track_file",
            "vrrp_track_file",
            "track_process",
            "vrrp_track_process",
            "vrrp_sync_group",
            "vrrp_sync_group_name",
            "vrrp_instance",
            "virtual_server",
            "SSL",
            "static_track_group",
            "garp_group",
            "linkbeat_interfaces",
            "bfd_instance",
        ],
    ),
    (Some("vrrp_instance"), &["authentication"]),
    (Some("virtual_server"), &["real_server"]),
    (
        Some("real_server"),
        &[
            "HTTP_GET",
            "SSL_GET",
            "TCP_CHECK",
            "SMTP_CHECK",
            "DNS_CHECK",
            "MISC_CHECK",
            "FILE_CHECK",
            "PING_CHECK",
            "UDP_CHECK",
            "BFD_CHECK",
        ],
    ),
    (Some("HTTP_GET"), &["url"]),
    (Some("SSL_GET"), &["url"]),
    (Some("SMTP_CHECK"), &["host"]),
];

fn listed(table: &[(Option<&str>, &[&str])], parent: Option<&str>, keyword: &str) -> bool {
    table
        .iter()
        .any(|(within, keywords)| *within == parent && keywords.contains(&keyword))
}

/// Whether keepalived passes over this block by counting braces instead
/// of reading it: a virtual or real server whose address or port it cannot
/// read ("Invalid … ip address/port … - skipping", measured on 2.2.7), so a
/// `{` inside it opens a level whatever keyword stands before it.
pub(super) fn skipped_by_count(parent: Option<&str>, node: &Node) -> bool {
    let server = match (parent, node.name()) {
        (None, "virtual_server") => {
            let kind = node.args.first().map(|t| t.text.as_str());
            if matches!(kind, Some("fwmark" | "group")) {
                return false;
            }
            true
        }
        (Some("virtual_server"), "real_server") => true,
        _ => false,
    };
    if !server {
        return false;
    }
    let address_reads = node.args.first().is_some_and(|address| {
        let text = address.text.as_str();
        let bare = text.split_once('/').map_or(text, |(ip, _)| ip);
        bare.parse::<std::net::IpAddr>().is_ok()
    });
    let port_reads = node
        .args
        .get(1)
        .is_none_or(|port| port.text.parse::<u16>().is_ok());
    !(address_reads && port_reads)
}

/// Whether keepalived reads `keyword`'s block, inside `parent`, as a list
/// of lines.
pub fn reads_lines(parent: Option<&str>, keyword: &str) -> bool {
    listed(LINE_LIST_BLOCKS, parent, keyword)
}

/// Whether a `{` after `keyword`, inside `parent`, opens a block for
/// keepalived (otherwise it ignores that `{`).
pub fn opens_block(parent: Option<&str>, keyword: &str) -> bool {
    reads_lines(parent, keyword) || listed(KEYWORD_BLOCKS, parent, keyword)
}

/// Every keyword that opens a block, with the block that holds it (for
/// the test tying this list to the parser's tables).
pub fn block_keywords() -> impl Iterator<Item = (Option<&'static str>, &'static str)> {
    LINE_LIST_BLOCKS
        .iter()
        .chain(KEYWORD_BLOCKS)
        .flat_map(|(within, keywords)| keywords.iter().map(move |k| (*within, *k)))
}
