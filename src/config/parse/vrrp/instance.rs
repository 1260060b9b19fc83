//! Parses a `vrrp_instance` block (keepalived.conf(5) "VRRP instance(s)").

use super::super::global::{flag, garp, garp_extra_if, set};
use super::super::instead;
use super::super::keywords::{acted, alias, refused, unacted, Keyword};
use super::super::Parser;
use super::{address, block_name, notify, tracked};
use crate::config::diagnostic::Diagnostic;
use crate::config::model::vrrp::{
    AuthType, Authentication, InitialState, UnicastPeer, UseVmac, VrrpConfig, VrrpInstance,
};
use crate::config::source::Spanned;
use crate::config::tree::Node;

pub(super) const INSTANCE_KEYWORDS: &[Keyword] = &[
    acted("state"),
    acted("interface"),
    acted("virtual_router_id"),
    acted("priority"),
    acted("advert_int"),
    acted("version"),
    acted("authentication"),
    acted("virtual_ipaddress"),
    acted("virtual_ipaddress_excluded"),
    acted("virtual_routes"),
    acted("virtual_rules"),
    acted("unicast_src_ip"),
    alias("mcast_src_ip", "unicast_src_ip"),
    acted("unicast_peer"),
    acted("mcast_dst_ip"),
    acted("nopreempt"),
    acted("preempt"),
    acted("preempt_delay"),
    acted("track_interface"),
    acted("track_script"),
    acted("track_file"),
    acted("track_process"),
    acted("notify_master"),
    acted("notify_backup"),
    acted("notify_fault"),
    acted("notify_stop"),
    acted("notify_deleted"),
    acted("notify"),
    acted("notify_master_rx_lower_pri"),
    acted("notify_priority_changes"),
    acted("smtp_alert"),
    acted("dont_track_primary"),
    unacted("accept", instead::ACCEPT),
    unacted("no_accept", instead::ACCEPT),
    acted("use_vmac"),
    acted("use_vmac_addr"),
    acted("vmac_xmit_base"),
    acted("garp_master_delay"),
    acted("garp_master_repeat"),
    acted("garp_lower_prio_delay"),
    acted("garp_lower_prio_repeat"),
    acted("garp_master_refresh"),
    acted("garp_master_refresh_repeat"),
    unacted("lvs_sync_daemon_interface", instead::LVS_SYNC_INSTANCE),
    unacted("vrf", instead::VRF),
    unacted("use_ipvlan", instead::IPVLAN),
    unacted("native_ipv6", instead::DEFAULTS),
    refused("track_bfd", instead::BFD),
    unacted("track_src_ip", instead::DEFAULTS),
    unacted("check_unicast_src", instead::UNICAST_TUNING),
    unacted("unicast_fault_no_peer", instead::UNICAST_TUNING),
    unacted("unicast_ttl", instead::UNICAST_TUNING),
    unacted("old_unicast_checksum", instead::UNICAST_TUNING),
    acted("garp_extra_if"),
    unacted("down_timer_adverts", instead::ADVERT_TUNING),
    acted("lower_prio_no_advert"),
    acted("higher_prio_send_advert"),
    unacted("promote_secondaries", instead::PROMOTE),
    unacted("skip_check_adv_addr", instead::ADVERT_TUNING),
    unacted("strict_mode", instead::STRICT),
    unacted("debug", instead::DEBUG),
    unacted("kernel_rx_buf_size", instead::BUFFERS),
    unacted("linkbeat_use_polling", instead::LINKBEAT),
];

pub(super) const AUTH_KEYWORDS: &[Keyword] = &[acted("auth_type"), acted("auth_pass")];

pub fn instance(parser: &mut Parser<'_>, node: &Node, vrrp: &mut VrrpConfig) {
    let Some(name) = block_name(parser, node) else {
        return;
    };
    let block = format!("vrrp_instance '{}'", name.value);
    let mut instance = VrrpInstance {
        name,
        ..VrrpInstance::default()
    };
    for child in node.children() {
        let Some(keyword) = parser.keyword(child, INSTANCE_KEYWORDS, &block) else {
            continue;
        };
        setting(parser, child, keyword, &mut instance);
    }
    vrrp.instances.push(instance);
}

fn setting(parser: &mut Parser<'_>, child: &Node, keyword: &str, vi: &mut VrrpInstance) {
    match keyword {
        "state" => {
            vi.state = parser.choice(child, &["MASTER", "BACKUP"]).map(|c| {
                let state = if c.value == 0 {
                    InitialState::Master
                } else {
                    InitialState::Backup
                };
                Spanned::new(state, c.at)
            });
        }
        "interface" => set(&mut vi.interface, parser.string(child)),
        // RFC 3768 §5.3.3 / RFC 5798 §5.2.3: VRID 1-255.
        "virtual_router_id" => set(
            &mut vi.virtual_router_id,
            priority_or_vrid(parser, child, "virtual_router_id"),
        ),
        // RFC 5798 §5.2.4: 255 is the address owner, 0 is reserved for
        // "stopping".
        "priority" => set(
            &mut vi.priority,
            priority_or_vrid(parser, child, "priority"),
        ),
        // keepalived accepts 0.01-255 s here and rounds per version later
        // (see `effective_advert_int`).
        "advert_int" => {
            // Rounding to the version's unit is checked in validate, once
            // the version is known.
            set(&mut vi.advert_int, parser.timer(child, 0.01, 255.0));
        }
        "version" => set(&mut vi.version, parser.number(child, 2u8, 3)),
        "authentication" => vi.authentication = Some(authentication(parser, child)),
        "virtual_ipaddress" => address::addresses(parser, child, &mut vi.virtual_addresses),
        "virtual_ipaddress_excluded" => {
            address::addresses(parser, child, &mut vi.excluded_addresses)
        }
        "virtual_routes" => address::routes(parser, child, &mut vi.virtual_routes),
        "virtual_rules" => address::rules(parser, child, &mut vi.virtual_rules),
        "unicast_src_ip" => set(&mut vi.unicast_src_ip, parser.ip(child)),
        "mcast_dst_ip" => set(&mut vi.mcast_dst_ip, parser.ip(child)),
        "unicast_peer" => unicast_peers(parser, child, vi),
        "nopreempt" => vi.nopreempt = Some(Spanned::new(flag(parser, child), child.keyword.at)),
        "preempt" => vi.nopreempt = Some(Spanned::new(!flag(parser, child), child.keyword.at)),
        // keepalived: "Preempt_delay not valid! must be between 0-1000".
        "preempt_delay" => set(&mut vi.preempt_delay, parser.timer(child, 0.0, 1000.0)),
        "track_interface" => vi.track_interfaces = tracked(parser, child, 253),
        "track_script" => vi.track_scripts = tracked(parser, child, 253),
        "track_file" => vi.track_files = tracked(parser, child, 254),
        "track_process" => vi.track_processes = tracked(parser, child, 254),
        "smtp_alert" => vi.smtp_alert = Some(parser.boolean(child)),
        "dont_track_primary" => vi.dont_track_primary = flag(parser, child),
        "accept" => vi.accept = Some(Spanned::new(flag(parser, child), child.keyword.at)),
        "no_accept" => vi.accept = Some(Spanned::new(!flag(parser, child), child.keyword.at)),
        "use_vmac" => {
            parser.no_block(child);
            parser.extra_args(child, 2);
            let vmac = UseVmac {
                name: child.args.first().map(|t| t.text.to_string()),
                mac: child.args.get(1).map(|t| t.text.to_string()),
            };
            vi.use_vmac = Some(Spanned::new(vmac, child.keyword.at));
        }
        "use_vmac_addr" => vi.use_vmac_addr = flag(parser, child),
        "vmac_xmit_base" => vi.vmac_xmit_base = flag(parser, child),
        "garp_master_delay" => garp(parser, child, &mut vi.garp.master_delay, 0),
        "garp_master_repeat" => garp(parser, child, &mut vi.garp.master_repeat, 1),
        "garp_lower_prio_delay" => garp(parser, child, &mut vi.garp.lower_prio_delay, 0),
        "garp_lower_prio_repeat" => garp(parser, child, &mut vi.garp.lower_prio_repeat, 1),
        "garp_master_refresh" => garp(parser, child, &mut vi.garp.master_refresh, 0),
        "garp_master_refresh_repeat" => garp(parser, child, &mut vi.garp.master_refresh_repeat, 1),
        "garp_extra_if" => set(&mut vi.garp.extra_if, garp_extra_if(parser, child)),
        "lower_prio_no_advert" => vi.lower_prio_no_advert = Some(parser.boolean(child)),
        "higher_prio_send_advert" => vi.higher_prio_send_advert = Some(parser.boolean(child)),
        "lvs_sync_daemon_interface" => {
            // keepalived: "Specifying lvs_sync_daemon_interface against a
            // vrrp is deprecated. Please use global lvs_sync_daemon".
            parser.push(
                Diagnostic::warning(
                    "deprecated-keyword",
                    "'lvs_sync_daemon_interface' in a vrrp_instance is deprecated; the modern form is global_defs 'lvs_sync_daemon'",
                )
                .on(&child.keyword)
                .with_help(format!(
                    "write 'lvs_sync_daemon IFACE {}' in global_defs instead",
                    vi.name.value
                )),
            );
            set(&mut vi.lvs_sync_daemon_interface, parser.string(child));
        }
        keyword if notify(parser, child, keyword, &mut vi.notify) => {}
        _ => parser.keep(child, &mut vi.other),
    }
}

fn priority_or_vrid(parser: &mut Parser<'_>, child: &Node, what: &str) -> Option<Spanned<u8>> {
    let value = parser.number(child, 1u8, 255);
    if value.is_none() && what == "priority" {
        // `number` already explained the range; keepalived then uses 100.
        if let Some(token) = child.args.first() {
            parser.warning(
                token,
                "priority-default",
                "keepalived falls back to priority 100",
            );
        }
    }
    value
}

fn authentication(parser: &mut Parser<'_>, node: &Node) -> Authentication {
    let mut auth = Authentication::default();
    if !parser.need_block(node) {
        return auth;
    }
    for child in node.children() {
        let Some(keyword) = parser.keyword(child, AUTH_KEYWORDS, "authentication") else {
            continue;
        };
        match keyword {
            "auth_type" => {
                auth.auth_type = parser.choice(child, &["PASS", "AH"]).map(|c| {
                    let kind = if c.value == 0 {
                        AuthType::Pass
                    } else {
                        AuthType::Ah
                    };
                    Spanned::new(kind, c.at)
                });
            }
            "auth_pass" => {
                let Some(mut pass) = parser.rest(child) else {
                    continue;
                };
                // RFC 2338 §5.3.10: the password field is 8 octets;
                // keepalived: "Truncating auth_pass to 8 characters".
                if pass.value.chars().count() > 8 {
                    let token = &child.args[0];
                    pass.value = pass.value.chars().take(8).collect();
                    parser.push(
                        Diagnostic::warning(
                            "auth-pass-truncated",
                            format!(
                                "auth_pass is longer than 8 characters; only '{}' is used",
                                pass.value
                            ),
                        )
                        .on(token)
                        .with_help("use at most 8 characters"),
                    );
                }
                auth.auth_pass = Some(pass);
            }
            _ => parser.keep(child, &mut auth.other),
        }
    }
    auth
}

fn unicast_peers(parser: &mut Parser<'_>, node: &Node, vi: &mut VrrpInstance) {
    for item in parser.list_items(node) {
        parser.no_block(item);
        let Some(address) = parser.ip_token(item, &item.keyword) else {
            continue;
        };
        let mut peer = UnicastPeer {
            address,
            min_ttl: None,
            max_ttl: None,
        };
        let mut words = item.args.iter();
        while let Some(word) = words.next() {
            let value = words.next();
            let parsed = value
                .and_then(|v| parser.number_token(item, v, 0u8, 255))
                .map(|n| n.value);
            match word.text.as_str() {
                "min_ttl" => peer.min_ttl = parsed,
                "max_ttl" => peer.max_ttl = parsed,
                other => {
                    let message = format!("unknown unicast_peer option '{other}'; it is ignored");
                    parser.warning(word, "unknown-option", message);
                }
            }
        }
        vi.unicast_peers.push(peer);
    }
}
