//! Small value types shared by every part of the configuration model.

use std::time::Duration;

use crate::config::source::{Location, Spanned};

/// A keyword lvstop recognises but does not act on (yet): kept verbatim so
/// nothing in the operator's file is silently dropped, and rendered back by
/// `lvstop check --dump`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSetting {
    pub keyword: Spanned<String>,
    pub args: Vec<String>,
    /// `Some` when the keyword opened a block.
    pub block: Option<Vec<RawSetting>>,
}

/// A command keepalived runs (notify, tracking and checker scripts):
/// the words of the command line split as keepalived splits them (unquoted
/// spaces separate arguments), plus the optional user and group to run as.
/// Equality ignores `at`, like [`Spanned`].
#[derive(Debug, Clone, Eq, Default)]
pub struct Script {
    pub argv: Vec<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub at: Location,
}

impl PartialEq for Script {
    fn eq(&self, other: &Self) -> bool {
        self.argv == other.argv && self.user == other.user && self.group == other.group
    }
}

/// A timer in keepalived's `<TIMER>` syntax: seconds with a fractional part,
/// microsecond resolution.
pub type Timer = Spanned<Duration>;

/// A plain string with its location.
pub type Text = Spanned<String>;
