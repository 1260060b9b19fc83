//! Telling operators and their tools what happened: notify scripts (with
//! keepalived's script security), e-mail alerts, and notify FIFOs.
//!
//! - [`script`]: run a configured script without a shell, as the right
//!   user, with a timeout that kills its whole process group.
//! - [`security`]: keepalived's `enable_script_security` path check.
//! - [`user`]: who a script runs as (`script_user`, `keepalived_script`).
//! - [`ordered`]: per-channel queues that run notify scripts in order.
//! - [`alert`] and [`smtp`]: keepalived's alert text, sent from a
//!   background task that never delays the caller.
//! - [`fifo`]: `notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`.
//! - [`names`]: keepalived's spelling of services and VRRP states.
//!
//! This module decides nothing about *when* to notify: the health checker
//! and the VRRP state machine call it. It never blocks the event loop once
//! set up; setup (user lookups, `stat`, `mkfifo`) belongs to config loading.

pub mod alert;
pub mod fifo;
pub mod names;
pub mod ordered;
mod queue;
pub mod script;
pub mod security;
pub mod smtp;
pub mod user;

pub use alert::Alert;
pub use fifo::{FifoEvent, NotifyFifos};
pub use names::{vrrp_notify_args, ServiceName, VrrpStateWord, VrrpSubject};
pub use ordered::NotifyQueue;
pub use script::{PreparedScript, ScriptError, ScriptOutcome, ScriptPolicy};
pub use smtp::{AlertSender, AlertStats, SmtpSettings};
