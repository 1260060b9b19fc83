//! The families of what the director decides: health of virtual services,
//! real servers and checkers, operator overrides, VRRP instances, the
//! advert listener's split-brain alarm, and the engine itself.
//!
//! The VRRP state is an OpenMetrics state-set (§ StateSet): one sample per
//! possible state, exactly one of them 1. prometheus-client has no
//! state-set type, so it is written as gauges of that very shape,
//! `lvstop_vrrp_state{instance="VI_1",state="MASTER"} 1`, which is also
//! how a state-set reads once Prometheus has ingested it.
//! <https://github.com/OpenObservability/OpenMetrics/blob/main/specification/OpenMetrics.md#stateset>

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use super::counters::EngineTotals;
use super::render::Format;
use super::view::{View, VRRP_STATES};
use super::write::{counters, flag, gauges, info};
use crate::engine::snapshot::DirectorInfo;

/// The label set of a family with a single series.
const NO_LABELS: [(&str, &str); 0] = [];

/// Health families; checker and real-server series only with
/// `per_real_server`.
pub fn encode_health(e: &mut DescriptorEncoder, view: &View, per_real_server: bool) -> fmt::Result {
    let services = || {
        view.services
            .iter()
            .map(|s| [("service", s.service.as_str())])
    };
    gauges(
        e,
        "service_quorum_up",
        "1 while the virtual service has quorum (the live real servers' weights reach its quorum).",
        None,
        services()
            .zip(&view.services)
            .map(|(l, s)| (l, flag(s.quorum_up))),
    )?;
    gauges(
        e,
        "service_live_weight",
        "Sum of the weights of the virtual service's live real servers (compared with its quorum).",
        None,
        services()
            .zip(&view.services)
            .filter_map(|(l, s)| Some((l, s.live_weight?))),
    )?;
    gauges(
        e,
        "service_sorry_server_active",
        "1 while the sorry server stands in for the virtual service's real servers.",
        None,
        services()
            .zip(&view.services)
            .filter_map(|(l, s)| Some((l, flag(s.sorry_server_active?)))),
    )?;
    if !per_real_server {
        return Ok(());
    }
    let servers = || {
        view.real_servers.iter().map(|r| {
            (
                r,
                [
                    ("service", r.service.as_str()),
                    ("real_server", r.real_server.as_str()),
                ],
            )
        })
    };
    gauges(
        e,
        "real_server_up",
        "1 while every checker of the real server says up (0: the checks took it out, or inhibited it).",
        None,
        servers().map(|(r, l)| (l, flag(r.up))),
    )?;
    gauges(
        e,
        "real_server_configured_weight",
        "The real server's weight as configured (or as MISC_CHECK misc_dynamic set it).",
        None,
        servers().filter_map(|(r, l)| Some((l, r.configured_weight?))),
    )?;
    gauges(
        e,
        "real_server_operator_override",
        "1 for each operator override in force on a real server or service: kind weight (set, drain, ramp) or disabled.",
        None,
        view.overrides.iter().map(|o| {
            (
                [
                    ("service", o.service.as_str()),
                    ("real_server", o.real_server.as_str()),
                    ("kind", o.kind),
                ],
                1i64,
            )
        }),
    )?;
    let checkers = || {
        servers().flat_map(|(r, [service, server])| {
            r.checkers
                .iter()
                .map(move |c| (c, [service, server, ("checker", c.kind.as_str())]))
        })
    };
    gauges(
        e,
        "checker_up",
        "1 while the checker's last verdict on the real server is up.",
        None,
        checkers().map(|(c, l)| (l, flag(c.up))),
    )?;
    gauges(
        e,
        "checker_consecutive_failures",
        "Failed attempts of the checker in a row (0 after a success).",
        None,
        checkers().filter_map(|(c, l)| Some((l, c.consecutive_failures?))),
    )?;
    gauges(
        e,
        "checker_latency",
        "How long the checker's last attempt took.",
        Some(&Unit::Seconds),
        checkers().filter_map(|(c, l)| Some((l, c.latency_seconds?))),
    )?;
    counters(
        e,
        "checker_flaps",
        "Changes of the checker's verdict (up to down or back) since the director started.",
        None,
        checkers().filter_map(|(c, l)| Some((l, c.flaps?))),
    )
}

/// VRRP families.
pub fn encode_vrrp(e: &mut DescriptorEncoder, view: &View, format: Format) -> fmt::Result {
    let instances = || {
        view.vrrp
            .iter()
            .map(|v| (v, [("vrrp_instance", v.instance.as_str())]))
    };
    gauges(
        e,
        "vrrp_state",
        "State-set of the VRRP instance: 1 for the state it is in (INIT, BACKUP, MASTER, FAULT), 0 for the others.",
        None,
        instances().flat_map(|(v, [instance])| {
            VRRP_STATES.iter().filter(|_| v.state.is_some()).map(move |&state| {
                ([instance, ("state", state)], flag(v.state == Some(state)))
            })
        }),
    )?;
    gauges(
        e,
        "vrrp_base_priority",
        "The instance's configured priority (or the operator's in its place).",
        None,
        instances().filter_map(|(v, l)| Some((l, u32::from(v.base_priority?)))),
    )?;
    gauges(
        e,
        "vrrp_effective_priority",
        "The instance's priority after tracked interfaces, scripts and files.",
        None,
        instances().filter_map(|(v, l)| Some((l, u32::from(v.effective_priority?)))),
    )?;
    counters(
        e,
        "vrrp_adverts_sent",
        "VRRP advertisements the instance has sent.",
        None,
        instances().filter_map(|(v, l)| Some((l, v.adverts_sent?))),
    )?;
    counters(
        e,
        "vrrp_adverts_received",
        "VRRP advertisements the instance has received.",
        None,
        instances().filter_map(|(v, l)| Some((l, v.adverts_received?))),
    )?;
    counters(
        e,
        "vrrp_transitions",
        "The instance's transitions into MASTER (to=master) and out of it (to=other).",
        None,
        instances().flat_map(|(v, [instance])| {
            [
                v.became_master.map(|n| ([instance, ("to", "master")], n)),
                v.released_master.map(|n| ([instance, ("to", "other")], n)),
            ]
            .into_iter()
            .flatten()
        }),
    )?;
    let masters: Vec<(&str, String)> = view
        .vrrp
        .iter()
        .filter_map(|v| Some((v.instance.as_str(), v.master_address?.to_string())))
        .collect();
    info(
        e,
        format,
        "vrrp_master",
        "The master the instance last heard (or itself while MASTER), by address.",
        masters.iter().map(|(instance, address)| {
            [("vrrp_instance", *instance), ("address", address.as_str())]
        }),
    )?;
    let Some(alarms) = &view.split_brain else {
        return Ok(());
    };
    let vrids: Vec<String> = alarms.iter().map(|a| a.vrid.to_string()).collect();
    gauges(
        e,
        "vrrp_split_brain",
        "Speakers advertising as MASTER at once for one virtual router, as the passive advert listener sees it (present only while 2 or more).",
        None,
        alarms.iter().zip(&vrids).map(|(a, vrid)| {
            (
                [
                    ("interface", a.interface.as_str()),
                    ("vrid", vrid.as_str()),
                    ("vrrp_instance", a.instance.as_str()),
                ],
                a.masters as u64,
            )
        }),
    )?;
    gauges(
        e,
        "vrrp_split_brain_alarms",
        "Virtual routers with two or more masters on the wire right now (0 when all is well); alert on > 0.",
        None,
        [([("source", "wire")], alarms.len() as u64)],
    )
}

/// The engine's own families and the build info.
pub fn encode_engine(
    e: &mut DescriptorEncoder,
    director: &DirectorInfo,
    totals: Option<EngineTotals>,
    keepalived_up: Option<bool>,
    format: Format,
) -> fmt::Result {
    info(
        e,
        format,
        "build",
        "lvstop's version and the dataplane it reads or programs.",
        [[
            ("version", env!("CARGO_PKG_VERSION")),
            ("dataplane", director.dataplane.as_str()),
        ]],
    )?;
    gauges(
        e,
        "start_time",
        "When the director (or the exporter) started, Unix time.",
        Some(&Unit::Seconds),
        [(NO_LABELS, director.started_unix_ms as f64 / 1000.0)],
    )?;
    if let Some(up) = keepalived_up {
        gauges(
            e,
            "keepalived_up",
            "1 while the exporter finds a running keepalived on this host.",
            None,
            [(NO_LABELS, flag(up))],
        )?;
    }
    let Some(totals) = totals else {
        return Ok(());
    };
    counters(
        e,
        "config_applies",
        "Configuration applies and reloads, by result (ok or refused).",
        None,
        [
            ([("result", "ok")], totals.applies_ok),
            ([("result", "refused")], totals.applies_refused),
        ],
    )?;
    counters(
        e,
        "drift_detected",
        "Changes found in the dataplane that lvstop did not make (someone ran ipvsadm).",
        None,
        [(NO_LABELS, totals.drift)],
    )?;
    counters(
        e,
        "dataplane_refusals",
        "Operations the dataplane refused (the previous table was put back).",
        None,
        [(NO_LABELS, totals.dataplane_refusals)],
    )
}
