//! How keepalived 2.2.7 treats a keyword written without its value, and
//! which of lvstop's keywords Debian's keepalived build does not know.
//!
//! keepalived reads most values by position: when the word is absent it
//! prints the line ("is missing a parameter") and stops reading, so the
//! test ends with exit 2. Some keywords check for the value themselves and
//! report a configuration error instead (exit 5), and a few accept the
//! bare keyword. The lists were measured keyword by keyword against
//! `keepalived -t`.

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::parse::keywords::{Keyword, KeywordKind};
use crate::config::tree::Node;

/// keepalived stops reading (exit 2).
pub const ABORTS: &str = "missing-value";
/// keepalived reports an error and goes on (exit 5).
pub const REPORTED: &str = "missing-value-reported";
/// keepalived accepts the bare keyword; lvstop still asks for a value.
pub const ACCEPTED: &str = "missing-value-accepted";
/// A keyword lvstop reads but Debian's keepalived 2.2.7 does not know.
pub const UNKNOWN_TO_KEEPALIVED: &str = "unknown-to-keepalived";

/// Keywords whose missing value keepalived reports without stopping.
const KEEPALIVED_REPORTS: &[&str] = &[
    "vrrp_sync_group",
    "vrrp_sync_group_name",
    "vrrp_instance",
    "router_id",
    "notification_email_from",
    "script_user",
    "vrrp_priority",
    "checker_priority",
    "lvs_sync_daemon",
    "lvs_timeouts",
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "virtualhost",
    "sorry_server_lvs_method",
    "misc_path",
    "user",
    "helo_name",
    "payload",
    "vrrp_garp_extra_if",
    "garp_extra_if",
    // Parsed but not acted on by lvstop.
    "tmp_config_directory",
    "startup_script",
    "startup_script_timeout",
    "shutdown_script",
    "shutdown_script_timeout",
    "default_interface",
    "min_auto_priority_delay",
    "bfd_priority",
    "vrrp_cpu_affinity",
    "checker_cpu_affinity",
    "bfd_cpu_affinity",
    "vrrp_rt_priority",
    "checker_rt_priority",
    "bfd_rt_priority",
    "snmp_socket",
    "dbus_service_name",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs",
    "process_monitor_rcv_bufs",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "reload_time_file",
    "snmp_name",
    "kernel_rx_buf_size",
    "use_ipvlan",
    "net_namespace",
    "instance",
];

/// Keywords keepalived accepts without a value.
const KEEPALIVED_ACCEPTS: &[&str] = &[
    "smtp_helo_name",
    "status_code",
    "regex",
    "regex_stack",
    "regex_min_offset",
    "regex_max_offset",
];

/// Keywords lvstop keeps without reading their value, on which keepalived
/// stops reading when the value is missing.
const KEEPALIVED_ABORTS_UNPARSED: &[&str] = &[
    "config_save_dir",
    "process_name",
    "vrrp_process_name",
    "checker_process_name",
    "bfd_process_name",
    "vrrp_down_timer_adverts",
    "down_timer_adverts",
    "nftables_priority",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "vrrp_rlimit_rttime",
    "vrrp_rlimit_rtime",
    "checker_rlimit_rttime",
    "bfd_rlimit_rttime",
    "umask",
    "vrrp_startup_delay",
    "vmac_prefix",
    "vmac_addr_prefix",
    "child_wait_time",
    "debug",
    "unicast_ttl",
    "vrf",
];

/// Keywords of `global_defs` Debian's keepalived 2.2.7 reports as unknown
/// (left out of its build, or never part of 2.2.7).
const UNKNOWN_IN_GLOBAL_DEFS: &[&str] = &[
    "checker_log_all_failures",
    "lvs_flush_on_stop",
    "lvs_flush_onstop",
    "vrrp_iptables",
    "vrrp_ipsets",
    "vrrp_notify_priority_changes",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs_force",
    "process_monitor_rcv_bufs_force",
    "rs_init_notifies",
    "no_checker_emails",
    "data_use_instance",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "linkbeat_use_polling",
    "child_wait_time",
];

/// Top-level blocks Debian's keepalived 2.2.7 reports as unknown.
const UNKNOWN_AT_TOP_LEVEL: &[&str] = &[
    "track_process",
    "vrrp_track_process",
    "static_track_group",
    "linkbeat_interfaces",
    "garp_group",
];

/// The code of a missing-value diagnostic for `keyword`.
pub fn code(keyword: &str) -> &'static str {
    if KEEPALIVED_REPORTS.contains(&keyword) {
        REPORTED
    } else if KEEPALIVED_ACCEPTS.contains(&keyword) {
        ACCEPTED
    } else {
        ABORTS
    }
}

/// A keyword lvstop keeps without reading its value still needs one
/// where keepalived reads it.
pub fn check_unparsed(node: &Node, kind: KeywordKind, diagnostics: &mut Diagnostics) {
    let unparsed = matches!(
        kind,
        KeywordKind::Unacted(_) | KeywordKind::Refused(_) | KeywordKind::Obsolete(_)
    );
    if !unparsed || !node.args.is_empty() {
        return;
    }
    let name = node.name();
    let code = if KEEPALIVED_ABORTS_UNPARSED.contains(&name) {
        ABORTS
    } else if KEEPALIVED_REPORTS.contains(&name) {
        REPORTED
    } else {
        return;
    };
    diagnostics.push(Diagnostic::error(code, format!("'{name}' needs a value")).on(&node.keyword));
}

/// Whether `name`, found in `table`, is a keyword Debian's keepalived
/// 2.2.7 does not know there.
pub fn unknown_to_keepalived(table: &[Keyword], name: &str) -> bool {
    let is = |other: &[Keyword]| {
        table.len() == other.len() && table.first().map(|k| k.name) == other.first().map(|k| k.name)
    };
    (is(crate::config::parse::global::GLOBAL_KEYWORDS) && UNKNOWN_IN_GLOBAL_DEFS.contains(&name))
        || (is(crate::config::parse::TOP_LEVEL) && UNKNOWN_AT_TOP_LEVEL.contains(&name))
}
