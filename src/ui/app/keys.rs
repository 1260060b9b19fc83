//! Where a key goes: the config editor while editing, the text being typed
//! (command line, filter, prompt), the open confirmation, the help (its
//! moving keys scroll it, any other closes it), or else the keymap of the
//! current screen.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, Effect, Mode, Prompt, PromptKind};
use crate::northbound::Command;
use crate::ui::action::{Action, View};
use crate::ui::cmdline::{self, complete_with};
use crate::ui::keymap::Key;

/// What a line being typed does with a key.
enum LineKey {
    Submit,
    Cancel,
    Changed,
    Tab,
    Older,
    Newer,
}

fn edit_line(line: &mut String, key: KeyEvent) -> LineKey {
    match key.code {
        KeyCode::Enter => LineKey::Submit,
        KeyCode::Esc => LineKey::Cancel,
        KeyCode::Tab => LineKey::Tab,
        KeyCode::Up => LineKey::Older,
        KeyCode::Down => LineKey::Newer,
        KeyCode::Backspace => {
            if line.pop().is_none() {
                return LineKey::Cancel;
            }
            LineKey::Changed
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            line.clear();
            LineKey::Changed
        }
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => LineKey::Cancel,
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            line.push(c);
            LineKey::Changed
        }
        _ => LineKey::Changed,
    }
}

impl App {
    /// One key press; what must happen outside comes back.
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let mode = std::mem::replace(&mut self.mode, Mode::Normal);
        match mode {
            Mode::Editing => {
                if key.code == KeyCode::Esc {
                    self.say(
                        "left the editor; the draft is kept (D preview, A apply, u drop)",
                        false,
                    );
                } else {
                    self.editor.input(key);
                    self.mode = Mode::Editing;
                }
                Vec::new()
            }
            Mode::Help => {
                self.scroll_help(key);
                Vec::new()
            }
            Mode::CommandLine(mut line) => match edit_line(&mut line, key) {
                LineKey::Submit => {
                    self.commands.push(&line);
                    self.run_command_line(&line)
                }
                LineKey::Cancel => {
                    self.commands.reset();
                    Vec::new()
                }
                LineKey::Tab => {
                    let completion =
                        complete_with(&line, &self.extension_verbs, &|verb| self.completions(verb));
                    if !completion.candidates.is_empty() {
                        self.say(completion.candidates.join("  "), false);
                    }
                    self.mode = Mode::CommandLine(completion.line);
                    Vec::new()
                }
                LineKey::Older => {
                    let line = self.commands.older().map_or(line, str::to_string);
                    self.mode = Mode::CommandLine(line);
                    Vec::new()
                }
                LineKey::Newer => {
                    let line = self.commands.newer().unwrap_or_default().to_string();
                    self.mode = Mode::CommandLine(line);
                    Vec::new()
                }
                LineKey::Changed => {
                    self.mode = Mode::CommandLine(line);
                    Vec::new()
                }
            },
            Mode::Filter(mut line) => {
                match edit_line(&mut line, key) {
                    LineKey::Submit => {}
                    LineKey::Cancel => {
                        self.filters.remove(&self.view);
                    }
                    _ => {
                        self.filters.insert(self.view, line.clone());
                        self.mode = Mode::Filter(line);
                    }
                }
                Vec::new()
            }
            Mode::Prompt(mut prompt) => match edit_line(&mut prompt.input, key) {
                LineKey::Submit => self.answer_prompt(prompt),
                LineKey::Cancel => {
                    self.say("cancelled", false);
                    Vec::new()
                }
                _ => {
                    self.mode = Mode::Prompt(prompt);
                    Vec::new()
                }
            },
            Mode::Confirm(dialog) => {
                match self.keymap.lookup(self.view, true, Key::from_event(key)) {
                    Some(Action::Confirm) => dialog.on_yes,
                    Some(Action::Cancel) => {
                        self.say("cancelled: nothing changed", false);
                        Vec::new()
                    }
                    _ => {
                        self.mode = Mode::Confirm(dialog);
                        Vec::new()
                    }
                }
            }
            Mode::Normal => {
                if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
                    return self.dispatch(Action::Quit);
                }
                match self.keymap.lookup(self.view, false, Key::from_event(key)) {
                    Some(action) => self.dispatch(action),
                    None => Vec::new(),
                }
            }
        }
    }

    /// In the help, the moving keys scroll it; any other key closes it.
    fn scroll_help(&mut self, key: KeyEvent) {
        let first = self.help_first.get();
        let page = self.page.get().max(1);
        let moved = match self.keymap.lookup(self.view, false, Key::from_event(key)) {
            Some(Action::Up) => first.saturating_sub(1),
            Some(Action::Down) => first + 1,
            Some(Action::PageUp) => first.saturating_sub(page),
            Some(Action::PageDown) => first + page,
            Some(Action::Top) => 0,
            Some(Action::Bottom) => usize::MAX / 2,
            _ => return,
        };
        self.help_first.set(moved);
        self.mode = Mode::Help;
    }

    fn answer_prompt(&mut self, prompt: Prompt) -> Vec<Effect> {
        match prompt.kind {
            PromptKind::Weight { service, server } => match prompt.input.trim().parse::<u16>() {
                Ok(weight) => self.set_weight(service, server, i32::from(weight)),
                Err(_) => {
                    self.say(
                        format!(
                            "'{}' is not a weight (a whole number, 0 to 65535)",
                            prompt.input.trim()
                        ),
                        true,
                    );
                    self.mode = Mode::Prompt(Prompt {
                        kind: prompt.kind,
                        input: prompt.input,
                    });
                    Vec::new()
                }
            },
            PromptKind::DisableReason { target } => {
                let reason = prompt.input.trim().to_string();
                if reason.is_empty() {
                    self.say("a reason is needed: say why, for the others", true);
                    self.mode = Mode::Prompt(Prompt {
                        kind: PromptKind::DisableReason { target },
                        input: String::new(),
                    });
                    return Vec::new();
                }
                self.confirm_disable(target, reason)
            }
        }
    }

    /// Candidates for completing an argument of `verb`.
    fn completions(&self, verb: &str) -> Vec<String> {
        match verb {
            "failover" | "priority" => self
                .snapshot
                .as_ref()
                .map(|s| {
                    s.vrrp
                        .instances
                        .iter()
                        .map(|i| i.name.clone())
                        .chain(s.vrrp.sync_groups.iter().map(|g| g.name.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            _ => {
                let mut out = Vec::new();
                for group in &self.groups {
                    if let Some(addr) = group.key.socket_addr() {
                        out.push(format_addr(addr));
                    }
                    for server in &group.servers {
                        out.push(format_addr(server.key.socket_addr()));
                    }
                }
                out
            }
        }
    }

    fn run_command_line(&mut self, line: &str) -> Vec<Effect> {
        let request = match cmdline::parse_with(line.trim_start_matches(':'), &self.extension_verbs)
        {
            Ok(request) => request,
            Err(error) => {
                self.say(error.to_string(), true);
                self.mode = Mode::CommandLine(line.to_string());
                return Vec::new();
            }
        };
        match self.request(request) {
            Ok(effects) => effects,
            Err(message) => {
                self.say(message, true);
                Vec::new()
            }
        }
    }

    /// Send a command, unless read-only.
    pub(crate) fn send(&mut self, command: Command) -> Vec<Effect> {
        if self.read_only && command.mutates() {
            self.say(
                format!(
                    "read-only console: '{}' is disabled (started with --read-only)",
                    command.verb()
                ),
                true,
            );
            return Vec::new();
        }
        vec![Effect::Command(command)]
    }

    pub(crate) fn show(&mut self, view: View) {
        self.view = view;
    }
}

fn format_addr(addr: std::net::SocketAddr) -> String {
    addr.to_string()
}
