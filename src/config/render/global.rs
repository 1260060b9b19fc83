//! Renders `global_defs` in canonical form (modern keyword names). Never
//! changes meaning.

use super::script_line;
use super::Writer;
use crate::config::model::global::{Fifo, GlobalDefs, NotifyFifo};
use crate::config::model::vrrp::GarpExtraIf;

pub fn render(writer: &mut Writer, global: &GlobalDefs) {
    if *global == GlobalDefs::default() {
        return;
    }
    writer.open(&["global_defs"]);
    if let Some(id) = &global.router_id {
        writer.line(&["router_id", id.as_str()]);
    }
    if !global.notification_email.is_empty() {
        writer.open(&["notification_email"]);
        for email in &global.notification_email {
            writer.line(&[email.as_str()]);
        }
        writer.close();
    }
    if let Some(from) = &global.notification_email_from {
        writer.line(&["notification_email_from", from.as_str()]);
    }
    if let Some(smtp) = &global.smtp_server {
        let mut words = vec![smtp.host.value.clone()];
        words.extend(smtp.port.map(|p| p.to_string()));
        keyword_line(writer, "smtp_server", words);
    }
    if let Some(helo) = &global.smtp_helo_name {
        writer.line(&["smtp_helo_name", helo.as_str()]);
    }
    opt(
        writer,
        "smtp_connect_timeout",
        global.smtp_connect_timeout.map(|v| v.value),
    );
    boolean(writer, "smtp_alert", global.smtp_alert.map(|v| v.value));
    boolean(
        writer,
        "vrrp_notify_priority_changes",
        global.vrrp_notify_priority_changes.map(|v| v.value),
    );
    boolean(
        writer,
        "smtp_alert_vrrp",
        global.smtp_alert_vrrp.map(|v| v.value),
    );
    boolean(
        writer,
        "smtp_alert_checker",
        global.smtp_alert_checker.map(|v| v.value),
    );
    flag(
        writer,
        "enable_script_security",
        global.enable_script_security,
    );
    if let Some(user) = &global.script_user {
        let mut words = vec![user.value.clone()];
        words.extend(global.script_group.clone());
        keyword_line(writer, "script_user", words);
    }
    opt(writer, "vrrp_version", global.vrrp_version.map(|v| v.value));
    opt(
        writer,
        "vrrp_mcast_group4",
        global.vrrp_mcast_group4.map(|v| v.value),
    );
    opt(
        writer,
        "vrrp_mcast_group6",
        global.vrrp_mcast_group6.map(|v| v.value),
    );
    opt(
        writer,
        "vrrp_garp_master_delay",
        global.vrrp_garp_master_delay.map(|v| v.value),
    );
    opt(
        writer,
        "vrrp_garp_master_repeat",
        global.vrrp_garp_master_repeat.map(|v| v.value),
    );
    opt(
        writer,
        "vrrp_garp_lower_prio_delay",
        global.vrrp_garp_lower_prio_delay.map(|v| v.value),
    );
    opt(
        writer,
        "vrrp_garp_lower_prio_repeat",
        global.vrrp_garp_lower_prio_repeat.map(|v| v.value),
    );
    opt(
        writer,
        "vrrp_garp_master_refresh",
        global.vrrp_garp_master_refresh.map(|v| v.value),
    );
    opt(
        writer,
        "vrrp_garp_master_refresh_repeat",
        global.vrrp_garp_master_refresh_repeat.map(|v| v.value),
    );
    opt(
        writer,
        "vrrp_garp_interval",
        global.vrrp_garp_interval.map(|v| seconds(v.value)),
    );
    opt(
        writer,
        "vrrp_gna_interval",
        global.vrrp_gna_interval.map(|v| seconds(v.value)),
    );
    boolean(
        writer,
        "vrrp_min_garp",
        global.vrrp_min_garp.map(|v| v.value),
    );
    garp_extra_if(
        writer,
        "vrrp_garp_extra_if",
        global.vrrp_garp_extra_if.map(|v| v.value),
    );
    boolean(
        writer,
        "vrrp_lower_prio_no_advert",
        global.vrrp_lower_prio_no_advert.map(|v| v.value),
    );
    boolean(
        writer,
        "vrrp_higher_prio_send_advert",
        global.vrrp_higher_prio_send_advert.map(|v| v.value),
    );
    flag(
        writer,
        "vrrp_check_unicast_src",
        global.vrrp_check_unicast_src,
    );
    flag(
        writer,
        "vrrp_skip_check_adv_addr",
        global.vrrp_skip_check_adv_addr,
    );
    flag(writer, "vrrp_strict", global.vrrp_strict);
    opt(
        writer,
        "vrrp_priority",
        global.vrrp_priority.map(|v| v.value),
    );
    opt(
        writer,
        "checker_priority",
        global.checker_priority.map(|v| v.value),
    );
    if let Some(daemon) = &global.lvs_sync_daemon {
        let mut words = vec![daemon.interface.value.clone()];
        if let Some(instance) = &daemon.instance {
            words.extend(["inst".to_string(), instance.value.clone()]);
        }
        pair(&mut words, "id", daemon.id);
        pair(&mut words, "maxlen", daemon.maxlen);
        pair(&mut words, "port", daemon.port);
        pair(&mut words, "ttl", daemon.ttl);
        pair(&mut words, "group", daemon.group);
        keyword_line(writer, "lvs_sync_daemon", words);
    }
    if let Some(timeouts) = &global.lvs_timeouts {
        let mut words = Vec::new();
        pair(&mut words, "tcp", timeouts.tcp);
        pair(&mut words, "tcpfin", timeouts.tcpfin);
        pair(&mut words, "udp", timeouts.udp);
        keyword_line(writer, "lvs_timeouts", words);
    }
    flag(writer, "lvs_flush", global.lvs_flush);
    notify_fifo(writer, "notify_fifo", &global.notify_fifo);
    notify_fifo(writer, "vrrp_notify_fifo", &global.vrrp_notify_fifo);
    notify_fifo(writer, "lvs_notify_fifo", &global.lvs_notify_fifo);
    match global.dynamic_interfaces {
        Some(true) => writer.line(&["dynamic_interfaces", "allow_if_changes"]),
        Some(false) => writer.line(&["dynamic_interfaces"]),
        None => {}
    }
    opt(writer, "random_seed", global.random_seed.map(|v| v.value));
    if let Some(options) = &global.include_check {
        keyword_line(writer, "include_check", options.clone());
    }
    for setting in &global.other {
        writer.raw(setting);
    }
    writer.close();
    writer.blank();
}

fn notify_fifo(writer: &mut Writer, keyword: &str, fifo: &NotifyFifo) {
    if let Some(Fifo { path, user, group }) = &fifo.fifo {
        let mut words = vec![path.value.clone()];
        words.extend(user.clone());
        words.extend(group.clone());
        keyword_line(writer, keyword, words);
    }
    if let Some(script) = &fifo.script {
        script_line(writer, &format!("{keyword}_script"), script);
    }
}

pub(super) fn keyword_line(writer: &mut Writer, keyword: &str, words: Vec<String>) {
    let mut line = Vec::with_capacity(words.len() + 1);
    line.push(keyword.to_string());
    line.extend(words);
    writer.line(&line);
}

pub(super) fn pair<T: ToString>(words: &mut Vec<String>, keyword: &str, value: Option<T>) {
    if let Some(value) = value {
        words.push(keyword.to_string());
        words.push(value.to_string());
    }
}

pub(super) fn opt<T: ToString>(writer: &mut Writer, keyword: &str, value: Option<T>) {
    if let Some(value) = value {
        writer.line(&[keyword.to_string(), value.to_string()]);
    }
}

pub(super) fn flag(writer: &mut Writer, keyword: &str, on: bool) {
    if on {
        writer.line(&[keyword]);
    }
}

pub(super) fn boolean(writer: &mut Writer, keyword: &str, value: Option<bool>) {
    match value {
        Some(true) => writer.line(&[keyword]),
        Some(false) => writer.line(&[keyword, "off"]),
        None => {}
    }
}

/// A duration as keepalived `<TIMER>` seconds, without trailing zeros.
/// `[vrrp_]garp_extra_if [all] SECONDS`.
pub(super) fn garp_extra_if(writer: &mut Writer, keyword: &str, value: Option<GarpExtraIf>) {
    if let Some(extra) = value {
        let mut words = Vec::new();
        if extra.all {
            words.push("all".to_string());
        }
        words.push(extra.interval.to_string());
        keyword_line(writer, keyword, words);
    }
}

pub(super) fn seconds(duration: std::time::Duration) -> String {
    let micros = duration.as_micros();
    let whole = micros / 1_000_000;
    let fraction = micros % 1_000_000;
    if fraction == 0 {
        return whole.to_string();
    }
    let text = format!("{whole}.{fraction:06}");
    text.trim_end_matches('0').to_string()
}
