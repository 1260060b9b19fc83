//! The runner's fixed plan, built once from the configuration: every
//! virtual server, real server and checker with keepalived's inheritance
//! and defaults applied, names in keepalived's form, and the IPVS services
//! each virtual server programs. Never changes after construction; the
//! changing state lives beside it in `state`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use crate::config::model::lvs::{
    CheckerKind, EffectiveTiming, LvsConfig, RealServer, ServiceAddress, VirtualServer,
};
use crate::config::model::{Config, Script};
use crate::health::target::{probe_timeout, ProbeTarget};
use crate::ipvs::desired::{self, DesiredError, DesiredService};
use crate::ipvs::model::{DestConfig, DestKey, Forward, ServiceKey, TunnelConfig};

use super::actions::{CheckerId, ScriptCall};
use super::texts;

pub(crate) struct Plan {
    pub router_id: String,
    pub virtual_servers: Vec<VsPlan>,
    pub real_servers: Vec<RsPlan>,
    pub checkers: Vec<CheckerPlan>,
    pub targets: Vec<ProbeTarget>,
}

pub(crate) struct VsPlan {
    pub name: String,
    pub quorum: u32,
    pub hysteresis: u32,
    pub omega: bool,
    pub smtp_alert: bool,
    pub quorum_up: Option<ScriptCall>,
    pub quorum_down: Option<ScriptCall>,
    pub sorry: Option<SorryPlan>,
    /// The IPVS services this virtual server programs, each with its
    /// configured destinations in real-server order.
    pub services: Vec<DesiredService>,
    pub real_servers: Range<usize>,
}

pub(crate) struct SorryPlan {
    pub name: String,
    pub inhibit: bool,
    /// The sorry server's destination in each of `services`.
    pub dests: Vec<DestConfig>,
}

pub(crate) struct RsPlan {
    pub vs: usize,
    pub name: String,
    pub address: SocketAddr,
    pub weight: u32,
    pub inhibit: bool,
    pub smtp_alert: bool,
    pub notify_up: Option<ScriptCall>,
    pub notify_down: Option<ScriptCall>,
    pub checkers: Vec<CheckerId>,
}

pub(crate) struct CheckerPlan {
    pub rs: usize,
    pub kind: CheckerKind,
    pub timing: EffectiveTiming,
    pub timeout: Duration,
    pub log_all_failures: bool,
    /// MISC_CHECK's script (its first word), for log lines.
    pub script: String,
    /// MISC_CHECK's next run counts from the start of the previous one;
    /// the other checkers count from its end (keepalived 2.2).
    pub anchor_at_start: bool,
}

/// Why a configuration cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckPlanError {
    #[error(transparent)]
    Desired(#[from] DesiredError),
    #[error("more than {} checkers", u32::MAX)]
    TooManyCheckers,
}

impl Plan {
    pub fn build(config: &Config, hostname: &str) -> Result<Self, CheckPlanError> {
        let global = &config.global;
        let global_alert = global
            .smtp_alert_checker
            .or(global.smtp_alert)
            .map(|b| b.value);
        let log_all = has_keyword(config, "checker_log_all_failures");
        // Sized up front: tens of thousands of entries would otherwise be
        // copied (and their pages faulted in) at every doubling.
        let real_servers: usize = config
            .lvs
            .virtual_servers
            .iter()
            .map(|vs| vs.real_servers.len())
            .sum();
        let checkers = config.checker_count();
        let mut plan = Plan {
            router_id: global
                .router_id
                .as_ref()
                .map_or_else(|| hostname.to_owned(), |r| r.value.clone()),
            virtual_servers: Vec::with_capacity(config.lvs.virtual_servers.len()),
            real_servers: Vec::with_capacity(real_servers),
            checkers: Vec::with_capacity(checkers),
            targets: Vec::with_capacity(checkers),
        };
        let mut seen = HashSet::new();
        for vs in &config.lvs.virtual_servers {
            let mut services = services_of(&config.lvs, vs)?;
            // A later virtual server with the same service key is dropped
            // by keepalived; keep the first, as `ipvs::desired` does.
            services.retain(|s| seen.insert(s.config.key));
            let vs_name = texts::virtual_server_name(vs);
            let first_rs = plan.real_servers.len();
            for (index, rs) in vs.real_servers.iter().enumerate() {
                let rs_addr = SocketAddr::new(rs.endpoint.value.ip, rs.effective_port(vs));
                let mut checkers = Vec::new();
                let rs_channel = format!("{} of {vs_name}", texts::real_server_name(vs, rs_addr));
                for checker in &rs.checkers {
                    let id = u32::try_from(plan.checkers.len())
                        .map_err(|_| CheckPlanError::TooManyCheckers)?;
                    checkers.push(CheckerId(id));
                    plan.checkers.push(CheckerPlan {
                        rs: first_rs + index,
                        kind: checker.kind.value.clone(),
                        timing: checker.effective_timing(rs, vs),
                        timeout: probe_timeout(checker, rs, vs),
                        log_all_failures: log_all
                            || checker.log_all_failures.is_some_and(|b| b.value),
                        script: match &checker.kind.value {
                            CheckerKind::Misc(misc) => misc
                                .path
                                .as_ref()
                                .and_then(|s| s.argv.first().cloned())
                                .unwrap_or_default(),
                            _ => String::new(),
                        },
                        anchor_at_start: matches!(checker.kind.value, CheckerKind::Misc(_)),
                    });
                    plan.targets.push(ProbeTarget::from_config(checker, rs, vs));
                }
                plan.real_servers.push(RsPlan {
                    vs: plan.virtual_servers.len(),
                    name: texts::real_server_name(vs, rs_addr),
                    address: rs_addr,
                    weight: rs.effective_weight(),
                    inhibit: rs.effective_inhibit_on_failure(vs),
                    smtp_alert: rs.effective_smtp_alert(vs, global_alert),
                    notify_up: script_call(rs.notify_up.as_ref(), "notify_up", &rs_channel),
                    notify_down: script_call(rs.notify_down.as_ref(), "notify_down", &rs_channel),
                    checkers,
                });
            }
            let total_weight: u32 = vs
                .real_servers
                .iter()
                .map(RealServer::effective_weight)
                .fold(0, u32::saturating_add);
            // keepalived: "quorum exceeds total weight of real servers,
            // reducing quorum"; hysteresis must stay below the quorum.
            let quorum = vs.effective_quorum().min(total_weight);
            let hysteresis = match vs.effective_hysteresis() {
                h if h >= quorum => 0,
                h => h,
            };
            plan.virtual_servers.push(VsPlan {
                sorry: sorry_plan(vs, &services),
                quorum,
                hysteresis,
                omega: vs.omega.is_some_and(|b| b.value),
                smtp_alert: vs
                    .smtp_alert
                    .map(|b| b.value)
                    .or(global_alert)
                    .unwrap_or(false),
                quorum_up: script_call(vs.quorum_up.as_ref(), "quorum_up", &vs_name),
                quorum_down: script_call(vs.quorum_down.as_ref(), "quorum_down", &vs_name),
                name: vs_name,
                services,
                real_servers: first_rs..plan.real_servers.len(),
            });
        }
        Ok(plan)
    }
}

/// The services of one virtual server, through the same code that builds
/// the configured table (so group expansion and ports agree).
fn services_of(lvs: &LvsConfig, vs: &VirtualServer) -> Result<Vec<DesiredService>, DesiredError> {
    let single = LvsConfig {
        groups: lvs.groups.clone(),
        virtual_servers: vec![vs.clone()],
        ssl: None,
    };
    desired::from_config(&single)
}

fn sorry_plan(vs: &VirtualServer, services: &[DesiredService]) -> Option<SorryPlan> {
    let sorry = vs.sorry_server.as_ref()?.value;
    let method = vs
        .sorry_server_method
        .map_or_else(|| vs.effective_method(), |m| m.value);
    let fwmark = matches!(vs.service.value, ServiceAddress::Fwmark(_));
    let dests = services
        .iter()
        .map(|service| {
            let service_port = match service.config.key {
                ServiceKey::Inet { port, .. } => port,
                ServiceKey::Fwmark { .. } => 0,
            };
            // keepalived clears the port for fwmark services and forces
            // the service's port under DR and TUN.
            let port = if fwmark || matches!(service.config.key, ServiceKey::Fwmark { .. }) {
                0
            } else if method.keeps_port() {
                service_port
            } else {
                sorry.port.unwrap_or(service_port)
            };
            let forward = match method {
                crate::config::model::lvs::ForwardMethod::Nat => Forward::Masq,
                crate::config::model::lvs::ForwardMethod::Dr => Forward::Route,
                crate::config::model::lvs::ForwardMethod::Tun(_) => Forward::Tunnel,
            };
            DestConfig {
                key: DestKey {
                    addr: sorry.ip,
                    port,
                },
                forward,
                weight: 1,
                upper_threshold: 0,
                lower_threshold: 0,
                tunnel: TunnelConfig::default(),
            }
        })
        .collect::<Vec<_>>();
    let name = dests.first().map_or_else(
        || texts::trio(sorry.ip, vs.effective_protocol(), sorry.port.unwrap_or(0)),
        |d| texts::real_server_name(vs, d.key.socket_addr()),
    );
    Some(SorryPlan {
        name,
        inhibit: vs.sorry_server_inhibit.is_some_and(|b| b.value),
        dests,
    })
}

fn script_call(script: Option<&Script>, hook: &'static str, channel: &str) -> Option<ScriptCall> {
    script.map(|s| ScriptCall {
        argv: s.argv.clone(),
        user: s.user.clone(),
        group: s.group.clone(),
        hook,
        channel: channel.to_owned(),
    })
}

/// Whether `global_defs` holds a keyword lvstop keeps but does not model
/// (`checker_log_all_failures`, `no_checker_emails`).
pub(crate) fn has_keyword(config: &Config, keyword: &str) -> bool {
    config
        .global
        .other
        .iter()
        .any(|setting| setting.keyword.value == keyword)
}
