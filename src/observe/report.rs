//! What the observer adds to a snapshot: where the view comes from, what
//! could not be read (and why), real servers the configuration names but
//! the kernel's table lacks, and the operator's weight changes made from
//! this console. Plain data that travels inside [`crate::engine::snapshot::Snapshot`]
//! (`observed`); a daemon's snapshots leave it out.

use serde::{Deserialize, Serialize};

use super::keepalived::{KeepalivedInstance, KeepalivedVirtualServer};
use super::wire::WireReport;
use crate::ipvs::model::{DestKey, ServiceKey};

/// The observer's part of a snapshot.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Observation {
    /// What the console is attached to, in words: `observing keepalived
    /// (pid 812)` or `observing the kernel`.
    pub label: String,
    /// The main keepalived process, when one runs in this network namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalived_pid: Option<u32>,
    /// Why the kernel's IPVS tables could not be read, when they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvs_error: Option<String>,
    /// The configuration file read for names and expectations, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// Why that file could not be used, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
    /// Real servers in the configuration but not in the kernel's table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingRealServer>,
    /// Weights this console set, with the weight found before (what a
    /// restore puts back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights_set: Vec<WeightSet>,
    /// VRRP as heard on this host's interfaces (never sent to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<WireReport>,
    /// Why the advert listener could not run (no CAP_NET_RAW, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_error: Option<String>,
    /// keepalived's own view from its last state dumps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalived: Option<KeepalivedView>,
    /// The kernel's IPVS connection timeouts (`ipvsadm -L --timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<crate::ipvs::model::Timeouts>,
    /// The kernel's connection sync daemons (`ipvsadm -L --daemon`),
    /// which keepalived starts for `lvs_sync_daemon`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_daemons: Vec<crate::ipvs::model::Daemon>,
}

/// keepalived's own view, read from its JSON and data dumps; every field
/// keepalived leaves out stays unknown.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KeepalivedView {
    pub instances: Vec<KeepalivedInstance>,
    /// Why the JSON dump gave nothing, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances_error: Option<String>,
    pub virtual_servers: Vec<KeepalivedVirtualServer>,
    /// Why the checker dump gave nothing, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_servers_error: Option<String>,
    pub read_at_unix_ms: u64,
}

/// A configured real server that the kernel's table does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingRealServer {
    pub service: ServiceKey,
    pub server: DestKey,
    /// The configured weight.
    pub weight: i32,
    /// Whether the whole virtual service is absent too.
    pub service_missing: bool,
}

/// A weight set from the observer, and the weight it replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightSet {
    pub service: ServiceKey,
    pub server: DestKey,
    pub weight: i32,
    pub previous: i32,
    pub by: String,
}

impl MissingRealServer {
    /// The words the console and `--once` show beside such a row.
    pub const WHY: &'static str = "not in the IPVS table (removed by checks or by hand)";
}
