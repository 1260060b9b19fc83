//! The classification test: every keyword the parser accepts is either
//! acted on, with a named consumer in run-time code, or reported as
//! "parsed, not acted on" with what lvstop does instead, or refused.
//! A keyword added to a table without a consumer here fails the test, and
//! so does a consumer that no longer uses the model field it names.
//!
//! Test-only; never used by the parser itself.

use super::keyword_tables;
use super::keywords::KeywordKind;

/// Acted-on keyword → (file of run-time code that reads it, text that file
/// must contain outside comments: the model field, variant or method).
/// One entry per keyword name serves every block that acts on that name.
const CONSUMERS: &[(&str, &str, &str)] = &[
    ("DNS_CHECK", "src/health/probe/mod.rs", "CheckerKind::Dns"),
    ("FILE_CHECK", "src/health/probe/mod.rs", "CheckerKind::File"),
    ("HTTP_GET", "src/health/probe/mod.rs", "CheckerKind::Http"),
    ("MISC_CHECK", "src/health/probe/mod.rs", "CheckerKind::Misc"),
    ("PING_CHECK", "src/health/probe/mod.rs", "CheckerKind::Ping"),
    ("SMTP_CHECK", "src/health/probe/mod.rs", "CheckerKind::Smtp"),
    ("SSL", "src/health/probe/mod.rs", "lvs.ssl"),
    ("SSL_GET", "src/health/probe/mod.rs", "CheckerKind::Ssl"),
    ("TCP_CHECK", "src/health/probe/mod.rs", "CheckerKind::Tcp"),
    ("UDP_CHECK", "src/health/probe/mod.rs", "CheckerKind::Udp"),
    ("advert_int", "src/observe/driver.rs", ".advert_int"),
    ("alpha", "src/health/machine/checker.rs", ".alpha"),
    ("auth_pass", "src/vrrp/machine/config.rs", ".auth_pass"),
    ("auth_type", "src/vrrp/machine/config.rs", ".auth_type"),
    (
        "authentication",
        "src/vrrp/machine/config.rs",
        ".authentication",
    ),
    ("bind_if", "src/health/probe/mod.rs", ".bind_if"),
    ("bind_port", "src/health/probe/mod.rs", ".bind_port"),
    ("bindto", "src/health/probe/mod.rs", ".bindto"),
    ("brd", "src/vrrp/driver/setup.rs", "vip.broadcast"),
    ("ca", "src/health/probe/tls.rs", ".ca"),
    ("certificate", "src/health/probe/tls.rs", ".certificate"),
    ("connect_ip", "src/health/probe/smtp.rs", ".connect_ip"),
    ("connect_port", "src/health/probe/smtp.rs", ".connect_port"),
    ("connect_timeout", "src/notify/smtp.rs", ".connect_timeout"),
    (
        "delay_before_retry",
        "src/health/machine/checker.rs",
        ".delay_before_retry",
    ),
    (
        "delay",
        "src/vrrp/process/tracker.rs",
        "effective_fork_delay",
    ),
    ("delay_loop", "src/health/probe/misc.rs", ".delay_loop"),
    ("dev", "src/net/realserver/mod.rs", ".dev"),
    ("digest", "src/health/probe/http.rs", ".digest"),
    (
        "dont_track_primary",
        "src/vrrp/machine/node.rs",
        ".dont_track_primary",
    ),
    (
        "enable_script_security",
        "src/notify/script.rs",
        ".enable_script_security",
    ),
    ("enable_sni", "src/health/probe/http.rs", ".enable_sni"),
    ("fall", "src/vrrp/track.rs", ".fall"),
    (
        "fork_delay",
        "src/vrrp/process/tracker.rs",
        "effective_fork_delay",
    ),
    (
        "full_command",
        "src/vrrp/process/pattern.rs",
        ".full_command",
    ),
    ("file", "src/notify/fifo.rs", ".file"),
    ("flag-1", "src/ipvs/desired.rs", "SchedFlag::Flag1"),
    ("flag-2", "src/ipvs/desired.rs", "SchedFlag::Flag2"),
    ("flag-3", "src/ipvs/desired.rs", "SchedFlag::Flag3"),
    ("garp_extra_if", "src/vrrp/machine/config.rs", ".extra_if"),
    (
        "garp_lower_prio_delay",
        "src/vrrp/machine/config.rs",
        "garp.lower_prio_delay",
    ),
    (
        "garp_lower_prio_repeat",
        "src/vrrp/machine/config.rs",
        "garp.lower_prio_repeat",
    ),
    (
        "garp_master_delay",
        "src/vrrp/machine/config.rs",
        "garp.master_delay",
    ),
    (
        "garp_master_refresh",
        "src/vrrp/machine/config.rs",
        "garp.master_refresh",
    ),
    (
        "garp_master_refresh_repeat",
        "src/vrrp/machine/config.rs",
        "garp.master_refresh_repeat",
    ),
    (
        "garp_master_repeat",
        "src/vrrp/machine/config.rs",
        "garp.master_repeat",
    ),
    ("global_defs", "src/engine/director.rs", "config.global"),
    ("group", "src/ui/app/actions.rs", ".group"),
    ("helo_name", "src/notify/smtp.rs", ".helo_name"),
    (
        "higher_prio_send_advert",
        "src/vrrp/machine/config.rs",
        ".higher_prio_send_advert",
    ),
    ("host", "src/notify/smtp.rs", ".host"),
    (
        "http_protocol",
        "src/health/probe/http.rs",
        ".http_protocol",
    ),
    ("hysteresis", "src/engine/plan/checks.rs", ".hysteresis"),
    (
        "include_check",
        "src/config/preprocess/driver.rs",
        "include_check",
    ),
    (
        "inhibit_on_failure",
        "src/ui/services.rs",
        ".inhibit_on_failure",
    ),
    ("init_fail", "src/vrrp/track.rs", ".init_fail"),
    ("init_file", "src/vrrp/track.rs", ".init_file"),
    ("interface", "src/ui/render/vrrp.rs", ".interface"),
    ("interval", "src/net/announce.rs", ".interval"),
    ("ip_family", "src/engine/plan/checks.rs", ".ip_family"),
    ("key", "src/net/sysctl.rs", ".key"),
    ("label", "src/net/address.rs", ".label"),
    (
        "log_all_failures",
        "src/health/machine/checker.rs",
        ".log_all_failures",
    ),
    (
        "lower_prio_no_advert",
        "src/vrrp/machine/config.rs",
        ".lower_prio_no_advert",
    ),
    ("lthreshold", "src/ipvs/desired.rs", ".lthreshold"),
    (
        "lvs_method",
        "src/ipvs/desired.rs",
        "rs.effective_method(vs)",
    ),
    ("lvs_notify_fifo", "src/notify/fifo.rs", ".lvs_notify_fifo"),
    (
        "lvs_notify_fifo_script",
        "src/notify/fifo.rs",
        "family.script",
    ),
    ("lvs_sched", "src/ipvs/desired.rs", ".scheduler"),
    (
        "lvs_sync_daemon",
        "src/engine/director.rs",
        ".lvs_sync_daemon",
    ),
    ("lvs_timeouts", "src/engine/director.rs", ".lvs_timeouts"),
    (
        "max_reply_length",
        "src/health/probe/udp.rs",
        ".max_reply_length",
    ),
    (
        "mcast_dst_ip",
        "src/vrrp/machine/config.rs",
        ".mcast_dst_ip",
    ),
    (
        "mh-fallback",
        "src/ipvs/desired.rs",
        "SchedFlag::MhFallback",
    ),
    ("mh-port", "src/ipvs/desired.rs", "SchedFlag::MhPort"),
    (
        "min_reply_length",
        "src/health/probe/udp.rs",
        ".min_reply_length",
    ),
    ("misc_dynamic", "src/health/probe/misc.rs", "misc.dynamic"),
    ("misc_path", "src/health/probe/misc.rs", "misc.path"),
    ("misc_timeout", "src/health/target.rs", "misc.timeout"),
    ("name", "src/health/probe/dns.rs", "dns.name"),
    (
        "nopreempt",
        "src/vrrp/machine/instance/mod.rs",
        ".nopreempt",
    ),
    (
        "notification_email",
        "src/notify/smtp.rs",
        ".notification_email",
    ),
    (
        "notification_email_from",
        "src/notify/smtp.rs",
        ".notification_email_from",
    ),
    ("notify", "src/vrrp/driver/node_task.rs", ".notify"),
    ("notify_backup", "src/vrrp/sync_group.rs", "notify.backup"),
    ("notify_down", "src/health/machine/pool.rs", ".notify_down"),
    ("notify_fault", "src/vrrp/sync_group.rs", "notify.fault"),
    ("notify_fifo", "src/notify/fifo.rs", ".notify_fifo"),
    ("notify_fifo_script", "src/notify/fifo.rs", "family.script"),
    ("notify_master", "src/vrrp/sync_group.rs", "notify.master"),
    ("notify_stop", "src/vrrp/sync_group.rs", "notify.stop"),
    (
        "notify_deleted",
        "src/vrrp/machine/config.rs",
        "notify.deleted",
    ),
    (
        "notify_master_rx_lower_pri",
        "src/vrrp/machine/config.rs",
        "notify.master_rx_lower_pri",
    ),
    (
        "notify_priority_changes",
        "src/vrrp/machine/config.rs",
        ".priority_changes",
    ),
    (
        "vrrp_notify_priority_changes",
        "src/vrrp/machine/config.rs",
        ".vrrp_notify_priority_changes",
    ),
    ("notify_up", "src/health/machine/pool.rs", ".notify_up"),
    ("omega", "src/engine/plan/checks.rs", ".omega"),
    ("ops", "src/ipvs/format/restore.rs", ".ops"),
    ("param_match", "src/vrrp/process/pattern.rs", ".param_match"),
    ("password", "src/vrrp/replay.rs", ".password"),
    ("path", "src/health/probe/http.rs", "url.path"),
    ("payload", "src/observe/wire/decode/mod.rs", ".payload"),
    (
        "persistence_granularity",
        "src/engine/plan/checks.rs",
        ".persistence_granularity",
    ),
    (
        "persistence_timeout",
        "src/engine/plan/checks.rs",
        ".persistence_timeout",
    ),
    ("preempt", "src/observe/keepalived/json.rs", ".preempt"),
    (
        "preempt_delay",
        "src/vrrp/machine/instance/mod.rs",
        ".preempt_delay",
    ),
    ("priority", "src/engine/command.rs", ".priority"),
    ("process", "src/vrrp/process/pattern.rs", ".command()"),
    ("protocol", "src/ui/services.rs", ".protocol"),
    ("quorum", "src/ui/services.rs", ".quorum"),
    ("quorum_down", "src/engine/plan/checks.rs", ".quorum_down"),
    (
        "quorum_max",
        "src/vrrp/process/tracker.rs",
        "effective_quorum_max",
    ),
    ("quorum_up", "src/ui/services.rs", ".quorum_up"),
    (
        "random_seed",
        "src/config/preprocess/driver.rs",
        "random_seed",
    ),
    ("real_server", "src/engine/plan/checks.rs", ".real_server"),
    ("regex", "src/health/probe/http.rs", ".regex"),
    (
        "regex_max_offset",
        "src/health/probe/http.rs",
        ".regex_max_offset",
    ),
    (
        "regex_min_offset",
        "src/health/probe/http.rs",
        ".regex_min_offset",
    ),
    ("regex_options", "src/health/probe/http.rs", "regex_options"),
    (
        "regex_no_match",
        "src/health/probe/http.rs",
        ".regex_no_match",
    ),
    ("require_reply", "src/health/probe/udp.rs", ".require_reply"),
    ("retry", "src/health/machine/checker.rs", "timing.retry"),
    ("rise", "src/vrrp/track.rs", ".rise"),
    ("router_id", "src/config/running.rs", ".router_id"),
    ("scope", "src/net/address.rs", ".scope"),
    ("script", "src/notify/fifo.rs", ".script"),
    ("script_user", "src/notify/script.rs", ".script_user"),
    (
        "sh-fallback",
        "src/ipvs/desired.rs",
        "SchedFlag::ShFallback",
    ),
    ("sh-port", "src/ipvs/desired.rs", "SchedFlag::ShPort"),
    ("smtp_alert", "src/notify/smtp.rs", ".smtp_alert"),
    (
        "smtp_alert_checker",
        "src/notify/smtp.rs",
        ".smtp_alert_checker",
    ),
    ("smtp_alert_vrrp", "src/notify/smtp.rs", ".smtp_alert_vrrp"),
    (
        "smtp_connect_timeout",
        "src/notify/smtp.rs",
        "smtp_connect_timeout",
    ),
    ("smtp_helo_name", "src/notify/smtp.rs", ".smtp_helo_name"),
    ("smtp_server", "src/notify/smtp.rs", ".smtp_server"),
    ("sorry_server", "src/ui/services.rs", ".sorry_server"),
    (
        "sorry_server_inhibit",
        "src/engine/plan/checks.rs",
        ".sorry_server_inhibit",
    ),
    (
        "sorry_server_lvs_method",
        "src/engine/plan/checks.rs",
        "sorry_server_method",
    ),
    ("state", "src/ui/app/actions.rs", ".state"),
    (
        "static_ipaddress",
        "src/vrrp/routing/statics.rs",
        ".static_addresses",
    ),
    (
        "static_routes",
        "src/vrrp/routing/statics.rs",
        ".static_routes",
    ),
    (
        "static_rules",
        "src/vrrp/routing/statics.rs",
        ".static_rules",
    ),
    ("status_code", "src/health/probe/http.rs", "status_codes"),
    (
        "terminate_delay",
        "src/vrrp/process/tracker.rs",
        "effective_terminate_delay",
    ),
    ("timeout", "src/ui/services.rs", ".timeout"),
    ("track_file", "src/health/probe/file.rs", ".track_file"),
    (
        "track_interface",
        "src/vrrp/driver/setup.rs",
        "track_interfaces",
    ),
    (
        "track_process",
        "src/vrrp/driver/units.rs",
        "track_processes",
    ),
    ("track_script", "src/vrrp/driver/units.rs", "track_scripts"),
    ("type", "src/health/probe/dns.rs", "query_type"),
    ("unicast_peer", "src/vrrp/driver/setup.rs", "unicast_peers"),
    (
        "virtual_routes",
        "src/vrrp/driver/routes.rs",
        ".virtual_routes",
    ),
    (
        "virtual_rules",
        "src/vrrp/driver/routes.rs",
        ".virtual_rules",
    ),
    (
        "unicast_src_ip",
        "src/vrrp/machine/config.rs",
        ".unicast_src_ip",
    ),
    ("url", "src/health/probe/http.rs", "urls"),
    ("use_vmac", "src/vrrp/driver/vmacs.rs", ".use_vmac"),
    (
        "use_vmac_addr",
        "src/vrrp/driver/vmacs.rs",
        ".use_vmac_addr",
    ),
    ("user", "src/notify/fifo.rs", ".user"),
    ("uthreshold", "src/ipvs/desired.rs", ".uthreshold"),
    ("version", "src/ui/render/header.rs", ".version"),
    (
        "virtual_ipaddress",
        "src/vrrp/driver/setup.rs",
        "virtual_addresses",
    ),
    (
        "virtual_ipaddress_excluded",
        "src/vrrp/driver/setup.rs",
        "excluded_addresses",
    ),
    (
        "virtual_router_id",
        "src/observe/driver.rs",
        ".virtual_router_id",
    ),
    ("virtual_server", "src/ipvs/desired.rs", "virtual_servers"),
    ("virtual_server_group", "src/ipvs/desired.rs", "groups"),
    ("virtualhost", "src/engine/plan/checks.rs", ".virtualhost"),
    (
        "vmac_xmit_base",
        "src/vrrp/driver/vmacs.rs",
        ".vmac_xmit_base",
    ),
    (
        "vrrp_garp_extra_if",
        "src/vrrp/machine/config.rs",
        ".vrrp_garp_extra_if",
    ),
    (
        "vrrp_garp_interval",
        "src/vrrp/driver/mod.rs",
        ".vrrp_garp_interval",
    ),
    (
        "vrrp_garp_lower_prio_delay",
        "src/vrrp/machine/config.rs",
        ".vrrp_garp_lower_prio_delay",
    ),
    (
        "vrrp_garp_lower_prio_repeat",
        "src/vrrp/machine/config.rs",
        ".vrrp_garp_lower_prio_repeat",
    ),
    (
        "vrrp_garp_master_delay",
        "src/vrrp/machine/config.rs",
        ".vrrp_garp_master_delay",
    ),
    (
        "vrrp_garp_master_refresh",
        "src/vrrp/machine/config.rs",
        ".vrrp_garp_master_refresh",
    ),
    (
        "vrrp_garp_master_refresh_repeat",
        "src/vrrp/machine/config.rs",
        ".vrrp_garp_master_refresh_repeat",
    ),
    (
        "vrrp_garp_master_repeat",
        "src/vrrp/machine/config.rs",
        ".vrrp_garp_master_repeat",
    ),
    (
        "vrrp_gna_interval",
        "src/vrrp/driver/mod.rs",
        ".vrrp_gna_interval",
    ),
    (
        "vrrp_higher_prio_send_advert",
        "src/vrrp/machine/config.rs",
        ".vrrp_higher_prio_send_advert",
    ),
    ("vrrp_instance", "src/vrrp/driver/units.rs", "instances"),
    (
        "vrrp_lower_prio_no_advert",
        "src/vrrp/machine/config.rs",
        ".vrrp_lower_prio_no_advert",
    ),
    (
        "vrrp_min_garp",
        "src/vrrp/machine/config.rs",
        ".vrrp_min_garp",
    ),
    (
        "vrrp_mcast_group4",
        "src/vrrp/machine/config.rs",
        "effective_mcast_group4",
    ),
    (
        "vrrp_mcast_group6",
        "src/vrrp/machine/config.rs",
        "effective_mcast_group6",
    ),
    (
        "vrrp_notify_fifo",
        "src/notify/fifo.rs",
        ".vrrp_notify_fifo",
    ),
    (
        "vrrp_notify_fifo_script",
        "src/notify/fifo.rs",
        "family.script",
    ),
    ("vrrp_script", "src/vrrp/driver/units.rs", "scripts"),
    (
        "vrrp_skip_check_adv_addr",
        "src/vrrp/machine/config.rs",
        ".vrrp_skip_check_adv_addr",
    ),
    ("vrrp_strict", "src/vrrp/machine/config.rs", ".vrrp_strict"),
    ("vrrp_sync_group", "src/vrrp/driver/units.rs", "sync_groups"),
    (
        "vrrp_version",
        "src/observe/keepalived/json.rs",
        ".vrrp_version",
    ),
    ("warmup", "src/health/machine/mod.rs", ".warmup"),
    ("weight", "src/ui/services.rs", ".weight"),
];

/// The file's text without `//` comment lines.
fn code_of(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("consumer file {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_acted_keyword_has_a_consumer_in_run_time_code() {
    let mut problems = Vec::new();
    for table in keyword_tables() {
        for keyword in table.keywords {
            if keyword.kind != KeywordKind::Acted {
                continue;
            }
            let Some((_, file, needle)) = CONSUMERS.iter().find(|(k, _, _)| *k == keyword.name)
            else {
                problems.push(format!(
                    "{} '{}' is marked acted on but has no consumer in CONSUMERS; \
                     name the code that uses it, or mark it unacted with what lvstop does instead",
                    table.block, keyword.name
                ));
                continue;
            };
            let parse_only = file.starts_with("src/config/parse")
                || file.starts_with("src/config/model")
                || file.starts_with("src/config/render");
            if parse_only {
                problems.push(format!("'{}': {file} is not run-time code", keyword.name));
            } else if !code_of(file).contains(needle) {
                problems.push(format!(
                    "'{}': {file} no longer contains '{needle}'",
                    keyword.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn consumers_name_only_keywords_that_are_acted_on() {
    let acted: Vec<&str> = keyword_tables()
        .iter()
        .flat_map(|t| t.keywords.iter())
        .filter(|k| k.kind == KeywordKind::Acted)
        .map(|k| k.name)
        .collect();
    let stale: Vec<&str> = CONSUMERS
        .iter()
        .map(|(k, _, _)| *k)
        .filter(|k| !acted.contains(k))
        .collect();
    assert!(
        stale.is_empty(),
        "consumers of keywords not acted on: {stale:?}"
    );
}

#[test]
fn every_keyword_not_acted_on_says_what_lvstop_does_instead() {
    for table in keyword_tables() {
        for keyword in table.keywords {
            if let KeywordKind::Unacted(text) | KeywordKind::Refused(text) = keyword.kind {
                assert!(
                    text.starts_with("lvstop"),
                    "{} '{}': '{text}' should say what lvstop does",
                    table.block,
                    keyword.name
                );
            }
        }
    }
}

#[test]
fn the_keywords_an_operator_was_told_are_ignored_are_warnings_or_refused() {
    let kind = |block: &str, name: &str| {
        keyword_tables()
            .iter()
            .filter(|t| t.block == block)
            .flat_map(|t| t.keywords.iter())
            .find(|k| k.name == name)
            .map(|k| k.kind)
            .unwrap_or_else(|| panic!("{block} has no '{name}'"))
    };
    let unacted = [
        ("virtual_server", "ha_suspend"),
        ("HTTP_GET", "fast_recovery"),
        ("TCP_CHECK", "fwmark"),
        ("global_defs", "lvs_flush"),
        ("global_defs", "vrrp_priority"),
        ("global_defs", "checker_priority"),
        ("vrrp_instance", "lvs_sync_daemon_interface"),
        ("virtual_ipaddress line", "nodad"),
        ("virtual_ipaddress line", "no_track"),
        ("virtual_ipaddress line", "home"),
        ("virtual_ipaddress line", "preferred_lft"),
        ("virtual_ipaddress line", "peer"),
    ];
    for (block, name) in unacted {
        assert!(
            matches!(kind(block, name), KeywordKind::Unacted(_)),
            "{block} '{name}'"
        );
    }
    for (block, name) in [
        ("real_server", "BFD_CHECK"),
        ("top level", "bfd_instance"),
        ("vrrp_instance", "track_bfd"),
    ] {
        assert!(
            matches!(kind(block, name), KeywordKind::Refused(_)),
            "{block} '{name}'"
        );
    }
}

/// The tree opens a block only for the keywords it lists, as keepalived
/// does; every block the parser reads must be among them, and each listed
/// keyword must be one the enclosing block's table knows.
#[test]
fn the_tree_opens_a_block_for_every_block_the_parser_reads() {
    use crate::config::tree::{block_keywords, opens_block};
    let tables = keyword_tables();
    let table_of = |block: &str| {
        tables
            .iter()
            .filter(|t| t.block == block)
            .flat_map(|t| t.keywords.iter())
            .map(|k| k.name)
            .collect::<Vec<_>>()
    };
    for (parent, keyword) in block_keywords() {
        let known = table_of(parent.unwrap_or("top level"));
        // Blocks whose own tables the parser reuses (SSL_GET reads HTTP_GET's).
        let parent_known = parent.is_none_or(|p| !known.is_empty() || p == "SSL_GET");
        assert!(
            parent_known && (known.contains(&keyword) || parent == Some("SSL_GET")),
            "{parent:?} '{keyword}' opens a block but its table does not know it"
        );
    }
    let nested: &[(Option<&str>, &str)] = &[
        (None, "global_defs"),
        (None, "vrrp_instance"),
        (None, "vrrp_sync_group"),
        (None, "vrrp_script"),
        (None, "track_file"),
        (None, "track_process"),
        (None, "virtual_server"),
        (None, "SSL"),
        (Some("vrrp_instance"), "authentication"),
        (Some("virtual_server"), "real_server"),
        (Some("HTTP_GET"), "url"),
        (Some("SMTP_CHECK"), "host"),
    ];
    for (parent, keyword) in nested {
        assert!(opens_block(*parent, keyword), "{parent:?} '{keyword}'");
    }
    for checker in table_of("real_server")
        .into_iter()
        .filter(|k| k.ends_with("_CHECK") || k.ends_with("_GET"))
    {
        assert!(opens_block(Some("real_server"), checker), "{checker}");
    }
}
