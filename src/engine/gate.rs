//! Which virtual services a userspace director may serve right now.
//!
//! A userspace dataplane owns its VIPs by listening on them, so two
//! directors on one segment must not both serve a VIP: a virtual service
//! whose address belongs to a VRRP instance is served only while that
//! instance is MASTER, as the kernel sees a VIP only while the MASTER has
//! it on an interface. A VIP no instance names is served
//! unconditionally — a standalone director. Firewall-mark
//! services have no address of their own and are always served.
//!
//! The kernel dataplane does not need this: IPVS only sees packets for a
//! VIP the VRRP instance has installed on an interface.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::model::Config;
use crate::ipvs::desired::DesiredService;
use crate::vrrp::driver::VrrpStatus;
use crate::vrrp::machine::State;

/// The instances that own each VIP, from the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VipOwners {
    owners: HashMap<IpAddr, Vec<String>>,
}

impl VipOwners {
    pub fn from_config(config: &Config) -> Self {
        let mut owners: HashMap<IpAddr, Vec<String>> = HashMap::new();
        for instance in &config.vrrp.instances {
            for vip in &instance.virtual_addresses {
                owners
                    .entry(vip.address.value)
                    .or_default()
                    .push(instance.name.value.clone());
            }
        }
        VipOwners { owners }
    }

    /// Whether any VIP is tied to an instance (else nothing is gated).
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// `wanted` without the services whose VIP belongs only to instances
    /// that are not MASTER now. An instance the status does not list yet
    /// (VRRP still starting) is not MASTER.
    pub fn filter(&self, wanted: Vec<DesiredService>, vrrp: &VrrpStatus) -> Vec<DesiredService> {
        if self.owners.is_empty() {
            return wanted;
        }
        let master = |name: &String| {
            vrrp.instances
                .iter()
                .any(|i| &i.name == name && i.state == State::Master)
        };
        wanted
            .into_iter()
            .filter(|service| {
                let Some(address) = service.config.key.socket_addr() else {
                    return true;
                };
                match self.owners.get(&address.ip()) {
                    None => true,
                    Some(instances) => instances.iter().any(master),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{load_str, Options};
    use crate::ipvs::desired;
    use crate::vrrp::driver::InstanceStatus;

    const CONFIG: &str = "
vrrp_instance VI_1 {
    state BACKUP
    interface lo
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        127.0.0.88
    }
}
virtual_server 127.0.0.88 8088 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.81 8081 {
        weight 1
    }
}
virtual_server 127.0.0.99 8099 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.81 8081 {
        weight 1
    }
}
";

    fn status(state: State) -> VrrpStatus {
        let json = serde_json::json!({
            "instances": [{
                "name": "VI_1", "state": state, "vrid": 51, "version": 2,
                "interface": "lo", "base_priority": 100, "effective_priority": 100,
                "master_address": null, "master_priority": null,
                "vips": ["127.0.0.88"], "vips_installed": [], "sync_group": null,
                "fault_reasons": [], "since_unix_ms": 0, "transitions": [],
                "stats": {}, "io_errors": {"advert_send": 0, "vip": 0, "announce": 0}
            }],
            "sync_groups": [],
            "unknown_vrid": 0
        });
        let instance: Result<VrrpStatus, _> = serde_json::from_value(json);
        instance.unwrap_or_else(|e| panic!("{e}"))
    }

    fn served(owners: &VipOwners, config: &Config, vrrp: &VrrpStatus) -> Vec<String> {
        let wanted = desired::from_config(&config.lvs).unwrap_or_else(|e| panic!("{e}"));
        owners
            .filter(wanted, vrrp)
            .iter()
            .map(|s| s.config.key.to_string())
            .collect()
    }

    #[test]
    fn a_vip_is_served_only_while_its_instance_is_master() {
        let outcome = load_str("gate.conf".as_ref(), CONFIG, &Options::default());
        assert!(!outcome.has_errors());
        let owners = VipOwners::from_config(&outcome.config);
        let standalone = "TCP 127.0.0.99:8099".to_string();
        let vip = "TCP 127.0.0.88:8088".to_string();
        let _: Option<InstanceStatus> = None;
        assert_eq!(
            served(&owners, &outcome.config, &VrrpStatus::default()),
            std::slice::from_ref(&standalone),
            "before VRRP reports, only the standalone VIP is served"
        );
        assert_eq!(
            served(&owners, &outcome.config, &status(State::Backup)),
            std::slice::from_ref(&standalone)
        );
        let mut both = served(&owners, &outcome.config, &status(State::Master));
        both.sort();
        assert_eq!(both, [vip, standalone]);
    }
}
