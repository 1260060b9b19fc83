//! The config screen's state: the running configuration, the operator's
//! draft in a tui-textarea, its live diagnostics, and the last plan an
//! apply would (or did) perform. Saving the draft to disk is the
//! runtime's job; this module only says when the draft changed.

use std::path::{Path, PathBuf};

use crossterm::event::KeyEvent;
use tui_textarea::TextArea;

use crate::config::diagnostic::Severity;
use crate::config::load::{load_str, Options};

/// One line of the diagnostics panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosticLine {
    pub severity: Severity,
    /// `12:5: error: unknown keyword 'lb_algoo'`.
    pub text: String,
}

/// The draft and what is known about it.
#[derive(Debug)]
pub struct ConfigEditor {
    pub textarea: TextArea<'static>,
    /// Where the running configuration lives (for includes and messages).
    pub path: PathBuf,
    /// The running configuration text, once read.
    pub running: Option<String>,
    /// The draft differs from the running text.
    pub modified: bool,
    /// Changed since the runtime last saved it.
    unsaved: bool,
    pub diagnostics: Vec<DiagnosticLine>,
    /// The operations of the last plan, and whether they were applied.
    pub plan: Option<(Vec<String>, bool)>,
}

impl Default for ConfigEditor {
    fn default() -> Self {
        ConfigEditor {
            textarea: TextArea::default(),
            path: PathBuf::from("keepalived.conf"),
            running: None,
            modified: false,
            unsaved: false,
            diagnostics: Vec::new(),
            plan: None,
        }
    }
}

impl ConfigEditor {
    /// The draft's text.
    pub fn text(&self) -> String {
        self.textarea.lines().join("\n") + "\n"
    }

    fn load(&mut self, text: &str) {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        self.textarea = TextArea::new(lines);
        self.validate();
    }

    /// The running configuration was read (at start or after a reload).
    /// An unmodified draft follows it; a modified one is kept.
    pub fn set_running(&mut self, path: &Path, text: String) {
        self.path = path.to_path_buf();
        if !self.modified {
            self.load(&text);
        }
        self.running = Some(text);
    }

    /// A draft saved by an earlier session.
    pub fn restore_draft(&mut self, text: &str) {
        self.load(text);
        self.modified = true;
    }

    /// Back to the running configuration.
    pub fn revert(&mut self) {
        let running = self.running.clone().unwrap_or_default();
        self.load(&running);
        self.modified = false;
        self.unsaved = false;
        self.plan = None;
    }

    /// A key while editing; returns whether the text changed.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        let changed = self.textarea.input(key);
        if changed {
            self.modified = self.running.as_deref() != Some(self.text().as_str());
            self.unsaved = true;
            self.plan = None;
            self.validate();
        }
        changed
    }

    /// The draft text if it changed since the last call (for autosave).
    pub fn take_unsaved(&mut self) -> Option<String> {
        if !self.unsaved {
            return None;
        }
        self.unsaved = false;
        Some(self.text())
    }

    /// Re-run the configuration loader over the draft.
    pub fn validate(&mut self) {
        let outcome = load_str(&self.path, &self.text(), &Options::default());
        self.diagnostics = outcome
            .diagnostics
            .iter()
            .map(|d| {
                let at = d
                    .location
                    .map(|l| format!("{}:{}: ", l.line, l.column))
                    .unwrap_or_default();
                DiagnosticLine {
                    severity: d.severity,
                    text: format!("{at}{}: {}", d.severity.as_str(), d.message),
                }
            })
            .collect();
    }

    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}
