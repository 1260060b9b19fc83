//! Who is on the other end of the control socket, and what they may do.
//!
//! The kernel says who connected (`SO_PEERCRED`: uid, gid, pid); the file
//! mode (0660) says who can connect at all. Of those, root, the user the
//! daemon runs as and members of the configured admin group may act;
//! everyone else may only read (the table, VRRP, checks, events).
//!
//! Supplementary groups are not in `SO_PEERCRED`; they are read from
//! `/proc/PID/status` of the peer, which the kernel fills for the live
//! process that connected.

use serde::{Deserialize, Serialize};

/// What a peer may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Look and act.
    Act,
    /// Look only.
    Read,
}

/// The credentials of a connected peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    pub access: Access,
}

impl Peer {
    /// A name for the audit trail: the user name if known, else `uid N`.
    pub fn name(&self) -> String {
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(self.uid))
            .ok()
            .flatten()
            .map_or_else(|| format!("uid {}", self.uid), |u| u.name)
    }
}

/// Who may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerPolicy {
    pub daemon_uid: u32,
    /// Members (primary or supplementary) may act.
    pub admin_gid: Option<u32>,
}

impl PeerPolicy {
    /// Root and the daemon's own user act; nobody else.
    pub fn current() -> Self {
        PeerPolicy {
            daemon_uid: nix::unistd::geteuid().as_raw(),
            admin_gid: None,
        }
    }

    pub fn with_admin_group(mut self, gid: Option<u32>) -> Self {
        self.admin_gid = gid;
        self
    }

    /// What a peer with these credentials may do.
    pub fn access(&self, uid: u32, gid: u32, pid: Option<i32>) -> Access {
        if uid == 0 || uid == self.daemon_uid {
            return Access::Act;
        }
        match self.admin_gid {
            Some(admin) if gid == admin => Access::Act,
            Some(admin) if pid.is_some_and(|pid| supplementary_groups(pid).contains(&admin)) => {
                Access::Act
            }
            _ => Access::Read,
        }
    }
}

/// The `Groups:` line of `/proc/PID/status`; empty when unreadable (the
/// peer is then judged by its primary group alone).
fn supplementary_groups(pid: i32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("Groups:").map(|groups| {
                    groups
                        .split_ascii_whitespace()
                        .filter_map(|g| g.parse().ok())
                        .collect()
                })
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_the_daemon_user_and_admins_act_others_read() {
        let policy = PeerPolicy {
            daemon_uid: 998,
            admin_gid: Some(4242),
        };
        assert_eq!(policy.access(0, 0, None), Access::Act);
        assert_eq!(policy.access(998, 998, None), Access::Act);
        assert_eq!(policy.access(1000, 4242, None), Access::Act);
        assert_eq!(policy.access(1000, 1000, None), Access::Read);
        assert_eq!(
            PeerPolicy::current()
                .with_admin_group(None)
                .access(65534, 65534, None),
            Access::Read
        );
    }

    #[test]
    fn supplementary_groups_of_a_live_process_are_read() {
        let pid = std::process::id() as i32;
        let groups = supplementary_groups(pid);
        let own: Vec<u32> = nix::unistd::getgroups()
            .map(|g| g.iter().map(|g| g.as_raw()).collect())
            .unwrap_or_default();
        assert_eq!(groups, own);
    }
}
