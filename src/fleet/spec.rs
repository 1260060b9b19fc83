//! Which directors a console shows: `--director NAME=SOCKET` on the
//! command line, else a `directors` list in the user's
//! `$XDG_CONFIG_HOME/lvstop/config.toml`:
//!
//! ```toml
//! [[directors]]
//! name = "lb1"
//! socket = "/run/lvstop/lb1.sock"
//! ```
//!
//! Parsing only; nothing here connects.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

/// One director: the name the console shows, and its control socket (a
/// local daemon's, or a Unix socket forwarded by `ssh -L`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorSpec {
    pub name: String,
    pub socket: PathBuf,
}

/// Why a director list cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("'{0}' is not NAME=SOCKET (e.g. lb1=/run/lvstop/lb1.sock)")]
    NotNameEqualsSocket(String),
    #[error("director name '{0}' is used twice")]
    DuplicateName(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl FromStr for DirectorSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || SpecError::NotNameEqualsSocket(text.to_string());
        let (name, socket) = text.split_once('=').ok_or_else(invalid)?;
        let (name, socket) = (name.trim(), socket.trim());
        if name.is_empty() || socket.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(invalid());
        }
        Ok(DirectorSpec {
            name: name.to_string(),
            socket: PathBuf::from(socket),
        })
    }
}

/// The user's console settings file: `config.toml` beside `keymap.toml`.
#[derive(Debug, Default, Deserialize)]
struct UserConfig {
    #[serde(default)]
    directors: Vec<DirectorSpec>,
}

/// `$XDG_CONFIG_HOME/lvstop/config.toml` (else `~/.config/lvstop/…`).
pub fn user_config_path() -> Option<PathBuf> {
    crate::ui::options::user_config_dir().map(|dir| dir.join("config.toml"))
}

/// The `directors` list of the user's config file; empty when the file
/// does not exist. Blocking read: call before the runtime starts.
pub fn from_user_config() -> Result<Vec<DirectorSpec>, SpecError> {
    let Some(path) = user_config_path() else {
        return Ok(Vec::new());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_user_config(&path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(SpecError::Read { path, source }),
    }
}

/// The `directors` of a config file's text, checked.
pub fn parse_user_config(path: &Path, text: &str) -> Result<Vec<DirectorSpec>, SpecError> {
    let config: UserConfig = toml::from_str(text).map_err(|e| SpecError::Invalid {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })?;
    checked(config.directors)
}

/// `directors` with unique names.
pub fn checked(directors: Vec<DirectorSpec>) -> Result<Vec<DirectorSpec>, SpecError> {
    for (i, director) in directors.iter().enumerate() {
        if directors[..i].iter().any(|d| d.name == director.name) {
            return Err(SpecError::DuplicateName(director.name.clone()));
        }
    }
    Ok(directors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_equals_socket_parses_and_nonsense_is_refused() {
        let spec: DirectorSpec = "lb1=/run/lb1.sock".parse().expect("valid");
        assert_eq!(spec.name, "lb1");
        assert_eq!(spec.socket, PathBuf::from("/run/lb1.sock"));
        for bad in ["lb1", "=/x", "lb1=", "l b=/x"] {
            let error = bad.parse::<DirectorSpec>().expect_err(bad).to_string();
            assert!(error.contains(&format!("'{bad}'")), "{error}");
        }
    }

    #[test]
    fn the_user_config_lists_directors_and_refuses_a_name_twice() {
        let path = Path::new("config.toml");
        let text = "[[directors]]\nname = \"lb1\"\nsocket = \"/a\"\n\
                    [[directors]]\nname = \"lb2\"\nsocket = \"/b\"\n";
        let directors = parse_user_config(path, text).expect("valid");
        assert_eq!(directors.len(), 2);
        assert_eq!(directors[1].socket, PathBuf::from("/b"));
        assert!(parse_user_config(path, "").expect("empty").is_empty());
        let twice = text.replace("lb2", "lb1");
        assert!(matches!(
            parse_user_config(path, &twice),
            Err(SpecError::DuplicateName(name)) if name == "lb1"
        ));
        let error =
            parse_user_config(path, "[[directors]]\nname = \"x\"\n").expect_err("no socket");
        assert!(error.to_string().starts_with("config.toml: "), "{error}");
    }
}
