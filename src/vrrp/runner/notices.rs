//! Where the VRRP side's notices go: the notify FIFOs of `global_defs`
//! (`notify_fifo`, `vrrp_notify_fifo`, each with its `*_fifo_script`) and
//! e-mail alerts through the shared SMTP sender. The state machine decides
//! what to announce ([`Action::Notice`](crate::vrrp::fsm::Action)); this
//! only renders and hands over, and never blocks: a FIFO write is
//! non-blocking and an alert is queued.

use std::sync::Arc;

use crate::config::model::Config;
use crate::notify::smtp::{
    local_host_name, SmtpSettings, SmtpSettingsError, DEFAULT_QUEUE_CAPACITY,
};
use crate::notify::{Alert, AlertSender, FifoEvent, NotifyFifos, VrrpStateWord, VrrpSubject};
use crate::vrrp::fsm::{Action, NoticeState, NotifyTarget};

/// The FIFOs and the alert sender VRRP notices go to.
#[derive(Debug, Clone, Default)]
pub struct NoticeSinks {
    pub fifos: Arc<NotifyFifos>,
    pub alerts: Option<AlertSender>,
    /// Names the director in alert subjects: `router_id`, else the host
    /// name (keepalived.conf(5)).
    pub router_id: String,
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
        let alerts = match SmtpSettings::from_global(&config.global) {
            Some(settings) => Some(AlertSender::spawn(settings, DEFAULT_QUEUE_CAPACITY)?),
            None => None,
        };
        let router_id = config
            .global
            .router_id
            .as_ref()
            .map_or_else(local_host_name, |id| id.value.clone());
        Ok(Self {
            fifos,
            alerts,
            router_id,
        })
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
        let (subject, word) = words(target, state);
        self.fifos.write(&fifo_event(target, name, state, priority));
        if !alert {
            return;
        }
        if let (Some(sender), Some(mail)) = (
            &self.alerts,
            Alert::vrrp(&self.router_id, subject, name, word),
        ) {
            sender.send(mail);
        }
    }
}

impl NoticeSinks {
    /// Delivers `action` if it is a notice; other actions are ignored.
    pub fn deliver_action(&self, action: &Action) {
        if let Action::Notice {
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
