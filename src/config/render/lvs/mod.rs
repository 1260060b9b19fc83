//! Renders the LVS blocks (`SSL`, `virtual_server_group`, `virtual_server`
//! with its real servers; checkers in [`checker`]) in canonical keepalived
//! syntax with modern keyword names. Never changes what the model means:
//! parsing the output gives an equal model.

mod checker;

use std::net::IpAddr;
use std::time::Duration;

use super::Writer;
use crate::config::model::lvs::{
    AddressRange, CheckTiming, Endpoint, ForwardMethod, GroupMember, LvsConfig, PersistenceMask,
    RealServer, ServiceAddress, TunnelKind, VirtualServer, VirtualServerGroup,
};
use crate::config::model::{Script, Text};
use crate::config::source::Spanned;

pub fn render(writer: &mut Writer, lvs: &LvsConfig) {
    if let Some(ssl) = &lvs.ssl {
        writer.open(&["SSL"]);
        text(writer, "password", &ssl.password);
        text(writer, "ca", &ssl.ca);
        text(writer, "certificate", &ssl.certificate);
        text(writer, "key", &ssl.key);
        writer.close();
        writer.blank();
    }
    for group in &lvs.groups {
        virtual_server_group(writer, group);
    }
    for vs in &lvs.virtual_servers {
        virtual_server(writer, vs);
    }
}

fn virtual_server_group(writer: &mut Writer, group: &VirtualServerGroup) {
    writer.open(&["virtual_server_group", group.name.value.as_str()]);
    for member in &group.members {
        match member.value {
            GroupMember::Addresses { range, port } => {
                let mut words = vec![address_range(range)];
                words.extend(port.map(|p| p.to_string()));
                writer.line(&words);
            }
            GroupMember::Fwmark { mark, family } => {
                let mut words = vec!["fwmark".to_string(), mark.to_string()];
                words.extend(family.map(|f| f.as_str().to_string()));
                writer.line(&words);
            }
        }
    }
    writer.close();
    writer.blank();
}

/// `A`, `A-N` when only the last octet (IPv4) or group (IPv6) differs,
/// else `A-B`; prefixes as written.
fn address_range(range: AddressRange) -> String {
    match range {
        AddressRange::Single(ip) => ip.to_string(),
        AddressRange::Prefix { address, length } => format!("{address}/{length}"),
        AddressRange::Span { first, last } => match (first, last) {
            (IpAddr::V4(a), IpAddr::V4(b)) if a.octets()[..3] == b.octets()[..3] => {
                format!("{a}-{}", b.octets()[3])
            }
            (IpAddr::V6(a), IpAddr::V6(b)) if a.segments()[..7] == b.segments()[..7] => {
                format!("{a}-{:x}", b.segments()[7])
            }
            _ => format!("{first}-{last}"),
        },
    }
}

fn virtual_server(writer: &mut Writer, vs: &VirtualServer) {
    let mut head = vec!["virtual_server".to_string()];
    match &vs.service.value {
        ServiceAddress::Address { ip, port } => {
            head.push(ip.to_string());
            head.extend(port.map(|p| p.to_string()));
        }
        ServiceAddress::Fwmark(mark) => {
            head.push("fwmark".to_string());
            head.push(mark.to_string());
        }
        ServiceAddress::Group(name) => {
            head.push("group".to_string());
            head.push(name.clone());
        }
    }
    writer.open(&head);
    text(writer, "lvs_sched", &vs.scheduler);
    for flag in &vs.sched_flags {
        writer.line(&[flag.value.keyword()]);
    }
    flag(writer, "ops", vs.one_packet);
    method(writer, "lvs_method", vs.method);
    if let Some(p) = vs.protocol {
        writer.line(&["protocol", p.value.as_str()]);
    }
    if let Some(f) = vs.ip_family {
        writer.line(&["ip_family", f.value.as_str()]);
    }
    number(writer, "persistence_timeout", vs.persistence_timeout);
    if let Some(mask) = vs.persistence_granularity {
        let value = match mask.value {
            PersistenceMask::Netmask(m) => m.to_string(),
            PersistenceMask::PrefixLength(l) => l.to_string(),
        };
        writer.line(&["persistence_granularity".to_string(), value]);
    }
    text(writer, "persistence_engine", &vs.persistence_engine);
    flag(writer, "ha_suspend", vs.ha_suspend);
    text(writer, "virtualhost", &vs.virtualhost);
    flag(writer, "omega", vs.omega);
    number(writer, "quorum", vs.quorum);
    number(writer, "hysteresis", vs.hysteresis);
    script(writer, "quorum_up", &vs.quorum_up);
    script(writer, "quorum_down", &vs.quorum_down);
    if let Some(sorry) = vs.sorry_server {
        endpoint(writer, "sorry_server", sorry.value);
    }
    flag(writer, "sorry_server_inhibit", vs.sorry_server_inhibit);
    method(writer, "sorry_server_lvs_method", vs.sorry_server_method);
    flag(writer, "inhibit_on_failure", vs.inhibit_on_failure);
    flag(writer, "smtp_alert", vs.smtp_alert);
    timing(writer, &vs.timing);
    for setting in &vs.other {
        writer.raw(setting);
    }
    for rs in &vs.real_servers {
        real_server(writer, rs);
    }
    writer.close();
    writer.blank();
}

fn real_server(writer: &mut Writer, rs: &RealServer) {
    let mut head = vec!["real_server".to_string(), rs.endpoint.value.ip.to_string()];
    head.extend(rs.endpoint.value.port.map(|p| p.to_string()));
    writer.open(&head);
    number(writer, "weight", rs.weight);
    method(writer, "lvs_method", rs.method);
    script(writer, "notify_up", &rs.notify_up);
    script(writer, "notify_down", &rs.notify_down);
    number(writer, "uthreshold", rs.uthreshold);
    number(writer, "lthreshold", rs.lthreshold);
    flag(writer, "smtp_alert", rs.smtp_alert);
    flag(writer, "inhibit_on_failure", rs.inhibit_on_failure);
    text(writer, "virtualhost", &rs.virtualhost);
    timing(writer, &rs.timing);
    for setting in &rs.other {
        writer.raw(setting);
    }
    for c in &rs.checkers {
        checker::render(writer, c);
    }
    writer.close();
}

fn endpoint(writer: &mut Writer, keyword: &str, endpoint: Endpoint) {
    let mut words = vec![keyword.to_string(), endpoint.ip.to_string()];
    words.extend(endpoint.port.map(|p| p.to_string()));
    writer.line(&words);
}

fn method(writer: &mut Writer, keyword: &str, method: Option<Spanned<ForwardMethod>>) {
    let Some(method) = method else { return };
    let mut words = vec![keyword.to_string()];
    match method.value {
        ForwardMethod::Nat => words.push("NAT".into()),
        ForwardMethod::Dr => words.push("DR".into()),
        ForwardMethod::Tun(tunnel) => {
            words.push("TUN".into());
            match tunnel.kind {
                TunnelKind::Ipip => {
                    if tunnel.checksum.is_some() {
                        words.extend(["type".into(), "ipip".into()]);
                    }
                }
                TunnelKind::Gue { port } => {
                    words.extend(["type".into(), "gue".into(), "port".into(), port.to_string()])
                }
                TunnelKind::Gre => words.extend(["type".into(), "gre".into()]),
            }
            words.extend(tunnel.checksum.map(|c| c.as_str().to_string()));
        }
    }
    writer.line(&words);
}

pub(super) fn timing(writer: &mut Writer, timing: &CheckTiming) {
    flag(writer, "alpha", timing.alpha);
    timer(writer, "delay_loop", timing.delay_loop);
    timer(writer, "connect_timeout", timing.connect_timeout);
    number(writer, "retry", timing.retry);
    timer(writer, "delay_before_retry", timing.delay_before_retry);
    timer(writer, "warmup", timing.warmup);
}

pub(super) fn text(writer: &mut Writer, keyword: &str, value: &Option<Text>) {
    if let Some(value) = value {
        writer.line(&[keyword, value.value.as_str()]);
    }
}

/// A value that may contain spaces, written unquoted word by word when it
/// has no characters that need quoting (url paths, regexes, hex strings are
/// read as "the rest of the line").
pub(super) fn rest(writer: &mut Writer, keyword: &str, value: &Option<Text>) {
    if let Some(value) = value {
        let mut words = vec![keyword];
        if value.value.contains("  ") || value.value.starts_with(' ') || value.value.ends_with(' ')
        {
            words.push(value.value.as_str());
        } else {
            words.extend(value.value.split(' '));
        }
        writer.line(&words);
    }
}

pub(super) fn number<T: ToString + Copy>(
    writer: &mut Writer,
    keyword: &str,
    value: Option<Spanned<T>>,
) {
    if let Some(value) = value {
        writer.line(&[keyword.to_string(), value.value.to_string()]);
    }
}

/// `keyword` for yes, `keyword no` for an explicit no.
pub(super) fn flag(writer: &mut Writer, keyword: &str, value: Option<Spanned<bool>>) {
    match value.map(|v| v.value) {
        Some(true) => writer.line(&[keyword]),
        Some(false) => writer.line(&[keyword, "no"]),
        None => {}
    }
}

pub(super) fn timer(writer: &mut Writer, keyword: &str, value: Option<Spanned<Duration>>) {
    if let Some(value) = value {
        writer.line(&[keyword.to_string(), seconds(value.value)]);
    }
}

/// Seconds with up to six decimals, trailing zeros dropped.
pub(super) fn seconds(duration: Duration) -> String {
    let micros = duration.subsec_micros();
    if micros == 0 {
        return duration.as_secs().to_string();
    }
    let fraction = format!("{micros:06}");
    format!("{}.{}", duration.as_secs(), fraction.trim_end_matches('0'))
}

/// The command as one word (keepalived splits it again on unquoted spaces),
/// then the user and group.
pub(super) fn script(writer: &mut Writer, keyword: &str, value: &Option<Script>) {
    if let Some(script) = value {
        super::script_line(writer, keyword, script);
    }
}
