//! What the console is started with: keymap, theme, read-only, ASCII,
//! whether the engine is embedded, where drafts go, and the defaults of
//! the actions that take a number (drain timeout, failover hold, confirm
//! window). Loading the keymap and theme with the user's overrides from
//! `$XDG_CONFIG_HOME/lvstop/` lives here too; this module never draws.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::error::UiError;
use super::extension::Extension;
use super::keymap::Keymap;
use super::theme::Theme;
use crate::northbound::Connection;

/// How the console runs (see [`super::run`]).
#[derive(Debug)]
pub struct ConsoleOptions {
    pub keymap: Keymap,
    pub theme: Theme,
    /// `--read-only`: every action that changes the director is refused
    /// with a message.
    pub read_only: bool,
    /// Draw with ASCII only (no ▲ ▼ ◐ ✕, box lines or sparkline blocks).
    pub ascii: bool,
    /// The engine runs inside this process: quitting stops the director,
    /// so quitting while it holds MASTER asks first.
    pub embedded: bool,
    /// The console observes a director lvstop does not run (keepalived):
    /// confirmations say what keepalived will do next, and VRRP actions
    /// explain the keepalived way instead.
    pub observer: bool,
    /// Where the data comes from, for the header (`daemon
    /// /run/lvstop/lvstop.sock`, `embedded`, `kernel (read-only)`).
    pub source: String,
    /// Where the config editor autosaves its draft; `None` for
    /// `$XDG_STATE_HOME/lvstop/draft.conf` (else `~/.local/state/…`).
    pub draft_path: Option<PathBuf>,
    /// `drain` gives up waiting for idle after this many seconds.
    pub drain_timeout_s: u64,
    /// A forced failover keeps this director BACKUP this long.
    pub failover_hold_s: u64,
    /// Confirmed apply (`C`): rolled back unless confirmed within this.
    pub confirm_within_s: u64,
    /// Time zone for times on screen (tests pin UTC).
    pub time_zone: jiff::tz::TimeZone,
    /// The connection table (`ipvsadm -c`), when someone feeds it.
    pub connections: Option<mpsc::Receiver<Vec<Connection>>>,
    /// Verbs the host program adds to the command line, and where lines
    /// using them go (`lvstop demo` adds `:demo`).
    pub extension: Option<Extension>,
    /// Several directors (`--director`): the strip under the header shows
    /// them all, the screens show one. Empty for one source.
    pub directors: Vec<crate::fleet::DirectorSpec>,
}

impl ConsoleOptions {
    /// Defaults around a keymap and theme: not read-only, Unicode, not
    /// embedded, drain timeout 300 s, failover hold 60 s, confirm 60 s.
    pub fn new(keymap: Keymap, theme: Theme) -> ConsoleOptions {
        ConsoleOptions {
            keymap,
            theme,
            read_only: false,
            ascii: false,
            embedded: false,
            observer: false,
            source: String::new(),
            draft_path: None,
            drain_timeout_s: 300,
            failover_hold_s: 60,
            confirm_within_s: 60,
            time_zone: jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC),
            connections: None,
            extension: None,
            directors: Vec::new(),
        }
    }

    /// The shipped keymap `keymap_name` with `$XDG_CONFIG_HOME/lvstop/keymap.toml`
    /// on top, and the theme `theme_name` (user themes from
    /// `$XDG_CONFIG_HOME/lvstop/themes/NAME.toml`), colourless when
    /// `NO_COLOR` is set. Blocking file reads: call before the runtime
    /// loop starts.
    pub fn load(keymap_name: &str, theme_name: &str) -> Result<ConsoleOptions, UiError> {
        let config_dir = user_config_dir();
        let mut keymap = Keymap::shipped(keymap_name)?;
        if let Some(dir) = &config_dir {
            let path = dir.join("keymap.toml");
            if let Some(text) = read_optional(&path)? {
                keymap.overlay(&path.display().to_string(), &text)?;
            }
        }
        let mut user_themes = BTreeMap::new();
        if let Some(dir) = &config_dir {
            let path = dir.join("themes").join(format!("{theme_name}.toml"));
            if let Some(text) = read_optional(&path)? {
                user_themes.insert(theme_name.to_string(), text);
            }
        }
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let theme = Theme::for_environment(theme_name, no_color, &user_themes)?;
        Ok(ConsoleOptions::new(keymap, theme))
    }

    /// Where the draft is kept.
    pub fn draft_path(&self) -> PathBuf {
        self.draft_path.clone().unwrap_or_else(default_draft_path)
    }
}

/// `$XDG_STATE_HOME/lvstop/draft.conf`, else `~/.local/state/lvstop/draft.conf`,
/// else `./lvstop-draft.conf` when there is no home either.
pub fn default_draft_path() -> PathBuf {
    xdg_dir("XDG_STATE_HOME", ".local/state")
        .map(|d| d.join("lvstop").join("draft.conf"))
        .unwrap_or_else(|| PathBuf::from("lvstop-draft.conf"))
}

/// `$XDG_CONFIG_HOME/lvstop`, else `~/.config/lvstop`: the user's keymap,
/// themes and `config.toml`.
pub fn user_config_dir() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("lvstop"))
}

fn xdg_dir(variable: &str, fallback: &str) -> Option<PathBuf> {
    match std::env::var_os(variable) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|home| PathBuf::from(home).join(fallback)),
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, UiError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(UiError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}
