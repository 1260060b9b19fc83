//! Keymaps as data: one TOML table per screen (`[global]`, `[services]`,
//! `[vrrp]`, …, and `[dialog]` for confirmations), each a list of
//! `{ on = "<C-d>", run = "drain", desc = "Drain: weight 0, keep connections" }`.
//! The help screen and the hint bar are built from the same entries, so
//! they cannot drift from what the keys do.
//!
//! Shipped keymaps are embedded (`keymaps/*.toml`); a user file
//! (`$XDG_CONFIG_HOME/lvstop/keymap.toml`) adds `prepend_keymap` (wins
//! over the shipped keys) and `append_keymap` entries per table instead of
//! copying the whole file. Loading fails, saying where, on an unknown
//! action, an unreadable key or the same key twice in one table.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use super::action::{Action, View};

/// The shipped keymaps: (name, TOML text).
pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

/// Where a key binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Global,
    View(View),
    /// A confirmation dialog is open.
    Dialog,
}

impl Scope {
    fn from_name(name: &str) -> Option<Scope> {
        match name {
            "global" => Some(Scope::Global),
            "dialog" => Some(Scope::Dialog),
            other => View::ALL
                .iter()
                .find(|v| v.name() == other)
                .map(|v| Scope::View(*v)),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Dialog => "dialog",
            Scope::View(view) => view.name(),
        }
    }
}

/// A key as keymaps write it: a character, or `<C-d>`, `<S-Tab>`,
/// `<Enter>`, `<F5>`…
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

/// Why a key's name in a keymap does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("'{0}' is not a key (a character, or <C-x>, <Enter>, <F1>…)")]
    NotAKey(String),
    #[error("'{key}': unknown modifier '{prefix}-' (C-, A-, S-)")]
    UnknownModifier { key: String, prefix: String },
    #[error("'{0}': function keys are <F1> to <F12>")]
    NoSuchFunctionKey(String),
    #[error("'{key}': write the shifted character itself ('{shifted}')")]
    ShiftedCharacter { key: String, shifted: char },
    #[error("'{0}' is not a key name")]
    NoSuchName(String),
}

impl Key {
    /// The key a terminal event stands for. Shift is folded into the
    /// character (`G`), as keymaps write it.
    pub fn from_event(event: KeyEvent) -> Key {
        let mut modifiers = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match event.code {
            KeyCode::BackTab => KeyCode::BackTab,
            KeyCode::Char(c) => KeyCode::Char(c),
            other => {
                modifiers |= event.modifiers & KeyModifiers::SHIFT;
                other
            }
        };
        Key { code, modifiers }
    }

    /// Parse `a`, `G`, `?`, `<C-d>`, `<A-x>`, `<S-Up>`, `<Tab>`,
    /// `<S-Tab>`, `<Space>`, `<lt>` (a literal `<`), `<F1>`…
    pub fn parse(text: &str) -> Result<Key, KeyError> {
        let mut chars = text.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Ok(Key {
                code: KeyCode::Char(c),
                modifiers: KeyModifiers::NONE,
            });
        }
        let inner = text
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .ok_or_else(|| KeyError::NotAKey(text.to_string()))?;
        let mut modifiers = KeyModifiers::NONE;
        let mut name = inner;
        while let Some((prefix, rest)) = name
            .split_once('-')
            .filter(|(p, r)| p.len() == 1 && !r.is_empty())
        {
            modifiers |= match prefix {
                "C" => KeyModifiers::CONTROL,
                "A" | "M" => KeyModifiers::ALT,
                "S" => KeyModifiers::SHIFT,
                _ => {
                    return Err(KeyError::UnknownModifier {
                        key: text.to_string(),
                        prefix: prefix.to_string(),
                    })
                }
            };
            name = rest;
        }
        let code = match name {
            "Enter" | "CR" => KeyCode::Enter,
            "Esc" => KeyCode::Esc,
            "Tab" if modifiers.contains(KeyModifiers::SHIFT) => {
                modifiers -= KeyModifiers::SHIFT;
                KeyCode::BackTab
            }
            "Tab" => KeyCode::Tab,
            "Backspace" | "BS" => KeyCode::Backspace,
            "Space" => KeyCode::Char(' '),
            "lt" => KeyCode::Char('<'),
            "Up" => KeyCode::Up,
            "Down" => KeyCode::Down,
            "Left" => KeyCode::Left,
            "Right" => KeyCode::Right,
            "PageUp" => KeyCode::PageUp,
            "PageDown" => KeyCode::PageDown,
            "Home" => KeyCode::Home,
            "End" => KeyCode::End,
            "Delete" | "Del" => KeyCode::Delete,
            "Insert" => KeyCode::Insert,
            f if f.starts_with('F') && f.len() > 1 => match f[1..].parse::<u8>() {
                Ok(n @ 1..=12) => KeyCode::F(n),
                _ => return Err(KeyError::NoSuchFunctionKey(text.to_string())),
            },
            single if single.chars().count() == 1 => {
                let c = single.chars().next().unwrap_or(' ');
                // <C-D> and <C-d> are the same key to a terminal.
                let c = if modifiers.contains(KeyModifiers::CONTROL) {
                    c.to_ascii_lowercase()
                } else {
                    c
                };
                if modifiers.contains(KeyModifiers::SHIFT) {
                    return Err(KeyError::ShiftedCharacter {
                        key: text.to_string(),
                        shifted: c.to_ascii_uppercase(),
                    });
                }
                KeyCode::Char(c)
            }
            _ => return Err(KeyError::NoSuchName(text.to_string())),
        };
        Ok(Key { code, modifiers })
    }
}

impl Key {
    /// The key as the hint bar shows it: `w`, `Enter`, `C-r`, `<`
    /// (keymap notation without the angle brackets).
    pub fn label(&self) -> String {
        let written = self.to_string();
        match written.strip_prefix('<').and_then(|w| w.strip_suffix('>')) {
            Some("lt") => "<".to_string(),
            Some(inner) => inner.to_string(),
            None => written,
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char('<') => "lt".to_string(),
            KeyCode::Char(c) if self.modifiers.is_empty() => return write!(f, "{c}"),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Up => "Up".into(),
            KeyCode::Down => "Down".into(),
            KeyCode::Left => "Left".into(),
            KeyCode::Right => "Right".into(),
            KeyCode::PageUp => "PageUp".into(),
            KeyCode::PageDown => "PageDown".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Delete => "Delete".into(),
            KeyCode::Insert => "Insert".into(),
            KeyCode::F(n) => format!("F{n}"),
            _ => "?".into(),
        };
        let mut prefix = String::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            prefix += "C-";
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            prefix += "A-";
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            prefix += "S-";
        }
        write!(f, "<{prefix}{name}>")
    }
}

/// One binding, as written and as understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub key: Key,
    pub action: Action,
    pub desc: String,
}

/// Every scope's bindings, first match wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keymap {
    scopes: BTreeMap<Scope, Vec<Binding>>,
}

/// Why a keymap did not load: which file, which table, which entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct KeymapError {
    pub source_name: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    on: String,
    run: String,
    #[serde(default)]
    desc: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[serde(default)]
    keymap: Vec<RawEntry>,
    #[serde(default)]
    prepend_keymap: Vec<RawEntry>,
    #[serde(default)]
    append_keymap: Vec<RawEntry>,
}

impl Keymap {
    /// A shipped keymap by name.
    pub fn shipped(name: &str) -> Result<Keymap, KeymapError> {
        let text = SHIPPED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| KeymapError {
                source_name: format!("keymap '{name}'"),
                message: format!(
                    "no such keymap; shipped: {}",
                    SHIPPED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        Keymap::from_toml(&format!("keymaps/{name}.toml"), text)
    }

    /// A whole keymap from TOML (`keymap` lists only).
    pub fn from_toml(source_name: &str, text: &str) -> Result<Keymap, KeymapError> {
        let mut keymap = Keymap::default();
        keymap.merge(source_name, text, false)?;
        Ok(keymap)
    }

    /// Add a user file on top: `prepend_keymap` entries win over the
    /// existing ones, `append_keymap` entries only fill gaps; a `keymap`
    /// list replaces that table.
    pub fn overlay(&mut self, source_name: &str, text: &str) -> Result<(), KeymapError> {
        self.merge(source_name, text, true)
    }

    fn merge(&mut self, source_name: &str, text: &str, overlay: bool) -> Result<(), KeymapError> {
        let error = |message: String| KeymapError {
            source_name: source_name.to_string(),
            message,
        };
        let tables: BTreeMap<String, RawTable> =
            toml::from_str(text).map_err(|e| error(e.to_string().trim_end().to_string()))?;
        for (name, table) in tables {
            let scope = Scope::from_name(&name).ok_or_else(|| {
                error(format!(
                    "unknown table [{name}] (global, dialog, {})",
                    View::ALL
                        .iter()
                        .map(|v| v.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            let adds = !table.prepend_keymap.is_empty() || !table.append_keymap.is_empty();
            if adds && !overlay {
                return Err(error(format!(
                    "[{name}]: prepend_keymap/append_keymap belong in a user file"
                )));
            }
            let convert = |list: &str, entries: &[RawEntry]| -> Result<Vec<Binding>, KeymapError> {
                let mut out: Vec<Binding> = Vec::new();
                for (index, entry) in entries.iter().enumerate() {
                    let at = format!("[{name}] {list} entry {}", index + 1);
                    let key = Key::parse(&entry.on).map_err(|e| error(format!("{at}: {e}")))?;
                    let action: Action = entry.run.parse().map_err(|e| {
                        error(format!(
                            "{at}: {e} (known: {})",
                            Action::names().collect::<Vec<_>>().join(", ")
                        ))
                    })?;
                    if let Some(first) = out.iter().position(|b| b.key == key) {
                        return Err(error(format!(
                            "{at}: key '{}' is already bound in this table (entry {})",
                            entry.on,
                            first + 1
                        )));
                    }
                    out.push(Binding {
                        key,
                        action,
                        desc: entry.desc.clone(),
                    });
                }
                Ok(out)
            };
            let keymap = convert("keymap", &table.keymap)?;
            let prepend = convert("prepend_keymap", &table.prepend_keymap)?;
            let append = convert("append_keymap", &table.append_keymap)?;
            let bindings = self.scopes.entry(scope).or_default();
            if !table.keymap.is_empty() {
                *bindings = keymap;
            }
            let mut merged = prepend;
            merged.append(bindings);
            merged.extend(append);
            *bindings = merged;
        }
        Ok(())
    }

    /// The action for `key` in `view` (its own table, then global; only
    /// the dialog table while a dialog is open).
    pub fn lookup(&self, view: View, dialog_open: bool, key: Key) -> Option<Action> {
        let scopes: &[Scope] = if dialog_open {
            &[Scope::Dialog]
        } else {
            &[Scope::View(view), Scope::Global]
        };
        scopes.iter().find_map(|scope| {
            self.scopes
                .get(scope)?
                .iter()
                .find(|b| b.key == key)
                .map(|b| b.action)
        })
    }

    /// The bindings of a scope, in order (for help and the hint bar);
    /// shadowed duplicates are left out.
    pub fn bindings(&self, scope: Scope) -> Vec<&Binding> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for binding in self.scopes.get(&scope).map_or(&[][..], Vec::as_slice) {
            if !seen.contains(&binding.key) {
                seen.push(binding.key);
                out.push(binding);
            }
        }
        out
    }

    /// The first key bound to `action` in `view` or globally, for hints.
    pub fn key_for(&self, view: View, action: Action) -> Option<Key> {
        [Scope::View(view), Scope::Global].iter().find_map(|scope| {
            self.bindings(*scope)
                .into_iter()
                .find(|b| b.action == action)
                .map(|b| b.key)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Key {
        Key::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn keys_parse_and_print_as_written() {
        for text in [
            "q", "G", "?", "<C-d>", "<A-x>", "<Enter>", "<Esc>", "<S-Tab>", "<F5>", "<Space>",
            "<lt>", "<S-Up>",
        ] {
            assert_eq!(key(text).to_string(), text, "{text}");
        }
        assert_eq!(key("<C-D>"), key("<C-d>"));
        assert_eq!(
            Key::parse("<X-a>"),
            Err(KeyError::UnknownModifier {
                key: "<X-a>".into(),
                prefix: "X".into()
            })
        );
        assert_eq!(
            Key::parse("<F13>"),
            Err(KeyError::NoSuchFunctionKey("<F13>".into()))
        );
        assert!(Key::parse("<S-a>").unwrap_err().to_string().contains("'A'"));
        assert_eq!(Key::parse("ab"), Err(KeyError::NotAKey("ab".into())));
        assert_eq!(key("<Enter>").label(), "Enter");
        assert_eq!(key("<C-r>").label(), "C-r");
        assert_eq!(key("<lt>").label(), "<");
        assert_eq!(key("w").label(), "w");
    }

    #[test]
    fn every_shipped_keymap_loads_and_binds_help_and_quit() {
        for (name, _) in SHIPPED {
            let keymap = Keymap::shipped(name).unwrap_or_else(|e| panic!("{e}"));
            for view in View::ALL {
                assert!(
                    keymap.key_for(view, Action::Help).is_some(),
                    "{name}: help in {view:?}"
                );
                assert!(
                    keymap.key_for(view, Action::Quit).is_some(),
                    "{name}: quit in {view:?}"
                );
            }
            assert!(
                !keymap.bindings(Scope::Dialog).is_empty(),
                "{name}: dialog keys"
            );
        }
    }

    #[test]
    fn the_view_table_wins_over_global_and_dialogs_see_only_theirs() {
        let keymap = Keymap::from_toml(
            "test",
            r#"
            [global]
            keymap = [{ on = "d", run = "view events", desc = "Events" }, { on = "q", run = "quit" }]
            [services]
            keymap = [{ on = "d", run = "drain", desc = "Drain" }]
            [dialog]
            keymap = [{ on = "y", run = "confirm" }]
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            keymap.lookup(View::Services, false, key("d")),
            Some(Action::Drain)
        );
        assert_eq!(
            keymap.lookup(View::Vrrp, false, key("d")),
            Some(Action::Show(View::Events))
        );
        assert_eq!(keymap.lookup(View::Services, true, key("q")), None);
        assert_eq!(
            keymap.lookup(View::Services, true, key("y")),
            Some(Action::Confirm)
        );
    }

    #[test]
    fn bad_keymaps_fail_saying_where() {
        let unknown = Keymap::from_toml(
            "k.toml",
            "[services]\nkeymap = [{ on = \"d\", run = \"drian\" }]",
        )
        .unwrap_err()
        .to_string();
        assert!(
            unknown.starts_with("k.toml: [services] keymap entry 1: unknown action 'drian'"),
            "{unknown}"
        );
        let duplicate = Keymap::from_toml(
            "k.toml",
            "[vrrp]\nkeymap = [{ on = \"F\", run = \"failover\" }, { on = \"F\", run = \"help\" }]",
        )
        .unwrap_err()
        .to_string();
        assert!(
            duplicate.contains("key 'F' is already bound in this table (entry 1)"),
            "{duplicate}"
        );
        let table = Keymap::from_toml("k.toml", "[servces]\nkeymap = []")
            .unwrap_err()
            .to_string();
        assert!(table.contains("unknown table [servces]"), "{table}");
        let field = Keymap::from_toml(
            "k.toml",
            "[global]\nkeymap = [{ on = \"q\", run = \"quit\", dsc = \"x\" }]",
        );
        assert!(field.is_err());
    }

    #[test]
    fn a_user_file_prepends_and_appends_without_copying_the_keymap() {
        let mut keymap = Keymap::shipped("default").unwrap_or_else(|e| panic!("{e}"));
        let drain_before = keymap.key_for(View::Services, Action::Drain);
        keymap
            .overlay(
                "user keymap.toml",
                r#"
                [services]
                prepend_keymap = [{ on = "x", run = "drain", desc = "Drain (my key)" }]
                append_keymap = [{ on = "<F9>", run = "zero", desc = "Zero" }]
                "#,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            keymap.lookup(View::Services, false, key("x")),
            Some(Action::Drain)
        );
        assert_eq!(
            keymap.key_for(View::Services, Action::Drain),
            Some(key("x"))
        );
        assert!(drain_before
            .is_some_and(|k| keymap.lookup(View::Services, false, k) == Some(Action::Drain)));
        assert_eq!(
            keymap.lookup(View::Services, false, key("<F9>")),
            Some(Action::Zero)
        );
    }
}
