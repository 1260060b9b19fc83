//! Renders the VRRP blocks in canonical form (modern keyword names; the
//! static blocks, scripts, track files, sync groups, then instances).
//! Never changes meaning: parsing the output gives the same model.

mod lines;

use super::global::{boolean, flag, garp_extra_if, keyword_line, opt, seconds};
use super::script_line;
use super::Writer;
use crate::config::model::vrrp::{
    Notify, ParamMatch, SyncGroup, TrackFile, TrackProcess, Tracked, VrrpConfig, VrrpInstance,
    VrrpScript,
};

pub fn render(writer: &mut Writer, vrrp: &VrrpConfig) {
    if !vrrp.static_addresses.is_empty() {
        writer.open(&["static_ipaddress"]);
        lines::addresses(writer, &vrrp.static_addresses);
        writer.close();
        writer.blank();
    }
    if !vrrp.static_routes.is_empty() {
        writer.open(&["static_routes"]);
        lines::routes(writer, &vrrp.static_routes);
        writer.close();
        writer.blank();
    }
    if !vrrp.static_rules.is_empty() {
        writer.open(&["static_rules"]);
        lines::rules(writer, &vrrp.static_rules);
        writer.close();
        writer.blank();
    }
    for script in &vrrp.scripts {
        vrrp_script(writer, script);
    }
    for file in &vrrp.track_files {
        track_file(writer, file);
    }
    for process in &vrrp.track_processes {
        track_process(writer, process);
    }
    for group in &vrrp.sync_groups {
        sync_group(writer, group);
    }
    for instance in &vrrp.instances {
        vrrp_instance(writer, instance);
    }
}

fn vrrp_script(writer: &mut Writer, script: &VrrpScript) {
    writer.open(&["vrrp_script", script.name.as_str()]);
    if let Some(command) = &script.script {
        script_line(writer, "script", command);
    }
    opt(
        writer,
        "interval",
        script.interval.map(|v| seconds(v.value)),
    );
    opt(writer, "timeout", script.timeout.map(|v| seconds(v.value)));
    if let Some(weight) = script.weight {
        let mut words = vec![weight.value.to_string()];
        if script.reverse {
            words.push("reverse".into());
        }
        keyword_line(writer, "weight", words);
    }
    opt(writer, "rise", script.rise.map(|v| v.value));
    opt(writer, "fall", script.fall.map(|v| v.value));
    if let Some(user) = &script.user {
        let mut words = vec![user.value.clone()];
        words.extend(script.group.clone());
        keyword_line(writer, "user", words);
    }
    flag(writer, "init_fail", script.init_fail);
    for setting in &script.other {
        writer.raw(setting);
    }
    writer.close();
    writer.blank();
}

fn track_file(writer: &mut Writer, file: &TrackFile) {
    writer.open(&["track_file", file.name.as_str()]);
    if let Some(path) = &file.file {
        writer.line(&["file", path.as_str()]);
    }
    if let Some(weight) = file.weight {
        let mut words = vec![weight.value.to_string()];
        if file.reverse {
            words.push("reverse".into());
        }
        keyword_line(writer, "weight", words);
    }
    if let Some(init) = &file.init_file {
        let mut words: Vec<String> = init.value.iter().map(i64::to_string).collect();
        if init.overwrite {
            words.push("overwrite".into());
        }
        keyword_line(writer, "init_file", words);
    }
    for setting in &file.other {
        writer.raw(setting);
    }
    writer.close();
    writer.blank();
}

fn track_process(writer: &mut Writer, process: &TrackProcess) {
    writer.open(&["track_process", process.name.as_str()]);
    if let Some(words) = &process.process {
        keyword_line(writer, "process", words.value.clone());
    }
    match process.param_match.map(|m| m.value) {
        Some(ParamMatch::Initial) => writer.line(&["param_match", "initial"]),
        Some(ParamMatch::Partial) => writer.line(&["param_match", "partial"]),
        Some(ParamMatch::Unset) | None => {}
    }
    if let Some(weight) = process.weight {
        let mut words = vec![weight.value.to_string()];
        if process.reverse {
            words.push("reverse".into());
        }
        keyword_line(writer, "weight", words);
    }
    opt(writer, "quorum", process.quorum.map(|v| v.value));
    opt(writer, "quorum_max", process.quorum_max.map(|v| v.value));
    opt(
        writer,
        "fork_delay",
        process.fork_delay.map(|v| seconds(v.value)),
    );
    opt(
        writer,
        "terminate_delay",
        process.terminate_delay.map(|v| seconds(v.value)),
    );
    flag(writer, "full_command", process.full_command);
    for setting in &process.other {
        writer.raw(setting);
    }
    writer.close();
    writer.blank();
}

fn sync_group(writer: &mut Writer, group: &SyncGroup) {
    writer.open(&["vrrp_sync_group", group.name.as_str()]);
    if !group.members.is_empty() {
        writer.open(&["group"]);
        for member in &group.members {
            writer.line(&[member.as_str()]);
        }
        writer.close();
    }
    tracked(writer, "track_interface", &group.track_interfaces);
    tracked(writer, "track_script", &group.track_scripts);
    tracked(writer, "track_file", &group.track_files);
    tracked(writer, "track_process", &group.track_processes);
    notify(writer, &group.notify);
    boolean(writer, "smtp_alert", group.smtp_alert.map(|v| v.value));
    for setting in &group.other {
        writer.raw(setting);
    }
    writer.close();
    writer.blank();
}

fn vrrp_instance(writer: &mut Writer, vi: &VrrpInstance) {
    writer.open(&["vrrp_instance", vi.name.as_str()]);
    opt(writer, "state", vi.state.map(|s| s.value.keyword()));
    if let Some(interface) = &vi.interface {
        writer.line(&["interface", interface.as_str()]);
    }
    opt(
        writer,
        "virtual_router_id",
        vi.virtual_router_id.map(|v| v.value),
    );
    opt(writer, "priority", vi.priority.map(|v| v.value));
    opt(
        writer,
        "advert_int",
        vi.advert_int.map(|v| seconds(v.value)),
    );
    opt(writer, "version", vi.version.map(|v| v.value));
    if let Some(vmac) = &vi.use_vmac {
        let mut words = Vec::new();
        words.extend(vmac.name.clone());
        words.extend(vmac.mac.clone());
        keyword_line(writer, "use_vmac", words);
    }
    flag(writer, "use_vmac_addr", vi.use_vmac_addr);
    flag(writer, "vmac_xmit_base", vi.vmac_xmit_base);
    flag(writer, "dont_track_primary", vi.dont_track_primary);
    opt(writer, "unicast_src_ip", vi.unicast_src_ip.map(|v| v.value));
    opt(writer, "mcast_dst_ip", vi.mcast_dst_ip.map(|v| v.value));
    if !vi.unicast_peers.is_empty() {
        writer.open(&["unicast_peer"]);
        for peer in &vi.unicast_peers {
            let mut words = vec![peer.address.value.to_string()];
            super::global::pair(&mut words, "min_ttl", peer.min_ttl);
            super::global::pair(&mut words, "max_ttl", peer.max_ttl);
            writer.line(&words);
        }
        writer.close();
    }
    if let Some(auth) = &vi.authentication {
        writer.open(&["authentication"]);
        opt(
            writer,
            "auth_type",
            auth.auth_type.map(|t| t.value.keyword()),
        );
        if let Some(pass) = &auth.auth_pass {
            writer.line(&["auth_pass", pass.as_str()]);
        }
        for setting in &auth.other {
            writer.raw(setting);
        }
        writer.close();
    }
    match vi.nopreempt.map(|v| v.value) {
        Some(true) => writer.line(&["nopreempt"]),
        Some(false) => writer.line(&["preempt"]),
        None => {}
    }
    opt(
        writer,
        "preempt_delay",
        vi.preempt_delay.map(|v| seconds(v.value)),
    );
    match vi.accept.map(|v| v.value) {
        Some(true) => writer.line(&["accept"]),
        Some(false) => writer.line(&["no_accept"]),
        None => {}
    }
    let garp = &vi.garp;
    opt(
        writer,
        "garp_master_delay",
        garp.master_delay.map(|v| v.value),
    );
    opt(
        writer,
        "garp_master_repeat",
        garp.master_repeat.map(|v| v.value),
    );
    opt(
        writer,
        "garp_lower_prio_delay",
        garp.lower_prio_delay.map(|v| v.value),
    );
    opt(
        writer,
        "garp_lower_prio_repeat",
        garp.lower_prio_repeat.map(|v| v.value),
    );
    opt(
        writer,
        "garp_master_refresh",
        garp.master_refresh.map(|v| v.value),
    );
    opt(
        writer,
        "garp_master_refresh_repeat",
        garp.master_refresh_repeat.map(|v| v.value),
    );
    garp_extra_if(writer, "garp_extra_if", garp.extra_if.map(|v| v.value));
    boolean(
        writer,
        "lower_prio_no_advert",
        vi.lower_prio_no_advert.map(|v| v.value),
    );
    boolean(
        writer,
        "higher_prio_send_advert",
        vi.higher_prio_send_advert.map(|v| v.value),
    );
    if let Some(interface) = &vi.lvs_sync_daemon_interface {
        writer.line(&["lvs_sync_daemon_interface", interface.as_str()]);
    }
    tracked(writer, "track_interface", &vi.track_interfaces);
    tracked(writer, "track_script", &vi.track_scripts);
    tracked(writer, "track_file", &vi.track_files);
    tracked(writer, "track_process", &vi.track_processes);
    if !vi.virtual_addresses.is_empty() {
        writer.open(&["virtual_ipaddress"]);
        lines::addresses(writer, &vi.virtual_addresses);
        writer.close();
    }
    if !vi.excluded_addresses.is_empty() {
        writer.open(&["virtual_ipaddress_excluded"]);
        lines::addresses(writer, &vi.excluded_addresses);
        writer.close();
    }
    if !vi.virtual_routes.is_empty() {
        writer.open(&["virtual_routes"]);
        lines::routes(writer, &vi.virtual_routes);
        writer.close();
    }
    if !vi.virtual_rules.is_empty() {
        writer.open(&["virtual_rules"]);
        lines::rules(writer, &vi.virtual_rules);
        writer.close();
    }
    notify(writer, &vi.notify);
    boolean(writer, "smtp_alert", vi.smtp_alert.map(|v| v.value));
    for setting in &vi.other {
        writer.raw(setting);
    }
    writer.close();
    writer.blank();
}

fn tracked(writer: &mut Writer, keyword: &str, items: &[Tracked]) {
    if items.is_empty() {
        return;
    }
    writer.open(&[keyword]);
    for item in items {
        let mut words = vec![item.name.value.clone()];
        if let Some(weight) = item.weight {
            words.extend(["weight".to_string(), weight.value.to_string()]);
        }
        match item.reverse {
            Some(true) => words.push("reverse".into()),
            Some(false) => words.push("noreverse".into()),
            None => {}
        }
        writer.line(&words);
    }
    writer.close();
}

fn notify(writer: &mut Writer, notify: &Notify) {
    let scripts = [
        ("notify_master", &notify.master),
        ("notify_backup", &notify.backup),
        ("notify_fault", &notify.fault),
        ("notify_stop", &notify.stop),
        ("notify", &notify.any),
        ("notify_master_rx_lower_pri", &notify.master_rx_lower_pri),
    ];
    for (keyword, script) in scripts {
        if let Some(script) = script {
            script_line(writer, keyword, script);
        }
    }
    match &notify.deleted {
        Some(Some(script)) => script_line(writer, "notify_deleted", script),
        Some(None) => writer.line(&["notify_deleted"]),
        None => {}
    }
    boolean(
        writer,
        "notify_priority_changes",
        notify.priority_changes.map(|v| v.value),
    );
}
