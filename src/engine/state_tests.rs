use super::*;
use crate::ipvs::model::{Dest, DestConfig, Forward, Origin, Service, ServiceConfig};

fn vip() -> ServiceKey {
    ServiceKey::tcp("198.51.100.88:80".parse().unwrap_or_else(|e| panic!("{e}")))
}

fn rs(last: u8) -> DestKey {
    DestKey::new(
        format!("198.51.100.{last}:80")
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

fn configured() -> Vec<DesiredService> {
    vec![DesiredService {
        config: ServiceConfig::new(vip(), "wrr"),
        dests: vec![
            DestConfig::new(rs(82).socket_addr(), Forward::Route, 3),
            DestConfig::new(rs(83).socket_addr(), Forward::Route, 3),
        ],
    }]
}

fn root() -> Actor {
    Actor {
        uid: 0,
        name: "root".into(),
    }
}

/// The live table with `active` connections on .82.
fn live(active: u32, persistent: u32) -> Table {
    let mut service = Service::new(ServiceConfig::new(vip(), "wrr"));
    for d in &configured()[0].dests {
        let mut dest = Dest::new(*d);
        if d.key == rs(82) {
            dest.active = active;
            dest.persistent = persistent;
        }
        service.dests.push(dest);
    }
    Table {
        origin: Origin::Userspace,
        info: crate::ipvs::model::Info::KERNEL_DEFAULT,
        services: vec![service],
    }
}

fn weights(table: &[DesiredService]) -> Vec<(DestKey, i32)> {
    table[0].dests.iter().map(|d| (d.key, d.weight)).collect()
}

fn done(execution: Execution) -> Result<Outcome, CommandError> {
    match execution {
        Execution::Done(result) => result,
        other => panic!("expected an answer, got {other:?}"),
    }
}

#[test]
fn set_weight_checks_its_target_and_range_then_overrides() {
    let mut state = EngineState::new(configured());
    let unknown = done(state.execute(
        &root(),
        Command::SetWeight {
            service: vip(),
            server: rs(99),
            weight: 1,
            reason: None,
        },
        0,
        0,
    ));
    assert!(
        matches!(unknown, Err(CommandError::UnknownServer { .. })),
        "{unknown:?}"
    );
    let range = done(state.execute(
        &root(),
        Command::SetWeight {
            service: vip(),
            server: rs(82),
            weight: 70_000,
            reason: None,
        },
        0,
        0,
    ));
    assert!(
        matches!(range, Err(CommandError::Invalid { .. })),
        "{range:?}"
    );
    assert!(
        state.events.is_empty(),
        "refused commands leave no trace but the reply"
    );
    let ok = done(state.execute(
        &root(),
        Command::SetWeight {
            service: vip(),
            server: rs(82),
            weight: 10,
            reason: Some("canary".into()),
        },
        0,
        0,
    ));
    assert_eq!(
        ok,
        Ok(Outcome::Done {
            message: "weight of 198.51.100.82:80 in TCP 198.51.100.88:80: 3 -> 10 (configured 3)"
                .into()
        })
    );
    assert_eq!(
        weights(&state.wanted(&configured(), 0)),
        [(rs(82), 10), (rs(83), 3)]
    );
    assert_eq!(state.events.len(), 1);
}

#[test]
fn a_drain_waits_for_idle_then_removes_and_restore_ramps_back() {
    let mut state = EngineState::new(configured());
    let id = match state.execute(
        &root(),
        Command::Drain {
            service: vip(),
            server: rs(82),
            timeout_s: 60,
            remove: true,
            reason: None,
        },
        1_000,
        0,
    ) {
        Execution::Draining(id) => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        weights(&state.wanted(&configured(), 1_000)),
        [(rs(82), 0), (rs(83), 3)]
    );
    assert!(
        state.finished_drains(&live(2, 1), 5_000).is_empty(),
        "still busy"
    );
    let finished = state.finished_drains(&live(0, 1), 6_000);
    assert_eq!(
        finished,
        vec![(
            id,
            Outcome::Drained {
                active: 0,
                inactive: 0,
                persistent: 1,
                timed_out: false,
                removed: true
            }
        )]
    );
    assert_eq!(weights(&state.wanted(&configured(), 6_000)), [(rs(83), 3)]);
    assert_eq!(
        state.overrides.disabled(Target::RealServer(vip(), rs(82)))[0].reason,
        "drained"
    );
    // Back in: enable, then restore climbing from 0 to 3 over 3 s.
    assert!(done(state.execute(
        &root(),
        Command::Enable {
            target: Target::RealServer(vip(), rs(82)),
            reason: None
        },
        7_000,
        0
    ))
    .is_ok());
    assert!(done(state.execute(
        &root(),
        Command::Restore {
            service: vip(),
            server: rs(82),
            ramp_s: Some(3)
        },
        7_000,
        0
    ))
    .is_ok());
    assert_eq!(weights(&state.wanted(&configured(), 8_000))[0], (rs(82), 1));
    assert_eq!(
        weights(&state.wanted(&configured(), 10_000))[0],
        (rs(82), 3)
    );
}

#[test]
fn a_drain_that_times_out_reports_what_is_left_and_removes_nothing() {
    let mut state = EngineState::new(configured());
    let Execution::Draining(id) = state.execute(
        &root(),
        Command::Drain {
            service: vip(),
            server: rs(82),
            timeout_s: 2,
            remove: true,
            reason: None,
        },
        0,
        0,
    ) else {
        panic!("no drain")
    };
    let finished = state.finished_drains(&live(4, 0), 2_000);
    assert_eq!(
        finished,
        vec![(
            id,
            Outcome::Drained {
                active: 4,
                inactive: 0,
                persistent: 0,
                timed_out: true,
                removed: false
            }
        )]
    );
    assert_eq!(
        weights(&state.wanted(&configured(), 2_000)),
        [(rs(82), 0), (rs(83), 3)]
    );
}

#[test]
fn disable_needs_a_reason_and_enable_names_the_ones_left() {
    let mut state = EngineState::new(configured());
    let service = Target::Service(vip());
    let empty = done(state.execute(
        &root(),
        Command::Disable {
            target: service,
            reason: " ".into(),
        },
        0,
        0,
    ));
    assert!(matches!(empty, Err(CommandError::Invalid { .. })));
    for reason in ["maintenance", "network change"] {
        assert!(done(state.execute(
            &root(),
            Command::Disable {
                target: service,
                reason: reason.into()
            },
            0,
            0
        ))
        .is_ok());
    }
    assert!(state.wanted(&configured(), 0).is_empty());
    let partly = done(state.execute(
        &root(),
        Command::Enable {
            target: service,
            reason: Some("maintenance".into()),
        },
        0,
        0,
    ));
    assert_eq!(
        partly,
        Ok(Outcome::Done {
            message: "TCP 198.51.100.88:80 stays disabled: 1 other reason(s) in force".into()
        })
    );
    let wrong = done(state.execute(
        &root(),
        Command::Enable {
            target: service,
            reason: Some("typo".into()),
        },
        0,
        0,
    ));
    assert!(
        matches!(&wrong, Err(CommandError::Invalid { why, .. }) if why.contains("network change")),
        "{wrong:?}"
    );
}

#[test]
fn reload_apply_zero_and_failover_go_to_the_director() {
    let mut state = EngineState::new(configured());
    for command in [
        Command::Reload,
        Command::Zero { service: None },
        Command::Failover {
            name: "VI_1".into(),
            hold_s: 10,
            priority: None,
        },
    ] {
        assert_eq!(
            state.execute(&root(), command.clone(), 0, 0),
            Execution::Director(command)
        );
    }
}
