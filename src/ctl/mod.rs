//! `lvstop ctl VERB …`: one operator command sent to the running daemon
//! over its control socket, for scripts. Services and real servers are
//! chosen the way ipvsadm chooses them (see [`args`]).
//!
//! Exit codes:
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | done (the outcome is printed on stdout) |
//! | 1 | the engine refused the command; nothing changed (why on stderr) |
//! | 2 | bad command line (nothing was sent) |
//! | 3 | no daemon answers on the socket, or it answered nonsense |
//! | 4 | this user may read but not act (SO_PEERCRED policy) |

pub mod args;

use std::path::Path;
use std::process::ExitCode;

use crate::control::client::Client;
use crate::control::protocol::{Request, Response};
use crate::control::ControlError;
use crate::engine::command::{Command, Outcome};

pub use args::Verb;

const EXIT_REFUSED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_UNREACHABLE: u8 = 3;
const EXIT_DENIED: u8 = 4;

/// Entry point of `lvstop ctl`.
pub fn run(socket: &Path, verb: &Verb, json: bool) -> ExitCode {
    let command = match verb.to_command() {
        Ok(command) => command,
        Err(e) => {
            eprintln!("lvstop ctl: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match send(socket, command) {
        Ok(Response::Outcome(outcome)) => {
            if json {
                println!("{}", serde_json::to_string(&outcome).unwrap_or_default());
            } else {
                print!("{}", describe(&outcome));
            }
            ExitCode::SUCCESS
        }
        Ok(Response::CommandError(error)) => {
            eprintln!("lvstop ctl: {error}");
            ExitCode::from(EXIT_REFUSED)
        }
        Ok(other) => {
            eprintln!("lvstop ctl: the daemon answered something else: {other:?}");
            ExitCode::from(EXIT_UNREACHABLE)
        }
        Err(ControlError::PermissionDenied(message)) => {
            eprintln!("lvstop ctl: {message}");
            ExitCode::from(EXIT_DENIED)
        }
        Err(ControlError::Refused(message)) => {
            eprintln!("lvstop ctl: {message}");
            ExitCode::from(EXIT_REFUSED)
        }
        Err(e) => {
            eprintln!("lvstop ctl: {e}");
            ExitCode::from(EXIT_UNREACHABLE)
        }
    }
}

fn send(socket: &Path, command: Command) -> Result<Response, ControlError> {
    Client::connect(socket)?.request(Request::Command(command))
}

/// The outcome as lines for a terminal.
pub fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Done { message } => format!("{message}\n"),
        Outcome::Drained {
            active,
            inactive,
            persistent,
            timed_out,
            removed,
        } => {
            let mut text = if *timed_out {
                format!("drain timed out with {active} active connection(s) left")
            } else {
                "drained: no active connections".to_string()
            };
            text += &format!("; {inactive} inactive");
            if *persistent > 0 {
                text += &format!(
                    "; {persistent} persistence template(s) still send their clients here until they expire"
                );
            }
            if *removed {
                text += "; removed from the table";
            }
            text + "\n"
        }
        Outcome::Plan {
            operations,
            applied,
            rollback_at_ms,
        } => {
            let mut text = String::new();
            for op in operations {
                text += op;
                text.push('\n');
            }
            text += &match (applied, rollback_at_ms) {
                (false, _) => format!("{} operation(s) planned, nothing applied\n", operations.len()),
                (true, None) => format!("{} operation(s) applied\n", operations.len()),
                (true, Some(_)) => format!(
                    "{} operation(s) applied; run `lvstop ctl confirm` to keep them, or they roll back\n",
                    operations.len()
                ),
            };
            text
        }
    }
}
