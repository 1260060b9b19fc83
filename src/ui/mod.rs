//! The console (issue "console"): what keys do ([`action`], [`keymap`])
//! and how the screen looks ([`theme`]). The screens, the update loop and
//! the terminal adapter join these as the console grows.
//!
//! The console never imports the engine's internals: it talks to the
//! engine's handle or, in another process, the control socket.

pub mod action;
pub mod keymap;
pub mod theme;
