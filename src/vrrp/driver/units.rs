//! How a configuration's VRRP side splits into units that run on their
//! own — a `vrrp_sync_group` with its member instances, or an instance in
//! no group — and which units a new configuration adds, removes, changes
//! or leaves alone.
//!
//! A reload keeps an unchanged unit's runner untouched, so its instances
//! never flap (keepalived keeps instance state across a reload too). A
//! unit's slice of the configuration holds only what it uses: its
//! instances, its group, the `vrrp_script`s, `track_file`s and
//! `track_process`es they track,
//! and `global_defs`; so an edit elsewhere leaves it unchanged. Pure data;
//! this module never starts or stops anything.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::vrrp_changed;
use crate::config::model::vrrp::VrrpConfig;
use crate::config::model::Config;

/// What names a unit: its sync group, or its lone instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum UnitKey {
    SyncGroup(String),
    Instance(String),
}

impl fmt::Display for UnitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitKey::SyncGroup(name) => write!(f, "sync group {name}"),
            UnitKey::Instance(name) => write!(f, "instance {name}"),
        }
    }
}

/// One unit: its key and its instances, in configuration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub key: UnitKey,
    pub instances: Vec<String>,
}

/// Every unit of `config`, groups first (in file order), then the
/// instances no group claims. An instance listed by two groups belongs to
/// the first (keepalived refuses such a file; validation reports it).
pub fn units(config: &Config) -> Vec<Unit> {
    let vrrp = &config.vrrp;
    let defined: BTreeSet<&str> = vrrp.instances.iter().map(|i| i.name.as_str()).collect();
    let mut claimed: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    for group in &vrrp.sync_groups {
        let members: Vec<String> = vrrp
            .instances
            .iter()
            .map(|i| i.name.as_str())
            .filter(|name| group.members.iter().any(|m| m.as_str() == *name))
            .filter(|name| defined.contains(name) && claimed.insert(name))
            .map(str::to_string)
            .collect();
        if !members.is_empty() {
            out.push(Unit {
                key: UnitKey::SyncGroup(group.name.value.clone()),
                instances: members,
            });
        }
    }
    for instance in &vrrp.instances {
        if !claimed.contains(instance.name.as_str()) {
            out.push(Unit {
                key: UnitKey::Instance(instance.name.value.clone()),
                instances: vec![instance.name.value.clone()],
            });
        }
    }
    out
}

/// The part of `config` that `unit` runs on: see the module docs.
pub fn unit_config(config: &Config, unit: &Unit) -> Config {
    let vrrp = &config.vrrp;
    let instances: Vec<_> = vrrp
        .instances
        .iter()
        .filter(|i| unit.instances.contains(&i.name.value))
        .cloned()
        .collect();
    let sync_groups: Vec<_> = match &unit.key {
        UnitKey::SyncGroup(name) => vrrp
            .sync_groups
            .iter()
            .filter(|g| g.name.value == *name)
            .take(1)
            .map(|g| {
                let mut g = g.clone();
                g.members.retain(|m| unit.instances.contains(&m.value));
                g
            })
            .collect(),
        UnitKey::Instance(_) => Vec::new(),
    };
    let mut scripts = BTreeSet::new();
    let mut files = BTreeSet::new();
    let mut processes = BTreeSet::new();
    for i in &instances {
        scripts.extend(i.track_scripts.iter().map(|t| t.name.value.clone()));
        files.extend(i.track_files.iter().map(|t| t.name.value.clone()));
        processes.extend(i.track_processes.iter().map(|t| t.name.value.clone()));
    }
    for g in &sync_groups {
        scripts.extend(g.track_scripts.iter().map(|t| t.name.value.clone()));
        files.extend(g.track_files.iter().map(|t| t.name.value.clone()));
        processes.extend(g.track_processes.iter().map(|t| t.name.value.clone()));
    }
    Config {
        global: config.global.clone(),
        vrrp: VrrpConfig {
            scripts: vrrp
                .scripts
                .iter()
                .filter(|s| scripts.contains(&s.name.value))
                .cloned()
                .collect(),
            track_files: vrrp
                .track_files
                .iter()
                .filter(|f| files.contains(&f.name.value))
                .cloned()
                .collect(),
            track_processes: vrrp
                .track_processes
                .iter()
                .filter(|p| processes.contains(&p.name.value))
                .cloned()
                .collect(),
            sync_groups,
            instances,
            static_addresses: Vec::new(),
            static_routes: Vec::new(),
            static_rules: Vec::new(),
        },
        lvs: Default::default(),
        other: Vec::new(),
    }
}

/// Every unit of `config` with its slice, by key.
pub fn slices(config: &Config) -> BTreeMap<UnitKey, (Unit, Config)> {
    units(config)
        .into_iter()
        .map(|unit| {
            let slice = unit_config(config, &unit);
            (unit.key.clone(), (unit, slice))
        })
        .collect()
}

/// What a new configuration does to each unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitDiff {
    pub unchanged: Vec<UnitKey>,
    pub added: Vec<UnitKey>,
    pub removed: Vec<UnitKey>,
    pub changed: Vec<UnitKey>,
}

/// Compares the units of `old` and `new`: a unit is unchanged when its
/// slice is the same VRRP configuration ([`vrrp_changed`] says no).
pub fn diff(old: &Config, new: &Config) -> UnitDiff {
    let before = slices(old);
    let after = slices(new);
    let mut out = UnitDiff::default();
    for (key, (_, slice)) in &after {
        match before.get(key) {
            None => out.added.push(key.clone()),
            Some((_, old_slice)) if vrrp_changed(old_slice, slice) => out.changed.push(key.clone()),
            Some(_) => out.unchanged.push(key.clone()),
        }
    }
    out.removed = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::load::{load_str, Options};

    fn config(text: &str) -> Config {
        let outcome = load_str(std::path::Path::new("t.conf"), text, &Options::default());
        outcome.config
    }

    fn instance(name: &str, vrid: u8, priority: u8, extra: &str) -> String {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n priority {priority}\n{extra}\n virtual_ipaddress {{\n  198.51.100.{vrid}\n }}\n}}\n"
        )
    }

    #[test]
    fn groups_hold_their_members_and_lone_instances_stand_alone() {
        let text = format!(
            "vrrp_sync_group G {{\n group {{\n  VI_2\n  VI_3\n }}\n}}\n{}{}{}",
            instance("VI_1", 1, 100, ""),
            instance("VI_2", 2, 100, ""),
            instance("VI_3", 3, 100, "")
        );
        let found = units(&config(&text));
        assert_eq!(
            found,
            [
                Unit {
                    key: UnitKey::SyncGroup("G".into()),
                    instances: vec!["VI_2".into(), "VI_3".into()],
                },
                Unit {
                    key: UnitKey::Instance("VI_1".into()),
                    instances: vec!["VI_1".into()],
                },
            ]
        );
    }

    #[test]
    fn only_the_edited_unit_changes() {
        let script = "vrrp_script chk {\n script \"/bin/true\"\n}\n";
        let old = format!(
            "{script}{}{}",
            instance("VI_1", 1, 100, " track_script {\n  chk\n }"),
            instance("VI_2", 2, 100, "")
        );
        let new = format!(
            "# moved\n{script}{}{}{}",
            instance("VI_1", 1, 100, " track_script {\n  chk\n }"),
            instance("VI_2", 2, 90, ""),
            instance("VI_4", 4, 100, "")
        );
        let d = diff(&config(&old), &config(&new));
        assert_eq!(d.unchanged, [UnitKey::Instance("VI_1".into())]);
        assert_eq!(d.changed, [UnitKey::Instance("VI_2".into())]);
        assert_eq!(d.added, [UnitKey::Instance("VI_4".into())]);
        assert!(d.removed.is_empty());
        // The tracked script's command is part of VI_1's slice.
        let edited = old.replace("/bin/true", "/bin/false");
        let d = diff(&config(&old), &config(&edited));
        assert_eq!(d.changed, [UnitKey::Instance("VI_1".into())]);
        assert_eq!(d.unchanged, [UnitKey::Instance("VI_2".into())]);
    }
}
