//! Parses the VRRP blocks: `vrrp_script`, `track_file`, `track_process` (in
//! [`process`]), `vrrp_sync_group`,
//! `vrrp_instance` (in [`instance`]) and the static address/route/rule
//! blocks (lines in [`address`]). Checks value ranges; never validates
//! across blocks.

mod address;
mod instance;
mod process;
#[cfg(test)]
mod tests;

pub use address::{
    ROUTE_OPTIONS_ACTED, ROUTE_OPTIONS_VALUED, RULE_OPTIONS_ACTED, RULE_OPTIONS_VALUED,
};
pub use instance::instance;
pub use process::track_process;

use super::global::{flag, set};
use super::instead;
use super::keywords::{acted, refused, unacted, Keyword, KeywordTable};
use super::Parser;
use crate::config::model::vrrp::{
    InitFile, Notify, SyncGroup, TrackFile, Tracked, VrrpConfig, VrrpScript,
};
use crate::config::source::Spanned;
use crate::config::tree::Node;

/// keepalived.conf(5) "VRRP script(s)".
const SCRIPT_KEYWORDS: &[Keyword] = &[
    acted("script"),
    acted("interval"),
    acted("timeout"),
    acted("weight"),
    acted("rise"),
    acted("fall"),
    acted("user"),
    acted("init_fail"),
];

/// keepalived.conf(5) "Track files".
const TRACK_FILE_KEYWORDS: &[Keyword] = &[acted("file"), acted("weight"), acted("init_file")];

/// keepalived.conf(5) "VRRP synchronization group(s)".
const SYNC_GROUP_KEYWORDS: &[Keyword] = &[
    acted("group"),
    acted("track_interface"),
    acted("track_script"),
    acted("track_file"),
    acted("track_process"),
    refused("track_bfd", instead::BFD),
    acted("notify_master"),
    acted("notify_backup"),
    acted("notify_fault"),
    acted("notify_stop"),
    unacted("notify_deleted", instead::NOTIFY_EXTRA),
    acted("notify"),
    unacted("notify_priority_changes", instead::NOTIFY_EXTRA),
    acted("smtp_alert"),
    unacted("global_tracking", instead::SYNC_GROUP_TRACKING),
    unacted("sync_group_tracking_weight", instead::SYNC_GROUP_TRACKING),
];

pub(super) const TABLES: &[KeywordTable] = &[
    KeywordTable {
        block: "vrrp_script",
        keywords: SCRIPT_KEYWORDS,
    },
    KeywordTable {
        block: "track_file",
        keywords: TRACK_FILE_KEYWORDS,
    },
    KeywordTable {
        block: "track_process",
        keywords: process::TRACK_PROCESS_KEYWORDS,
    },
    KeywordTable {
        block: "vrrp_sync_group",
        keywords: SYNC_GROUP_KEYWORDS,
    },
    KeywordTable {
        block: "vrrp_instance",
        keywords: instance::INSTANCE_KEYWORDS,
    },
    KeywordTable {
        block: "authentication",
        keywords: instance::AUTH_KEYWORDS,
    },
    KeywordTable {
        block: "virtual_ipaddress line",
        keywords: address::ADDRESS_OPTIONS,
    },
];

/// The name argument of a named block (`vrrp_instance VI_1 {`).
fn block_name(parser: &mut Parser<'_>, node: &Node) -> Option<Spanned<String>> {
    let name = parser.arg(node, 0, "a name")?;
    parser.extra_args(node, 1);
    if !parser.need_block(node) {
        return None;
    }
    Some(Spanned::new(name.text.to_string(), name.at))
}

pub fn vrrp_script(parser: &mut Parser<'_>, node: &Node, vrrp: &mut VrrpConfig) {
    let Some(name) = block_name(parser, node) else {
        return;
    };
    let block = format!("vrrp_script '{}'", name.value);
    let mut script = VrrpScript {
        name,
        ..VrrpScript::default()
    };
    for child in node.children() {
        let Some(keyword) = parser.keyword(child, SCRIPT_KEYWORDS, &block) else {
            continue;
        };
        match keyword {
            "script" => set(&mut script.script, parser.script_command(child)),
            "interval" => set(&mut script.interval, parser.timer(child, 0.000_001, 4294.0)),
            "timeout" => set(&mut script.timeout, parser.timer(child, 0.000_001, 4294.0)),
            "weight" => {
                let (weight, reverse) = weight_reverse(parser, child, -253, 253);
                set(&mut script.weight, weight);
                script.reverse = reverse == Some(true);
            }
            "rise" => set(&mut script.rise, parser.number(child, 1u32, u32::MAX)),
            "fall" => set(&mut script.fall, parser.number(child, 1u32, u32::MAX)),
            "user" => {
                if let Some(user) = parser.arg(child, 0, "a user name") {
                    script.user = Some(Spanned::new(user.text.to_string(), user.at));
                    script.group = child.args.get(1).map(|g| g.text.to_string());
                    parser.extra_args(child, 2);
                }
            }
            "init_fail" => script.init_fail = flag(parser, child),
            _ => parser.keep(child, &mut script.other),
        }
    }
    vrrp.scripts.push(script);
}

pub fn track_file(parser: &mut Parser<'_>, node: &Node, vrrp: &mut VrrpConfig) {
    let Some(name) = block_name(parser, node) else {
        return;
    };
    let block = format!("track_file '{}'", name.value);
    let mut file = TrackFile {
        name,
        ..TrackFile::default()
    };
    for child in node.children() {
        let Some(keyword) = parser.keyword(child, TRACK_FILE_KEYWORDS, &block) else {
            continue;
        };
        match keyword {
            "file" => set(&mut file.file, parser.string(child)),
            "weight" => {
                let (weight, reverse) =
                    weight_reverse(parser, child, -2_147_483_647, 2_147_483_647);
                set(&mut file.weight, weight);
                file.reverse = reverse == Some(true);
            }
            "init_file" => {
                parser.no_block(child);
                let mut init = InitFile::default();
                for word in &child.args {
                    if word.text == "overwrite" {
                        init.overwrite = true;
                    } else if init.value.is_none() {
                        init.value = parser
                            .number_token(child, word, i64::from(i32::MIN), i64::from(i32::MAX))
                            .map(|n| n.value);
                    } else {
                        parser.extra_args(child, 2);
                    }
                }
                file.init_file = Some(init);
            }
            _ => parser.keep(child, &mut file.other),
        }
    }
    vrrp.track_files.push(file);
}

pub fn sync_group(parser: &mut Parser<'_>, node: &Node, vrrp: &mut VrrpConfig) {
    let Some(name) = block_name(parser, node) else {
        return;
    };
    let block = format!("vrrp_sync_group '{}'", name.value);
    let mut group = SyncGroup {
        name,
        ..SyncGroup::default()
    };
    for child in node.children() {
        let Some(keyword) = parser.keyword(child, SYNC_GROUP_KEYWORDS, &block) else {
            continue;
        };
        match keyword {
            "group" => {
                // keepalived reads every word of the block as a member name.
                for line in parser.list_items(child) {
                    parser.no_block(line);
                    let words = std::iter::once(&line.keyword).chain(line.args.iter());
                    group
                        .members
                        .extend(words.map(|word| Spanned::new(word.text.to_string(), word.at)));
                }
            }
            "track_interface" => group.track_interfaces = tracked(parser, child, 253),
            "track_script" => group.track_scripts = tracked(parser, child, 253),
            "track_file" => group.track_files = tracked(parser, child, 254),
            "track_process" => group.track_processes = tracked(parser, child, 254),
            "smtp_alert" => group.smtp_alert = Some(parser.boolean(child)),
            keyword if notify(parser, child, keyword, &mut group.notify) => {}
            _ => parser.keep(child, &mut group.other),
        }
    }
    vrrp.sync_groups.push(group);
}

pub fn static_addresses(parser: &mut Parser<'_>, node: &Node, vrrp: &mut VrrpConfig) {
    address::addresses(parser, node, &mut vrrp.static_addresses);
}

pub fn static_routes(parser: &mut Parser<'_>, node: &Node, vrrp: &mut VrrpConfig) {
    address::routes(parser, node, &mut vrrp.static_routes);
}

pub fn static_rules(parser: &mut Parser<'_>, node: &Node, vrrp: &mut VrrpConfig) {
    address::rules(parser, node, &mut vrrp.static_rules);
}

/// The notify keywords shared by instances and sync groups; returns false
/// when `keyword` is not one of them.
fn notify(parser: &mut Parser<'_>, child: &Node, keyword: &str, notify: &mut Notify) -> bool {
    match keyword {
        "notify_master" => set(&mut notify.master, parser.script(child)),
        "notify_backup" => set(&mut notify.backup, parser.script(child)),
        "notify_fault" => set(&mut notify.fault, parser.script(child)),
        "notify_stop" => set(&mut notify.stop, parser.script(child)),
        "notify" => set(&mut notify.any, parser.script(child)),
        "notify_master_rx_lower_pri" => set(&mut notify.master_rx_lower_pri, parser.script(child)),
        "notify_deleted" => {
            notify.deleted = Some(if child.args.is_empty() {
                parser.no_block(child);
                None
            } else {
                parser.script(child)
            });
        }
        "notify_priority_changes" => notify.priority_changes = Some(parser.boolean(child)),
        _ => return false,
    }
    true
}

/// `weight N [reverse|noreverse]` of a `vrrp_script` or `track_file`.
fn weight_reverse(
    parser: &mut Parser<'_>,
    child: &Node,
    min: i32,
    max: i32,
) -> (Option<Spanned<i32>>, Option<bool>) {
    parser.no_block(child);
    let Some(value) = parser.arg(child, 0, "a weight") else {
        return (None, None);
    };
    let weight = parser.number_token(child, value, min, max);
    let reverse = reverse_word(parser, child, 1);
    parser.extra_args(child, 2);
    (weight, reverse)
}

/// `reverse` / `noreverse` (`no_reverse` as in the man page's track_script)
/// at `index`.
fn reverse_word(parser: &mut Parser<'_>, node: &Node, index: usize) -> Option<bool> {
    let word = node.args.get(index)?;
    match word.text.as_str() {
        "reverse" => Some(true),
        "noreverse" | "no_reverse" => Some(false),
        other => {
            let message = format!("expected 'reverse' or 'noreverse', found '{other}'");
            parser.warning(word, "unknown-option", message);
            None
        }
    }
}

/// A `track_*` list: `NAME [weight N] [reverse|noreverse]` per line.
fn tracked(parser: &mut Parser<'_>, node: &Node, limit: i32) -> Vec<Tracked> {
    let mut items = Vec::new();
    for item in parser.list_items(node) {
        parser.no_block(item);
        let mut entry = Tracked {
            name: Spanned::new(item.name().to_string(), item.keyword.at),
            weight: None,
            reverse: None,
        };
        let mut index = 0;
        if let Some(word) = item.args.first() {
            if word.text == "weight" {
                match item.args.get(1) {
                    Some(value) => {
                        entry.weight = parser.number_token(item, value, -limit, limit);
                    }
                    None => {
                        parser.error(word, "missing-value", "'weight' needs a number");
                    }
                }
                index = 2;
            }
        }
        if item.args.len() > index {
            entry.reverse = reverse_word(parser, item, index);
            parser.extra_args(item, index + 1);
        }
        items.push(entry);
    }
    items
}
