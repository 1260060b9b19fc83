//! How keepalived names services, real servers and VRRP states in the text
//! it hands to operators (notify FIFO lines, e-mail subjects, script
//! arguments), so that lvstop's text matches byte for byte.
//!
//! Pure formatting: never touches I/O.

use std::fmt;
use std::net::IpAddr;

use crate::config::model::lvs::Protocol;

/// A virtual service as keepalived prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceName {
    /// `[192.168.100.88]:tcp:80` — the address is bracketed for IPv4 too.
    Address {
        ip: IpAddr,
        protocol: Protocol,
        port: u16,
    },
    /// `FWM 1`.
    Fwmark(u32),
    /// `[GROUP_NAME]:80` for a `virtual_server_group`.
    Group { name: String, port: u16 },
}

impl ServiceName {
    pub fn address(ip: IpAddr, protocol: Protocol, port: u16) -> Self {
        Self::Address { ip, protocol, port }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address { ip, protocol, port } => {
                write!(f, "[{ip}]:{}:{port}", protocol_word(*protocol))
            }
            Self::Fwmark(mark) => write!(f, "FWM {mark}"),
            Self::Group { name, port } => write!(f, "[{name}]:{port}"),
        }
    }
}

/// keepalived writes the protocol in lower case in these names.
fn protocol_word(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

/// Whether a `notify` script / FIFO line is about one instance or a sync
/// group (keepalived.conf(5), `vrrp_sync_group`, `notify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpSubject {
    Instance,
    Group,
}

impl VrrpSubject {
    pub fn word(self) -> &'static str {
        match self {
            Self::Instance => "INSTANCE",
            Self::Group => "GROUP",
        }
    }
}

/// The state word keepalived sends to `notify` scripts and FIFOs, always
/// upper case (keepalived.conf(5), `notify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpStateWord {
    Master,
    Backup,
    Fault,
    /// Only for instances, when VRRP stops.
    Stop,
    /// Only for instances removed by a reload with `notify_deleted`.
    Deleted,
    /// FIFO only: a master received an advert with a lower priority.
    MasterRxLowerPri,
    /// FIFO only, with `notify_priority_changes`.
    MasterPriority,
    /// FIFO only, with `notify_priority_changes`.
    BackupPriority,
}

impl VrrpStateWord {
    pub fn word(self) -> &'static str {
        match self {
            Self::Master => "MASTER",
            Self::Backup => "BACKUP",
            Self::Fault => "FAULT",
            Self::Stop => "STOP",
            Self::Deleted => "DELETED",
            Self::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            Self::MasterPriority => "MASTER_PRIORITY",
            Self::BackupPriority => "BACKUP_PRIORITY",
        }
    }
}

/// The four arguments keepalived appends to a generic `notify` script:
/// `GROUP|INSTANCE`, the name, the state, the priority
/// (keepalived.conf(5), `vrrp_sync_group` → `notify`). The `notify_master`,
/// `notify_backup`, `notify_fault` and `notify_stop` scripts get none.
pub fn vrrp_notify_args(
    subject: VrrpSubject,
    name: &str,
    state: VrrpStateWord,
    priority: u8,
) -> Vec<String> {
    vec![
        subject.word().to_string(),
        name.to_string(),
        state.word().to_string(),
        priority.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_print_like_keepalived() {
        let vs = ServiceName::address([192, 168, 100, 88].into(), Protocol::Tcp, 80);
        assert_eq!(vs.to_string(), "[192.168.100.88]:tcp:80");
        let v6 = ServiceName::address("2001:db8::1".parse().unwrap(), Protocol::Udp, 53);
        assert_eq!(v6.to_string(), "[2001:db8::1]:udp:53");
        assert_eq!(ServiceName::Fwmark(7).to_string(), "FWM 7");
        let group = ServiceName::Group {
            name: "web".into(),
            port: 443,
        };
        assert_eq!(group.to_string(), "[web]:443");
    }

    #[test]
    fn generic_notify_gets_four_upper_case_arguments() {
        let args = vrrp_notify_args(VrrpSubject::Instance, "VI_1", VrrpStateWord::Master, 100);
        assert_eq!(args, ["INSTANCE", "VI_1", "MASTER", "100"]);
    }
}
