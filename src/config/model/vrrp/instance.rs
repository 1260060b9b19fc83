//! The `vrrp_instance` block: one virtual router on one interface.

use std::net::IpAddr;
use std::time::Duration;

use super::{Notify, Route, Rule, Tracked, VirtualAddress};
use crate::config::model::{RawSetting, Text, Timer};
use crate::config::source::Spanned;

/// `state MASTER|BACKUP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialState {
    Master,
    #[default]
    Backup,
}

impl InitialState {
    pub fn keyword(self) -> &'static str {
        match self {
            InitialState::Master => "MASTER",
            InitialState::Backup => "BACKUP",
        }
    }
}

/// `auth_type PASS|AH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    Pass,
    Ah,
}

impl AuthType {
    pub fn keyword(self) -> &'static str {
        match self {
            AuthType::Pass => "PASS",
            AuthType::Ah => "AH",
        }
    }
}

/// `authentication { auth_type …; auth_pass … }` (RFC 2338 §5.3.6; removed
/// from VRRPv2 by RFC 3768, still spoken by keepalived).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authentication {
    pub auth_type: Option<Spanned<AuthType>>,
    /// At most 8 characters: keepalived truncates longer passwords (with a
    /// warning) and so does the parser.
    pub auth_pass: Option<Text>,
    pub other: Vec<RawSetting>,
}

/// `use_vmac [NAME] [MAC]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UseVmac {
    pub name: Option<String>,
    pub mac: Option<String>,
}

/// One `unicast_peer` line: `ADDR [min_ttl N] [max_ttl N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnicastPeer {
    pub address: Spanned<IpAddr>,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// Gratuitous ARP / unsolicited NA timing of an instance; unset values
/// inherit the `global_defs` `vrrp_garp_*` settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GarpSettings {
    /// Seconds before the second burst after becoming master (0 = none).
    pub master_delay: Option<Spanned<u32>>,
    pub master_repeat: Option<Spanned<u32>>,
    pub lower_prio_delay: Option<Spanned<u32>>,
    pub lower_prio_repeat: Option<Spanned<u32>>,
    /// Seconds between refresh bursts while master (0 = none).
    pub master_refresh: Option<Spanned<u32>>,
    pub master_refresh_repeat: Option<Spanned<u32>>,
    /// `garp_extra_if [all] SECONDS`.
    pub extra_if: Option<Spanned<GarpExtraIf>>,
}

/// `garp_extra_if [all] SECONDS` (or global `vrrp_garp_extra_if`): one
/// gratuitous ARP / NA every period for each VIP and eVIP that sits on
/// an interface other than the instance's own, while MASTER. Without
/// `all` keepalived does so on VMAC interfaces only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpExtraIf {
    pub all: bool,
    /// Seconds between two rounds; 0 turns the rounds off.
    pub interval: u32,
}

/// A `vrrp_instance` block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VrrpInstance {
    pub name: Text,
    pub state: Option<Spanned<InitialState>>,
    pub interface: Option<Text>,
    pub virtual_router_id: Option<Spanned<u8>>,
    pub priority: Option<Spanned<u8>>,
    /// As written; see [`VrrpInstance::effective_advert_int`].
    pub advert_int: Option<Timer>,
    pub version: Option<Spanned<u8>>,
    pub authentication: Option<Authentication>,
    pub virtual_addresses: Vec<VirtualAddress>,
    pub excluded_addresses: Vec<VirtualAddress>,
    pub virtual_routes: Vec<Route>,
    pub virtual_rules: Vec<Rule>,
    /// `unicast_src_ip` (or its alias `mcast_src_ip`).
    pub unicast_src_ip: Option<Spanned<IpAddr>>,
    pub unicast_peers: Vec<UnicastPeer>,
    pub mcast_dst_ip: Option<Spanned<IpAddr>>,
    /// `nopreempt` (true) or `preempt` (false).
    pub nopreempt: Option<Spanned<bool>>,
    pub preempt_delay: Option<Timer>,
    pub track_interfaces: Vec<Tracked>,
    pub track_scripts: Vec<Tracked>,
    pub track_files: Vec<Tracked>,
    pub track_processes: Vec<Tracked>,
    pub notify: Notify,
    pub smtp_alert: Option<Spanned<bool>>,
    pub dont_track_primary: bool,
    /// `accept` (true) or `no_accept` (false).
    pub accept: Option<Spanned<bool>>,
    pub use_vmac: Option<Spanned<UseVmac>>,
    pub use_vmac_addr: bool,
    pub vmac_xmit_base: bool,
    pub garp: GarpSettings,
    /// `lower_prio_no_advert [BOOL]`: a MASTER hearing a lower priority
    /// sends no advert in reply.
    pub lower_prio_no_advert: Option<Spanned<bool>>,
    /// `higher_prio_send_advert [BOOL]`: a MASTER hearing a higher
    /// priority sends one advert of its own before it becomes BACKUP.
    pub higher_prio_send_advert: Option<Spanned<bool>>,
    /// The deprecated per-instance `lvs_sync_daemon_interface`.
    pub lvs_sync_daemon_interface: Option<Text>,
    pub other: Vec<RawSetting>,
}

impl VrrpInstance {
    /// keepalived.conf(5): `state` defaults to BACKUP unless priority is 255.
    pub fn effective_state(&self) -> InitialState {
        match self.state {
            Some(state) => state.value,
            None if self.effective_priority() == 255 => InitialState::Master,
            None => InitialState::Backup,
        }
    }

    /// Default priority 100 (keepalived uses it when none or an invalid
    /// one is given: "Using default 100").
    pub fn effective_priority(&self) -> u8 {
        self.priority.map_or(100, |priority| priority.value)
    }

    /// The VRRP version: the instance's `version`, else the global
    /// `vrrp_version`, else 2 — but IPv6 instances always speak 3
    /// (keepalived.conf(5) `vrrp_version`; RFC 5798 is the only IPv6 VRRP).
    pub fn effective_version(&self, global_version: Option<u8>) -> u8 {
        if self.is_ipv6() {
            return 3;
        }
        self.version
            .map(|version| version.value)
            .or(global_version)
            .unwrap_or(2)
    }

    /// Whether the instance is IPv6: decided by its first VIP, like
    /// keepalived (which then drops VIPs of the other family).
    pub fn is_ipv6(&self) -> bool {
        self.virtual_addresses
            .first()
            .is_some_and(|vip| vip.address.value.is_ipv6())
    }

    /// The advertisement interval in use, default 1 s. VRRPv2 counts whole
    /// seconds (RFC 3768 §5.3.7): keepalived rounds a fractional value to the
    /// nearest second, at least 1. VRRPv3 counts centiseconds (RFC 5798
    /// §5.2.7): keepalived rounds to 10 ms, at least 10 ms.
    pub fn effective_advert_int(&self, global_version: Option<u8>) -> Duration {
        let written = self
            .advert_int
            .map_or(Duration::from_secs(1), |interval| interval.value);
        if self.effective_version(global_version) == 2 {
            let secs = (written.as_millis() + 500) / 1000;
            Duration::from_secs(u64::try_from(secs.clamp(1, 255)).unwrap_or(255))
        } else {
            let centis = (written.as_micros() + 5_000) / 10_000;
            Duration::from_millis(u64::try_from(centis.clamp(1, 4095)).unwrap_or(4095) * 10)
        }
    }

    /// Unicast mode: peers are listed.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// keepalived.conf(5): preempt_delay defaults to 0.
    pub fn effective_preempt_delay(&self) -> Duration {
        self.preempt_delay
            .map_or(Duration::ZERO, |delay| delay.value)
    }

    /// `nopreempt` only works when the initial state is not MASTER
    /// (keepalived clears it: "nopreempt will not work with initial state
    /// MASTER").
    pub fn effective_nopreempt(&self) -> bool {
        self.nopreempt.is_some_and(|flag| flag.value)
            && self.effective_state() != InitialState::Master
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::Location;

    fn at() -> Location {
        Location::default()
    }

    #[test]
    fn defaults_are_backup_priority_100_one_second() {
        let instance = VrrpInstance::default();
        assert_eq!(instance.effective_state(), InitialState::Backup);
        assert_eq!(instance.effective_priority(), 100);
        assert_eq!(instance.effective_version(None), 2);
        assert_eq!(instance.effective_advert_int(None), Duration::from_secs(1));
        assert_eq!(instance.effective_preempt_delay(), Duration::ZERO);
    }

    #[test]
    fn v2_intervals_round_to_whole_seconds_like_keepalived() {
        // keepalived -t: "VRRPv2 advertisement interval 1.500000s must be an
        // integer. rounding".
        let mut instance = VrrpInstance {
            advert_int: Some(Spanned::new(Duration::from_millis(1500), at())),
            ..VrrpInstance::default()
        };
        assert_eq!(instance.effective_advert_int(None), Duration::from_secs(2));
        instance.advert_int = Some(Spanned::new(Duration::from_millis(400), at()));
        assert_eq!(instance.effective_advert_int(None), Duration::from_secs(1));
    }

    #[test]
    fn v3_intervals_round_to_centiseconds() {
        let instance = VrrpInstance {
            version: Some(Spanned::new(3, at())),
            advert_int: Some(Spanned::new(Duration::from_millis(15), at())),
            ..VrrpInstance::default()
        };
        assert_eq!(
            instance.effective_advert_int(None),
            Duration::from_millis(20)
        );
        assert_eq!(instance.effective_version(Some(2)), 3);
    }

    #[test]
    fn priority_255_starts_as_master_and_masters_never_nopreempt() {
        let instance = VrrpInstance {
            priority: Some(Spanned::new(255, at())),
            nopreempt: Some(Spanned::new(true, at())),
            ..VrrpInstance::default()
        };
        assert_eq!(instance.effective_state(), InitialState::Master);
        assert!(!instance.effective_nopreempt());
    }
}
