//! The running configuration: the model the director runs, the text it
//! came from (the base an apply's plan re-parses from, and the
//! configuration's fingerprint), the file it lives in, and an apply that
//! waits for `confirm`.

use std::path::PathBuf;

use super::command::CommandError;
use super::snapshot::config_hash;
use crate::config::model::Config;
use crate::config::running::{director_name, log_applied_warnings};

/// An apply made with `confirm_within_s`, and how to undo it.
#[derive(Debug)]
struct PendingApply {
    previous_text: String,
    deadline: tokio::time::Instant,
}

/// What runs, and where it came from.
#[derive(Debug)]
pub struct RunningConfig {
    pub config: Config,
    pub text: String,
    pub hash: String,
    /// The file `reload` reads and an apply writes.
    pub path: PathBuf,
    /// `router_id`, else the host name.
    pub name: String,
    pending_apply: Option<PendingApply>,
}

impl RunningConfig {
    /// `config`, loaded from `path` (read again for its text).
    pub fn loaded(config: Config, path: PathBuf) -> Self {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        RunningConfig {
            hash: config_hash(&text),
            name: director_name(&config),
            config,
            text,
            path,
            pending_apply: None,
        }
    }

    /// `candidate`, from `text`, runs now; its warnings go to the log.
    pub fn adopt(&mut self, candidate: Config, text: String) {
        self.name = director_name(&candidate);
        self.hash = config_hash(&text);
        self.config = candidate;
        log_applied_warnings(self.path.clone(), text.clone());
        self.text = text;
    }

    /// The text a rollback returns to: what was last confirmed, even when
    /// an unconfirmed apply is replaced by another.
    pub fn confirmed_text(&self) -> String {
        match &self.pending_apply {
            Some(pending) => pending.previous_text.clone(),
            None => self.text.clone(),
        }
    }

    /// The running text waits `within` for `confirm`, else goes back to
    /// `previous_text`.
    pub fn await_confirm(&mut self, previous_text: String, within: std::time::Duration) {
        self.pending_apply = Some(PendingApply {
            previous_text,
            deadline: tokio::time::Instant::now() + within,
        });
    }

    /// An apply that needs no confirmation: written to the file now.
    pub fn keep(&mut self) -> Result<(), CommandError> {
        self.pending_apply = None;
        self.save()
    }

    /// `confirm`: keep the apply that waits for it, and write it to the
    /// file.
    pub fn confirm(&mut self) -> Result<(), CommandError> {
        if self.pending_apply.take().is_none() {
            return Err(CommandError::NothingToConfirm);
        }
        self.save()
    }

    /// When an unconfirmed apply rolls back.
    pub fn confirm_deadline(&self) -> Option<tokio::time::Instant> {
        self.pending_apply.as_ref().map(|p| p.deadline)
    }

    /// The confirmation did not come: the text to go back to.
    pub fn take_unconfirmed(&mut self) -> Option<String> {
        self.pending_apply.take().map(|p| p.previous_text)
    }

    /// Write the running text to the configuration file: a temporary file
    /// beside it, then a rename, so the file is never half written.
    fn save(&self) -> Result<(), CommandError> {
        let temporary = self.path.with_extension("lvstop-apply.tmp");
        std::fs::write(&temporary, &self.text)
            .and_then(|()| std::fs::rename(&temporary, &self.path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temporary);
                CommandError::Invalid {
                    what: "apply".into(),
                    why: format!(
                        "applied, but {} could not be written: {e}; a reload would undo it",
                        self.path.display()
                    ),
                }
            })
    }
}
