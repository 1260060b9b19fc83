//! The table as a whole and what lives beside it: kernel info, the
//! dataplane a table came from, connection timeouts, sync daemons and the
//! connection list.

use std::net::{IpAddr, SocketAddr};

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::{Service, ServiceKey};

/// `IPVS_CMD_GET_INFO`: version and connection hash table size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Encoded as the kernel does: `(major << 16) | (minor << 8) | patch`.
    pub version: u32,
    pub conn_tab_size: u32,
}

impl Info {
    /// What current kernels report (`IP_VS_VERSION_CODE` 1.2.1, 4096).
    pub const KERNEL_DEFAULT: Info = Info {
        version: 0x010201,
        conn_tab_size: 4096,
    };

    pub fn version_triple(&self) -> (u32, u32, u32) {
        (
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff,
        )
    }
}

/// Which dataplane a table came from; the listing header says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Origin {
    /// The kernel's IPVS.
    Kernel,
    /// lvstop's userspace dataplane.
    Userspace,
}

/// A full read of an IPVS table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub origin: Origin,
    pub info: Info,
    /// Services in any order; listings sort by [`ServiceKey`].
    pub services: Vec<Service>,
}

impl Table {
    pub fn service(&self, key: ServiceKey) -> Option<&Service> {
        self.services.iter().find(|s| s.key() == key)
    }

    /// Services in ipvsadm's listing order by address bytes. ipvsadm's own
    /// comparator wraps for values 2^31 apart (fwmark >= 2^31, addresses
    /// whose first words differ that much); `ipvs::format` reproduces that
    /// exactly for byte-identical listings.
    pub fn sorted_services(&self) -> Vec<&Service> {
        let mut services: Vec<&Service> = self.services.iter().collect();
        services.sort_by_key(|s| s.key());
        services
    }
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`); 0 in
/// an update means "leave unchanged", as in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

impl Default for Timeouts {
    /// The kernel's defaults: 15 min, 2 min, 5 min.
    fn default() -> Self {
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        }
    }
}

/// Sync daemon role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonState {
    /// `IP_VS_STATE_MASTER` = 1
    Master,
    /// `IP_VS_STATE_BACKUP` = 2
    Backup,
}

/// A connection synchronisation daemon (`ipvsadm --start-daemon`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Daemon {
    pub state: DaemonState,
    pub mcast_ifn: CompactString,
    pub syncid: u32,
    pub sync_maxlen: u16,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: u16,
    pub mcast_ttl: u8,
}

/// One entry of the connection table (`ipvsadm -c`, from
/// `/proc/net/ip_vs_conn` on the kernel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Protocol name as the kernel prints it (`TCP`, `UDP`, `SCTP`, `IP`).
    pub protocol: CompactString,
    pub client: SocketAddr,
    pub virtual_addr: SocketAddr,
    pub dest: SocketAddr,
    /// State name as the kernel prints it (`ESTABLISHED`, `FIN_WAIT`,
    /// `TIME_WAIT`, `NONE` for templates, `UDP`, …).
    pub state: CompactString,
    /// Seconds until the entry expires.
    pub expires: u32,
    /// Persistence templates have a zero client port (state `NONE`; a
    /// 6.1 kernel shows `ASSURED` once a connection confirmed it).
    pub template: bool,
    /// Persistence engine of the entry (`sip`), when it has one; the
    /// kernel appends it and [`pe_data`](Self::pe_data) to the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pe_name: Option<CompactString>,
    /// The engine's data (for `sip`, the Call-ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pe_data: Option<CompactString>,
}
