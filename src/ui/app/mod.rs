//! The console's model: the latest snapshot, the event timeline, what the
//! operator is looking at (screen, selection, sort, filter, expansions),
//! what they are typing (command line, filter, prompts), the confirmation
//! waiting for an answer, the config draft, and the messages to show.
//!
//! Pure: keys, engine updates and command outcomes go in
//! ([`App::handle_key`], [`App::on_update`], [`App::on_outcome`]); what
//! must happen outside comes back as [`Effect`]s. It never touches the
//! terminal, the engine or the disk.

pub(crate) mod actions;
pub mod directors;
mod keys;
pub mod rows;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

pub use rows::{Row, SortBy};

use super::action::View;
use super::cmdline::History;
use super::editor::ConfigEditor;
use super::extension::ExtensionVerb;
use super::keymap::Keymap;
use super::options::ConsoleOptions;
use super::services::{groups, ServiceGroup};
use super::theme::Theme;
use crate::northbound::{
    Command, CommandError, Connection, Event, Outcome, ServiceKey, Snapshot, Target, Update,
    VrrpState,
};

/// What the console asks the outside world to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send this command to the engine; the outcome comes back through
    /// [`App::on_outcome`].
    Command(Command),
    /// Leave the console.
    Quit,
    /// The draft was applied or dropped: remove the saved copy.
    DeleteDraft,
    /// A line using a verb the host added, for the host to carry out.
    Extension { verb: String, args: Vec<String> },
}

/// How many engine events the console keeps.
pub const EVENTS_KEPT: usize = 1000;
/// How many rate samples each row keeps for its sparkline.
pub const HISTORY_POINTS: usize = 30;

/// One line of the events screen: the engine's, or the console's own note
/// (a command result or error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLine {
    Engine(Event),
    Note {
        at_ms: u64,
        text: String,
        error: bool,
    },
}

/// The line above the hint bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

/// What a key goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    CommandLine(String),
    Filter(String),
    Prompt(Prompt),
    Confirm(Dialog),
    /// Keys go to the config editor until Esc.
    Editing,
}

/// A question with a typed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    Weight {
        service: ServiceKey,
        server: crate::northbound::DestKey,
    },
    DisableReason {
        target: Target,
    },
}

impl Prompt {
    pub fn label(&self) -> String {
        match &self.kind {
            PromptKind::Weight { service, server } => {
                format!("Weight of {server} in {service}: ")
            }
            PromptKind::DisableReason { target } => {
                format!("Why disable {}? ", target_text(*target))
            }
        }
    }
}

/// A confirmation: what will change, and what happens on yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub title: String,
    pub lines: Vec<String>,
    pub on_yes: Vec<Effect>,
}

/// `TCP 192.0.2.1:80` or `192.0.2.11:80 in TCP 192.0.2.1:80`.
pub fn target_text(target: Target) -> String {
    match target {
        Target::Service(service) => service.to_string(),
        Target::RealServer(service, server) => format!("{server} in {service}"),
    }
}

/// The console's whole state.
#[derive(Debug)]
pub struct App {
    pub(crate) keymap: Keymap,
    pub(crate) theme: Theme,
    pub(crate) read_only: bool,
    /// The verbs the host added to the command line.
    pub(crate) extension_verbs: Vec<ExtensionVerb>,
    pub(crate) ascii: bool,
    pub(crate) embedded: bool,
    pub(crate) observer: bool,
    pub(crate) source: String,
    pub(crate) drain_timeout_s: u64,
    pub(crate) failover_hold_s: u64,
    pub(crate) confirm_within_s: u64,
    pub(crate) time_zone: jiff::tz::TimeZone,

    pub(crate) snapshot: Option<Arc<Snapshot>>,
    pub(crate) groups: Vec<ServiceGroup>,
    pub(crate) connections: Option<Vec<Connection>>,
    pub(crate) log: VecDeque<LogLine>,
    pub(crate) missed_events: bool,
    pub(crate) lost: Option<String>,
    /// Rate samples (cps, bytes/s) per row, oldest first.
    pub(crate) history: BTreeMap<Target, VecDeque<(u64, u64)>>,

    pub(crate) view: View,
    pub(crate) mode: Mode,
    pub(crate) message: Option<Message>,
    pub(crate) selected: Option<Target>,
    pub(crate) cursor: BTreeMap<View, usize>,
    pub(crate) collapsed: BTreeSet<ServiceKey>,
    pub(crate) expanded: BTreeSet<(View, usize)>,
    pub(crate) sort: SortBy,
    pub(crate) reverse: bool,
    pub(crate) filters: BTreeMap<View, String>,
    pub(crate) commands: History,
    pub(crate) editor: ConfigEditor,
    /// An apply waits for its dry-run plan before asking; the confirm
    /// window it will ask for.
    pub(crate) pending_apply: Option<Option<u64>>,
    /// A confirmed apply rolls back at this wall-clock time unless
    /// confirmed.
    pub(crate) rollback_at_ms: Option<u64>,
    /// The first visible row of each list, kept between frames so the
    /// view scrolls only when the selection leaves it.
    pub(crate) scroll: [Cell<usize>; 6],
    /// The body height of the last frame, for page up/down.
    pub(crate) page: Cell<usize>,
    /// The first line of the help shown; the help's drawing keeps it
    /// within its length.
    pub(crate) help_first: Cell<usize>,
    /// Every director watched with `--director`, and the one shown.
    pub(crate) directors: directors::Directors,
}

impl App {
    pub fn new(options: &ConsoleOptions) -> App {
        App {
            keymap: options.keymap.clone(),
            theme: options.theme.clone(),
            read_only: options.read_only,
            extension_verbs: options
                .extension
                .as_ref()
                .map(|e| e.verbs.clone())
                .unwrap_or_default(),
            ascii: options.ascii,
            embedded: options.embedded,
            observer: options.observer,
            source: options.source.clone(),
            drain_timeout_s: options.drain_timeout_s,
            failover_hold_s: options.failover_hold_s,
            confirm_within_s: options.confirm_within_s,
            time_zone: options.time_zone.clone(),
            snapshot: None,
            groups: Vec::new(),
            connections: None,
            log: VecDeque::new(),
            missed_events: false,
            lost: None,
            history: BTreeMap::new(),
            view: View::Services,
            mode: Mode::Normal,
            message: None,
            selected: None,
            cursor: BTreeMap::new(),
            collapsed: BTreeSet::new(),
            expanded: BTreeSet::new(),
            sort: SortBy::Address,
            reverse: false,
            filters: BTreeMap::new(),
            commands: History::default(),
            editor: ConfigEditor::default(),
            pending_apply: None,
            rollback_at_ms: None,
            scroll: Default::default(),
            page: Cell::new(10),
            help_first: Cell::new(0),
            directors: directors::Directors::new(&options.directors),
        }
    }

    pub fn view(&self) -> View {
        self.view
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_deref()
    }

    pub fn selected(&self) -> Option<Target> {
        self.selected
    }

    pub fn editor(&self) -> &ConfigEditor {
        &self.editor
    }

    pub fn log(&self) -> impl Iterator<Item = &LogLine> {
        self.log.iter()
    }

    /// Whether a VRRP instance of this director is MASTER now.
    pub fn holds_master(&self) -> bool {
        self.snapshot.as_ref().is_some_and(|s| {
            s.vrrp
                .instances
                .iter()
                .any(|i| matches!(i.state, VrrpState::Master))
        })
    }

    /// Something from the engine: a snapshot, events, or the news that it
    /// is gone.
    pub fn on_update(&mut self, update: Update) {
        match update {
            Update::Snapshot(snapshot) => {
                self.lost = None;
                if self
                    .rollback_at_ms
                    .is_some_and(|at| snapshot.taken_unix_ms >= at)
                {
                    self.rollback_at_ms = None;
                }
                self.groups = groups(&snapshot);
                self.record_history();
                self.snapshot = Some(snapshot);
                // Keep the selection on its row; when that row is gone
                // (a service left the configuration), fall back to the first.
                let rows = self.visible_rows();
                if !self
                    .selected
                    .is_some_and(|t| rows.iter().any(|r| r.target() == t))
                {
                    self.selected = rows.first().map(Row::target);
                }
            }
            Update::Events { events, missed } => {
                self.missed_events |= missed;
                for event in events {
                    self.push_log(LogLine::Engine(event));
                }
            }
            Update::Lost(why) => {
                self.note(format!("engine lost: {why}"), true);
                self.lost = Some(why);
            }
        }
    }

    /// The connection table (`ipvsadm -c`), fed separately.
    pub fn on_connections(&mut self, connections: Vec<Connection>) {
        self.connections = Some(connections);
    }

    /// The running configuration file was read.
    pub fn on_running_config(&mut self, path: &Path, text: String) {
        self.editor.set_running(path, text);
    }

    /// A draft left by an earlier session.
    pub fn on_saved_draft(&mut self, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        self.editor.restore_draft(text);
        self.note(
            "restored your unsaved config draft (u drops it)".to_string(),
            false,
        );
    }

    /// The draft text when it changed since the last call (autosave).
    pub fn take_unsaved_draft(&mut self) -> Option<String> {
        self.editor.take_unsaved()
    }

    /// What a command came back with.
    pub fn on_outcome(&mut self, outcome: Result<Outcome, CommandError>) -> Vec<Effect> {
        match outcome {
            Ok(Outcome::Done { message }) => {
                self.note(message, false);
                Vec::new()
            }
            Ok(Outcome::Drained {
                active,
                inactive,
                persistent,
                timed_out,
                removed,
            }) => {
                let mut text = if timed_out {
                    format!("drain timed out with {active} active, {inactive} inactive connections")
                } else {
                    format!("drained: no active connections ({inactive} inactive)")
                };
                if persistent > 0 {
                    text.push_str(&format!(
                        "; {persistent} persistence templates keep clients sticky until they expire"
                    ));
                }
                if removed {
                    text.push_str("; removed from the table");
                }
                self.note(text, timed_out);
                Vec::new()
            }
            Ok(Outcome::Plan {
                operations,
                applied,
                rollback_at_ms,
            }) => self.on_plan(operations, applied, rollback_at_ms),
            Err(error) => {
                self.pending_apply = None;
                if error == CommandError::NothingToConfirm {
                    self.rollback_at_ms = None;
                }
                if let CommandError::InvalidConfig { diagnostics } = &error {
                    self.editor.plan = Some((diagnostics.clone(), false));
                }
                self.note(error.to_string(), true);
                Vec::new()
            }
        }
    }

    fn on_plan(
        &mut self,
        operations: Vec<String>,
        applied: bool,
        rollback_at_ms: Option<u64>,
    ) -> Vec<Effect> {
        self.editor.plan = Some((operations.clone(), applied));
        if applied {
            self.rollback_at_ms = rollback_at_ms;
            let mut text = format!("applied: {} operations", operations.len());
            if let Some(at) = rollback_at_ms {
                text.push_str(&format!(
                    "; rolls back at {} unless confirmed (C or :confirm)",
                    self.clock_text(at)
                ));
            }
            self.note(text, false);
            self.editor.running = Some(self.editor.text());
            self.editor.modified = false;
            return vec![Effect::DeleteDraft];
        }
        match self.pending_apply.take() {
            Some(confirm_within_s) => {
                let mut lines = vec![format!(
                    "{} operations will run on this director:",
                    operations.len()
                )];
                lines.extend(operations.iter().map(|o| format!("  {o}")));
                if let Some(s) = confirm_within_s {
                    lines.push(format!("Rolled back after {s} s unless confirmed."));
                }
                self.confirm(Dialog {
                    title: "Apply the draft?".to_string(),
                    lines,
                    on_yes: vec![Effect::Command(Command::Apply {
                        text: self.editor.text(),
                        dry_run: false,
                        confirm_within_s,
                    })],
                });
            }
            None => self.note(
                format!("plan: {} operations (not applied)", operations.len()),
                false,
            ),
        }
        Vec::new()
    }

    /// A result or error: on the message line and in the event log.
    pub(crate) fn note(&mut self, text: String, error: bool) {
        let at_ms = self.snapshot.as_ref().map_or(0, |s| s.taken_unix_ms);
        self.push_log(LogLine::Note {
            at_ms,
            text: text.clone(),
            error,
        });
        self.message = Some(Message { text, error });
    }

    pub(crate) fn say(&mut self, text: impl Into<String>, error: bool) {
        self.message = Some(Message {
            text: text.into(),
            error,
        });
    }

    fn push_log(&mut self, line: LogLine) {
        if self.log.len() == EVENTS_KEPT {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    fn record_history(&mut self) {
        let mut seen = BTreeSet::new();
        for group in &self.groups {
            let target = Target::Service(group.key);
            seen.insert(target);
            let sample = (group.rates.cps, group.rates.inbps + group.rates.outbps);
            push_sample(self.history.entry(target).or_default(), sample);
            for server in &group.servers {
                let target = Target::RealServer(group.key, server.key);
                seen.insert(target);
                let sample = (server.rates.cps, server.rates.inbps + server.rates.outbps);
                push_sample(self.history.entry(target).or_default(), sample);
            }
        }
        self.history.retain(|t, _| seen.contains(t));
    }

    /// Rate samples of a row, oldest first.
    pub fn rate_history(&self, target: Target) -> Vec<(u64, u64)> {
        self.history
            .get(&target)
            .map(|h| h.iter().copied().collect())
            .unwrap_or_default()
    }

    /// `12:03:04` in the console's time zone.
    pub fn clock_text(&self, unix_ms: u64) -> String {
        match jiff::Timestamp::from_millisecond(i64::try_from(unix_ms).unwrap_or(0)) {
            Ok(stamp) => stamp
                .to_zoned(self.time_zone.clone())
                .strftime("%H:%M:%S")
                .to_string(),
            Err(_) => "?".to_string(),
        }
    }

    pub fn filter(&self, view: View) -> &str {
        self.filters.get(&view).map_or("", String::as_str)
    }
}

fn push_sample(history: &mut VecDeque<(u64, u64)>, sample: (u64, u64)) {
    if history.len() == HISTORY_POINTS {
        history.pop_front();
    }
    history.push_back(sample);
}
