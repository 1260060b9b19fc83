//! What one instance needs to run, resolved from the typed configuration
//! with keepalived's defaults (`effective_*` of the config model). Built
//! once; never read from files here.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::config::model::global::GlobalDefs;
use crate::config::model::vrrp::{AuthType, InitialState, VrrpInstance};
use crate::config::model::Script;
use crate::vrrp::packet::{Auth, Version};

/// One virtual address to add or remove (`ip addr add ADDR/PREFIX dev DEV`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vip {
    pub address: IpAddr,
    pub prefix: u8,
    /// `dev` on the VIP line, else the instance's interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

/// A unicast peer with the TTL range keepalived accepts from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    pub address: IpAddr,
    pub min_ttl: u8,
    pub max_ttl: u8,
}

/// The notify scripts of an instance or a sync group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifyScripts {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    /// `notify`: run on every transition with type, name, state, priority.
    pub any: Option<Script>,
    /// `notify_deleted [SCRIPT]`: `Some(_)` announces DELETED instead of
    /// FAULT when a reload removes the instance; the script runs too.
    pub deleted: Option<Option<Script>>,
    /// `notify_master_rx_lower_pri SCRIPT` (instances only).
    pub master_rx_lower_pri: Option<Script>,
    /// `notify_priority_changes` (or global
    /// `vrrp_notify_priority_changes`): FIFO lines on priority changes.
    pub priority_changes: bool,
    /// `smtp_alert` of the block, else `smtp_alert_vrrp`, else
    /// `smtp_alert` of `global_defs`, else no (keepalived.conf(5)).
    pub smtp_alert: bool,
}

impl NotifyScripts {
    /// The block's notify settings with the global defaults applied.
    pub fn resolve(
        notify: &crate::config::model::vrrp::Notify,
        smtp_alert: Option<bool>,
        global: &GlobalDefs,
    ) -> Self {
        let mut scripts = Self::from(notify);
        scripts.priority_changes = notify
            .priority_changes
            .map(|flag| flag.value)
            .or(global.vrrp_notify_priority_changes.map(|flag| flag.value))
            .unwrap_or(false);
        scripts.smtp_alert =
            smtp_alert.unwrap_or(crate::notify::smtp::AlertDefaults::from_global(global).vrrp);
        scripts
    }
}

impl From<&crate::config::model::vrrp::Notify> for NotifyScripts {
    fn from(notify: &crate::config::model::vrrp::Notify) -> Self {
        Self {
            master: notify.master.clone(),
            backup: notify.backup.clone(),
            fault: notify.fault.clone(),
            stop: notify.stop.clone(),
            any: notify.any.clone(),
            deleted: notify.deleted.clone(),
            master_rx_lower_pri: notify.master_rx_lower_pri.clone(),
            priority_changes: notify.priority_changes.is_some_and(|flag| flag.value),
            smtp_alert: false,
        }
    }
}

/// Gratuitous ARP / NA timing (keepalived.conf(5) `vrrp_garp_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpTiming {
    /// Messages per burst on becoming master.
    pub master_repeat: u32,
    /// Delay of the second burst after becoming master (zero = none).
    pub master_delay: Duration,
    /// Interval of refresh bursts while master (zero = none).
    pub master_refresh: Duration,
    pub master_refresh_repeat: u32,
}

/// Everything the state machine needs about one `vrrp_instance`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceConfig {
    pub name: String,
    pub interface: Option<String>,
    pub vrid: u8,
    pub version: Version,
    /// Configured (base) priority, 1-255.
    pub priority: u8,
    pub advert_interval: Duration,
    pub auth: Auth,
    pub vips: Vec<Vip>,
    pub excluded_vips: Vec<Vip>,
    /// Where adverts go when there are no unicast peers.
    pub multicast_group: IpAddr,
    pub unicast_src: Option<IpAddr>,
    pub unicast_peers: Vec<Peer>,
    pub initial_state: InitialState,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    /// `vrrp_skip_check_adv_addr`: check the advert's address list only when
    /// the master changes.
    pub skip_check_adv_addr: bool,
    pub garp: GarpTiming,
    pub notify: NotifyScripts,
}

impl InstanceConfig {
    /// Resolves `instance` with the global defaults. Instances without a
    /// `virtual_router_id` cannot run (validation reports them); they get
    /// `None`.
    pub fn from_model(instance: &VrrpInstance, global: &GlobalDefs) -> Option<Self> {
        let global_version = global.vrrp_version.map(|v| v.value);
        let vrid = instance.virtual_router_id?.value;
        let version = if instance.effective_version(global_version) == 3 {
            Version::V3
        } else {
            Version::V2
        };
        let ipv6 = instance.is_ipv6();
        // keepalived ignores VIPs of the other family (validation warns).
        let to_vip = |vip: &crate::config::model::vrrp::VirtualAddress| Vip {
            address: vip.address.value,
            prefix: vip.effective_prefix(),
            interface: vip.dev.as_ref().map(|dev| dev.value.clone()),
        };
        let vips = instance
            .virtual_addresses
            .iter()
            .filter(|vip| vip.address.value.is_ipv6() == ipv6)
            .map(to_vip)
            .collect();
        // RFC 3768 has authentication, VRRPv3 none; vrrp_strict drops it.
        // keepalived has no AH over IPv6 ("Cannot use AH authentication
        // with IPv6. ignoring").
        let auth = match (&instance.authentication, version) {
            (Some(auth), Version::V2) if !global.vrrp_strict => {
                let password = auth.auth_pass.as_ref().map_or("", |p| p.value.as_str());
                match auth.auth_type.map(|t| t.value) {
                    Some(AuthType::Pass) => Auth::pass(password),
                    Some(AuthType::Ah) if !ipv6 => Auth::ah(password),
                    _ => Auth::None,
                }
            }
            _ => Auth::None,
        };
        let multicast_group = match instance.mcast_dst_ip {
            Some(group) => group.value,
            None if ipv6 => global.effective_mcast_group6(),
            None => global.effective_mcast_group4(),
        };
        let mut initial_state = instance.effective_state();
        if global.vrrp_strict && instance.effective_priority() != 255 {
            initial_state = InitialState::Backup;
        }
        // keepalived: "Initial state master is incompatible with AH
        // authentication - clearing"; the address owner (priority 255)
        // still starts as MASTER (measured: no such line, MASTER at once).
        if matches!(auth, Auth::Ah(_)) && instance.effective_priority() != 255 {
            initial_state = InitialState::Backup;
        }
        let repeat =
            |own: Option<crate::config::source::Spanned<u32>>,
             global: Option<crate::config::source::Spanned<u32>>,
             default: u32| { own.or(global).map_or(default, |v| v.value) };
        let garp = GarpTiming {
            master_repeat: repeat(
                instance.garp.master_repeat,
                global.vrrp_garp_master_repeat,
                5,
            ),
            master_delay: Duration::from_secs(u64::from(repeat(
                instance.garp.master_delay,
                global.vrrp_garp_master_delay,
                5,
            ))),
            master_refresh: Duration::from_secs(u64::from(repeat(
                instance.garp.master_refresh,
                global.vrrp_garp_master_refresh,
                0,
            ))),
            master_refresh_repeat: repeat(
                instance.garp.master_refresh_repeat,
                global.vrrp_garp_master_refresh_repeat,
                1,
            ),
        };
        Some(Self {
            name: instance.name.value.clone(),
            interface: instance.interface.as_ref().map(|i| i.value.clone()),
            vrid,
            version,
            priority: instance.effective_priority().max(1),
            advert_interval: instance.effective_advert_int(global_version),
            auth,
            vips,
            excluded_vips: instance.excluded_addresses.iter().map(to_vip).collect(),
            multicast_group,
            unicast_src: instance.unicast_src_ip.map(|a| a.value),
            unicast_peers: instance
                .unicast_peers
                .iter()
                .map(|peer| Peer {
                    address: peer.address.value,
                    min_ttl: peer.min_ttl.unwrap_or(0),
                    max_ttl: peer.max_ttl.unwrap_or(255),
                })
                .collect(),
            initial_state,
            nopreempt: instance.effective_nopreempt(),
            preempt_delay: instance.effective_preempt_delay(),
            skip_check_adv_addr: global.vrrp_skip_check_adv_addr,
            garp,
            notify: NotifyScripts::resolve(
                &instance.notify,
                instance.smtp_alert.map(|flag| flag.value),
                global,
            ),
        })
    }

    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    pub fn is_ipv6(&self) -> bool {
        self.vips
            .first()
            .map_or(self.multicast_group.is_ipv6(), |vip| vip.address.is_ipv6())
    }

    /// Where adverts are sent: every unicast peer, else the multicast group.
    pub fn destinations(&self) -> Vec<IpAddr> {
        if self.is_unicast() {
            self.unicast_peers.iter().map(|peer| peer.address).collect()
        } else {
            vec![self.multicast_group]
        }
    }

    /// The advert interval in the packet's unit (v2 seconds, v3 centiseconds).
    pub fn interval_field(&self) -> u16 {
        match self.version {
            Version::V2 => u16::try_from(self.advert_interval.as_secs().clamp(1, 255)).unwrap_or(1),
            Version::V3 => {
                u16::try_from((self.advert_interval.as_millis() / 10).clamp(1, 4095)).unwrap_or(100)
            }
        }
    }
}
