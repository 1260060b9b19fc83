//! The e-mail alert itself: keepalived's subject lines and the exact message
//! text it puts on the wire.
//!
//! Pure text: never opens a connection (that is [`super::smtp`]).

use std::time::SystemTime;

use lettre::message::header::{Date, Headers};

use super::names::{ServiceName, VrrpStateWord, VrrpSubject};

/// keepalived cuts the subject at 255 bytes and the body at 511
/// (`MAX_HEADERS_LENGTH` / `MAX_BODY_LENGTH` in its smtp.h); lvstop keeps
/// the same limits so a runaway reason never makes a huge mail.
const MAX_SUBJECT: usize = 255;
const MAX_BODY: usize = 511;

/// One alert: the full subject line and the body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub subject: String,
    pub body: String,
}

impl Alert {
    /// An alert with the subject exactly as given.
    pub fn new(subject: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            body: body.into(),
        }
    }

    /// A real server changed state:
    /// `[<router_id>] Realserver [RIP]:tcp:PORT of virtual server [VIP]:tcp:PORT - DOWN`,
    /// body e.g. `=> TCP CHECK failed on service <=`.
    pub fn real_server(
        router_id: &str,
        real_server: &ServiceName,
        virtual_server: &ServiceName,
        up: bool,
        body: impl Into<String>,
    ) -> Self {
        let state = if up { "UP" } else { "DOWN" };
        Self::new(
            format!("[{router_id}] Realserver {real_server} of virtual server {virtual_server} - {state}"),
            body,
        )
    }

    /// A virtual server's quorum changed: `[<router_id>] Virtualserver VS - <what>`.
    pub fn virtual_server(
        router_id: &str,
        virtual_server: &ServiceName,
        what: &str,
        body: impl Into<String>,
    ) -> Self {
        Self::new(
            format!("[{router_id}] Virtualserver {virtual_server} - {what}"),
            body,
        )
    }

    /// A VRRP instance changed state: `[<router_id>] VRRP Instance VI_1 - <what>`
    /// (keepalived's `what` is e.g. `Entering MASTER state`).
    pub fn vrrp_instance(
        router_id: &str,
        instance: &str,
        what: &str,
        body: impl Into<String>,
    ) -> Self {
        Self::new(
            format!("[{router_id}] VRRP Instance {instance} - {what}"),
            body,
        )
    }

    /// A sync group changed state: `[<router_id>] VRRP Group G1 - <what>`.
    pub fn vrrp_group(router_id: &str, group: &str, what: &str, body: impl Into<String>) -> Self {
        Self::new(format!("[{router_id}] VRRP Group {group} - {what}"), body)
    }

    /// The alert keepalived 2.2.7 mails when an instance or a sync group
    /// reaches `state` (recorded in tests/fixtures/notify/keepalived-vrrp):
    /// MASTER, BACKUP and FAULT for both, DELETED for instances; `None`
    /// for the states it never mails (STOP, the FIFO-only ones).
    pub fn vrrp(
        router_id: &str,
        subject: VrrpSubject,
        name: &str,
        state: VrrpStateWord,
    ) -> Option<Self> {
        let entering = |word: &str| format!("Entering {word} state");
        let alert = match (subject, state) {
            (
                VrrpSubject::Instance,
                VrrpStateWord::Master | VrrpStateWord::Backup | VrrpStateWord::Fault,
            ) => {
                let owning = if state == VrrpStateWord::Master {
                    "now"
                } else {
                    "no longer"
                };
                Self::vrrp_instance(
                    router_id,
                    name,
                    &entering(state.word()),
                    format!("=> VRRP Instance is {owning} owning VRRP VIPs <="),
                )
            }
            (VrrpSubject::Instance, VrrpStateWord::Deleted) => {
                Self::vrrp_instance(router_id, name, "Deleted", "=> VRRP Deleted at reload <=")
            }
            (
                VrrpSubject::Group,
                VrrpStateWord::Master | VrrpStateWord::Backup | VrrpStateWord::Fault,
            ) => Self::vrrp_group(
                router_id,
                name,
                &entering(state.word()),
                format!(
                    "=> All VRRP group instances are now in {} state <=",
                    state.word()
                ),
            ),
            _ => return None,
        };
        Some(alert)
    }
}

/// The envelope and headers of every alert (from `global_defs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    pub from: String,
    pub to: Vec<String>,
}

/// The message as keepalived writes it after `DATA`: `Date`, `From`,
/// `Subject`, `X-Mailer: Keepalived`, `To` (all recipients, comma
/// separated), a blank line, the body, CRLF line ends. The `X-Mailer` value
/// is keepalived's so that mail filters written for keepalived keep working.
/// Dot-stuffing and the final `.` are the transport's job.
pub fn render(alert: &Alert, addresses: &Addresses, at: SystemTime) -> String {
    let mut headers = Headers::new();
    headers.set(Date::new(at));
    let date = headers.get_raw("Date").unwrap_or_default().to_string();
    let subject = one_line(truncate(&alert.subject, MAX_SUBJECT));
    let body = truncate(&alert.body, MAX_BODY)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    format!(
        "Date: {}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n{}\r\n",
        date,
        addresses.from,
        subject,
        addresses.to.join(",\r\n "),
        body,
    )
}

/// A header must stay on one line, whatever the caller put in it.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::lvs::Protocol;

    #[test]
    fn real_server_subject_matches_the_seed() {
        let rs = ServiceName::address([192, 168, 100, 82].into(), Protocol::Tcp, 80);
        let vs = ServiceName::address([192, 168, 100, 88].into(), Protocol::Tcp, 80);
        let alert = Alert::real_server(
            "LVS_DEVEL",
            &rs,
            &vs,
            false,
            "=> TCP CHECK failed on service <=",
        );
        assert_eq!(
            alert.subject,
            "[LVS_DEVEL] Realserver [192.168.100.82]:tcp:80 of virtual server [192.168.100.88]:tcp:80 - DOWN"
        );
    }

    #[test]
    fn message_has_keepalived_headers_in_order() {
        let alert = Alert::new("subject\nwith newline", "line 1\nline 2");
        let addresses = Addresses {
            from: "lvs@example.com".into(),
            to: vec!["a@example.com".into(), "b@example.com".into()],
        };
        let text = render(&alert, &addresses, SystemTime::UNIX_EPOCH);
        assert_eq!(
            text,
            "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: lvs@example.com\r\nSubject: subject with newline\r\nX-Mailer: Keepalived\r\nTo: a@example.com,\r\n b@example.com\r\n\r\nline 1\r\nline 2\r\n"
        );
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let alert = Alert::new("é".repeat(200), "x".repeat(600));
        let addresses = Addresses {
            from: "f@x".into(),
            to: vec!["t@x".into()],
        };
        let text = render(&alert, &addresses, SystemTime::UNIX_EPOCH);
        let subject = text.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        assert_eq!(subject.len(), "Subject: ".len() + 254);
        assert!(text.contains(&format!("\r\n\r\n{}\r\n", "x".repeat(511))));
    }
}
