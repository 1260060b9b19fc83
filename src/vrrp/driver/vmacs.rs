//! The VRRP virtual MAC interfaces of a runner (`use_vmac`,
//! `use_vmac_addr`, `vmac_xmit_base`, a VIP's `use_vmac`): which macvlans
//! the configuration asks for, which VIPs go on them and where adverts
//! leave (pure, [`plan`]); and their life on the host ([`ActiveVmacs`]):
//! created and brought up with keepalived's sysctls before the first
//! advert, removed and the base interfaces' sysctls restored at stop.
//!
//! Rules measured on keepalived 2.2.7 in network namespaces:
//! - `use_vmac` makes `vrrp.VRID` (IPv6 instances too) over the instance's
//!   interface with `00:00:5e:00:01:VRID` (IPv6 `00:00:5e:00:02:VRID`),
//!   macvlan mode private, no IPv6 address generated; the VIPs of the
//!   instance's family without another `dev` go on it.
//! - adverts leave from the VMAC (source MAC the virtual MAC, source IP
//!   the base interface's primary address; IPv6: the base's link-local
//!   address, copied onto the VMAC without DAD); with `vmac_xmit_base`
//!   from the base interface with its own MAC. GARPs always carry the
//!   virtual MAC.
//! - a VIP on another interface gets a VMAC of its own there with
//!   `use_vmac_addr` or its own `use_vmac`: `vrrpN.VRID`, N counting from
//!   1 (`vrrp.VRID` when the instance has no VMAC of its own yet).
//! - IPv4 VMACs get `arp_ignore=1`, `accept_local=1`, `rp_filter=0`,
//!   `promote_secondaries=1` and IPv6 `disable_ipv6=1`, and their base
//!   interfaces `arp_ignore=1`, `arp_filter=1`, so that only
//!   the VMAC answers ARP for the VIPs. A set `all.rp_filter` goes to 0,
//!   the base interfaces and `default` taking the greater value instead.
//!
//! This module never runs the state machine and never adds VIPs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::config::model::vrrp::VrrpInstance;
use crate::config::model::Config;
use crate::net::sysctl::{ConfKey, ConfSetting, Sysctl};
use crate::net::vmac::{
    extra_vmac_name, instance_vmac_name, parse_mac, virtual_mac, Mac, VmacError, VmacSpec, Vmacs,
};

/// Sysctls of an IPv4 VMAC (keepalived 2.2.7, `sysctl -a` before/after).
const VMAC_SYSCTLS: [(ConfKey, i64); 5] = [
    (ConfKey::ArpIgnore, 1),
    (ConfKey::AcceptLocal, 1),
    (ConfKey::RpFilter, 0),
    (ConfKey::PromoteSecondaries, 1),
    (ConfKey::DisableIpv6, 1),
];
/// Sysctls of the interface under an IPv4 VMAC, restored at stop.
const BASE_SYSCTLS: [(ConfKey, i64); 2] = [(ConfKey::ArpIgnore, 1), (ConfKey::ArpFilter, 1)];

/// One VMAC of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedVmac {
    pub spec: VmacSpec,
    /// Carries IPv4 VIPs (and so takes the ARP sysctls).
    pub ipv4: bool,
    /// IPv6 adverts leave from it: it borrows its base's link-local
    /// address to send them from.
    pub ipv6_adverts: bool,
}

/// What the configuration's VMAC keywords ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmacPlan {
    pub vmacs: Vec<PlannedVmac>,
    /// Instance → the interface its adverts leave from, when that is a
    /// VMAC rather than its `interface`.
    pub advert_device: HashMap<String, String>,
    /// (instance, VIP) → the VMAC the VIP goes on.
    pub vip_device: HashMap<(String, IpAddr), String>,
}

impl VmacPlan {
    pub fn is_empty(&self) -> bool {
        self.vmacs.is_empty()
    }
}

/// An instance's address family as the state machine decides it: its
/// first VIP's.
fn instance_is_ipv6(instance: &VrrpInstance) -> bool {
    instance
        .virtual_addresses
        .first()
        .map(|v| v.address.value.is_ipv6())
        .or(instance.mcast_dst_ip.as_ref().map(|a| a.value.is_ipv6()))
        .unwrap_or(false)
}

/// The VMACs, VIP placements and advert interfaces of `config`.
pub fn plan(config: &Config) -> VmacPlan {
    let mut out = VmacPlan::default();
    for instance in &config.vrrp.instances {
        plan_instance(instance, &mut out);
    }
    out
}

fn plan_instance(instance: &VrrpInstance, out: &mut VmacPlan) {
    let (Some(interface), Some(vrid)) = (&instance.interface, &instance.virtual_router_id) else {
        return;
    };
    let (interface, vrid) = (interface.value.as_str(), vrid.value);
    let ipv6 = instance_is_ipv6(instance);
    let name = &instance.name.value;
    // (base, ipv6) → VMAC name, for this instance.
    let mut made: Vec<((String, bool), String)> = Vec::new();
    if let Some(use_vmac) = &instance.use_vmac {
        let vmac = use_vmac
            .value
            .name
            .clone()
            .unwrap_or_else(|| instance_vmac_name(vrid));
        let mac = use_vmac
            .value
            .mac
            .as_deref()
            .and_then(|m| parse_mac(m, vrid))
            .unwrap_or_else(|| virtual_mac(vrid, ipv6));
        let adverts = !instance.vmac_xmit_base;
        push(out, &vmac, interface, mac, !ipv6);
        if let Some(planned) = out.vmacs.iter_mut().find(|v| v.spec.name == vmac) {
            planned.ipv6_adverts |= ipv6 && adverts;
        }
        made.push(((interface.to_string(), ipv6), vmac.clone()));
        if adverts {
            out.advert_device.insert(name.clone(), vmac);
        }
    }
    for vip in instance
        .virtual_addresses
        .iter()
        .chain(&instance.excluded_addresses)
    {
        let addr = vip.address.value;
        let dev = vip.dev.as_ref().map_or(interface, |d| d.value.as_str());
        let key = (dev.to_string(), addr.is_ipv6());
        if let Some((_, vmac)) = made.iter().find(|(k, _)| *k == key) {
            out.vip_device.insert((name.clone(), addr), vmac.clone());
            continue;
        }
        let own = vip.use_vmac.as_ref();
        if !instance.use_vmac_addr && own.is_none() {
            continue;
        }
        let vmac = own
            .and_then(|n| n.clone())
            .unwrap_or_else(|| match made.len() {
                0 => instance_vmac_name(vrid),
                n => extra_vmac_name(n, vrid),
            });
        push(
            out,
            &vmac,
            dev,
            virtual_mac(vrid, addr.is_ipv6()),
            addr.is_ipv4(),
        );
        made.push((key, vmac.clone()));
        out.vip_device.insert((name.clone(), addr), vmac);
    }
}

fn push(out: &mut VmacPlan, name: &str, base: &str, mac: Mac, ipv4: bool) {
    if out.vmacs.iter().any(|v| v.spec.name == name) {
        return;
    }
    out.vmacs.push(PlannedVmac {
        spec: VmacSpec {
            name: name.to_string(),
            base: base.to_string(),
            mac,
        },
        ipv4,
        ipv6_adverts: false,
    });
}

/// The sysctls of the interfaces under VMACs as they were before the
/// first VMAC, shared by the runners of one service (each lone instance
/// runs apart): the first VMAC over an interface saves them, the last one
/// gone puts them back.
#[derive(Debug, Clone, Default)]
pub struct BaseSettings(Arc<Mutex<HashMap<ConfSetting, Saved>>>);

#[derive(Debug)]
struct Saved {
    value: i64,
    users: usize,
}

impl BaseSettings {
    /// Sets `setting` to `value`, saving the old value for the first user.
    fn claim(&self, sysctl: &Sysctl, setting: &ConfSetting, value: i64) -> bool {
        let Ok(mut saved) = self.0.lock() else {
            return false;
        };
        if let Some(entry) = saved.get_mut(setting) {
            entry.users += 1;
        } else {
            match sysctl.read(setting) {
                Ok(old) => {
                    saved.insert(
                        setting.clone(),
                        Saved {
                            value: old,
                            users: 1,
                        },
                    );
                }
                Err(e) => {
                    tracing::warn!("{e}");
                    return false;
                }
            }
        }
        if let Err(e) = sysctl.write(setting, value) {
            tracing::warn!("{e}");
        }
        true
    }

    /// The value `setting` had before any VMAC: saved, or read now.
    fn original(&self, sysctl: &Sysctl, setting: &ConfSetting) -> Option<i64> {
        if let Some(saved) = self.0.lock().ok()?.get(setting) {
            return Some(saved.value);
        }
        sysctl.read(setting).map_err(|e| tracing::warn!("{e}")).ok()
    }

    /// Gives `setting` up; the last user writes the saved value back.
    fn release(&self, sysctl: &Sysctl, setting: &ConfSetting) {
        let Ok(mut saved) = self.0.lock() else {
            return;
        };
        let Some(entry) = saved.get_mut(setting) else {
            return;
        };
        entry.users -= 1;
        if entry.users == 0 {
            let value = entry.value;
            saved.remove(setting);
            if let Err(e) = sysctl.write(setting, value) {
                tracing::warn!("cannot restore {setting}: {e}");
            }
        }
    }
}

/// The VMACs a runner made, and the base interfaces' sysctls it claimed.
#[derive(Debug, Default)]
pub struct ActiveVmacs {
    made: Vec<VmacSpec>,
    claimed: Vec<ConfSetting>,
    bases: BaseSettings,
}

impl ActiveVmacs {
    /// Creates every VMAC of `plan`, up, with its sysctls. On failure,
    /// whatever was made is undone before the error returns.
    pub async fn create(plan: &VmacPlan, bases: &BaseSettings) -> Result<Self, VmacError> {
        let mut active = ActiveVmacs {
            bases: bases.clone(),
            ..ActiveVmacs::default()
        };
        if plan.is_empty() {
            return Ok(active);
        }
        let vmacs = Vmacs::connect()?;
        for planned in &plan.vmacs {
            if let Err(e) = vmacs.create(&planned.spec).await {
                active.remove(&vmacs).await;
                return Err(e);
            }
            active.made.push(planned.spec.clone());
            if planned.ipv6_adverts {
                if let Err(e) = vmacs.borrow_link_local(&planned.spec).await {
                    tracing::warn!("{}: {e}", planned.spec.name);
                }
            }
        }
        let ipv4: Vec<PlannedVmac> = plan.vmacs.iter().filter(|v| v.ipv4).cloned().collect();
        let bases = bases.clone();
        let set = tokio::task::spawn_blocking(move || set_sysctls(&ipv4, &bases)).await;
        active.claimed = set.unwrap_or_default();
        Ok(active)
    }

    /// Removes the VMACs and gives the base interfaces' sysctls back.
    pub async fn remove_all(mut self) {
        if self.made.is_empty() {
            return;
        }
        match Vmacs::connect() {
            Ok(vmacs) => self.remove(&vmacs).await,
            Err(e) => tracing::warn!("cannot remove the VMAC interfaces: {e}"),
        }
    }

    async fn remove(&mut self, vmacs: &Vmacs) {
        for spec in self.made.drain(..).rev() {
            if let Err(e) = vmacs.remove(&spec).await {
                tracing::warn!("cannot remove VMAC {}: {e}", spec.name);
            }
        }
        let claimed = std::mem::take(&mut self.claimed);
        let bases = self.bases.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let sysctl = Sysctl::default();
            for setting in &claimed {
                bases.release(&sysctl, setting);
            }
        })
        .await;
    }
}

/// Sets the VMAC sysctls and claims the base ones (each once per runner);
/// returns the claimed base settings.
fn set_sysctls(vmacs: &[PlannedVmac], bases: &BaseSettings) -> Vec<ConfSetting> {
    set_sysctls_under(&Sysctl::default(), vmacs, bases)
}

fn set_sysctls_under(
    sysctl: &Sysctl,
    vmacs: &[PlannedVmac],
    bases: &BaseSettings,
) -> Vec<ConfSetting> {
    let mut claimed: Vec<ConfSetting> = Vec::new();
    let mut claim = |setting: ConfSetting, value: i64| {
        if !claimed.contains(&setting) && bases.claim(sysctl, &setting, value) {
            claimed.push(setting);
        }
    };
    for vmac in vmacs {
        for (key, value) in BASE_SYSCTLS {
            let setting = ConfSetting {
                ifname: vmac.spec.base.clone(),
                key,
            };
            claim(setting, value);
        }
        for (key, value) in VMAC_SYSCTLS {
            let setting = ConfSetting {
                ifname: vmac.spec.name.clone(),
                key,
            };
            if let Err(e) = sysctl.write(&setting, value) {
                tracing::warn!("{e}");
            }
        }
    }
    // keepalived.conf(5) "use_vmac": with all.rp_filter set, the VMAC's
    // rp_filter 0 would not count (the kernel takes the greater of all
    // and the interface's), so all.rp_filter goes to 0 and the interfaces
    // under VMACs and default.rp_filter take the greater value instead.
    // keepalived 2.2.7 raised only those interfaces, default and all.
    let rp = |ifname: &str| ConfSetting {
        ifname: ifname.to_string(),
        key: ConfKey::RpFilter,
    };
    let all = bases.original(sysctl, &rp("all")).unwrap_or(0);
    if all > 0 && !vmacs.is_empty() {
        let mut raised: Vec<String> = vmacs.iter().map(|v| v.spec.base.clone()).collect();
        raised.push("default".into());
        raised.sort();
        raised.dedup();
        for ifname in raised {
            let setting = rp(&ifname);
            if let Some(own) = bases.original(sysctl, &setting) {
                claim(setting, own.max(all));
            }
        }
        claim(rp("all"), 0);
    }
    claimed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let outcome = crate::config::load::load_str(
            std::path::Path::new("test.conf"),
            text,
            &crate::config::load::Options::default(),
        );
        assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
        outcome.config
    }

    fn names(plan: &VmacPlan) -> Vec<(String, String, String)> {
        plan.vmacs
            .iter()
            .map(|v| {
                (
                    v.spec.name.clone(),
                    v.spec.base.clone(),
                    v.spec.mac.to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn use_vmac_puts_the_instance_vips_on_vrrp_vrid_and_sends_from_it() {
        let plan = plan(&config(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n use_vmac\n \
             virtual_ipaddress {\n 198.51.100.10/24\n 198.51.100.11 dev eth1\n }\n}\n",
        ));
        assert_eq!(
            names(&plan),
            [("vrrp.51".into(), "eth0".into(), "00:00:5e:00:01:33".into())]
        );
        let vip: IpAddr = "198.51.100.10".parse().unwrap();
        assert_eq!(
            plan.vip_device
                .get(&("VI_1".into(), vip))
                .map(String::as_str),
            Some("vrrp.51")
        );
        let other: IpAddr = "198.51.100.11".parse().unwrap();
        assert!(!plan.vip_device.contains_key(&("VI_1".into(), other)));
        assert_eq!(
            plan.advert_device.get("VI_1").map(String::as_str),
            Some("vrrp.51")
        );
        assert!(plan.vmacs[0].ipv4);
    }

    #[test]
    fn vmac_xmit_base_keeps_adverts_on_the_interface() {
        let plan = plan(&config(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n use_vmac vmac51\n \
             vmac_xmit_base\n virtual_ipaddress {\n 198.51.100.10\n }\n}\n",
        ));
        assert_eq!(plan.vmacs[0].spec.name, "vmac51");
        assert!(plan.advert_device.is_empty());
    }

    #[test]
    fn an_ipv6_instance_gets_the_ipv6_virtual_mac_under_the_same_name() {
        let plan = plan(&config(
            "vrrp_instance VI_6 {\n interface eth0\n virtual_router_id 52\n use_vmac\n \
             virtual_ipaddress {\n 2001:db8::52/64\n }\n}\n",
        ));
        assert_eq!(
            names(&plan),
            [("vrrp.52".into(), "eth0".into(), "00:00:5e:00:02:34".into())]
        );
        assert!(!plan.vmacs[0].ipv4);
        assert!(plan.vmacs[0].ipv6_adverts);
        assert_eq!(
            plan.advert_device.get("VI_6").map(String::as_str),
            Some("vrrp.52")
        );
    }

    #[test]
    fn use_vmac_addr_gives_a_vip_on_another_interface_a_numbered_vmac() {
        let plan = plan(&config(
            "vrrp_instance VI_A {\n interface eth0\n virtual_router_id 53\n use_vmac\n \
             use_vmac_addr\n virtual_ipaddress {\n 198.51.100.11/24\n \
             198.51.100.130/25 dev eth1\n 198.51.100.131/25 dev eth1\n }\n}\n",
        ));
        assert_eq!(
            names(&plan),
            [
                ("vrrp.53".into(), "eth0".into(), "00:00:5e:00:01:35".into()),
                ("vrrp1.53".into(), "eth1".into(), "00:00:5e:00:01:35".into()),
            ]
        );
        let vip: IpAddr = "198.51.100.131".parse().unwrap();
        assert_eq!(
            plan.vip_device
                .get(&("VI_A".into(), vip))
                .map(String::as_str),
            Some("vrrp1.53")
        );
    }

    #[test]
    fn a_vip_of_its_own_use_vmac_gets_vrrp_vrid_when_the_instance_has_none() {
        let plan = plan(&config(
            "vrrp_instance VI_B {\n interface eth0\n virtual_router_id 54\n \
             virtual_ipaddress {\n 198.51.100.13/24\n 198.51.100.140/25 dev eth1 use_vmac\n }\n}\n",
        ));
        assert_eq!(
            names(&plan),
            [("vrrp.54".into(), "eth1".into(), "00:00:5e:00:01:36".into())]
        );
        assert!(plan.advert_device.is_empty());
    }

    #[test]
    fn the_last_vmac_over_an_interface_puts_its_sysctls_back() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("net/ipv4/conf/eth0");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(conf.join("arp_ignore"), "0\n").unwrap();
        let sysctl = Sysctl::new(dir.path());
        let setting = ConfSetting {
            ifname: "eth0".into(),
            key: ConfKey::ArpIgnore,
        };
        let read = || sysctl.read(&setting).unwrap();
        let bases = BaseSettings::default();
        assert!(bases.claim(&sysctl, &setting, 1));
        assert!(bases.claim(&sysctl, &setting, 1));
        assert_eq!(read(), 1);
        bases.release(&sysctl, &setting);
        assert_eq!(read(), 1, "another VMAC still stands on eth0");
        bases.release(&sysctl, &setting);
        assert_eq!(read(), 0);
    }

    #[test]
    fn a_set_all_rp_filter_moves_to_the_interfaces_under_vmacs_and_back() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("net/ipv4/conf");
        for (ifname, rp) in [("all", 1), ("default", 0), ("eth0", 0), ("eth1", 0)] {
            std::fs::create_dir_all(conf.join(ifname)).unwrap();
            std::fs::write(conf.join(ifname).join("rp_filter"), format!("{rp}\n")).unwrap();
            std::fs::write(conf.join(ifname).join("arp_ignore"), "0\n").unwrap();
            std::fs::write(conf.join(ifname).join("arp_filter"), "0\n").unwrap();
        }
        let sysctl = Sysctl::new(dir.path());
        let rp = |ifname: &str| {
            sysctl
                .read(&ConfSetting {
                    ifname: ifname.into(),
                    key: ConfKey::RpFilter,
                })
                .unwrap()
        };
        let vmac = PlannedVmac {
            spec: VmacSpec {
                name: "vrrp.51".into(),
                base: "eth0".into(),
                mac: virtual_mac(51, false),
            },
            ipv4: true,
            ipv6_adverts: false,
        };
        let bases = BaseSettings::default();
        let first = set_sysctls_under(&sysctl, std::slice::from_ref(&vmac), &bases);
        let second = set_sysctls_under(&sysctl, std::slice::from_ref(&vmac), &bases);
        assert_eq!(
            (rp("all"), rp("default"), rp("eth0"), rp("eth1")),
            (0, 1, 1, 0)
        );
        for setting in &first {
            bases.release(&sysctl, setting);
        }
        assert_eq!(rp("all"), 0, "the second VMAC still runs");
        for setting in &second {
            bases.release(&sysctl, setting);
        }
        assert_eq!(
            (rp("all"), rp("default"), rp("eth0"), rp("eth1")),
            (1, 0, 0, 0)
        );
    }

    #[test]
    fn no_vmac_keyword_plans_nothing() {
        let plan = plan(&config(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
             virtual_ipaddress {\n 198.51.100.10\n }\n}\n",
        ));
        assert!(plan.is_empty());
    }
}
