#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The plan an operator reads before an apply: one line per change, in
//! ipvsadm's words for IPVS, and the live check state respected (a real
//! server that is down stays out).

use std::collections::HashSet;
use std::path::Path;

use lvstop::config::model::Config;
use lvstop::engine::plan::{
    load_candidate, load_candidate_reusing, ApplyPlan, CheckChangeKind, PlanError, Running,
    RunningText, VrrpChangeKind,
};
use lvstop::ipvs::desired::{self, DesiredService};
use lvstop::ipvs::model::{Dest, Info, Origin, Service, ServiceKey, Table};
use lvstop::vrrp::driver::units::UnitKey;

struct Knobs {
    router_id: &'static str,
    priority: u8,
    weight_82: u32,
    weight_83: u32,
    check_82: &'static str,
    extra_rs: &'static str,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            router_id: "LVS_DEVEL",
            priority: 100,
            weight_82: 1,
            weight_83: 1,
            check_82: "TCP_CHECK {\n            connect_timeout 3\n        }",
            extra_rs: "",
        }
    }
}

fn text(k: &Knobs) -> String {
    format!(
        "global_defs {{\n    router_id {}\n}}\n\
         vrrp_sync_group G {{\n    group {{\n        VI_2\n        VI_3\n    }}\n}}\n\
         vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority {}\n    virtual_ipaddress {{\n        198.51.100.88\n    }}\n}}\n\
         vrrp_instance VI_2 {{\n    interface eth0\n    virtual_router_id 52\n    virtual_ipaddress {{\n        198.51.100.89\n    }}\n}}\n\
         vrrp_instance VI_3 {{\n    interface eth0\n    virtual_router_id 53\n    virtual_ipaddress {{\n        198.51.100.90\n    }}\n}}\n\
         virtual_server 198.51.100.88 80 {{\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n\
             real_server 198.51.100.82 80 {{\n        weight {}\n        {}\n    }}\n\
             real_server 198.51.100.83 80 {{\n        weight {}\n        TCP_CHECK {{\n            connect_timeout 3\n        }}\n    }}\n{}}}\n",
        k.router_id, k.priority, k.weight_82, k.check_82, k.weight_83, k.extra_rs
    )
}

fn config(k: &Knobs) -> Config {
    load_candidate(Path::new("keepalived.conf"), &text(k)).unwrap()
}

/// The director running `Knobs::default()` with `down` out of the table
/// (its TCP_CHECK failed), the dataplane holding exactly that.
struct Director {
    config: Config,
    wanted: Vec<DesiredService>,
    live: Table,
    owned: HashSet<ServiceKey>,
}

fn director(down: &[&str]) -> Director {
    let config = config(&Knobs::default());
    let mut wanted = desired::from_config(&config.lvs).unwrap();
    for service in &mut wanted {
        service
            .dests
            .retain(|d| !down.contains(&d.key.to_string().as_str()));
    }
    let live = Table {
        origin: Origin::Userspace,
        info: Info::KERNEL_DEFAULT,
        services: wanted
            .iter()
            .map(|s| {
                let mut service = Service::new(s.config.clone());
                service.dests = s.dests.iter().map(|d| Dest::new(*d)).collect();
                service
            })
            .collect(),
    };
    let owned = wanted.iter().map(|s| s.config.key).collect();
    Director {
        config,
        wanted,
        live,
        owned,
    }
}

fn plan(d: &Director, candidate: &Knobs) -> ApplyPlan {
    let running = Running {
        config: &d.config,
        wanted: &d.wanted,
        live: &d.live,
        owned: &d.owned,
    };
    ApplyPlan::between(running, &config(candidate)).unwrap()
}

#[test]
fn the_same_file_plans_nothing() {
    let d = director(&[]);
    let p = plan(&d, &Knobs::default());
    assert!(p.is_empty(), "{:?}", p.lines());
    assert!(p.lines().is_empty());
    assert_eq!(p.checks_kept, 2);
    assert!(p.vrrp.iter().all(|v| v.action == VrrpChangeKind::Keep));
}

#[test]
fn one_weight_is_one_ipvsadm_edit_and_every_check_keeps_its_state() {
    let d = director(&[]);
    let p = plan(
        &d,
        &Knobs {
            weight_82: 3,
            ..Knobs::default()
        },
    );
    assert_eq!(
        p.lines(),
        ["-e -t 198.51.100.88:80 -r 198.51.100.82:80 -g -w 3"]
    );
    assert_eq!(p.checks_kept, 2);
    assert!(p.checks.is_empty());
}

#[test]
fn a_real_server_that_is_down_stays_out_whatever_its_new_weight() {
    let d = director(&["198.51.100.83:80"]);
    let p = plan(
        &d,
        &Knobs {
            weight_82: 2,
            weight_83: 5,
            ..Knobs::default()
        },
    );
    assert_eq!(
        p.lines(),
        ["-e -t 198.51.100.88:80 -r 198.51.100.82:80 -g -w 2"],
        "the down server must not be added back by an apply"
    );
    let dests: Vec<String> = p.wanted[0]
        .dests
        .iter()
        .map(|d| d.key.to_string())
        .collect();
    assert_eq!(dests, ["198.51.100.82:80"]);
}

#[test]
fn a_new_checker_restarts_that_real_server_only() {
    let d = director(&["198.51.100.82:80"]);
    let p = plan(
        &d,
        &Knobs {
            check_82: "HTTP_GET {\n            url {\n                path /\n                status_code 200\n            }\n        }",
            extra_rs: "    real_server 198.51.100.84 80 {\n        TCP_CHECK {\n        }\n    }\n",
            ..Knobs::default()
        },
    );
    assert_eq!(
        p.lines(),
        [
            "-a -t 198.51.100.88:80 -r 198.51.100.82:80 -g -w 1",
            "-a -t 198.51.100.88:80 -r 198.51.100.84:80 -g -w 1",
            "check 198.51.100.82:80 in [198.51.100.88]:tcp:80: HTTP_GET added",
            "check 198.51.100.82:80 in [198.51.100.88]:tcp:80: TCP_CHECK removed",
            "check 198.51.100.84:80 in [198.51.100.88]:tcp:80: TCP_CHECK added",
        ]
    );
    let actions: Vec<CheckChangeKind> = p.checks.iter().map(|c| c.action).collect();
    assert_eq!(actions, [CheckChangeKind::Changed, CheckChangeKind::Added]);
    assert_eq!(p.checks_kept, 1, ".83 keeps its state");
}

#[test]
fn a_checker_option_change_names_the_option() {
    let d = director(&[]);
    let p = plan(
        &d,
        &Knobs {
            check_82: "TCP_CHECK {\n            connect_timeout 5\n        }",
            ..Knobs::default()
        },
    );
    assert_eq!(
        p.lines(),
        ["check 198.51.100.82:80 in [198.51.100.88]:tcp:80: TCP_CHECK: connect_timeout 3 -> 5"]
    );
}

#[test]
fn vrrp_changes_name_the_instance_and_leave_the_others_alone() {
    let d = director(&[]);
    let p = plan(
        &d,
        &Knobs {
            priority: 90,
            router_id: "LVS_B",
            ..Knobs::default()
        },
    );
    assert_eq!(
        p.lines(),
        [
            "VRRP VI_1: priority 100 -> 90",
            "VRRP VI_1: restarts on its new configuration",
            "global router_id LVS_DEVEL -> LVS_B",
        ]
    );
    let group = p
        .vrrp
        .iter()
        .find(|v| v.unit == UnitKey::SyncGroup("G".into()))
        .unwrap();
    assert_eq!(group.action, VrrpChangeKind::Keep);
    assert_eq!(group.instances, ["VI_2", "VI_3"]);
}

#[test]
fn the_plan_travels_as_json() {
    let d = director(&[]);
    let p = plan(
        &d,
        &Knobs {
            weight_82: 4,
            priority: 90,
            ..Knobs::default()
        },
    );
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("\"op\":\"edit_dest\""), "{json}");
    let back: ApplyPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back.lines(), p.lines());
}

#[test]
fn an_invalid_candidate_is_refused_with_its_diagnostics() {
    let broken = text(&Knobs::default()).replace("virtual_router_id 52", "virtual_router_id 51");
    let err = load_candidate(Path::new("keepalived.conf"), &broken).unwrap_err();
    let PlanError::Invalid(errors) = err else {
        panic!("not refused as invalid");
    };
    assert!(
        errors.iter().any(|e| e.contains("keepalived.conf:")),
        "{errors:?}"
    );
}

#[test]
fn reusing_the_running_model_plans_what_a_full_load_plans() {
    let d = director(&["198.51.100.83:80"]);
    let running_text = text(&Knobs::default());
    let candidate_text = text(&Knobs {
        weight_82: 6,
        check_82: "TCP_CHECK {\n            connect_timeout 4\n        }",
        ..Knobs::default()
    });
    let path = Path::new("keepalived.conf");
    let reused = load_candidate_reusing(
        path,
        &candidate_text,
        Some(RunningText {
            text: &running_text,
            config: &d.config,
        }),
    )
    .unwrap();
    let full = load_candidate(path, &candidate_text).unwrap();
    assert_eq!(reused, full);
    let running = Running {
        config: &d.config,
        wanted: &d.wanted,
        live: &d.live,
        owned: &d.owned,
    };
    assert_eq!(
        ApplyPlan::between(running, &reused).unwrap().lines(),
        [
            "-e -t 198.51.100.88:80 -r 198.51.100.82:80 -g -w 6",
            "check 198.51.100.82:80 in [198.51.100.88]:tcp:80: TCP_CHECK: connect_timeout 3 -> 4",
        ]
    );
    // An invalid candidate is still refused, with the full load's words.
    let broken = candidate_text.replace("lb_algo wrr", "lb_algo");
    let running_again = RunningText {
        text: &running_text,
        config: &d.config,
    };
    assert!(matches!(
        load_candidate_reusing(path, &broken, Some(running_again)),
        Err(PlanError::Invalid(_))
    ));
}
