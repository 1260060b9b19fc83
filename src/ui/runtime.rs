//! The console's loop: the terminal (raw mode, alternate screen, restored
//! on exit and on panic), keys from crossterm's event stream, engine
//! updates, command outcomes and connection lists in, one redraw per
//! change out. Commands run on their own tasks so a drain that waits for
//! idle never blocks the keys. Drafts are autosaved once a second at most.
//!
//! This is the only console module that touches the terminal or the disk.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::app::{App, Effect};
use super::error::UiError;
use super::extension::ExtensionRequest;
use super::options::ConsoleOptions;
use super::render::draw;
use crate::fleet::FleetMessage;
use crate::northbound::{Actor, CommandError, Commands, Connection, Outcome, Update};

/// Run the console until the operator quits or the update channel closes
/// for good. The terminal is restored on every way out, panics included.
pub async fn run(
    mut options: ConsoleOptions,
    updates: mpsc::Receiver<Update>,
    commands: Commands,
    actor: Actor,
) -> Result<(), UiError> {
    let connections = options.connections.take();
    let messages = one_source(updates, commands, connections);
    run_fleet(options, messages, actor).await
}

/// Run the console over the directors whose traffic `messages` carries
/// (see [`crate::fleet::watch`]); commands go to the director shown.
pub async fn run_fleet(
    options: ConsoleOptions,
    mut messages: mpsc::Receiver<FleetMessage>,
    actor: Actor,
) -> Result<(), UiError> {
    let draft_path = options.draft_path();
    let extension = options.extension.as_ref().map(|e| e.requests.clone());
    let mut app = App::new(&options);
    if let Ok(text) = tokio::fs::read_to_string(&draft_path).await {
        app.on_saved_draft(&text);
    }
    // ratatui::try_init enters raw mode and the alternate screen and
    // installs a panic hook that restores the terminal first.
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(
        &mut app,
        &mut terminal,
        &mut messages,
        Outlets {
            commands: Vec::new(),
            actor: &actor,
            extension: extension.as_ref(),
        },
        &draft_path,
    )
    .await;
    ratatui::restore();
    if let Some(text) = app.take_unsaved_draft() {
        save_draft(&draft_path, &text).await;
    }
    result
}

/// One source (an engine's handle or one daemon) as director 0 of a
/// fleet; its end is reported as the engine lost.
fn one_source(
    mut updates: mpsc::Receiver<Update>,
    commands: Commands,
    mut connections: Option<mpsc::Receiver<Vec<Connection>>>,
) -> mpsc::Receiver<FleetMessage> {
    let (out, messages) = mpsc::channel(16);
    tokio::spawn(async move {
        let director = 0;
        if out
            .send(FleetMessage::Attached { director, commands })
            .await
            .is_err()
        {
            return;
        }
        loop {
            let message = tokio::select! {
                update = updates.recv() => match update {
                    Some(update) => FleetMessage::Update { director, update },
                    None => {
                        let update = Update::Lost("the update stream ended".to_string());
                        let _ = out.send(FleetMessage::Update { director, update }).await;
                        return;
                    }
                },
                Some(list) = next_connections(&mut connections) => {
                    FleetMessage::Connections { director, list }
                }
            };
            if out.send(message).await.is_err() {
                return;
            }
        }
    });
    messages
}

/// Where the console's effects go: engine commands as `actor`, and lines
/// using a verb the host added to the host.
struct Outlets<'a> {
    /// Each director's commands, by index, once attached.
    commands: Vec<Option<Commands>>,
    actor: &'a Actor,
    extension: Option<&'a mpsc::Sender<ExtensionRequest>>,
}

async fn event_loop(
    app: &mut App,
    terminal: &mut ratatui::DefaultTerminal,
    messages: &mut mpsc::Receiver<FleetMessage>,
    outlets: Outlets<'_>,
    draft_path: &Path,
) -> Result<(), UiError> {
    let Outlets {
        mut commands,
        actor,
        extension,
    } = outlets;
    let mut keys = EventStream::new();
    let (outcome_tx, mut outcomes) = mpsc::channel::<Result<Outcome, CommandError>>(16);
    let (config_tx, mut configs) = mpsc::channel::<(PathBuf, String)>(2);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut config_hash = String::new();
    let mut updates_open = true;
    let mut dirty = true;
    loop {
        if dirty {
            terminal.draw(|frame| draw(frame, app))?;
            dirty = false;
        }
        let effects = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(TermEvent::Key(key))) => { dirty = true; app.handle_key(key) }
                Some(Ok(TermEvent::Resize(..))) => { dirty = true; Vec::new() }
                Some(Ok(_)) => Vec::new(),
                Some(Err(e)) => return Err(UiError::Terminal(e)),
                None => return Ok(()),
            },
            message = messages.recv(), if updates_open => {
                match message {
                    Some(FleetMessage::Update { director, update }) => {
                        dirty = true;
                        if let Update::Snapshot(snapshot) = &update {
                            if director == app.shown_director()
                                && snapshot.director.config_hash != config_hash
                            {
                                config_hash.clone_from(&snapshot.director.config_hash);
                                read_config(PathBuf::from(&snapshot.director.config_path), config_tx.clone());
                            }
                        }
                        app.on_director_update(director, update);
                    }
                    Some(FleetMessage::Attached { director, commands: sender }) => {
                        if commands.len() <= director {
                            commands.resize(director + 1, None);
                        }
                        commands[director] = Some(sender);
                        app.on_director_attached(director);
                    }
                    Some(FleetMessage::Unreachable { director, reason }) => {
                        dirty = true;
                        app.on_director_unreachable(director, reason);
                    }
                    Some(FleetMessage::Connections { director, list }) => {
                        // Only the connections screen shows them.
                        dirty |= app.view() == super::action::View::Connections;
                        app.on_director_connections(director, list);
                    }
                    None => {
                        dirty = true;
                        updates_open = false;
                        app.on_update(Update::Lost("the update stream ended".to_string()));
                    }
                }
                Vec::new()
            },
            Some(outcome) = outcomes.recv() => { dirty = true; app.on_outcome(outcome) },
            Some((path, text)) = configs.recv() => {
                dirty = true;
                app.on_running_config(&path, text);
                Vec::new()
            },
            _ = tick.tick() => {
                if let Some(text) = app.take_unsaved_draft() {
                    save_draft(draft_path, &text).await;
                }
                Vec::new()
            },
        };
        for effect in effects {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Command(command) => {
                    let shown = app.shown_director();
                    let Some(commands) = commands.get(shown).cloned().flatten() else {
                        let _ = app.on_outcome(Err(CommandError::ShuttingDown));
                        dirty = true;
                        continue;
                    };
                    let actor = actor.clone();
                    let reply = outcome_tx.clone();
                    tokio::spawn(async move {
                        let outcome = commands.execute(actor, command).await;
                        let _ = reply.send(outcome).await;
                    });
                }
                Effect::DeleteDraft => {
                    let _ = tokio::fs::remove_file(draft_path).await;
                }
                Effect::Extension { verb, args } => {
                    let reply = outcome_tx.clone();
                    let extension = extension.cloned();
                    tokio::spawn(async move {
                        let ended = || format!("':{verb}' has ended");
                        let answer = match extension {
                            None => Err(format!("':{verb}' is not available here")),
                            Some(requests) => {
                                let (answer, rx) = tokio::sync::oneshot::channel();
                                let request = ExtensionRequest {
                                    verb: verb.clone(),
                                    args,
                                    answer,
                                };
                                match requests.send(request).await {
                                    Ok(()) => rx.await.unwrap_or_else(|_| Err(ended())),
                                    Err(_) => Err(ended()),
                                }
                            }
                        };
                        let outcome = answer
                            .map(|message| Outcome::Done { message })
                            .map_err(|why| CommandError::Invalid { what: verb, why });
                        let _ = reply.send(outcome).await;
                    });
                }
            }
        }
    }
}

async fn next_connections(
    receiver: &mut Option<mpsc::Receiver<Vec<Connection>>>,
) -> Option<Vec<Connection>> {
    match receiver {
        Some(r) => {
            let next = r.recv().await;
            if next.is_none() {
                *receiver = None;
            }
            next
        }
        None => std::future::pending().await,
    }
}

/// Read the running configuration off the loop (file reads may block).
fn read_config(path: PathBuf, reply: mpsc::Sender<(PathBuf, String)>) {
    tokio::spawn(async move {
        if let Ok(text) = tokio::fs::read_to_string(&path).await {
            let _ = reply.send((path, text)).await;
        }
    });
}

async fn save_draft(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        let _ = tokio::fs::create_dir_all(dir).await;
    }
    let temporary = path.with_extension("conf.tmp");
    if tokio::fs::write(&temporary, text).await.is_ok() {
        let _ = tokio::fs::rename(&temporary, path).await;
    }
}
