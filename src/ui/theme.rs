//! Colour themes as data, the way helix writes them: a `[palette]` of
//! named colours, flat dotted scopes (`"rs.down" = { fg = "bad",
//! modifiers = ["bold"] }`), and `inherits = "default"`. A scope that a
//! theme does not set falls back from `a.b.c` to `a.b` to `a`.
//!
//! State is never shown by colour alone (the console always prints ▲ ▼ ◐ ✕
//! or words too), so `NO_COLOR` and `--theme mono` lose nothing but
//! colour. Loading fails, naming the theme and scope, on an unknown
//! scope, colour or modifier.
//!
//! Render code names scopes by the constants in [`scope`], the same list
//! the loader checks themes against, so a misspelt scope does not compile.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The shipped themes: (name, TOML text).
pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// Every scope the console styles, one constant each. A theme naming a
/// scope not listed here is a typo.
pub mod scope {
    use super::ThemeScope;

    macro_rules! scopes {
        ($($constant:ident = $name:literal,)*) => {
            $(pub const $constant: ThemeScope = ThemeScope($name);)*
            /// Every scope above, in the order themes list them.
            pub const ALL: &[ThemeScope] = &[$($constant,)*];
        };
    }

    scopes! {
        UI = "ui",
        UI_TEXT = "ui.text",
        UI_HEADER = "ui.header",
        UI_HEADER_TITLE = "ui.header.title",
        UI_TABS = "ui.tabs",
        UI_TABS_ACTIVE = "ui.tabs.active",
        UI_SELECTION = "ui.selection",
        UI_BORDER = "ui.border",
        UI_HINT = "ui.hint",
        UI_HINT_KEY = "ui.hint.key",
        UI_DIALOG = "ui.dialog",
        UI_DIALOG_DANGER = "ui.dialog.danger",
        UI_ERROR = "ui.error",
        UI_SUCCESS = "ui.success",
        UI_FILTER = "ui.filter",
        UI_DIM = "ui.dim",
        SVC = "svc",
        SVC_NAME = "svc.name",
        SVC_DISABLED = "svc.disabled",
        RS = "rs",
        RS_UP = "rs.up",
        RS_DOWN = "rs.down",
        RS_DRAINING = "rs.draining",
        RS_DISABLED = "rs.disabled",
        RS_UNCHECKED = "rs.unchecked",
        RS_REASON = "rs.reason",
        RATE = "rate",
        RATE_SPARKLINE = "rate.sparkline",
        VRRP = "vrrp",
        VRRP_MASTER = "vrrp.master",
        VRRP_BACKUP = "vrrp.backup",
        VRRP_FAULT = "vrrp.fault",
        VRRP_INIT = "vrrp.init",
        CHECK_UP = "check.up",
        CHECK_DOWN = "check.down",
        EVENT = "event",
        EVENT_TIME = "event.time",
        EVENT_OPERATOR = "event.operator",
        EVENT_ALERT = "event.alert",
        CONFIG_DIAGNOSTIC_ERROR = "config.diagnostic.error",
        CONFIG_DIAGNOSTIC_WARNING = "config.diagnostic.warning",
        CONFIG_DIFF_ADD = "config.diff.add",
        CONFIG_DIFF_REMOVE = "config.diff.remove",
    }
}

/// One scope a theme styles (`rs.down`): only the constants in [`scope`]
/// exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThemeScope(&'static str);

impl ThemeScope {
    /// The dotted name themes use.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// The scope a theme file names, if the console styles it.
    pub fn from_name(name: &str) -> Option<ThemeScope> {
        scope::ALL.iter().copied().find(|s| s.0 == name)
    }
}

/// A loaded theme: scope → style, with inheritance already resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: BTreeMap<String, Style>,
}

/// Why a theme did not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("theme '{theme}': {message}")]
pub struct ThemeError {
    pub theme: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStyle {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawTheme {
    inherits: Option<String>,
    #[serde(default)]
    palette: BTreeMap<String, String>,
    #[serde(flatten)]
    scopes: BTreeMap<String, RawStyle>,
}

impl Theme {
    /// A shipped theme, or a user theme from `user_themes` (name → TOML,
    /// e.g. read from `$XDG_CONFIG_HOME/lvstop/themes/`), which may inherit
    /// a shipped one.
    pub fn load(name: &str, user_themes: &BTreeMap<String, String>) -> Result<Theme, ThemeError> {
        let mut chain = Vec::new();
        Self::load_chain(name, user_themes, &mut chain)
    }

    /// The theme for this environment: `mono` when `NO_COLOR` is set (any
    /// value, per no-color.org), else `name`.
    pub fn for_environment(
        name: &str,
        no_color: bool,
        user_themes: &BTreeMap<String, String>,
    ) -> Result<Theme, ThemeError> {
        let theme = Theme::load(name, user_themes)?;
        Ok(if no_color {
            theme.without_colour()
        } else {
            theme
        })
    }

    fn load_chain(
        name: &str,
        user_themes: &BTreeMap<String, String>,
        chain: &mut Vec<String>,
    ) -> Result<Theme, ThemeError> {
        let error = |message: String| ThemeError {
            theme: name.to_string(),
            message,
        };
        if chain.iter().any(|n| n == name) {
            return Err(error(format!(
                "inherits itself through {}",
                chain.join(" -> ")
            )));
        }
        chain.push(name.to_string());
        let text = user_themes
            .get(name)
            .map(String::as_str)
            .or_else(|| SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t))
            .ok_or_else(|| {
                error(format!(
                    "no such theme; shipped: {}",
                    SHIPPED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let raw: RawTheme =
            toml::from_str(text).map_err(|e| error(e.to_string().trim_end().to_string()))?;
        let mut theme = match &raw.inherits {
            Some(parent) => Self::load_chain(parent, user_themes, chain)?,
            None => Theme::default(),
        };
        theme.name = name.to_string();
        for (scope, style) in &raw.scopes {
            if ThemeScope::from_name(scope).is_none() {
                return Err(error(format!("unknown scope '{scope}'")));
            }
            let at = |what: StyleValueError| error(format!("scope '{scope}': {what}"));
            let mut out = Style::default();
            if let Some(fg) = &style.fg {
                out = out.fg(colour(fg, &raw.palette).map_err(at)?);
            }
            if let Some(bg) = &style.bg {
                out = out.bg(colour(bg, &raw.palette).map_err(at)?);
            }
            for name in &style.modifiers {
                out = out.add_modifier(modifier(name).map_err(at)?);
            }
            theme.styles.insert(scope.clone(), out);
        }
        Ok(theme)
    }

    /// The style of `scope`, falling back to its parents (`rs.down` →
    /// `rs`), else the terminal's default.
    pub fn style(&self, scope: ThemeScope) -> Style {
        self.style_named(scope.name())
    }

    fn style_named(&self, name: &str) -> Style {
        let mut scope = name;
        loop {
            if let Some(style) = self.styles.get(scope) {
                return *style;
            }
            match scope.rsplit_once('.') {
                Some((parent, _)) => scope = parent,
                None => return Style::default(),
            }
        }
    }

    /// The same theme with every colour removed, modifiers kept.
    pub fn without_colour(mut self) -> Theme {
        for style in self.styles.values_mut() {
            style.fg = None;
            style.bg = None;
        }
        self
    }
}

/// Why a style value in a theme does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StyleValueError {
    #[error(
        "'{0}' is not a colour (a [palette] name, an ANSI name such as 'red' or 'light-blue', '#rrggbb' or 'reset')"
    )]
    NotAColour(String),
    #[error(
        "'{0}' is not a modifier (bold, dim, italic, underlined, reversed, crossed_out, slow_blink)"
    )]
    NotAModifier(String),
}

/// A palette name, an ANSI colour name, `#rrggbb`, or `reset`.
fn colour(text: &str, palette: &BTreeMap<String, String>) -> Result<Color, StyleValueError> {
    let resolved = palette.get(text).map_or(text, String::as_str);
    let named = match resolved {
        "reset" => Some(Color::Reset),
        "black" => Some(Color::Black),
        "red" => Some(Color::Red),
        "green" => Some(Color::Green),
        "yellow" => Some(Color::Yellow),
        "blue" => Some(Color::Blue),
        "magenta" => Some(Color::Magenta),
        "cyan" => Some(Color::Cyan),
        "gray" => Some(Color::Gray),
        "dark-gray" => Some(Color::DarkGray),
        "light-red" => Some(Color::LightRed),
        "light-green" => Some(Color::LightGreen),
        "light-yellow" => Some(Color::LightYellow),
        "light-blue" => Some(Color::LightBlue),
        "light-magenta" => Some(Color::LightMagenta),
        "light-cyan" => Some(Color::LightCyan),
        "white" => Some(Color::White),
        _ => None,
    };
    if let Some(c) = named {
        return Ok(c);
    }
    if let Some(hex) = resolved.strip_prefix('#').filter(|h| h.len() == 6) {
        if let Ok(rgb) = u32::from_str_radix(hex, 16) {
            return Ok(Color::Rgb((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8));
        }
    }
    Err(StyleValueError::NotAColour(text.to_string()))
}

fn modifier(text: &str) -> Result<Modifier, StyleValueError> {
    Ok(match text {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        "crossed_out" => Modifier::CROSSED_OUT,
        "slow_blink" => Modifier::SLOW_BLINK,
        _ => return Err(StyleValueError::NotAModifier(text.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn every_shipped_theme_loads_and_styles_health_distinctly() {
        for (name, _) in SHIPPED {
            let theme = Theme::load(name, &none()).unwrap_or_else(|e| panic!("{e}"));
            let up = theme.style(scope::RS_UP);
            let down = theme.style(scope::RS_DOWN);
            assert_ne!(up, down, "{name}: up and down look the same");
            assert_ne!(
                theme.style(scope::UI_SELECTION),
                Style::default(),
                "{name}: selection invisible"
            );
        }
    }

    #[test]
    fn the_default_theme_uses_only_the_16_ansi_colours() {
        let theme = Theme::load("default", &none()).unwrap_or_else(|e| panic!("{e}"));
        for style in theme.styles.values() {
            for colour in [style.fg, style.bg].into_iter().flatten() {
                assert!(
                    !matches!(colour, Color::Rgb(..) | Color::Indexed(_)),
                    "{colour:?}"
                );
            }
        }
    }

    #[test]
    fn scopes_fall_back_to_their_parents() {
        let theme = Theme::load("default", &none()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            theme.style_named("rs.down.reason.detail"),
            theme.style(scope::RS_DOWN)
        );
        assert_eq!(theme.style_named("nothing.here"), Style::default());
    }

    #[test]
    fn user_themes_inherit_and_bad_ones_fail_naming_the_scope() {
        let mut user = BTreeMap::new();
        user.insert(
            "mine".to_string(),
            "inherits = \"default\"\n\"rs.up\" = { fg = \"ok\" }\n[palette]\nok = \"#00ff00\"\n"
                .to_string(),
        );
        user.insert(
            "typo".to_string(),
            "\"rs.dwon\" = { fg = \"red\" }\n".to_string(),
        );
        user.insert(
            "badcolour".to_string(),
            "\"rs.down\" = { fg = \"redd\" }\n".to_string(),
        );
        user.insert("loop".to_string(), "inherits = \"loop\"\n".to_string());
        let mine = Theme::load("mine", &user).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mine.style(scope::RS_UP).fg, Some(Color::Rgb(0, 255, 0)));
        let default = Theme::load("default", &none()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mine.style(scope::RS_DOWN), default.style(scope::RS_DOWN));
        let typo = Theme::load("typo", &user).unwrap_err().to_string();
        assert_eq!(typo, "theme 'typo': unknown scope 'rs.dwon'");
        let bad = Theme::load("badcolour", &user).unwrap_err().to_string();
        assert!(
            bad.starts_with("theme 'badcolour': scope 'rs.down': 'redd' is not a colour"),
            "{bad}"
        );
        assert!(Theme::load("loop", &user)
            .unwrap_err()
            .to_string()
            .contains("inherits itself"));
        assert!(Theme::load("nope", &user)
            .unwrap_err()
            .to_string()
            .contains("shipped: default"));
    }

    #[test]
    fn no_color_keeps_modifiers_and_drops_colours() {
        let theme =
            Theme::for_environment("default", true, &none()).unwrap_or_else(|e| panic!("{e}"));
        assert!(theme
            .styles
            .values()
            .all(|s| s.fg.is_none() && s.bg.is_none()));
        assert_ne!(
            theme.style(scope::RS_DOWN),
            theme.style(scope::RS_UP),
            "state still differs without colour"
        );
    }

    #[test]
    fn every_scope_constant_is_one_the_loader_accepts() {
        let mut names: Vec<&str> = scope::ALL.iter().map(|s| s.name()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a scope is listed twice");
        let every: String = scope::ALL
            .iter()
            .map(|s| format!("\"{}\" = {{ modifiers = [\"bold\"] }}\n", s.name()))
            .collect();
        let user = BTreeMap::from([("every".to_string(), every)]);
        let theme = Theme::load("every", &user).unwrap_or_else(|e| panic!("{e}"));
        for scope in scope::ALL {
            assert_eq!(
                theme.style(*scope),
                Style::default().add_modifier(Modifier::BOLD),
                "{}",
                scope.name()
            );
        }
    }

    #[test]
    fn every_scope_a_shipped_theme_sets_is_a_known_one() {
        for (name, text) in SHIPPED {
            let raw: RawTheme = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            for scope in raw.scopes.keys() {
                assert!(
                    ThemeScope::from_name(scope).is_some(),
                    "theme '{name}' sets unknown scope '{scope}'"
                );
            }
        }
    }
}
