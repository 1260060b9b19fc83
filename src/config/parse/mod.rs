//! Parsing: the syntax tree into the typed model.
//!
//! One function per block, each resolving its keywords through a table in
//! [`keywords`] (aliases, deprecated spellings, keywords kept but not acted
//! on, "did you mean" for unknown ones) and reading values with the helpers of
//! [`context::Parser`]. Value ranges are checked here, where the token is at
//! hand; rules that span several blocks live in `validate`.

#[cfg(test)]
mod consumers;
pub mod context;
pub mod global;
pub mod instead;
pub mod keywords;
pub mod lvs;
pub mod vrrp;

pub use context::{ParseOptions, Parser};

use crate::config::diagnostic::Diagnostics;
use crate::config::model::Config;
use crate::config::tree::Node;
use keywords::{acted, deprecated, refused, unacted, Keyword, KeywordTable};

/// Top-level keywords.
pub const TOP_LEVEL: &[Keyword] = &[
    acted("global_defs"),
    acted("vrrp_script"),
    acted("track_file"),
    deprecated("vrrp_track_file", "track_file"),
    acted("vrrp_sync_group"),
    deprecated("vrrp_sync_group_name", "vrrp_sync_group"),
    acted("vrrp_instance"),
    acted("static_ipaddress"),
    acted("static_routes"),
    acted("static_rules"),
    acted("virtual_server_group"),
    acted("virtual_server"),
    acted("SSL"),
    acted("track_process"),
    deprecated("vrrp_track_process", "track_process"),
    unacted("static_track_group", instead::STATIC_TRACK),
    unacted("linkbeat_interfaces", instead::LINKBEAT),
    unacted("garp_group", instead::GARP_GROUP),
    refused("bfd_instance", instead::BFD),
    unacted("net_namespace", instead::NAMESPACE),
    unacted("net_namespace_ipvs", instead::NAMESPACE),
    unacted("namespace_with_ipsets", instead::NAMESPACE),
    unacted("instance", instead::PID_FILES),
    unacted("use_pid_dir", instead::PID_FILES),
    unacted("linkbeat_use_polling", instead::LINKBEAT),
    unacted("child_wait_time", instead::DEFAULTS),
];

/// Every keyword table the parser resolves words against, block by block.
pub fn keyword_tables() -> Vec<KeywordTable> {
    let mut tables = vec![KeywordTable {
        block: "top level",
        keywords: TOP_LEVEL,
    }];
    tables.extend_from_slice(global::TABLES);
    tables.extend_from_slice(vrrp::TABLES);
    tables.extend(lvs::tables());
    tables
}

/// Parses a whole configuration tree.
pub fn parse(nodes: &[Node], options: ParseOptions, diagnostics: &mut Diagnostics) -> Config {
    let mut parser = Parser::new(diagnostics, options);
    let mut config = Config::default();
    for node in nodes {
        let Some(keyword) = parser.keyword(node, TOP_LEVEL, "the top level") else {
            continue;
        };
        match keyword {
            "global_defs" => global::global_defs(&mut parser, node, &mut config.global),
            "vrrp_script" => vrrp::vrrp_script(&mut parser, node, &mut config.vrrp),
            "track_file" => vrrp::track_file(&mut parser, node, &mut config.vrrp),
            "track_process" => vrrp::track_process(&mut parser, node, &mut config.vrrp),
            "vrrp_sync_group" => vrrp::sync_group(&mut parser, node, &mut config.vrrp),
            "vrrp_instance" => vrrp::instance(&mut parser, node, &mut config.vrrp),
            "static_ipaddress" => vrrp::static_addresses(&mut parser, node, &mut config.vrrp),
            "static_routes" => vrrp::static_routes(&mut parser, node, &mut config.vrrp),
            "static_rules" => vrrp::static_rules(&mut parser, node, &mut config.vrrp),
            "virtual_server_group" => lvs::virtual_server_group(&mut parser, node, &mut config.lvs),
            "virtual_server" => lvs::virtual_server(&mut parser, node, &mut config.lvs),
            "SSL" => lvs::ssl(&mut parser, node, &mut config.lvs),
            _ => parser.keep(node, &mut config.other),
        }
    }
    config
}
