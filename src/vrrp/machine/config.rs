//! What one instance needs to run, resolved from the typed configuration
//! with keepalived's defaults (`effective_*` of the config model). Built
//! once; never read from files here.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::config::model::global::GlobalDefs;
use crate::config::model::vrrp::{AuthType, GarpSettings, InitialState, VrrpInstance};
use crate::config::model::Script;
use crate::config::source::Spanned;
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
    /// Messages per burst when a master hears a lower priority (0 = none).
    pub lower_prio_repeat: u32,
    /// Delay of the second such burst (zero = none).
    pub lower_prio_delay: Duration,
    /// `garp_extra_if all`: period of one message for each address on an
    /// interface other than the instance's (zero = none).
    pub extra_if: Duration,
}

impl GarpTiming {
    /// Resolves an instance's `garp_*` settings over the global ones with
    /// keepalived 2.2.7's defaults, as measured on the wire (captures in
    /// namespaces with tcpdump, a lower-priority advert injected at a
    /// keepalived master):
    ///
    /// - `vrrp_min_garp` turns the defaults of `vrrp_garp_master_repeat`
    ///   into 1 and of `vrrp_garp_master_delay` into 0; a value written
    ///   in the file wins whether before or after it (1 GARP on becoming
    ///   MASTER and none 5 s later; with `vrrp_garp_master_repeat 3`
    ///   written before or after it, 3 and none later).
    /// - The lower-priority settings default to the *global* master ones,
    ///   not to the instance's `garp_master_*` (an instance with
    ///   `garp_master_repeat 2`, `garp_master_delay 1` sent 5 GARPs at
    ///   once and 5 more 5 s later on a lower-priority advert).
    /// - `vrrp_strict` sends none on a lower-priority advert, whatever is
    ///   set ("Strict mode requires no repeat garps. resetting").
    /// - `garp_extra_if` without `all` sends on VMAC interfaces only
    ///   (keepalived, without a VMAC, sent nothing); lvstop sends those
    ///   rounds with `all` only.
    pub fn resolve(garp: &GarpSettings, global: &GlobalDefs) -> Self {
        let pick = |own: Option<Spanned<u32>>, global: Option<Spanned<u32>>, default: u32| {
            own.or(global).map_or(default, |v| v.value)
        };
        let secs = |value: u32| Duration::from_secs(u64::from(value));
        let min_garp = global.vrrp_min_garp.is_some_and(|flag| flag.value);
        let global_repeat = pick(
            None,
            global.vrrp_garp_master_repeat,
            if min_garp { 1 } else { 5 },
        );
        let global_delay = pick(
            None,
            global.vrrp_garp_master_delay,
            if min_garp { 0 } else { 5 },
        );
        let (lower_prio_repeat, lower_prio_delay) = if global.vrrp_strict {
            (0, 0)
        } else {
            (
                pick(
                    garp.lower_prio_repeat,
                    global.vrrp_garp_lower_prio_repeat,
                    global_repeat,
                ),
                pick(
                    garp.lower_prio_delay,
                    global.vrrp_garp_lower_prio_delay,
                    global_delay,
                ),
            )
        };
        let extra_if = garp
            .extra_if
            .or(global.vrrp_garp_extra_if)
            .filter(|extra| extra.value.all)
            .map_or(Duration::ZERO, |extra| secs(extra.value.interval));
        Self {
            master_repeat: pick(garp.master_repeat, None, global_repeat),
            master_delay: secs(pick(garp.master_delay, None, global_delay)),
            master_refresh: secs(pick(
                garp.master_refresh,
                global.vrrp_garp_master_refresh,
                0,
            )),
            master_refresh_repeat: pick(
                garp.master_refresh_repeat,
                global.vrrp_garp_master_refresh_repeat,
                1,
            ),
            lower_prio_repeat,
            lower_prio_delay: secs(lower_prio_delay),
            extra_if,
        }
    }
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
    /// `lower_prio_no_advert`: as MASTER, hear a lower priority without
    /// sending an advert in reply.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`: as MASTER, send one advert of our own
    /// before yielding to a higher priority.
    pub higher_prio_send_advert: bool,
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
        let garp = GarpTiming::resolve(&instance.garp, global);
        // keepalived.conf(5): under vrrp_strict a master never answers a
        // lower priority and never advertises before yielding ("strict
        // mode requires higher_prio_send_advert to be clear. resetting").
        let lower_prio_no_advert = global.vrrp_strict
            || instance
                .lower_prio_no_advert
                .or(global.vrrp_lower_prio_no_advert)
                .is_some_and(|flag| flag.value);
        let higher_prio_send_advert = !global.vrrp_strict
            && instance
                .higher_prio_send_advert
                .or(global.vrrp_higher_prio_send_advert)
                .is_some_and(|flag| flag.value);
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
            lower_prio_no_advert,
            higher_prio_send_advert,
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::load::{load_str, Options};

    fn resolved(global: &str, instance: &str) -> InstanceConfig {
        let text = format!(
            "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n \
             virtual_router_id 51\n{instance}\n virtual_ipaddress {{\n  198.51.100.10\n }}\n}}\n"
        );
        let loaded = load_str(Path::new("keepalived.conf"), &text, &Options::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        InstanceConfig::from_model(&loaded.config.vrrp.instances[0], &loaded.config.global).unwrap()
    }

    fn garp(global: &str, instance: &str) -> GarpTiming {
        resolved(global, instance).garp
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn defaults_are_five_now_and_five_after_five_seconds_for_both_triggers() {
        let g = garp("", "");
        assert_eq!((g.master_repeat, g.master_delay), (5, S(5)));
        assert_eq!((g.lower_prio_repeat, g.lower_prio_delay), (5, S(5)));
        assert_eq!(g.extra_if, Duration::ZERO);
    }

    #[test]
    fn min_garp_changes_the_defaults_and_written_values_win_in_any_order() {
        let g = garp("vrrp_min_garp", "");
        assert_eq!((g.master_repeat, g.master_delay), (1, S(0)));
        assert_eq!((g.lower_prio_repeat, g.lower_prio_delay), (1, S(0)));
        for global in [
            "vrrp_garp_master_repeat 3\nvrrp_garp_lower_prio_delay 2\nvrrp_min_garp",
            "vrrp_min_garp\nvrrp_garp_master_repeat 3\nvrrp_garp_lower_prio_delay 2",
        ] {
            let g = garp(global, "");
            assert_eq!((g.master_repeat, g.master_delay), (3, S(0)), "{global}");
            assert_eq!((g.lower_prio_repeat, g.lower_prio_delay), (3, S(2)));
        }
        let g = garp("vrrp_min_garp no", "");
        assert_eq!((g.master_repeat, g.master_delay), (5, S(5)));
    }

    #[test]
    fn lower_priority_sets_default_to_the_global_master_settings() {
        let g = garp("", "garp_master_repeat 2\ngarp_master_delay 1");
        assert_eq!((g.master_repeat, g.master_delay), (2, S(1)));
        assert_eq!((g.lower_prio_repeat, g.lower_prio_delay), (5, S(5)));
        let g = garp("vrrp_garp_lower_prio_repeat 3", "garp_master_repeat 2");
        assert_eq!((g.lower_prio_repeat, g.lower_prio_delay), (3, S(5)));
        let g = garp(
            "vrrp_garp_lower_prio_repeat 3",
            "garp_lower_prio_repeat 2\ngarp_lower_prio_delay 7",
        );
        assert_eq!((g.lower_prio_repeat, g.lower_prio_delay), (2, S(7)));
    }

    #[test]
    fn strict_mode_sends_no_lower_priority_sets_nor_extra_adverts() {
        let c = resolved(
            "vrrp_strict",
            "garp_lower_prio_repeat 2\nlower_prio_no_advert false\nhigher_prio_send_advert",
        );
        assert_eq!(c.garp.lower_prio_repeat, 0);
        assert_eq!(c.garp.master_repeat, 5, "a new master still sends its sets");
        assert!(c.lower_prio_no_advert);
        assert!(!c.higher_prio_send_advert);
    }

    #[test]
    fn advert_flags_come_from_the_instance_else_the_global_setting() {
        let c = resolved("", "");
        assert!(!c.lower_prio_no_advert && !c.higher_prio_send_advert);
        let c = resolved(
            "vrrp_lower_prio_no_advert\nvrrp_higher_prio_send_advert",
            "",
        );
        assert!(c.lower_prio_no_advert && c.higher_prio_send_advert);
        let c = resolved(
            "vrrp_lower_prio_no_advert\nvrrp_higher_prio_send_advert",
            "lower_prio_no_advert off\nhigher_prio_send_advert false",
        );
        assert!(!c.lower_prio_no_advert && !c.higher_prio_send_advert);
    }

    #[test]
    fn garp_extra_if_rounds_need_all() {
        assert_eq!(garp("", "garp_extra_if all 100").extra_if, S(100));
        assert_eq!(garp("", "garp_extra_if 100 all").extra_if, S(100));
        assert_eq!(garp("vrrp_garp_extra_if all 60", "").extra_if, S(60));
        assert_eq!(
            garp("vrrp_garp_extra_if all 60", "garp_extra_if all 0").extra_if,
            Duration::ZERO
        );
        assert_eq!(garp("", "garp_extra_if 100").extra_if, Duration::ZERO);
    }
}
