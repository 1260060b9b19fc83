//! Per-instance counters and the snapshot the console shows. Plain data,
//! serializable as is for the control socket.

use std::net::IpAddr;

use serde::Serialize;

use super::{State, Timestamp};

/// What an instance counted since start: every advert sent and received,
/// every transition, and each receive check that dropped an advert
/// (keepalived's `vrrp_stats` plus the checks it only logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Stats {
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub became_master: u64,
    pub release_master: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
    /// Length does not match the address count (or shorter than a header).
    pub packet_len_err: u64,
    /// TTL / hop limit not 255 (multicast) or outside a peer's range.
    pub ip_ttl_err: u64,
    pub version_err: u64,
    pub invalid_type_rcvd: u64,
    pub vrid_err: u64,
    pub checksum_err: u64,
    /// Unknown auth type, or AH (not supported).
    pub invalid_authtype: u64,
    pub authtype_mismatch: u64,
    /// Wrong PASS password.
    pub auth_failure: u64,
    /// Address count or list differs from ours.
    pub addr_list_err: u64,
    /// VRRPv2 advert interval differs from ours.
    pub advert_interval_err: u64,
    /// Unicast advert from an address that is not a `unicast_peer`.
    pub unicast_src_err: u64,
    /// Anything else that could not be decoded (mixed address families).
    pub other_err: u64,
}

/// One instance as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceSnapshot {
    pub name: String,
    pub state: State,
    pub vrid: u8,
    pub version: u8,
    pub interface: Option<String>,
    pub base_priority: u8,
    /// An operator's priority in place of the configured one.
    pub operator_priority: Option<u8>,
    pub effective_priority: u8,
    /// The master's address while BACKUP (the last accepted advert's
    /// source), ours while MASTER.
    pub master_address: Option<IpAddr>,
    pub master_priority: Option<u8>,
    pub vips: Vec<IpAddr>,
    pub sync_group: Option<String>,
    /// Why the instance is in FAULT (empty otherwise).
    pub fault_reasons: Vec<String>,
    /// A forced failover keeps the instance BACKUP until then.
    pub hold_until: Option<Timestamp>,
    pub last_transition: Option<Timestamp>,
    pub stats: Stats,
}
