//! Sending e-mail alerts the way keepalived does: plain SMTP (no TLS, no
//! authentication) to `smtp_server`, from `notification_email_from` to
//! every `notification_email`, one connection per alert.
//!
//! [`AlertSender::send`] only queues: a background task talks to the
//! server, so a slow or dead SMTP server never delays a check or a VRRP
//! transition. The queue is bounded; when it is full the oldest alert is
//! dropped, counted and logged. This module never decides *whether* an
//! alert is wanted (`smtp_alert*`): callers do, see [`AlertDefaults`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use lettre::address::Envelope;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Serialize;

use super::alert::{render, Addresses, Alert};
use super::queue::DropOldest;
use crate::config::model::global::GlobalDefs;

/// How many alerts wait for the server before the oldest is dropped.
pub const DEFAULT_QUEUE_CAPACITY: usize = 256;

/// Everything needed to deliver alerts, resolved from `global_defs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    /// keepalived.conf(5): default 25.
    pub port: u16,
    /// keepalived.conf(5) `smtp_helo_name`: default the local host name.
    pub helo_name: String,
    /// keepalived.conf(5) `smtp_connect_timeout`: default 30 s.
    pub connect_timeout: Duration,
    pub addresses: Addresses,
}

/// Why the SMTP settings cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SmtpSettingsError {
    #[error("invalid e-mail address '{address}' in {keyword}: {reason}")]
    BadAddress {
        keyword: &'static str,
        address: String,
        reason: String,
    },
}

impl SmtpSettings {
    /// The settings from `global_defs`, or `None` when alerts cannot be
    /// sent: keepalived sends mail only when both `smtp_server` and at least
    /// one `notification_email` are configured.
    pub fn from_global(global: &GlobalDefs) -> Option<Self> {
        let server = global.smtp_server.as_ref()?;
        if global.notification_email.is_empty() {
            return None;
        }
        let host_name = local_host_name();
        let from = global.notification_email_from.as_ref().map_or_else(
            || format!("keepalived@{host_name}"),
            |from| from.value.clone(),
        );
        Some(Self {
            host: server.host.value.clone(),
            port: server.effective_port(),
            helo_name: global
                .smtp_helo_name
                .as_ref()
                .map_or(host_name, |name| name.value.clone()),
            connect_timeout: global.effective_smtp_connect_timeout(),
            addresses: Addresses {
                from,
                to: global
                    .notification_email
                    .iter()
                    .map(|to| to.value.clone())
                    .collect(),
            },
        })
    }

    /// The SMTP envelope (`MAIL FROM` and one `RCPT TO` per recipient).
    pub fn envelope(&self) -> Result<Envelope, SmtpSettingsError> {
        let parse = |keyword: &'static str, address: &str| {
            address
                .parse::<Address>()
                .map_err(|error| SmtpSettingsError::BadAddress {
                    keyword,
                    address: address.to_string(),
                    reason: error.to_string(),
                })
        };
        let from = parse("notification_email_from", &self.addresses.from)?;
        let to = self
            .addresses
            .to
            .iter()
            .map(|to| parse("notification_email", to))
            .collect::<Result<Vec<_>, _>>()?;
        Envelope::new(Some(from), to).map_err(|error| SmtpSettingsError::BadAddress {
            keyword: "notification_email",
            address: self.addresses.to.join(" "),
            reason: error.to_string(),
        })
    }

    /// The whole SMTP conversation of one alert must end within this:
    /// `smtp_connect_timeout` to connect plus the same again to talk
    /// (keepalived applies the timeout to each step; lettre only to the
    /// connect, so lvstop bounds the whole exchange).
    pub fn delivery_deadline(&self) -> Duration {
        self.connect_timeout.saturating_mul(2)
    }
}

/// `router_id`, `notification_email_from` and `smtp_helo_name` default to
/// the host name (keepalived.conf(5)).
pub fn local_host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Whether checkers and VRRP send alerts when their own block says nothing
/// (keepalived.conf(5): `smtp_alert_checker` / `smtp_alert_vrrp` override
/// `smtp_alert`; all default to no). A block's own `smtp_alert` wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlertDefaults {
    pub checker: bool,
    pub vrrp: bool,
}

impl AlertDefaults {
    pub fn from_global(global: &GlobalDefs) -> Self {
        let all = global.smtp_alert.map(|flag| flag.value);
        let pick = |own: Option<bool>| own.or(all).unwrap_or(false);
        Self {
            checker: pick(global.smtp_alert_checker.map(|flag| flag.value)),
            vrrp: pick(global.smtp_alert_vrrp.map(|flag| flag.value)),
        }
    }
}

/// Counters of the alert queue, for the console and `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct AlertStats {
    /// Accepted by [`AlertSender::send`].
    pub submitted: u64,
    /// Accepted by the SMTP server.
    pub sent: u64,
    /// Tried and failed (refused connection, timeout, SMTP error).
    pub failed: u64,
    /// Dropped unsent because the queue was full.
    pub dropped: u64,
    /// Waiting in the queue now.
    pub queued: u64,
}

#[derive(Debug, Default)]
struct Counters {
    submitted: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    queue: DropOldest<Alert>,
    counters: Counters,
    last_error: Mutex<Option<String>>,
}

/// The sending side of the alert queue. Cheap to clone; the background
/// task ends when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct AlertSender {
    shared: Arc<Shared>,
    _alive: Arc<Alive>,
}

/// Closes the queue when the last sender goes away, so the worker sends
/// what is left and ends.
#[derive(Debug)]
struct Alive(Arc<Shared>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.queue.close();
    }
}

impl AlertSender {
    /// Starts the delivery task on the current tokio runtime.
    pub fn spawn(settings: SmtpSettings, capacity: usize) -> Result<Self, SmtpSettingsError> {
        let envelope = settings.envelope()?;
        let shared = Arc::new(Shared {
            queue: DropOldest::new(capacity),
            counters: Counters::default(),
            last_error: Mutex::new(None),
        });
        let alive = Arc::new(Alive(Arc::clone(&shared)));
        let worker = Worker {
            transport: transport(&settings),
            envelope,
            settings,
            shared: Arc::clone(&shared),
        };
        tokio::spawn(worker.run());
        Ok(Self {
            shared,
            _alive: alive,
        })
    }

    /// Queues an alert and returns at once; never waits for the network.
    pub fn send(&self, alert: Alert) {
        let counters = &self.shared.counters;
        counters.submitted.fetch_add(1, Ordering::Relaxed);
        if let Some(old) = self.shared.queue.push(alert) {
            let total = counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(
                subject = %old.subject,
                dropped_total = total,
                "SMTP alert queue full ({} waiting): dropped the oldest alert",
                self.shared.queue.capacity()
            );
        }
    }

    pub fn stats(&self) -> AlertStats {
        let counters = &self.shared.counters;
        AlertStats {
            submitted: counters.submitted.load(Ordering::Relaxed),
            sent: counters.sent.load(Ordering::Relaxed),
            failed: counters.failed.load(Ordering::Relaxed),
            dropped: counters.dropped.load(Ordering::Relaxed),
            queued: self.shared.queue.len() as u64,
        }
    }

    /// Why the last delivery failed, for the console.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared.last_error).clone()
    }
}

/// A poisoned lock only means another thread panicked while holding it;
/// the value inside is still valid.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// keepalived speaks plain SMTP without TLS or authentication.
fn transport(settings: &SmtpSettings) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
        .port(settings.port)
        .hello_name(ClientId::Domain(settings.helo_name.clone()))
        .timeout(Some(settings.connect_timeout))
        .build()
}

struct Worker {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    envelope: Envelope,
    settings: SmtpSettings,
    shared: Arc<Shared>,
}

impl Worker {
    async fn run(self) {
        while let Some(alert) = self.shared.queue.pop().await {
            self.deliver(alert).await;
        }
    }

    async fn deliver(&self, alert: Alert) {
        let message = render(&alert, &self.settings.addresses, SystemTime::now());
        let server = format!("{}:{}", self.settings.host, self.settings.port);
        let deadline = self.settings.delivery_deadline();
        let attempt = self.transport.send_raw(&self.envelope, message.as_bytes());
        let error = match tokio::time::timeout(deadline, attempt).await {
            Ok(Ok(_)) => {
                self.shared.counters.sent.fetch_add(1, Ordering::Relaxed);
                tracing::info!(server = %server, subject = %alert.subject, "SMTP alert successfully sent");
                return;
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!(
                "no answer within {} s (smtp_connect_timeout × 2)",
                deadline.as_secs_f64()
            ),
        };
        let total = self.shared.counters.failed.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(
            server = %server,
            subject = %alert.subject,
            failed_total = total,
            "could not send SMTP alert: {error}"
        );
        *lock(&self.shared.last_error) = Some(format!("{server}: {error}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::{Location, Spanned};

    fn text(value: &str) -> Spanned<String> {
        Spanned::new(value.to_string(), Location::default())
    }

    #[test]
    fn no_server_or_no_recipient_means_no_alerts() {
        let mut global = GlobalDefs::default();
        assert_eq!(SmtpSettings::from_global(&global), None);
        global.smtp_server = Some(crate::config::model::global::SmtpServer {
            host: text("127.0.0.1"),
            port: None,
        });
        assert_eq!(SmtpSettings::from_global(&global), None);
        global.notification_email.push(text("ops@example.com"));
        let settings = SmtpSettings::from_global(&global).unwrap();
        assert_eq!(settings.port, 25);
        assert_eq!(settings.connect_timeout, Duration::from_secs(30));
        assert!(settings.addresses.from.starts_with("keepalived@"));
    }

    #[test]
    fn bad_address_is_named() {
        let settings = SmtpSettings {
            host: "127.0.0.1".into(),
            port: 25,
            helo_name: "h".into(),
            connect_timeout: Duration::from_secs(1),
            addresses: Addresses {
                from: "not an address".into(),
                to: vec!["ops@example.com".into()],
            },
        };
        let error = settings.envelope().unwrap_err();
        assert!(error
            .to_string()
            .contains("'not an address' in notification_email_from"));
    }

    #[test]
    fn alert_defaults_follow_the_most_specific_keyword() {
        let mut global = GlobalDefs::default();
        assert_eq!(
            AlertDefaults::from_global(&global),
            AlertDefaults::default()
        );
        let at = Location::default();
        global.smtp_alert = Some(Spanned::new(true, at));
        global.smtp_alert_vrrp = Some(Spanned::new(false, at));
        assert_eq!(
            AlertDefaults::from_global(&global),
            AlertDefaults {
                checker: true,
                vrrp: false
            }
        );
    }
}
