//! What a key can ask the console to do. Keymaps name these in their
//! `run` field; the console's `update` turns them into view changes or
//! engine commands. Names are the keymap vocabulary: changing one breaks
//! user keymaps, so they only ever get added.

use std::fmt;
use std::str::FromStr;

/// The screens of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum View {
    Services,
    Vrrp,
    Checks,
    Events,
    Connections,
    Config,
}

impl View {
    pub const ALL: [View; 6] = [
        View::Services,
        View::Vrrp,
        View::Checks,
        View::Events,
        View::Connections,
        View::Config,
    ];

    /// The keymap table and theme scope name.
    pub fn name(self) -> &'static str {
        match self {
            View::Services => "services",
            View::Vrrp => "vrrp",
            View::Checks => "checks",
            View::Events => "events",
            View::Connections => "connections",
            View::Config => "config",
        }
    }
}

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    CommandLine,
    Filter,
    Back,
    Show(View),
    NextView,
    PrevView,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    SortNext,
    SortReverse,
    ToggleExpand,
    WeightSet,
    WeightUp,
    WeightDown,
    WeightUp10,
    WeightDown10,
    Drain,
    Restore,
    Disable,
    Enable,
    Zero,
    Failover,
    Reload,
    Edit,
    Validate,
    Diff,
    Apply,
    ApplyConfirmed,
    RevertDraft,
    Confirm,
    Cancel,
}

/// (name in keymaps, action, changes the director)
const NAMES: &[(&str, Action, bool)] = &[
    ("quit", Action::Quit, false),
    ("help", Action::Help, false),
    ("command_line", Action::CommandLine, false),
    ("filter", Action::Filter, false),
    ("back", Action::Back, false),
    ("view services", Action::Show(View::Services), false),
    ("view vrrp", Action::Show(View::Vrrp), false),
    ("view checks", Action::Show(View::Checks), false),
    ("view events", Action::Show(View::Events), false),
    ("view connections", Action::Show(View::Connections), false),
    ("view config", Action::Show(View::Config), false),
    ("next_view", Action::NextView, false),
    ("prev_view", Action::PrevView, false),
    ("up", Action::Up, false),
    ("down", Action::Down, false),
    ("page_up", Action::PageUp, false),
    ("page_down", Action::PageDown, false),
    ("top", Action::Top, false),
    ("bottom", Action::Bottom, false),
    ("sort_next", Action::SortNext, false),
    ("sort_reverse", Action::SortReverse, false),
    ("toggle_expand", Action::ToggleExpand, false),
    ("weight_set", Action::WeightSet, true),
    ("weight_up", Action::WeightUp, true),
    ("weight_down", Action::WeightDown, true),
    ("weight_up_10", Action::WeightUp10, true),
    ("weight_down_10", Action::WeightDown10, true),
    ("drain", Action::Drain, true),
    ("restore", Action::Restore, true),
    ("disable", Action::Disable, true),
    ("enable", Action::Enable, true),
    ("zero", Action::Zero, true),
    ("failover", Action::Failover, true),
    ("reload", Action::Reload, true),
    ("edit", Action::Edit, false),
    ("validate", Action::Validate, false),
    ("diff", Action::Diff, false),
    ("apply", Action::Apply, true),
    ("apply_confirmed", Action::ApplyConfirmed, true),
    ("revert_draft", Action::RevertDraft, false),
    ("confirm", Action::Confirm, false),
    ("cancel", Action::Cancel, false),
];

impl Action {
    /// Whether the action changes the director (disabled by `--read-only`).
    pub fn mutates(self) -> bool {
        NAMES
            .iter()
            .find(|(_, a, _)| *a == self)
            .is_some_and(|(_, _, m)| *m)
    }

    /// Every action name, for error messages and completion.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(n, _, _)| *n)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = NAMES
            .iter()
            .find(|(_, a, _)| a == self)
            .map_or("?", |(n, _, _)| n);
        f.write_str(name)
    }
}

/// A `run` value that names no action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action '{0}'")]
pub struct UnknownAction(pub String);

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let normalized = text.split_whitespace().collect::<Vec<_>>().join(" ");
        NAMES
            .iter()
            .find(|(n, _, _)| *n == normalized)
            .map(|(_, a, _)| *a)
            .ok_or_else(|| UnknownAction(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_action() {
        for name in Action::names() {
            let action: Action = name.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(action.to_string(), name);
        }
        assert_eq!("view   services".parse(), Ok(Action::Show(View::Services)));
        assert!("drian".parse::<Action>().is_err());
        assert!(Action::Drain.mutates() && !Action::Help.mutates());
    }
}
