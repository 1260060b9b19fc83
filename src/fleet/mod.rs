//! One console over several directors: which directors to show
//! ([`spec`]: `--director NAME=SOCKET` or the user's `config.toml`), the
//! alarm a pair raises when its VRRP roles disagree ([`alarm`]: pure), and
//! the tasks that keep every director's control socket attached, retrying
//! the unreachable ones ([`watch`]).
//!
//! This module never draws and never blocks: a director that does not
//! answer is reported as unreachable and tried again later.

pub mod alarm;
pub mod spec;
pub mod watch;

pub use alarm::{alarms, Alarm, DirectorRoles, InstanceRole};
pub use spec::{DirectorSpec, SpecError};
pub use watch::{watch, FleetMessage};
