//! Parses `global_defs` into [`GlobalDefs`]: typed fields for what lvstop
//! acts on, every other documented keyword kept raw. Never validates across
//! blocks.

use super::instead;
use super::keywords::{acted, alias, unacted, Keyword, KeywordTable};
use super::Parser;
use crate::config::model::global::{Fifo, GlobalDefs, LvsSyncDaemon, LvsTimeouts, SmtpServer};
use crate::config::model::vrrp::GarpExtraIf;
use crate::config::source::Spanned;
use crate::config::tree::Node;

const BLOCK: &str = "global_defs";

/// keepalived.conf(5) "Global definitions".
pub const GLOBAL_KEYWORDS: &[Keyword] = &[
    acted("router_id"),
    acted("notification_email"),
    acted("notification_email_from"),
    acted("smtp_server"),
    acted("smtp_helo_name"),
    acted("smtp_connect_timeout"),
    acted("smtp_alert"),
    acted("smtp_alert_vrrp"),
    acted("smtp_alert_checker"),
    acted("enable_script_security"),
    acted("script_user"),
    acted("vrrp_version"),
    acted("vrrp_mcast_group4"),
    acted("vrrp_mcast_group6"),
    acted("vrrp_garp_master_delay"),
    acted("vrrp_garp_master_repeat"),
    acted("vrrp_garp_lower_prio_delay"),
    acted("vrrp_garp_lower_prio_repeat"),
    acted("vrrp_garp_master_refresh"),
    acted("vrrp_garp_master_refresh_repeat"),
    acted("vrrp_garp_interval"),
    acted("vrrp_gna_interval"),
    acted("vrrp_min_garp"),
    unacted("vrrp_check_unicast_src", instead::CHECK_UNICAST_SRC),
    acted("vrrp_skip_check_adv_addr"),
    acted("vrrp_strict"),
    unacted("vrrp_priority", instead::NICE),
    unacted("checker_priority", instead::NICE),
    acted("lvs_sync_daemon"),
    acted("lvs_timeouts"),
    unacted("lvs_flush", instead::LVS_FLUSH),
    acted("notify_fifo"),
    acted("notify_fifo_script"),
    acted("vrrp_notify_fifo"),
    acted("vrrp_notify_fifo_script"),
    acted("lvs_notify_fifo"),
    acted("lvs_notify_fifo_script"),
    unacted("dynamic_interfaces", instead::DYNAMIC_INTERFACES),
    acted("random_seed"),
    acted("include_check"),
    unacted("tmp_config_directory", instead::CONFIG_FILES),
    unacted("config_save_dir", instead::CONFIG_FILES),
    unacted("process_names", instead::PROCESS),
    unacted("process_name", instead::PROCESS),
    unacted("vrrp_process_name", instead::PROCESS),
    unacted("checker_process_name", instead::PROCESS),
    unacted("bfd_process_name", instead::PROCESS),
    unacted("startup_script", instead::SCRIPTS_AT_START),
    unacted("startup_script_timeout", instead::SCRIPTS_AT_START),
    unacted("shutdown_script", instead::SCRIPTS_AT_START),
    unacted("shutdown_script_timeout", instead::SCRIPTS_AT_START),
    unacted("checker_log_all_failures", instead::DEFAULTS),
    unacted("no_email_faults", instead::NO_EMAIL_FAULTS),
    unacted("default_interface", instead::DEFAULT_INTERFACE),
    unacted("lvs_flush_on_stop", instead::LVS_FLUSH_ON_STOP),
    alias("lvs_flush_onstop", "lvs_flush_on_stop"),
    unacted("vrrp_down_timer_adverts", instead::ADVERT_TUNING),
    acted("vrrp_garp_extra_if"),
    acted("vrrp_lower_prio_no_advert"),
    acted("vrrp_higher_prio_send_advert"),
    unacted("nftables", instead::FIREWALL),
    unacted("nftables_priority", instead::FIREWALL),
    unacted("nftables_counters", instead::FIREWALL),
    unacted("nftables_ifindex", instead::FIREWALL),
    unacted("nftables_ipvs", instead::FIREWALL),
    unacted("nftables_ipvs_priority", instead::FIREWALL),
    unacted("nftables_ipvs_start_fwmark", instead::FIREWALL),
    unacted("vrrp_iptables", instead::FIREWALL),
    unacted("vrrp_ipsets", instead::FIREWALL),
    unacted("disable_local_igmp", instead::DEFAULTS),
    acted("vrrp_notify_priority_changes"),
    unacted("max_auto_priority", instead::PROCESS),
    unacted("min_auto_priority_delay", instead::PROCESS),
    unacted("bfd_priority", instead::PROCESS),
    unacted("vrrp_no_swap", instead::PROCESS),
    unacted("checker_no_swap", instead::PROCESS),
    unacted("bfd_no_swap", instead::PROCESS),
    unacted("vrrp_cpu_affinity", instead::PROCESS),
    unacted("checker_cpu_affinity", instead::PROCESS),
    unacted("bfd_cpu_affinity", instead::PROCESS),
    unacted("vrrp_rt_priority", instead::PROCESS),
    unacted("checker_rt_priority", instead::PROCESS),
    unacted("bfd_rt_priority", instead::PROCESS),
    unacted("vrrp_rlimit_rttime", instead::PROCESS),
    alias("vrrp_rlimit_rtime", "vrrp_rlimit_rttime"),
    unacted("checker_rlimit_rttime", instead::PROCESS),
    unacted("bfd_rlimit_rttime", instead::PROCESS),
    unacted("snmp_socket", instead::SNMP),
    unacted("enable_snmp_vrrp", instead::SNMP),
    alias("enable_snmp_keepalived", "enable_snmp_vrrp"),
    unacted("enable_snmp_checker", instead::SNMP),
    unacted("enable_snmp_rfc", instead::SNMP),
    unacted("enable_snmp_rfcv2", instead::SNMP),
    unacted("enable_snmp_rfcv3", instead::SNMP),
    unacted("enable_traps", instead::SNMP),
    unacted("enable_dbus", instead::DBUS),
    unacted("dbus_service_name", instead::DBUS),
    unacted("fifo_write_vrrp_states_on_reload", instead::FIFO_ON_RELOAD),
    unacted("vrrp_netlink_cmd_rcv_bufs", instead::BUFFERS),
    unacted("vrrp_netlink_cmd_rcv_bufs_force", instead::BUFFERS),
    unacted("vrrp_netlink_monitor_rcv_bufs", instead::BUFFERS),
    unacted("vrrp_netlink_monitor_rcv_bufs_force", instead::BUFFERS),
    unacted("lvs_netlink_cmd_rcv_bufs", instead::BUFFERS),
    unacted("lvs_netlink_cmd_rcv_bufs_force", instead::BUFFERS),
    unacted("lvs_netlink_monitor_rcv_bufs", instead::BUFFERS),
    unacted("lvs_netlink_monitor_rcv_bufs_force", instead::BUFFERS),
    unacted("process_monitor_rcv_bufs", instead::BUFFERS),
    unacted("process_monitor_rcv_bufs_force", instead::BUFFERS),
    unacted("vrrp_rx_bufs_policy", instead::BUFFERS),
    unacted("vrrp_rx_bufs_multiplier", instead::BUFFERS),
    unacted("rs_init_notifies", instead::EMAILS_AT_START),
    unacted("no_checker_emails", instead::DEFAULTS),
    unacted("umask", instead::PROCESS),
    unacted("vrrp_startup_delay", instead::VRRP_STARTUP_DELAY),
    unacted("log_unknown_vrids", instead::LOG_VRIDS),
    unacted("vmac_prefix", instead::VMAC),
    unacted("vmac_addr_prefix", instead::VMAC),
    unacted("reload_check_config", instead::RELOAD),
    unacted("reload_time_file", instead::RELOAD),
    unacted("reload_repeat", instead::RELOAD),
    unacted("reload_file", instead::RELOAD),
    unacted("data_use_instance", instead::PID_FILES),
    unacted("net_namespace", instead::NAMESPACE),
    unacted("net_namespace_ipvs", instead::NAMESPACE),
    unacted("namespace_with_ipsets", instead::NAMESPACE),
    unacted("instance", instead::PID_FILES),
    unacted("use_pid_dir", instead::PID_FILES),
    unacted("linkbeat_use_polling", instead::LINKBEAT),
    unacted("child_wait_time", instead::DEFAULTS),
];

pub(super) const TABLES: &[KeywordTable] = &[KeywordTable {
    block: BLOCK,
    keywords: GLOBAL_KEYWORDS,
}];

pub fn global_defs(parser: &mut Parser<'_>, node: &Node, global: &mut GlobalDefs) {
    if !parser.need_block(node) {
        return;
    }
    for child in node.children() {
        let Some(keyword) = parser.keyword(child, GLOBAL_KEYWORDS, BLOCK) else {
            continue;
        };
        setting(parser, child, keyword, global);
    }
}

fn setting(parser: &mut Parser<'_>, child: &Node, keyword: &str, global: &mut GlobalDefs) {
    match keyword {
        "router_id" => set(&mut global.router_id, parser.string(child)),
        "notification_email" => {
            let items = parser.list_items(child);
            if items.is_empty() && child.block.is_some() {
                // keepalived 2.2.7 counts an empty block as a configuration
                // error ("empty notification_email block").
                parser.warning(
                    &child.keyword,
                    "empty-block",
                    "the notification_email block is empty: keepalived reports it as an error and sends no alert",
                );
            }
            for item in items {
                let at = item.keyword.at;
                global
                    .notification_email
                    .push(Spanned::new(item.name().to_string(), at));
                parser.extra_args(item, 0);
            }
        }
        "notification_email_from" => set(&mut global.notification_email_from, parser.rest(child)),
        "smtp_server" => {
            parser.no_block(child);
            if let Some(host) = parser.arg(child, 0, "a host name or address") {
                let host = Spanned::new(host.text.to_string(), host.at);
                let port = match child.args.get(1) {
                    Some(token) => parser
                        .number_token(child, token, 1u16, 65535)
                        .map(|p| p.value),
                    None => None,
                };
                parser.extra_args(child, 2);
                global.smtp_server = Some(SmtpServer { host, port });
            }
        }
        "smtp_helo_name" => set(&mut global.smtp_helo_name, parser.string(child)),
        "smtp_connect_timeout" => set(
            &mut global.smtp_connect_timeout,
            parser.number(child, 1u32, 86400),
        ),
        "smtp_alert" => global.smtp_alert = Some(parser.boolean(child)),
        "smtp_alert_vrrp" => global.smtp_alert_vrrp = Some(parser.boolean(child)),
        "smtp_alert_checker" => global.smtp_alert_checker = Some(parser.boolean(child)),
        "enable_script_security" => {
            parser.no_block(child);
            parser.extra_args(child, 0);
            global.enable_script_security = true;
            global
                .script_security_at
                .get_or_insert(Spanned::new((), child.keyword.at));
        }
        "script_user" => {
            if let Some(user) = parser.arg(child, 0, "a user name") {
                global.script_user = Some(Spanned::new(user.text.to_string(), user.at));
                global.script_group = child.args.get(1).map(|g| g.text.to_string());
                parser.extra_args(child, 2);
            }
        }
        "vrrp_version" => set(&mut global.vrrp_version, parser.number(child, 2u8, 3)),
        "vrrp_mcast_group4" => set(&mut global.vrrp_mcast_group4, parser.ip(child)),
        "vrrp_mcast_group6" => set(&mut global.vrrp_mcast_group6, parser.ip(child)),
        "vrrp_garp_master_delay" => garp(parser, child, &mut global.vrrp_garp_master_delay, 0),
        "vrrp_garp_master_repeat" => garp(parser, child, &mut global.vrrp_garp_master_repeat, 1),
        "vrrp_garp_lower_prio_delay" => {
            garp(parser, child, &mut global.vrrp_garp_lower_prio_delay, 0)
        }
        "vrrp_garp_lower_prio_repeat" => {
            garp(parser, child, &mut global.vrrp_garp_lower_prio_repeat, 1)
        }
        "vrrp_garp_master_refresh" => garp(parser, child, &mut global.vrrp_garp_master_refresh, 0),
        "vrrp_garp_master_refresh_repeat" => garp(
            parser,
            child,
            &mut global.vrrp_garp_master_refresh_repeat,
            1,
        ),
        // keepalived: "number '0' outside range [0.000001, 4294.967295]".
        "vrrp_garp_interval" => set(
            &mut global.vrrp_garp_interval,
            parser.timer(child, 0.000_001, 4_294.967_295),
        ),
        "vrrp_gna_interval" => set(
            &mut global.vrrp_gna_interval,
            parser.timer(child, 0.000_001, 4_294.967_295),
        ),
        "vrrp_min_garp" => global.vrrp_min_garp = Some(parser.boolean(child)),
        "vrrp_garp_extra_if" => set(&mut global.vrrp_garp_extra_if, garp_extra_if(parser, child)),
        "vrrp_lower_prio_no_advert" => {
            global.vrrp_lower_prio_no_advert = Some(parser.boolean(child));
        }
        "vrrp_higher_prio_send_advert" => {
            global.vrrp_higher_prio_send_advert = Some(parser.boolean(child));
        }
        "vrrp_notify_priority_changes" => {
            global.vrrp_notify_priority_changes = Some(parser.boolean(child));
        }
        "vrrp_check_unicast_src" => global.vrrp_check_unicast_src = flag(parser, child),
        "vrrp_skip_check_adv_addr" => global.vrrp_skip_check_adv_addr = flag(parser, child),
        "vrrp_strict" => global.vrrp_strict = flag(parser, child),
        "vrrp_priority" => set(&mut global.vrrp_priority, parser.number(child, -20i8, 19)),
        "checker_priority" => set(
            &mut global.checker_priority,
            parser.number(child, -20i8, 19),
        ),
        "lvs_sync_daemon" => global.lvs_sync_daemon = lvs_sync_daemon(parser, child),
        "lvs_timeouts" => global.lvs_timeouts = lvs_timeouts(parser, child),
        "lvs_flush" => global.lvs_flush = flag(parser, child),
        "notify_fifo" => set(&mut global.notify_fifo.fifo, fifo(parser, child)),
        "notify_fifo_script" => set(&mut global.notify_fifo.script, parser.script(child)),
        "vrrp_notify_fifo" => set(&mut global.vrrp_notify_fifo.fifo, fifo(parser, child)),
        "vrrp_notify_fifo_script" => set(&mut global.vrrp_notify_fifo.script, parser.script(child)),
        "lvs_notify_fifo" => set(&mut global.lvs_notify_fifo.fifo, fifo(parser, child)),
        "lvs_notify_fifo_script" => set(&mut global.lvs_notify_fifo.script, parser.script(child)),
        "dynamic_interfaces" => {
            parser.no_block(child);
            let allow = match child.args.first() {
                Some(token) if token.text == "allow_if_changes" => true,
                Some(token) => {
                    let message = format!(
                        "dynamic_interfaces '{}' is not allow_if_changes",
                        token.text
                    );
                    parser.warning(token, "value-choice", message);
                    false
                }
                None => false,
            };
            parser.extra_args(child, 1);
            global.dynamic_interfaces = Some(allow);
        }
        "random_seed" => set(
            &mut global.random_seed,
            parser.number(child, 0u32, u32::MAX),
        ),
        "include_check" => {
            parser.no_block(child);
            global.include_check = Some(child.args.iter().map(|t| t.text.to_string()).collect());
        }
        "max_auto_priority" => {
            // Not acted on, but keepalived refuses a value outside -1..=99.
            let _ = parser.number(child, -1i32, 99);
            parser.keep(child, &mut global.other);
        }
        _ => parser.keep(child, &mut global.other),
    }
}

/// Stores a parsed value; a value that failed to parse leaves the field as
/// it was (the error is already reported).
pub(super) fn set<T>(field: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *field = value;
    }
}

/// A keyword that takes no value.
pub(super) fn flag(parser: &mut Parser<'_>, child: &Node) -> bool {
    parser.no_block(child);
    parser.extra_args(child, 0);
    true
}

/// GARP delays and repeats: keepalived caps delays at one day and, for
/// repeat counts, rejects 0 ("must be greater than 0, setting to 1").
pub(super) fn garp(
    parser: &mut Parser<'_>,
    child: &Node,
    field: &mut Option<Spanned<u32>>,
    min: u32,
) {
    set(field, parser.number(child, min, 86400));
}

/// `[vrrp_]garp_extra_if [all] SECONDS`: keepalived takes `all` before
/// or after the period, caps the period at one day and ignores the line
/// without one ("garp_extra_if specified without time - ignoring").
pub(super) fn garp_extra_if(parser: &mut Parser<'_>, child: &Node) -> Option<Spanned<GarpExtraIf>> {
    parser.no_block(child);
    let is_all = |index: usize| child.args.get(index).is_some_and(|t| t.text == "all");
    let all = is_all(0) || is_all(1);
    let index = usize::from(is_all(0));
    let token = parser.arg(child, index, "a period in seconds")?;
    parser.extra_args(child, 2);
    let interval = parser.number_token(child, token, 0u32, 86400)?;
    Some(Spanned::new(
        GarpExtraIf {
            all,
            interval: interval.value,
        },
        interval.at,
    ))
}

fn fifo(parser: &mut Parser<'_>, child: &Node) -> Option<Fifo> {
    parser.no_block(child);
    let path = parser.arg(child, 0, "a FIFO path")?;
    parser.extra_args(child, 3);
    Some(Fifo {
        path: Spanned::new(path.text.to_string(), path.at),
        user: child.args.get(1).map(|t| t.text.to_string()),
        group: child.args.get(2).map(|t| t.text.to_string()),
    })
}

fn lvs_sync_daemon(parser: &mut Parser<'_>, child: &Node) -> Option<LvsSyncDaemon> {
    parser.no_block(child);
    let interface = parser.arg(child, 0, "an interface name")?;
    let mut daemon = LvsSyncDaemon {
        interface: Spanned::new(interface.text.to_string(), interface.at),
        instance: None,
        id: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let mut words = child.args.iter().skip(1).peekable();
    while let Some(word) = words.next() {
        let option = word.text.as_str();
        let takes_value = matches!(option, "inst" | "id" | "maxlen" | "port" | "ttl" | "group");
        let value = if takes_value { words.next() } else { None };
        match (option, value) {
            ("inst", Some(v)) => daemon.instance = Some(Spanned::new(v.text.to_string(), v.at)),
            ("id", Some(v)) => daemon.id = parser.number_token(child, v, 0u8, 255).map(|n| n.value),
            ("maxlen", Some(v)) => {
                daemon.maxlen = parser.number_token(child, v, 1u16, 65507).map(|n| n.value)
            }
            ("port", Some(v)) => {
                daemon.port = parser.number_token(child, v, 1u16, 65535).map(|n| n.value)
            }
            ("ttl", Some(v)) => {
                daemon.ttl = parser.number_token(child, v, 1u8, 255).map(|n| n.value)
            }
            ("group", Some(v)) => daemon.group = parser.ip_token(child, v).map(|a| a.value),
            (_, None) if takes_value => {
                let message = format!("lvs_sync_daemon '{option}' needs a value");
                parser.error(word, "missing-value", message);
            }
            // The instance name may be given without `inst` (backward
            // compatible form), but only as the second word.
            _ if daemon.instance.is_none() && daemon.id.is_none() => {
                daemon.instance = Some(Spanned::new(word.text.to_string(), word.at));
            }
            _ => {
                let message = format!("unknown lvs_sync_daemon option '{option}'; it is ignored");
                parser.warning(word, "unknown-option", message);
            }
        }
    }
    Some(daemon)
}

fn lvs_timeouts(parser: &mut Parser<'_>, child: &Node) -> Option<LvsTimeouts> {
    parser.no_block(child);
    let mut timeouts = LvsTimeouts::default();
    let mut words = child.args.iter();
    while let Some(word) = words.next() {
        let Some(value) = words.next() else {
            let message = format!("lvs_timeouts '{}' needs a number of seconds", word.text);
            parser.error(word, "missing-value", message);
            break;
        };
        let seconds = parser
            .number_token(child, value, 1u32, 86400 * 31)
            .map(|n| n.value);
        match word.text.as_str() {
            "tcp" => timeouts.tcp = seconds,
            "tcpfin" => timeouts.tcpfin = seconds,
            "udp" => timeouts.udp = seconds,
            other => {
                let message = format!("unknown lvs_timeouts protocol '{other}'; it is ignored");
                parser.warning(word, "unknown-option", message);
            }
        }
    }
    if timeouts == LvsTimeouts::default() {
        parser.push(
            crate::config::diagnostic::Diagnostic::warning(
                "missing-value",
                "lvs_timeouts sets nothing; it is ignored",
            )
            .on(&child.keyword)
            .with_help("write e.g. 'lvs_timeouts tcp 900 tcpfin 120 udp 300'"),
        );
        return None;
    }
    Some(timeouts)
}
