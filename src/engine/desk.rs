//! The operator desk: where the director's loop takes commands. It keeps
//! the [`EngineState`] with the clocks, holds the replies of drains until
//! they finish, and tells the loop what to do next — reconcile, answer,
//! or carry out a command that needs the loop's own I/O (reload, zero,
//! failover).
//!
//! A command whose reconcile fails is undone: the overrides go back to
//! what they were and the reply says the dataplane refused.

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

use super::command::{Command, CommandError, Outcome};
use super::handle::CommandRequest;
use super::overrides::{Actor, Overrides, WeightSource};
use super::state::{EngineState, Execution};
use crate::ipvs::desired::DesiredService;
use crate::ipvs::model::Table;

/// Where a command's answer goes.
pub type Reply = oneshot::Sender<Result<Outcome, CommandError>>;

/// What the loop does after [`Desk::take`].
#[derive(Debug)]
pub enum Step {
    /// The wanted table changed: reconcile, then call [`Desk::settled`]
    /// with the result.
    Reconcile(Pending),
    /// Nothing changed; the answer is already sent.
    Answered,
    /// The loop carries this out itself and answers `reply`.
    Director {
        actor: Actor,
        command: Command,
        reply: Reply,
    },
}

/// A command applied to the overrides, waiting for its reconcile.
#[derive(Debug)]
pub struct Pending {
    /// The overrides before the command, to put back on failure.
    before: Overrides,
    answer: Option<(Reply, Outcome)>,
    verb: &'static str,
    /// The drain this command started, if it was one.
    drain: Option<u64>,
}

/// The desk: state, clocks, waiting drains.
#[derive(Debug)]
pub struct Desk {
    state: EngineState,
    started: Instant,
    drains: HashMap<u64, Reply>,
}

impl Desk {
    pub fn new(configured: Vec<DesiredService>) -> Self {
        Desk {
            state: EngineState::new(configured),
            started: Instant::now(),
            drains: HashMap::new(),
        }
    }

    pub fn state(&self) -> &EngineState {
        &self.state
    }

    /// A reloaded configuration; overrides stay.
    pub fn set_configured(&mut self, configured: Vec<DesiredService>) {
        self.state.set_configured(configured);
    }

    /// The instant the director's clock counts from.
    pub fn clock_zero(&self) -> Instant {
        self.started
    }

    /// Record an event in the timeline.
    pub fn record(&mut self, kind: super::event::EventKind, message: String) {
        self.state.events.push(wall_ms(), kind, message);
    }

    /// Record an operator action the loop carried out itself.
    pub fn audit(&mut self, actor: &Actor, action: &str, detail: String) {
        self.state
            .audit(actor, action, None, Some(detail), wall_ms());
    }

    /// Milliseconds on the director's clock.
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The table to program now.
    pub fn wanted(&self, healthy: &[DesiredService]) -> Vec<DesiredService> {
        self.state.wanted(healthy, self.now_ms())
    }

    /// Take one command off the channel.
    pub fn take(&mut self, request: CommandRequest) -> Step {
        let CommandRequest {
            actor,
            command,
            reply,
        } = request;
        let verb = command.verb();
        let before = self.state.overrides.clone();
        let now = self.now_ms();
        match self.state.execute(&actor, command, now, wall_ms()) {
            Execution::Done(Ok(outcome)) => Step::Reconcile(Pending {
                before,
                answer: Some((reply, outcome)),
                verb,
                drain: None,
            }),
            Execution::Done(Err(error)) => {
                let _ = reply.send(Err(error));
                Step::Answered
            }
            Execution::Draining(id) => {
                self.drains.insert(id, reply);
                Step::Reconcile(Pending {
                    before,
                    answer: None,
                    verb,
                    drain: Some(id),
                })
            }
            Execution::Director(command) => Step::Director {
                actor,
                command,
                reply,
            },
        }
    }

    /// The reconcile after [`Step::Reconcile`] finished: answer, or undo
    /// and say why.
    pub fn settled(&mut self, pending: Pending, result: Result<(), String>) {
        match result {
            Ok(()) => {
                if let Some((reply, outcome)) = pending.answer {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(why) => {
                self.state.overrides = pending.before;
                let error = CommandError::Refused {
                    operation: pending.verb.to_string(),
                    why,
                };
                if let Some((reply, _)) = pending.answer {
                    let _ = reply.send(Err(error.clone()));
                }
                if let Some(id) = pending.drain {
                    self.state.cancel_drain(id);
                    if let Some(reply) = self.drains.remove(&id) {
                        let _ = reply.send(Err(error));
                    }
                }
            }
        }
    }

    /// Whether the loop should call [`Desk::tick`] (a drain waits or a
    /// ramp climbs).
    pub fn wants_ticks(&self) -> bool {
        self.state.pending_drains().next().is_some() || self.ramping()
    }

    /// Once a second while [`Desk::wants_ticks`]: answer finished drains
    /// and move ramps. Returns whether the wanted table changed.
    pub fn tick(&mut self, live: &Table) -> bool {
        let now = self.now_ms();
        let mut changed = false;
        for (id, outcome) in self.state.finished_drains(live, now) {
            if matches!(outcome, Outcome::Drained { removed: true, .. }) {
                changed = true;
            }
            if let Some(reply) = self.drains.remove(&id) {
                let _ = reply.send(Ok(outcome));
            }
        }
        if self.ramping() {
            changed = true;
            self.state.overrides.finish_ramps(now);
        }
        changed
    }

    fn ramping(&self) -> bool {
        self.state
            .overrides
            .weights()
            .any(|(_, o)| matches!(o.source, WeightSource::Ramp { .. }))
    }
}

/// Wall-clock milliseconds since the Unix epoch, for the timeline.
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
