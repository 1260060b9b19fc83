//! How the console, the control socket and tests reach the engine: a
//! bounded command channel with a reply per command (the engine's loop
//! owns the receiving end; every sender shares it), and the [`Update`]s a
//! watcher receives — snapshots at its interval and events as they come,
//! whether the engine runs in this process or behind a control socket.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::command::{Command, CommandError, Outcome};
use super::event::Event;
use super::overrides::Actor;
use super::snapshot::Snapshot;

/// What a watcher (the console, a subscriber) receives, in order.
#[derive(Debug, Clone)]
pub enum Update {
    /// The engine's state now.
    Snapshot(Arc<Snapshot>),
    /// New events, oldest first; `missed` when some fell out of the ring
    /// before this watcher saw them.
    Events { events: Vec<Event>, missed: bool },
    /// The engine (or the connection to it) is gone, and why.
    Lost(String),
}

/// How many commands may wait for the engine before senders wait too.
pub const COMMAND_QUEUE: usize = 64;

/// One command on its way to the engine, with where to answer.
#[derive(Debug)]
pub struct CommandRequest {
    pub actor: Actor,
    pub command: Command,
    pub reply: oneshot::Sender<Result<Outcome, CommandError>>,
}

/// The sending side: cheap to clone, one per client.
#[derive(Debug, Clone)]
pub struct Commands {
    sender: mpsc::Sender<CommandRequest>,
}

/// A channel for commands: the engine's loop reads the receiver.
pub fn command_channel() -> (Commands, mpsc::Receiver<CommandRequest>) {
    let (sender, receiver) = mpsc::channel(COMMAND_QUEUE);
    (Commands { sender }, receiver)
}

impl Commands {
    /// Send a command and wait for its outcome. A drain answers when the
    /// real server is idle or its timeout passed.
    pub async fn execute(&self, actor: Actor, command: Command) -> Result<Outcome, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(CommandRequest {
                actor,
                command,
                reply,
            })
            .await
            .map_err(|_| CommandError::ShuttingDown)?;
        answer.await.map_err(|_| CommandError::ShuttingDown)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_command_gets_its_own_answer_and_a_stopped_engine_says_so() {
        let (commands, mut receiver) = command_channel();
        let engine = tokio::spawn(async move {
            while let Some(request) = receiver.recv().await {
                let message = request.command.verb().to_string();
                let _ = request.reply.send(Ok(Outcome::Done { message }));
            }
        });
        let root = Actor {
            uid: 0,
            name: "root".into(),
        };
        assert_eq!(
            commands.execute(root.clone(), Command::Reload).await,
            Ok(Outcome::Done {
                message: "reload".into()
            })
        );
        engine.abort();
        let _ = engine.await;
        assert_eq!(
            commands.execute(root, Command::Confirm).await,
            Err(CommandError::ShuttingDown)
        );
    }
}
