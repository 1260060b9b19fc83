//! Who a script runs as: the script's own `USER [GROUP]`, else
//! `script_user USER [GROUP]` from `global_defs`, else keepalived's default
//! (keepalived.conf(5), SCRIPTS: user `keepalived_script` if it exists,
//! otherwise the user lvstop runs as — normally root). A user given without
//! a group runs with that user's primary group.
//!
//! Looks names up in the user database (NSS), which may block: call these at
//! configuration time, never from inside the event loop.

use std::fmt;

use nix::unistd::{Gid, Group, Uid, User};

/// keepalived's default script user.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// The identity a script process gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
    /// The user name, for messages (the uid as text if it has none).
    pub user: String,
}

impl RunAs {
    pub fn is_root(&self) -> bool {
        self.uid == 0 || self.gid == 0
    }

    /// The user and group lvstop itself runs as.
    pub fn current() -> Self {
        let uid = Uid::effective();
        let user = User::from_uid(uid)
            .ok()
            .flatten()
            .map_or_else(|| uid.to_string(), |user| user.name);
        Self {
            uid: uid.as_raw(),
            gid: Gid::effective().as_raw(),
            user,
        }
    }
}

impl fmt::Display for RunAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (uid {}, gid {})", self.user, self.uid, self.gid)
    }
}

/// A user or group that does not exist.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    #[error("unknown user '{0}' for running scripts")]
    UnknownUser(String),
    #[error("unknown group '{0}' for running scripts")]
    UnknownGroup(String),
    #[error("cannot look up '{name}' in the user database: {reason}")]
    Lookup { name: String, reason: String },
}

/// `USER [GROUP]` as written in the configuration (names, or numeric ids).
pub fn resolve(user: &str, group: Option<&str>) -> Result<RunAs, UserError> {
    let entry = User::from_name(user).map_err(|errno| UserError::Lookup {
        name: user.to_string(),
        reason: errno.desc().to_string(),
    })?;
    let (uid, primary_gid) = match entry {
        Some(entry) => (entry.uid.as_raw(), entry.gid.as_raw()),
        None => {
            let uid: u32 = user
                .parse()
                .map_err(|_| UserError::UnknownUser(user.to_string()))?;
            let entry = User::from_uid(Uid::from_raw(uid)).ok().flatten();
            let gid = entry.map_or(uid, |entry| entry.gid.as_raw());
            (uid, gid)
        }
    };
    let gid = match group {
        None => primary_gid,
        Some(group) => resolve_group(group)?,
    };
    Ok(RunAs {
        uid,
        gid,
        user: user.to_string(),
    })
}

fn resolve_group(group: &str) -> Result<u32, UserError> {
    match Group::from_name(group) {
        Ok(Some(entry)) => Ok(entry.gid.as_raw()),
        Ok(None) => group
            .parse()
            .map_err(|_| UserError::UnknownGroup(group.to_string())),
        Err(errno) => Err(UserError::Lookup {
            name: group.to_string(),
            reason: errno.desc().to_string(),
        }),
    }
}

/// The identity for scripts that name no user of their own.
pub fn default_run_as(
    script_user: Option<&str>,
    script_group: Option<&str>,
) -> Result<RunAs, UserError> {
    if let Some(user) = script_user {
        return resolve(user, script_group);
    }
    match resolve(DEFAULT_SCRIPT_USER, None) {
        Ok(run_as) => Ok(run_as),
        Err(UserError::UnknownUser(_)) => {
            tracing::warn!(
                "default user '{DEFAULT_SCRIPT_USER}' for script execution does not exist: scripts run as {}",
                RunAs::current()
            );
            Ok(RunAs::current())
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_resolves_with_its_primary_group() {
        let root = resolve("root", None).unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.is_root());
    }

    #[test]
    fn unknown_names_are_errors() {
        assert_eq!(
            resolve("no-such-user-lvstop", None),
            Err(UserError::UnknownUser("no-such-user-lvstop".into()))
        );
        assert_eq!(
            resolve("root", Some("no-such-group-lvstop")),
            Err(UserError::UnknownGroup("no-such-group-lvstop".into()))
        );
    }

    #[test]
    fn numeric_ids_are_accepted() {
        let run_as = resolve("4242", Some("4343")).unwrap();
        assert_eq!((run_as.uid, run_as.gid), (4242, 4343));
    }
}
