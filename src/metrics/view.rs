//! What a scrape exports, in one shape whatever the source: the rows of
//! health, checkers and VRRP taken from an lvstop engine's snapshot, or
//! from keepalived's own dumps when the observer watches a keepalived
//! director. The IPVS table is read as is from `Snapshot::table`.
//!
//! Label values are built here once per scrape, so every family of one
//! service or real server carries the very same strings, and they only
//! take bounded values: keepalived's name of a virtual service, a real
//! server's `address:port`, an instance name, a checker type.
//!
//! Pure conversion: no I/O.

use std::net::IpAddr;

use crate::engine::overrides::Target;
use crate::engine::snapshot::Snapshot;
use crate::ipvs::model::{DestKey, ServiceKey};
use crate::observe::keepalived::types::{
    KeepalivedInstance, KeepalivedService, KeepalivedVirtualServer, KeepalivedVrrpState,
};
use crate::observe::wire::WireAlarm;
use crate::vrrp::driver::InstanceStatus;

/// The states of a VRRP instance, in the order the state-set lists them.
pub const VRRP_STATES: [&str; 4] = ["INIT", "BACKUP", "MASTER", "FAULT"];

/// keepalived's name of a virtual service (`[192.0.2.1]:tcp:80`,
/// `FWM 7`): the `service` label, as keepalived's logs and the checks
/// name it.
pub fn service_label(key: ServiceKey) -> String {
    match key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => format!("[{addr}]:{}:{port}", protocol.as_str().to_lowercase()),
        ServiceKey::Fwmark { mark, family } => match family {
            crate::ipvs::model::Family::Inet => format!("FWM {mark}"),
            crate::ipvs::model::Family::Inet6 => format!("FWM {mark} IPv6"),
        },
    }
}

/// A real server's `address:port` (`[2001:db8::1]:80` for IPv6): the
/// `real_server` label.
pub fn real_server_label(key: DestKey) -> String {
    key.to_string()
}

/// One virtual service's health (quorum) as the checks see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceHealth {
    pub service: String,
    pub quorum_up: bool,
    /// Sum of the live real servers' weights, when known.
    pub live_weight: Option<u64>,
    pub sorry_server_active: Option<bool>,
}

/// One real server as the checks see it.
#[derive(Debug, Clone, PartialEq)]
pub struct RealServerHealth {
    pub service: String,
    pub real_server: String,
    pub up: bool,
    /// The configured weight (or the one MISC_CHECK's `misc_dynamic` set).
    pub configured_weight: Option<i64>,
    pub checkers: Vec<CheckerRow>,
}

/// One checker of one real server.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckerRow {
    /// `TCP_CHECK`, `HTTP_GET`, …
    pub kind: String,
    pub up: bool,
    pub consecutive_failures: Option<u32>,
    pub latency_seconds: Option<f64>,
    pub flaps: Option<u64>,
}

/// One VRRP instance.
#[derive(Debug, Clone, PartialEq)]
pub struct VrrpRow {
    pub instance: String,
    /// One of [`VRRP_STATES`], or `None` when the source does not know it.
    pub state: Option<&'static str>,
    pub base_priority: Option<u8>,
    pub effective_priority: Option<u8>,
    pub adverts_sent: Option<u64>,
    pub adverts_received: Option<u64>,
    pub became_master: Option<u64>,
    pub released_master: Option<u64>,
    pub master_address: Option<IpAddr>,
}

/// A virtual router several speakers advertise as master for at once,
/// as the passive advert listener sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitBrain {
    pub interface: String,
    pub vrid: u8,
    pub instance: String,
    /// How many speakers advertise as master right now.
    pub masters: usize,
}

/// An operator's override on a real server or service.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideRow {
    pub service: String,
    /// Empty for an override of a whole service.
    pub real_server: String,
    /// `weight` or `disabled`.
    pub kind: &'static str,
}

/// Everything a scrape exports besides the IPVS table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    pub services: Vec<ServiceHealth>,
    pub real_servers: Vec<RealServerHealth>,
    pub vrrp: Vec<VrrpRow>,
    /// Present only where the advert listener runs (the observer).
    pub split_brain: Option<Vec<SplitBrain>>,
    pub overrides: Vec<OverrideRow>,
    /// Whether keepalived was found (observer only).
    pub keepalived_up: Option<bool>,
}

impl View {
    /// The rows of `snapshot`, from the engine's own state or, when the
    /// snapshot was observed, from keepalived's dumps and the wire.
    pub fn of(snapshot: &Snapshot) -> View {
        let mut view = View::default();
        engine_health(snapshot, &mut view);
        view.vrrp
            .extend(snapshot.vrrp.instances.iter().map(engine_instance));
        view.overrides = snapshot
            .overrides
            .iter()
            .flat_map(|o| {
                let (service, real_server) = match o.target {
                    Target::Service(service) => (service_label(service), String::new()),
                    Target::RealServer(service, server) => {
                        (service_label(service), real_server_label(server))
                    }
                };
                let weight = o.weight.as_ref().map(|_| "weight");
                let disabled = (!o.disabled.is_empty()).then_some("disabled");
                weight
                    .into_iter()
                    .chain(disabled)
                    .map(move |kind| OverrideRow {
                        service: service.clone(),
                        real_server: real_server.clone(),
                        kind,
                    })
            })
            .collect();
        if let Some(observed) = &snapshot.observed {
            view.keepalived_up = Some(observed.keepalived_pid.is_some());
            if let Some(keepalived) = &observed.keepalived {
                view.vrrp
                    .extend(keepalived.instances.iter().map(keepalived_instance));
                for vs in &keepalived.virtual_servers {
                    keepalived_health(vs, &mut view);
                }
            }
            view.split_brain = observed.wire.as_ref().map(|wire| {
                wire.alarms
                    .iter()
                    .filter_map(|alarm| match alarm {
                        WireAlarm::TwoMasters {
                            router,
                            instance,
                            masters,
                        } => Some(SplitBrain {
                            interface: router.interface.clone(),
                            vrid: router.vrid,
                            instance: instance.clone().unwrap_or_default(),
                            masters: masters.len(),
                        }),
                        _ => None,
                    })
                    .collect()
            });
        }
        view
    }
}

fn engine_health(snapshot: &Snapshot, view: &mut View) {
    for vs in &snapshot.checks.snapshot.virtual_servers {
        view.services.push(ServiceHealth {
            service: vs.name.clone(),
            quorum_up: vs.quorum_up,
            live_weight: Some(vs.weight_sum),
            sorry_server_active: Some(vs.sorry_server_active),
        });
        for rs in &vs.real_servers {
            view.real_servers.push(RealServerHealth {
                service: vs.name.clone(),
                real_server: rs.address.clone(),
                up: rs.up,
                configured_weight: Some(i64::from(rs.weight)),
                checkers: rs
                    .checkers
                    .iter()
                    .map(|c| CheckerRow {
                        kind: c.kind.to_string(),
                        up: c.up,
                        consecutive_failures: Some(c.consecutive_failures),
                        latency_seconds: c.latency.map(|d| d.as_secs_f64()),
                        flaps: Some(c.flaps),
                    })
                    .collect(),
            });
        }
    }
}

fn engine_instance(i: &InstanceStatus) -> VrrpRow {
    VrrpRow {
        instance: i.name.clone(),
        state: Some(i.state.keyword()),
        base_priority: Some(i.base_priority),
        effective_priority: Some(i.effective_priority),
        adverts_sent: i.stats.get("advert_sent").copied(),
        adverts_received: i.stats.get("advert_rcvd").copied(),
        became_master: i.stats.get("became_master").copied(),
        released_master: i.stats.get("release_master").copied(),
        master_address: i.master_address,
    }
}

fn keepalived_instance(i: &KeepalivedInstance) -> VrrpRow {
    let state = i.state.and_then(|s| match s {
        KeepalivedVrrpState::Init => Some(VRRP_STATES[0]),
        KeepalivedVrrpState::Backup => Some(VRRP_STATES[1]),
        KeepalivedVrrpState::Master => Some(VRRP_STATES[2]),
        KeepalivedVrrpState::Fault => Some(VRRP_STATES[3]),
        KeepalivedVrrpState::Other(_) => None,
    });
    VrrpRow {
        instance: i.name.clone(),
        state,
        base_priority: i.base_priority,
        effective_priority: i.effective_priority,
        adverts_sent: i.stats.adverts_sent,
        adverts_received: i.stats.adverts_received,
        became_master: i.stats.became_master,
        released_master: i.stats.released_master,
        master_address: i.master_address,
    }
}

/// keepalived's name of one of its virtual servers, as [`service_label`]
/// names the table's.
fn keepalived_service_label(vs: &KeepalivedVirtualServer) -> String {
    match &vs.service {
        KeepalivedService::Address { address, port } => {
            let protocol = vs.protocol.as_deref().unwrap_or("tcp").to_lowercase();
            format!("[{address}]:{protocol}:{port}")
        }
        KeepalivedService::Fwmark(mark) => format!("FWM {mark}"),
        KeepalivedService::Group(name) => format!("[{name}]:0"),
    }
}

fn keepalived_health(vs: &KeepalivedVirtualServer, view: &mut View) {
    let service = keepalived_service_label(vs);
    if let Some(quorum_up) = vs.quorum_up {
        view.services.push(ServiceHealth {
            service: service.clone(),
            quorum_up,
            live_weight: None,
            sorry_server_active: None,
        });
    }
    for rs in &vs.real_servers {
        let Some(up) = rs.alive else { continue };
        view.real_servers.push(RealServerHealth {
            service: service.clone(),
            real_server: std::net::SocketAddr::new(rs.address, rs.port).to_string(),
            up,
            configured_weight: rs.weight,
            checkers: rs
                .checkers
                .iter()
                .filter_map(|c| {
                    Some(CheckerRow {
                        kind: c.kind.clone()?,
                        up: c.up?,
                        consecutive_failures: None,
                        latency_seconds: None,
                        flaps: None,
                    })
                })
                .collect(),
        });
    }
}
