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
    /// With several directors: show the next (previous) one.
    NextDirector,
    PrevDirector,
}

/// How an action reads on the hint bar: a short word an operator reads
/// (`drain`, `weight`), never the keymap name, and how much it matters
/// there (0 is kept longest; the highest rank goes first when the bar is
/// short). Defined once here, so a user keymap shows the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    pub word: &'static str,
    pub rank: u8,
}

const fn hint(word: &'static str, rank: u8) -> Option<Hint> {
    Some(Hint { word, rank })
}

/// (name in keymaps, action, changes the director, hint bar word);
/// moving around and switching screens have no hint (the tabs and the
/// help show those).
const NAMES: &[(&str, Action, bool, Option<Hint>)] = &[
    ("quit", Action::Quit, false, hint("quit", 0)),
    ("help", Action::Help, false, hint("help", 0)),
    (
        "command_line",
        Action::CommandLine,
        false,
        hint("command", 3),
    ),
    ("filter", Action::Filter, false, hint("filter", 2)),
    ("back", Action::Back, false, hint("back", 6)),
    ("view services", Action::Show(View::Services), false, None),
    ("view vrrp", Action::Show(View::Vrrp), false, None),
    ("view checks", Action::Show(View::Checks), false, None),
    ("view events", Action::Show(View::Events), false, None),
    (
        "view connections",
        Action::Show(View::Connections),
        false,
        None,
    ),
    ("view config", Action::Show(View::Config), false, None),
    ("next_view", Action::NextView, false, None),
    ("prev_view", Action::PrevView, false, None),
    ("up", Action::Up, false, None),
    ("down", Action::Down, false, None),
    ("page_up", Action::PageUp, false, None),
    ("page_down", Action::PageDown, false, None),
    ("top", Action::Top, false, None),
    ("bottom", Action::Bottom, false, None),
    ("sort_next", Action::SortNext, false, hint("sort", 4)),
    (
        "sort_reverse",
        Action::SortReverse,
        false,
        hint("reverse", 6),
    ),
    (
        "toggle_expand",
        Action::ToggleExpand,
        false,
        hint("expand", 3),
    ),
    ("weight_set", Action::WeightSet, true, hint("weight", 1)),
    ("weight_up", Action::WeightUp, true, hint("weight+1", 7)),
    ("weight_down", Action::WeightDown, true, hint("weight-1", 7)),
    (
        "weight_up_10",
        Action::WeightUp10,
        true,
        hint("weight+10", 8),
    ),
    (
        "weight_down_10",
        Action::WeightDown10,
        true,
        hint("weight-10", 8),
    ),
    ("drain", Action::Drain, true, hint("drain", 1)),
    ("restore", Action::Restore, true, hint("restore", 2)),
    ("disable", Action::Disable, true, hint("disable", 2)),
    ("enable", Action::Enable, true, hint("enable", 3)),
    ("zero", Action::Zero, true, hint("zero", 5)),
    ("failover", Action::Failover, true, hint("failover", 1)),
    ("reload", Action::Reload, true, hint("reload", 6)),
    ("edit", Action::Edit, false, hint("edit", 1)),
    ("validate", Action::Validate, false, hint("validate", 2)),
    ("diff", Action::Diff, false, hint("diff", 2)),
    ("apply", Action::Apply, true, hint("apply", 1)),
    (
        "apply_confirmed",
        Action::ApplyConfirmed,
        true,
        hint("try-apply", 3),
    ),
    (
        "revert_draft",
        Action::RevertDraft,
        false,
        hint("revert", 3),
    ),
    ("confirm", Action::Confirm, false, hint("yes", 0)),
    ("cancel", Action::Cancel, false, hint("no", 0)),
    ("next_director", Action::NextDirector, false, None),
    ("prev_director", Action::PrevDirector, false, None),
];

impl Action {
    /// Whether the action changes the director (disabled by `--read-only`).
    pub fn mutates(self) -> bool {
        NAMES
            .iter()
            .find(|(_, a, _, _)| *a == self)
            .is_some_and(|(_, _, m, _)| *m)
    }

    /// The action's word and rank on the hint bar, if it has one.
    pub fn hint(self) -> Option<Hint> {
        NAMES
            .iter()
            .find(|(_, a, _, _)| *a == self)
            .and_then(|(_, _, _, h)| *h)
    }

    /// Every action name, for error messages and completion.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(n, _, _, _)| *n)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = NAMES
            .iter()
            .find(|(_, a, _, _)| a == self)
            .map_or("?", |(n, _, _, _)| n);
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
            .find(|(n, _, _, _)| *n == normalized)
            .map(|(_, a, _, _)| *a)
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

    #[test]
    fn hint_words_are_short_words_not_keymap_names() {
        for name in Action::names() {
            let action: Action = name.parse().unwrap_or_else(|e| panic!("{e}"));
            if let Some(hint) = action.hint() {
                assert!(
                    hint.word.len() <= 10 && !hint.word.contains([' ', '_']),
                    "{name}: '{}'",
                    hint.word
                );
            }
        }
        assert_eq!(Action::WeightSet.hint().map(|h| h.word), Some("weight"));
        assert_eq!(Action::ToggleExpand.hint().map(|h| h.word), Some("expand"));
        assert_eq!(Action::Down.hint(), None);
    }
}
