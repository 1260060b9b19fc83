//! What an operator can ask the engine, and what comes back. The same
//! types travel over the control socket (serde), so an in-process console
//! and `lvstop ctl` on another terminal ask exactly the same things.
//!
//! Every command has a typed outcome or a typed error that says what was
//! wrong and what was left as it was; a refused command changes nothing.

use serde::{Deserialize, Serialize};

use super::overrides::Target;
use crate::ipvs::model::{DestKey, ServiceKey};

/// One operator command: an override (weight, drain, restore, disable,
/// enable), a VRRP step-down or priority, or a configuration change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Give a real server this weight until restored.
    SetWeight {
        service: ServiceKey,
        server: DestKey,
        weight: i32,
        #[serde(default)]
        reason: Option<String>,
    },
    /// Weight 0, then wait until the real server has no active
    /// connections (or `timeout_s` passed); with `remove`, disable it then.
    Drain {
        service: ServiceKey,
        server: DestKey,
        timeout_s: u64,
        #[serde(default)]
        remove: bool,
        #[serde(default)]
        reason: Option<String>,
    },
    /// Back to the configured weight, at once or climbing over `ramp_s`.
    Restore {
        service: ServiceKey,
        server: DestKey,
        #[serde(default)]
        ramp_s: Option<u64>,
    },
    /// Take a virtual service or real server out of the table.
    Disable { target: Target, reason: String },
    /// Clear one reason (or all with `None`).
    Enable {
        target: Target,
        #[serde(default)]
        reason: Option<String>,
    },
    /// A VRRP instance or sync group steps down: priority-0 advert, then
    /// BACKUP for `hold_s`; or, with `priority`, it runs at another
    /// priority (peers with preemption take over from a lowered master, a
    /// raised backup takes over) until set back to the configured one.
    Failover {
        name: String,
        #[serde(default)]
        hold_s: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<PriorityChange>,
    },
    /// Re-read the configuration file and apply it.
    Reload,
    /// Apply configuration text: `dry_run` returns the plan only;
    /// `confirm_within_s` rolls back unless confirmed in time.
    Apply {
        text: String,
        #[serde(default)]
        dry_run: bool,
        #[serde(default)]
        confirm_within_s: Option<u64>,
    },
    /// Keep an apply made with `confirm_within_s`.
    Confirm,
    /// Zero the counters of one service, or all.
    Zero {
        #[serde(default)]
        service: Option<ServiceKey>,
    },
}

impl Command {
    /// Whether the command changes anything (read-only peers may not send
    /// these; a dry-run apply changes nothing).
    pub fn mutates(&self) -> bool {
        !matches!(self, Command::Apply { dry_run: true, .. })
    }

    /// The verb, for the audit trail.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::SetWeight { .. } => "weight",
            Command::Drain { .. } => "drain",
            Command::Restore { .. } => "restore",
            Command::Disable { .. } => "disable",
            Command::Enable { .. } => "enable",
            Command::Failover { .. } => "failover",
            Command::Reload => "reload",
            Command::Apply { .. } => "apply",
            Command::Confirm => "confirm",
            Command::Zero { .. } => "zero",
        }
    }
}

/// A failover by priority: `{"set": 50}` or `"configured"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorityChange {
    /// Run at this priority, 1-254 (0 and 255 are the protocol's own,
    /// RFC 5798 §5.2.4).
    Set(u8),
    /// Back to the configured priority.
    Configured,
}

impl std::str::FromStr for PriorityChange {
    type Err = String;

    /// `N` (1-254) or `configured`, as `lvstop ctl` and the console take it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{text}' is not a VRRP priority (1 to 254, or 'configured')");
        if text == "configured" {
            return Ok(PriorityChange::Configured);
        }
        let change = PriorityChange::Set(text.parse().map_err(|_| bad())?);
        change.priority().map_err(|_| bad())?;
        Ok(change)
    }
}

impl PriorityChange {
    /// The priority to run at (`None`: the configured one), or why not.
    pub fn priority(self) -> Result<Option<u8>, CommandError> {
        match self {
            PriorityChange::Set(p @ 1..=254) => Ok(Some(p)),
            PriorityChange::Set(p) => Err(CommandError::Invalid {
                what: format!("priority {p}"),
                why: "must be 1-254 (0 is a master stopping, 255 the address owner)".into(),
            }),
            PriorityChange::Configured => Ok(None),
        }
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Done; one line saying what changed.
    Done { message: String },
    /// A drain ended: why, and what still holds clients there.
    Drained {
        /// Active connections left (0 unless it timed out).
        active: u32,
        inactive: u32,
        /// Persistence templates still pointing clients at the server;
        /// they keep those clients sticky until they expire.
        persistent: u32,
        timed_out: bool,
        removed: bool,
    },
    /// The operations an apply makes (or would make, on a dry run).
    Plan {
        operations: Vec<String>,
        applied: bool,
        /// When set, the apply rolls back at this wall-clock time unless
        /// confirmed.
        #[serde(default)]
        rollback_at_ms: Option<u64>,
    },
}

/// Why a command was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum CommandError {
    #[error("no virtual service {service}")]
    UnknownService { service: String },
    #[error("no real server {server} in {service}")]
    UnknownServer { service: String, server: String },
    #[error("no VRRP instance or sync group '{name}'")]
    UnknownInstance { name: String },
    #[error("{what}: {why}")]
    Invalid { what: String, why: String },
    #[error("the configuration has errors; nothing applied:\n{}", diagnostics.join("\n"))]
    InvalidConfig { diagnostics: Vec<String> },
    #[error("the dataplane refused '{operation}': {why}; the previous table is back in place")]
    Refused { operation: String, why: String },
    #[error("read-only: this peer may look but not act")]
    ReadOnly,
    #[error("nothing waits for a confirmation")]
    NothingToConfirm,
    #[error("the engine is shutting down")]
    ShuttingDown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_through_json_with_a_verb_tag() {
        let command = Command::Drain {
            service: ServiceKey::tcp("198.51.100.88:80".parse().unwrap_or_else(|e| panic!("{e}"))),
            server: DestKey::new("198.51.100.82:80".parse().unwrap_or_else(|e| panic!("{e}"))),
            timeout_s: 300,
            remove: true,
            reason: Some("kernel upgrade".into()),
        };
        let json = serde_json::to_string(&command).unwrap_or_default();
        assert!(json.starts_with(r#"{"command":"drain""#), "{json}");
        let back: Command = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(back, command);
        assert_eq!(command.verb(), "drain");
        assert!(command.mutates());
        let dry = Command::Apply {
            text: String::new(),
            dry_run: true,
            confirm_within_s: None,
        };
        assert!(!dry.mutates());
    }

    #[test]
    fn optional_fields_may_be_left_out() {
        let service = ServiceKey::tcp("198.51.100.88:80".parse().unwrap_or_else(|e| panic!("{e}")));
        let full = Command::Enable {
            target: Target::Service(service),
            reason: None,
        };
        let mut value = serde_json::to_value(&full).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.remove("reason");
        }
        let parsed: Result<Command, _> = serde_json::from_value(value);
        assert_eq!(parsed.ok(), Some(full));
    }
}
