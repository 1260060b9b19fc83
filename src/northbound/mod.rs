//! The director's outward face: every type that crosses the control
//! socket and reaches the console, named in one place. "Northbound" as in
//! routing daemons (holo's `northbound`): toward the operator, away from
//! the kernel and the wire.
//!
//! - The [`Snapshot`] the engine publishes (`lvstop --once --json` prints
//!   it): the live IPVS table, the health checks, VRRP, overrides and
//!   drains, and what an observer saw of keepalived.
//! - The [`Event`] timeline.
//! - The [`Command`]s an operator sends, their [`Outcome`]s and
//!   [`CommandError`]s, and the [`Commands`] channel and [`Update`]
//!   stream that carry them.
//!
//! The console (`src/ui`) imports engine-side types from here and nowhere
//! else, so a subsystem can change its internals without touching the
//! console; a test in `src/ui` holds it to that.
//!
//! The reports only a subsystem's outside sees are defined here: [`checks`]
//! and [`vrrp`]; their subsystems build them. The engine's own snapshot,
//! events and commands, the IPVS table and the observer's report are the
//! vocabulary of their modules and are re-exported. Either way the JSON
//! on the socket is what those types serialize. This module owns shapes
//! and names only: it never runs anything, holds no state and does no
//! I/O.

pub mod checks;
pub mod vrrp;

// The snapshot and who the director is.
pub use crate::dataplane::DataplaneKind;
pub use crate::engine::snapshot::{DirectorInfo, DrainView, Snapshot, TargetOverrides};

// The IPVS table as the dataplane holds it, its global settings, and the
// connection table.
pub use crate::ipvs::model::{
    Connection, Daemon, DestKey, Family, Forward, Protocol, Rates, ServiceFlags, ServiceKey, Table,
    Timeouts,
};

/// ipvsadm's own spelling of the snapshot's parts (`--timeout`,
/// `--daemon`).
pub mod ipvsadm_text {
    pub use crate::ipvs::format::{daemons, timeouts};
}

// Health checks: every virtual server, real server and checker.
pub use checks::{
    AlertCounters, CheckerView, ChecksReport, HealthSnapshot, RealServerView, VirtualServerView,
};

// VRRP: every instance and sync group, and the states they are in.
pub use crate::vrrp::machine::State as VrrpState;
pub use vrrp::{GroupStatus, InstanceStatus, IoErrors, Transition, VrrpEvent, VrrpStatus};

// What an observer saw of a director lvstop does not run.
pub use crate::observe::keepalived::KeepalivedService;
pub use crate::observe::report::{MissingRealServer, Observation};

// Operators' overrides, commands and their answers.
pub use crate::engine::command::{Command, CommandError, Outcome, PriorityChange};
pub use crate::engine::overrides::{Actor, DisableReason, Target, WeightOverride, WeightSource};

// The timeline, and the channels between a console and an engine.
pub use crate::engine::channel::{Commands, Update};
pub use crate::engine::event::{Event, EventKind};
