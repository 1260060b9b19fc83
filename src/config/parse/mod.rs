//! Parsing: the syntax tree into the typed model.
//!
//! One function per block, each resolving its keywords through a table in
//! [`keywords`] (aliases, deprecated spellings, keywords kept but not acted
//! on, "did you mean" for unknown ones) and reading values with the helpers of
//! [`context::Parser`]. Value ranges are checked here, where the token is at
//! hand; rules that span several blocks live in `validate`.

pub mod context;
pub mod global;
pub mod keywords;
pub mod lvs;
pub mod vrrp;

pub use context::{ParseOptions, Parser};

use crate::config::diagnostic::Diagnostics;
use crate::config::model::Config;
use crate::config::tree::Node;
use keywords::{acted, deprecated, unacted, Keyword};

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
    unacted("track_process"),
    deprecated("vrrp_track_process", "track_process"),
    unacted("static_track_group"),
    unacted("linkbeat_interfaces"),
    unacted("garp_group"),
    unacted("bfd_instance"),
    unacted("net_namespace"),
    unacted("net_namespace_ipvs"),
    unacted("namespace_with_ipsets"),
    unacted("instance"),
    unacted("use_pid_dir"),
    unacted("linkbeat_use_polling"),
    unacted("child_wait_time"),
];

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
