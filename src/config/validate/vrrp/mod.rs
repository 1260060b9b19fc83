//! Cross-block rules for the VRRP side: duplicate names and VRIDs,
//! references between blocks, address families, and the state/priority
//! combinations keepalived corrects. Only reads the model; linear time
//! (hash maps keyed by name / interface).

mod process;

use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::model::vrrp::{AuthType, InitialState, Tracked, VrrpInstance};
use crate::config::model::{Config, Text};

pub fn validate(config: &Config, diagnostics: &mut Diagnostics) {
    let vrrp = &config.vrrp;
    let scripts = unique_names(
        vrrp.scripts.iter().map(|s| &s.name),
        "vrrp_script",
        diagnostics,
    );
    let files = unique_names(
        vrrp.track_files.iter().map(|f| &f.name),
        "track_file",
        diagnostics,
    );
    let processes = unique_names(
        vrrp.track_processes.iter().map(|p| &p.name),
        "track_process",
        diagnostics,
    );
    process::validate(&vrrp.track_processes, diagnostics);
    let instances = unique_names(
        vrrp.instances.iter().map(|i| &i.name),
        "vrrp_instance",
        diagnostics,
    );
    unique_names(
        vrrp.sync_groups.iter().map(|g| &g.name),
        "vrrp_sync_group",
        diagnostics,
    );

    for script in &vrrp.scripts {
        if script.script.is_none() {
            // keepalived: "No script set for vrrp_script X - removing".
            diagnostics.push(
                Diagnostic::warning(
                    "script-missing",
                    format!("vrrp_script '{}' has no 'script'", script.name.value),
                )
                .spanning(script.name.at, script.name.value.chars().count())
                .with_help(
                    "add 'script \"/path/to/check\"'; keepalived drops the vrrp_script otherwise",
                ),
            );
        }
    }

    let mut group_of: HashMap<&str, &Text> = HashMap::new();
    for group in &vrrp.sync_groups {
        for member in &group.members {
            if !instances.contains_key(member.value.as_str()) {
                push_at(
                    diagnostics,
                    member,
                    "undefined-instance",
                    format!(
                        "sync group '{}' lists vrrp_instance '{}', which is not defined",
                        group.name.value, member.value
                    ),
                    None,
                );
            } else if let Some(first) = group_of.insert(member.value.as_str(), &group.name) {
                push_at(
                    diagnostics,
                    member,
                    "instance-in-two-groups",
                    format!(
                    "vrrp_instance '{}' is already in sync group '{}'; keepalived ignores it here",
                    member.value, first.value
                ),
                    Some("an instance can belong to one sync group only".into()),
                );
            }
        }
        references(&group.track_scripts, &scripts, "vrrp_script", diagnostics);
        references(&group.track_files, &files, "track_file", diagnostics);
        references(
            &group.track_processes,
            &processes,
            "track_process",
            diagnostics,
        );
    }

    let strict = config.global.vrrp_strict;
    let mut vrids: HashMap<(String, bool, Option<IpAddr>, u8), &VrrpInstance> = HashMap::new();
    for vi in &vrrp.instances {
        instance_rules(vi, diagnostics);
        strict_and_auth_rules(
            vi,
            strict,
            config.global.vrrp_version.map(|v| v.value),
            diagnostics,
        );
        advert_interval_rules(vi, config.global.vrrp_version.map(|v| v.value), diagnostics);
        references(&vi.track_scripts, &scripts, "vrrp_script", diagnostics);
        references(&vi.track_files, &files, "track_file", diagnostics);
        references(
            &vi.track_processes,
            &processes,
            "track_process",
            diagnostics,
        );
        // keepalived: "A and B both use VRID 10 with IPv4 on interface eth0".
        // Unicast instances with distinct peers may share a VRID, and so may
        // multicast ones with different mcast_dst_ip; lvstop keys on the
        // interface, family, mode/destination and VRID.
        let (Some(vrid), Some(interface)) = (vi.virtual_router_id, &vi.interface) else {
            continue;
        };
        if vi.is_unicast() {
            continue;
        }
        let key = (
            interface.value.clone(),
            vi.is_ipv6(),
            vi.mcast_dst_ip.map(|a| a.value),
            vrid.value,
        );
        if let Some(first) = vrids.insert(key, vi) {
            let family = if vi.is_ipv6() { "IPv6" } else { "IPv4" };
            diagnostics.push(
                Diagnostic::error("duplicate-vrid", format!(
                    "vrrp_instance '{}' and '{}' both use virtual_router_id {} with {family} on interface {}",
                    first.name.value, vi.name.value, vrid.value, interface.value
                ))
                .at(vrid.at)
                .with_help("give each virtual router on an interface its own virtual_router_id"),
            );
        }
    }
}

/// RFC 3768 §5.3.7: a VRRPv2 advertisement interval is a whole number of
/// seconds (8 bits). RFC 5798 §5.2.7: VRRPv3 counts centiseconds in 12 bits,
/// so at most 40.95 s. keepalived rounds or clamps and warns; so does lvstop.
fn advert_interval_rules(
    vi: &VrrpInstance,
    global_version: Option<u8>,
    diagnostics: &mut Diagnostics,
) {
    let Some(written) = vi.advert_int else {
        return;
    };
    let effective = vi.effective_advert_int(global_version);
    let version = vi.effective_version(global_version);
    let seconds = written.value.as_secs_f64();
    let message = if version == 2 && written.value.subsec_micros() != 0 {
        format!(
            "advert_int {seconds} is not a whole number of seconds, as VRRPv2 requires; keepalived uses {} s",
            effective.as_secs()
        )
    } else if version == 3 && written.value > std::time::Duration::from_millis(40_950) {
        format!(
            "advert_int {seconds} is longer than VRRPv3 allows (40.95 s); keepalived uses 40.95 s"
        )
    } else if version == 3 && written.value.as_micros() % 10_000 != 0 {
        format!(
            "advert_int {seconds} is not a whole number of centiseconds, as VRRPv3 requires; keepalived uses {:.2} s",
            effective.as_secs_f64()
        )
    } else {
        return;
    };
    diagnostics.push(
        Diagnostic::warning("advert-int-rounded", message)
            .at(written.at)
            .with_help(if version == 2 {
                "use whole seconds with VRRPv2, or 'version 3' for sub-second intervals"
            } else {
                "use a multiple of 0.01 s between 0.01 and 40.95"
            }),
    );
}

fn instance_rules(vi: &VrrpInstance, diagnostics: &mut Diagnostics) {
    let name = &vi.name.value;
    if vi.virtual_router_id.is_none() {
        push_at(
            diagnostics,
            &vi.name,
            "vrid-missing",
            format!("vrrp_instance '{name}' has no virtual_router_id"),
            Some(
                "add 'virtual_router_id N' (1-255), the same on every router of this VRRP group"
                    .into(),
            ),
        );
    }
    if vi.interface.is_none() && !vi.is_unicast() {
        // keepalived: "(D) Unknown interface!".
        push_at(
            diagnostics,
            &vi.name,
            "interface-missing",
            format!("vrrp_instance '{name}' has no interface"),
            Some("add 'interface IFACE' (only unicast instances may omit it)".into()),
        );
    }
    if vi.virtual_addresses.is_empty() {
        diagnostics.push(
            Diagnostic::warning(
                "no-vip",
                format!("vrrp_instance '{name}' has no virtual_ipaddress"),
            )
            .spanning(vi.name.at, name.chars().count()),
        );
    }
    if let Some(first) = vi.virtual_addresses.first() {
        let v6 = first.address.value.is_ipv6();
        for vip in &vi.virtual_addresses[1..] {
            if vip.address.value.is_ipv6() != v6 {
                // keepalived: "address family must match VRRP instance - ignoring".
                diagnostics.push(
                    Diagnostic::warning("vip-family-mix", format!(
                        "virtual_ipaddress {} is not of the instance's family; keepalived ignores it",
                        vip.address.value
                    ))
                    .at(vip.address.at)
                    .with_help("put addresses of the other family in virtual_ipaddress_excluded"),
                );
            }
        }
    }
    let v6 = vi.is_ipv6();
    for peer in &vi.unicast_peers {
        if peer.address.value.is_ipv6() != v6 && !vi.virtual_addresses.is_empty() {
            // keepalived: "VRRP instance[B] and unicast peer address[..]
            // MUST be of the same family !!! Skipping...".
            diagnostics.push(
                Diagnostic::error(
                    "peer-family-mismatch",
                    format!(
                        "unicast_peer {} is not of vrrp_instance '{name}''s address family",
                        peer.address.value
                    ),
                )
                .at(peer.address.at),
            );
        }
    }
    let state = vi.state.map(|s| s.value);
    if let (Some(priority), Some(InitialState::Backup)) = (vi.priority, state) {
        if priority.value == 255 {
            diagnostics.push(
                Diagnostic::warning(
                    "owner-not-master",
                    format!(
                        "vrrp_instance '{name}' has priority 255 (address owner) but state BACKUP"
                    ),
                )
                .at(priority.at)
                .with_help("use 'state MASTER' for the address owner, or a priority below 255"),
            );
        }
    }
    if let (Some(flag), Some(InitialState::Master)) = (vi.nopreempt, state) {
        if flag.value {
            // keepalived: "nopreempt will not work with initial state MASTER - clearing".
            diagnostics.push(
                Diagnostic::warning(
                    "nopreempt-master",
                    format!(
                    "nopreempt has no effect in vrrp_instance '{name}' because its state is MASTER"
                ),
                )
                .spanning(flag.at, "nopreempt".len())
                .with_help("use 'state BACKUP' on every router when using nopreempt"),
            );
        }
    }
}

/// keepalived's corrections for `vrrp_strict` (RFC conformance) and for AH
/// authentication, each reported where the offending keyword stands.
fn strict_and_auth_rules(
    vi: &VrrpInstance,
    strict: bool,
    global_version: Option<u8>,
    diagnostics: &mut Diagnostics,
) {
    let name = &vi.name.value;
    let state = vi.state.map(|s| s.value);
    let auth_type = vi.authentication.as_ref().and_then(|a| a.auth_type);
    let owner = vi.priority.is_some_and(|p| p.value == 255);
    if let (Some(kind), Some(InitialState::Master)) = (auth_type, state) {
        // The address owner keeps MASTER: keepalived says nothing then.
        if kind.value == AuthType::Ah && !owner {
            // keepalived: "Initial state master is incompatible with AH
            // authentication - clearing".
            diagnostics.push(
                Diagnostic::warning(
                    "ah-master",
                    format!("vrrp_instance '{name}' uses AH authentication, which keepalived does not allow with state MASTER; it starts as BACKUP"),
                )
                .at(kind.at)
                .with_help("use 'state BACKUP', or PASS authentication"),
            );
        }
    }
    if let Some(kind) = auth_type.filter(|kind| kind.value == AuthType::Ah) {
        // keepalived 2.2.7: "Cannot use AH authentication with IPv6.
        // ignoring" and "VRRP version 3 does not support authentication.
        // Ignoring."; the adverts then go without any.
        let why = if vi.is_ipv6() {
            Some("AH is IPv4 only")
        } else if vi.effective_version(global_version) == 3 {
            Some("VRRPv3 has no authentication")
        } else {
            None
        };
        if let Some(why) = why {
            diagnostics.push(
                Diagnostic::warning(
                    "ah-ignored",
                    format!("vrrp_instance '{name}' sends its adverts without AH authentication: {why}, so keepalived ignores auth_type AH"),
                )
                .at(kind.at)
                .with_help("remove the authentication block, or use VRRPv2 over IPv4"),
            );
        }
    }
    if !strict {
        return;
    }
    if let Some(auth) = &vi.authentication {
        let at = auth.auth_type.map_or(vi.name.at, |t| t.at);
        diagnostics.push(
            Diagnostic::warning(
                "strict-authentication",
                format!(
                    "vrrp_strict does not allow authentication; keepalived ignores it in '{name}'"
                ),
            )
            .at(at),
        );
    }
    // RFC 3768 §6.4.1 / RFC 5798 §6.4.1: only the address owner starts as
    // Master.
    let priority = vi.priority.map_or(100, |p| p.value);
    if let (Some(written), Some(InitialState::Master)) = (vi.state, state) {
        if priority != 255 {
            diagnostics.push(
                Diagnostic::warning(
                    "strict-master-not-owner",
                    format!("vrrp_strict: state MASTER is for the address owner (priority 255) only; keepalived starts '{name}' as BACKUP"),
                )
                .at(written.at)
                .with_help("use 'state BACKUP', or priority 255 for the address owner"),
            );
        }
    }
    // RFC 3768 has no accept mode; keepalived turns it off for VRRPv2.
    if let Some(accept) = vi.accept {
        if accept.value && vi.effective_version(global_version) == 2 {
            diagnostics.push(
                Diagnostic::warning(
                    "strict-accept-v2",
                    format!("vrrp_strict: accept mode does not comply with RFC 3768 (VRRPv2); keepalived turns it off in '{name}'"),
                )
                .at(accept.at)
                .with_help("remove 'accept', or use 'version 3'"),
            );
        }
    }
}

fn unique_names<'c>(
    names: impl Iterator<Item = &'c Text>,
    kind: &str,
    diagnostics: &mut Diagnostics,
) -> HashMap<&'c str, &'c Text> {
    let mut seen: HashMap<&str, &Text> = HashMap::new();
    for name in names {
        if let Some(first) = seen.get(name.value.as_str()) {
            let line = first.at.line;
            push_at(
                diagnostics,
                name,
                "duplicate-name",
                format!("{kind} '{}' is already defined (line {line})", name.value),
                Some("rename one of them; keepalived keeps the first".into()),
            );
        } else {
            seen.insert(name.value.as_str(), name);
        }
    }
    seen
}

fn references(
    items: &[Tracked],
    defined: &HashMap<&str, &Text>,
    kind: &str,
    diagnostics: &mut Diagnostics,
) {
    for item in items {
        if !defined.contains_key(item.name.value.as_str()) {
            // keepalived: "track script X not found, ignoring...".
            push_at(
                diagnostics,
                &item.name,
                "undefined-reference",
                format!("{kind} '{}' is not defined", item.name.value),
                Some(format!(
                    "define '{kind} {} {{ … }}' or remove this line",
                    item.name.value
                )),
            );
        }
    }
}

fn push_at(
    diagnostics: &mut Diagnostics,
    at: &Text,
    code: &'static str,
    message: String,
    help: Option<String>,
) {
    let severity_error = matches!(
        code,
        "duplicate-name" | "vrid-missing" | "interface-missing"
    );
    let mut diagnostic = if severity_error {
        Diagnostic::error(code, message)
    } else {
        Diagnostic::warning(code, message)
    };
    diagnostic = diagnostic.spanning(at.at, at.value.chars().count());
    if let Some(help) = help {
        diagnostic = diagnostic.with_help(help);
    }
    diagnostics.push(diagnostic);
}

#[cfg(test)]
mod tests;
