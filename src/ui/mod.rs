//! The console: what an operator sees and does on a director.
//!
//! - [`action`], [`keymap`], [`theme`]: keys and looks, as data.
//! - [`services`]: the services screen's rows joined from a snapshot, and
//!   address resolution for the command line.
//! - [`cmdline`]: the `:` command line's grammar, completion and history.
//! - [`editor`]: the config draft, its diagnostics and plan.
//! - [`app`]: the pure model: keys, updates and outcomes in, effects out.
//! - [`render`]: every screen drawn from the model (ratatui).
//! - [`runtime`]: the terminal, the event loop and the engine's channels.
//! - [`extension`]: verbs a host program adds to the command line.
//!
//! The console never imports the engine's internals: it reads snapshots
//! and events and sends commands through the engine's handle (or, in
//! another process, the control socket that serializes it), and names
//! them through [`crate::northbound`] only. `tests` lists the
//! other crate modules it may use.

pub mod action;
pub mod app;
pub mod cmdline;
pub mod editor;
pub mod error;
pub mod extension;
pub mod keymap;
pub mod options;
pub mod render;
pub mod runtime;
pub mod services;
pub mod theme;

#[cfg(test)]
mod tests;

pub use app::{App, Effect};
pub use error::UiError;
pub use options::ConsoleOptions;
pub use runtime::{run, run_fleet};
