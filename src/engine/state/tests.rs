use tokio::sync::oneshot::{self, error::TryRecvError};

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

type Answer = oneshot::Receiver<Result<Outcome, CommandError>>;

/// `command` from root at `now_ms` (director clock) / `wall_ms`, with the
/// receiving end of its reply.
fn ask(state: &mut EngineState, command: Command, now_ms: u64, wall_ms: u64) -> (Next, Answer) {
    let (reply, answer) = oneshot::channel();
    let request = CommandRequest {
        actor: root(),
        command,
        reply,
    };
    (state.take_at(request, now_ms, wall_ms), answer)
}

/// The answer to `command`, its reconcile (if any) succeeding.
fn done(
    state: &mut EngineState,
    command: Command,
    now_ms: u64,
    wall_ms: u64,
) -> Result<Outcome, CommandError> {
    let (next, mut answer) = ask(state, command, now_ms, wall_ms);
    match next {
        Next::Answered => {}
        Next::Reconcile(pending) => state.settled(pending, Ok(())),
        other => panic!("expected an answer, got {other:?}"),
    }
    answer
        .try_recv()
        .unwrap_or_else(|e| panic!("no answer: {e}"))
}

/// A drain from root at `now_ms`, its reconcile succeeding.
fn drain(state: &mut EngineState, timeout_s: u64, now_ms: u64) -> Answer {
    let command = Command::Drain {
        service: vip(),
        server: rs(82),
        timeout_s,
        remove: true,
        reason: None,
    };
    let (next, answer) = ask(state, command, now_ms, 0);
    let Next::Reconcile(pending) = next else {
        panic!("a drain reconciles: {next:?}")
    };
    state.settled(pending, Ok(()));
    answer
}

#[test]
fn set_weight_checks_its_target_and_range_then_overrides() {
    let mut state = EngineState::new(configured());
    let unknown = done(
        &mut state,
        Command::SetWeight {
            service: vip(),
            server: rs(99),
            weight: 1,
            reason: None,
        },
        0,
        0,
    );
    assert!(
        matches!(unknown, Err(CommandError::UnknownServer { .. })),
        "{unknown:?}"
    );
    let range = done(
        &mut state,
        Command::SetWeight {
            service: vip(),
            server: rs(82),
            weight: 70_000,
            reason: None,
        },
        0,
        0,
    );
    assert!(
        matches!(range, Err(CommandError::Invalid { .. })),
        "{range:?}"
    );
    assert!(
        state.events.is_empty(),
        "refused commands leave no trace but the reply"
    );
    let ok = done(
        &mut state,
        Command::SetWeight {
            service: vip(),
            server: rs(82),
            weight: 10,
            reason: Some("canary".into()),
        },
        0,
        0,
    );
    assert_eq!(
        ok,
        Ok(Outcome::Done {
            message: "weight of 198.51.100.82:80 in TCP 198.51.100.88:80: 3 -> 10 (configured 3)"
                .into()
        })
    );
    assert_eq!(
        weights(&state.wanted_at(&configured(), 0)),
        [(rs(82), 10), (rs(83), 3)]
    );
    assert_eq!(state.events.len(), 1);
}

#[test]
fn a_drain_waits_for_idle_then_removes_and_restore_ramps_back() {
    let mut state = EngineState::new(configured());
    let mut answer = drain(&mut state, 60, 1_000);
    assert_eq!(
        answer.try_recv(),
        Err(TryRecvError::Empty),
        "answered at the end"
    );
    assert_eq!(
        weights(&state.wanted_at(&configured(), 1_000)),
        [(rs(82), 0), (rs(83), 3)]
    );
    assert!(!state.tick_at(&live(2, 1), 5_000), "still busy");
    assert_eq!(answer.try_recv(), Err(TryRecvError::Empty));
    assert!(state.tick_at(&live(0, 1), 6_000), "drained and removed");
    assert_eq!(
        answer.try_recv(),
        Ok(Ok(Outcome::Drained {
            active: 0,
            inactive: 0,
            persistent: 1,
            timed_out: false,
            removed: true
        }))
    );
    assert_eq!(
        weights(&state.wanted_at(&configured(), 6_000)),
        [(rs(83), 3)]
    );
    assert_eq!(
        state.overrides.disabled(Target::RealServer(vip(), rs(82)))[0].reason,
        "drained"
    );
    // Back in: enable, then restore climbing from 0 to 3 over 3 s.
    assert!(done(
        &mut state,
        Command::Enable {
            target: Target::RealServer(vip(), rs(82)),
            reason: None
        },
        7_000,
        0
    )
    .is_ok());
    assert!(done(
        &mut state,
        Command::Restore {
            service: vip(),
            server: rs(82),
            ramp_s: Some(3)
        },
        7_000,
        0
    )
    .is_ok());
    assert_eq!(
        weights(&state.wanted_at(&configured(), 8_000))[0],
        (rs(82), 1)
    );
    assert_eq!(
        weights(&state.wanted_at(&configured(), 10_000))[0],
        (rs(82), 3)
    );
}

#[test]
fn a_drain_that_times_out_reports_what_is_left_and_removes_nothing() {
    let mut state = EngineState::new(configured());
    let mut answer = drain(&mut state, 2, 0);
    assert!(!state.tick_at(&live(4, 0), 2_000), "nothing removed");
    assert_eq!(
        answer.try_recv(),
        Ok(Ok(Outcome::Drained {
            active: 4,
            inactive: 0,
            persistent: 0,
            timed_out: true,
            removed: false
        }))
    );
    assert_eq!(
        weights(&state.wanted_at(&configured(), 2_000)),
        [(rs(82), 0), (rs(83), 3)]
    );
}

#[test]
fn disable_needs_a_reason_and_enable_names_the_ones_left() {
    let mut state = EngineState::new(configured());
    let service = Target::Service(vip());
    let empty = done(
        &mut state,
        Command::Disable {
            target: service,
            reason: " ".into(),
        },
        0,
        0,
    );
    assert!(matches!(empty, Err(CommandError::Invalid { .. })));
    for reason in ["maintenance", "network change"] {
        assert!(done(
            &mut state,
            Command::Disable {
                target: service,
                reason: reason.into()
            },
            0,
            0
        )
        .is_ok());
    }
    assert!(state.wanted_at(&configured(), 0).is_empty());
    let partly = done(
        &mut state,
        Command::Enable {
            target: service,
            reason: Some("maintenance".into()),
        },
        0,
        0,
    );
    assert_eq!(
        partly,
        Ok(Outcome::Done {
            message: "TCP 198.51.100.88:80 stays disabled: 1 other reason(s) in force".into()
        })
    );
    let wrong = done(
        &mut state,
        Command::Enable {
            target: service,
            reason: Some("typo".into()),
        },
        0,
        0,
    );
    assert!(
        matches!(&wrong, Err(CommandError::Invalid { why, .. }) if why.contains("network change")),
        "{wrong:?}"
    );
}

#[test]
fn reload_apply_zero_and_failover_need_the_directors_io() {
    let mut state = EngineState::new(configured());
    for (command, expected) in [
        (Command::Reload, IoCommand::Reload),
        (
            Command::Zero { service: None },
            IoCommand::Zero { service: None },
        ),
        (
            Command::Failover {
                name: "VI_1".into(),
                hold_s: 10,
                priority: None,
            },
            IoCommand::StepDown {
                name: "VI_1".into(),
                hold_s: 10,
            },
        ),
        (
            Command::Failover {
                name: "VI_1".into(),
                hold_s: 0,
                priority: Some(PriorityChange::Set(50)),
            },
            IoCommand::SetPriority {
                name: "VI_1".into(),
                change: PriorityChange::Set(50),
            },
        ),
    ] {
        let (next, _answer) = ask(&mut state, command, 0, 0);
        assert!(
            matches!(&next, Next::NeedsIo { command, .. } if *command == expected),
            "{next:?}"
        );
    }
}

#[test]
fn a_reconcile_the_dataplane_refuses_undoes_the_command_and_says_why() {
    let mut state = EngineState::new(configured());
    let weight = Command::SetWeight {
        service: vip(),
        server: rs(82),
        weight: 10,
        reason: None,
    };
    let (next, mut answer) = ask(&mut state, weight, 0, 0);
    let Next::Reconcile(pending) = next else {
        panic!("{next:?}")
    };
    state.settled(pending, Err("no IPVS".into()));
    assert_eq!(
        answer.try_recv(),
        Ok(Err(CommandError::Refused {
            operation: "weight".into(),
            why: "no IPVS".into()
        }))
    );
    assert_eq!(
        weights(&state.wanted_at(&configured(), 0)),
        [(rs(82), 3), (rs(83), 3)],
        "the override is gone"
    );

    let (next, mut answer) = ask(
        &mut state,
        Command::Drain {
            service: vip(),
            server: rs(82),
            timeout_s: 60,
            remove: true,
            reason: None,
        },
        0,
        0,
    );
    let Next::Reconcile(pending) = next else {
        panic!("{next:?}")
    };
    state.settled(pending, Err("no IPVS".into()));
    assert!(matches!(
        answer.try_recv(),
        Ok(Err(CommandError::Refused { .. }))
    ));
    assert!(!state.wants_ticks(), "the drain is forgotten");
    assert_eq!(state.pending_drains().count(), 0);
}
