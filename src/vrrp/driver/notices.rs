//! Where the VRRP side's notices go: the notify FIFOs of `global_defs`
//! (`notify_fifo`, `vrrp_notify_fifo`, each with its `*_fifo_script`) and
//! e-mail alerts through the shared SMTP sender. The state machine decides
//! what to announce ([`VrrpAction::Notice`](crate::vrrp::machine::VrrpAction)); this
//! only renders and hands over, and never blocks: a FIFO write is
//! non-blocking and an alert is queued.

use std::sync::{Arc, PoisonError, RwLock};

use crate::config::model::Config;
use crate::notify::smtp::{
    local_host_name, SmtpSettings, SmtpSettingsError, DEFAULT_QUEUE_CAPACITY,
};
use crate::notify::{Alert, AlertSender, FifoEvent, NotifyFifos, VrrpStateWord, VrrpSubject};
use crate::vrrp::machine::{NoticeState, NotifyTarget, VrrpAction};

/// The FIFOs and the alert sender VRRP notices go to. Clones share the
/// mail settings, so a reload reaches runners that keep running.
#[derive(Debug, Clone, Default)]
pub struct NoticeSinks {
    fifos: Arc<NotifyFifos>,
    mail: Arc<RwLock<Mail>>,
}

#[derive(Debug, Default)]
struct Mail {
    /// The settings `sender` was made for.
    settings: Option<SmtpSettings>,
    sender: Option<AlertSender>,
    /// Names the director in alert subjects: `router_id`, else the host
    /// name (keepalived.conf(5)).
    router_id: String,
}

impl NoticeSinks {
    /// Sinks for `config`: the FIFOs already opened for the daemon (shared
    /// with the checkers, as keepalived shares `notify_fifo`), and an alert
    /// sender when `smtp_server` and `notification_email` are set. Must
    /// run inside a tokio runtime.
    pub fn from_config(
        config: &Config,
        fifos: Arc<NotifyFifos>,
    ) -> Result<Self, SmtpSettingsError> {
        let sinks = Self::fifos_only(fifos);
        sinks.reconfigure(config)?;
        Ok(sinks)
    }

    /// FIFO lines only: no e-mail.
    pub fn fifos_only(fifos: Arc<NotifyFifos>) -> Self {
        Self {
            fifos,
            mail: Arc::default(),
        }
    }

    /// Follows a reload: the new `router_id`, and a new sender only when
    /// the SMTP settings changed (an unchanged one keeps its queue).
    pub fn reconfigure(&self, config: &Config) -> Result<(), SmtpSettingsError> {
        let settings = SmtpSettings::from_global(&config.global);
        let router_id = config
            .global
            .router_id
            .as_ref()
            .map_or_else(local_host_name, |id| id.value.clone());
        let mut mail = self.mail.write().unwrap_or_else(PoisonError::into_inner);
        if mail.settings != settings {
            mail.sender = match &settings {
                Some(settings) => Some(AlertSender::spawn(
                    settings.clone(),
                    DEFAULT_QUEUE_CAPACITY,
                )?),
                None => None,
            };
            mail.settings = settings;
        }
        mail.router_id = router_id;
        Ok(())
    }

    /// Writes the notice's FIFO line and, when `alert` is set and an SMTP
    /// server is configured, queues its e-mail.
    pub fn deliver(
        &self,
        target: NotifyTarget,
        name: &str,
        state: NoticeState,
        priority: u8,
        alert: bool,
    ) {
        self.fifos.write(&fifo_event(target, name, state, priority));
        if !alert {
            return;
        }
        // A poisoned lock only means a panic elsewhere mid-update; the
        // settings are still whole.
        let mail = self.mail.read().unwrap_or_else(PoisonError::into_inner);
        let (subject, word) = words(target, state);
        if let (Some(sender), Some(message)) = (
            &mail.sender,
            Alert::vrrp(&mail.router_id, subject, name, word),
        ) {
            sender.send(message);
        }
    }
}

impl NoticeSinks {
    /// Delivers `action` if it is a notice; other actions are ignored.
    pub fn deliver_action(&self, action: &VrrpAction) {
        if let VrrpAction::Notice {
            target,
            name,
            state,
            priority,
            alert,
        } = action
        {
            self.deliver(*target, name, *state, *priority, *alert);
        }
    }
}

/// The FIFO line of a notice (`INSTANCE "VI_1" MASTER 150`).
pub fn fifo_event(target: NotifyTarget, name: &str, state: NoticeState, priority: u8) -> FifoEvent {
    let (subject, word) = words(target, state);
    FifoEvent::Vrrp {
        subject,
        name: name.to_string(),
        state: word,
        priority,
    }
}

/// The e-mail alert of a notice, if keepalived mails that state.
pub fn alert(
    router_id: &str,
    target: NotifyTarget,
    name: &str,
    state: NoticeState,
) -> Option<Alert> {
    let (subject, word) = words(target, state);
    Alert::vrrp(router_id, subject, name, word)
}

fn words(target: NotifyTarget, state: NoticeState) -> (VrrpSubject, VrrpStateWord) {
    let subject = match target {
        NotifyTarget::Instance => VrrpSubject::Instance,
        NotifyTarget::Group => VrrpSubject::Group,
    };
    let word = match state {
        NoticeState::Master => VrrpStateWord::Master,
        NoticeState::Backup => VrrpStateWord::Backup,
        NoticeState::Fault => VrrpStateWord::Fault,
        NoticeState::Stop => VrrpStateWord::Stop,
        NoticeState::Deleted => VrrpStateWord::Deleted,
        NoticeState::MasterRxLowerPri => VrrpStateWord::MasterRxLowerPri,
        NoticeState::MasterPriority => VrrpStateWord::MasterPriority,
        NoticeState::BackupPriority => VrrpStateWord::BackupPriority,
    };
    (subject, word)
}
