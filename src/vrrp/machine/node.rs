//! A director's whole VRRP side: every instance of a configuration, its
//! sync groups and its trackers, fed by one stream of [`Input`]s. Routes
//! received adverts to instances by VRID, turns link states, script
//! outcomes, file values and process counts into priority changes and
//! faults, and schedules the `vrrp_script` runs. Sans-I/O like the instances.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{
    Event, Instance, InstanceConfig, InstanceSnapshot, NotifyScripts, NotifyTarget, Timestamp,
    VrrpAction,
};
use crate::config::model::vrrp::Tracked;
use crate::config::model::Config;
use crate::vrrp::process::ProcessTracker;
use crate::vrrp::sync_group::{SyncGroup, SyncGroupSnapshot};
use crate::vrrp::track::{self, Effect, FileTracker, ScriptOutcome, ScriptTracker};

/// What the host says about one interface when the node is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceInfo {
    pub up: bool,
    /// Its addresses, primary first (IPv6: the link-local one first).
    pub addresses: Vec<IpAddr>,
}

/// Interfaces by name. One missing from the map counts as up with no
/// known address.
pub type Interfaces = BTreeMap<String, InterfaceInfo>;

/// One input to the [`Node`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Input {
    Startup,
    Shutdown,
    /// A reload removed every instance of this node: stop, announcing
    /// DELETED (`notify_deleted`) or FAULT.
    Delete,
    /// Fire whatever timers are due (call at [`Node::next_deadline`]).
    Tick,
    /// A VRRP message from the transport: the interface it came in on
    /// (`None` when unknown, e.g. unicast), the IP header's addresses and
    /// TTL / hop limit, and the VRRP payload; for an advert in an IP
    /// Authentication Header, the IPv4 header and AH in front of it.
    Received {
        interface: Option<String>,
        from: IpAddr,
        to: IpAddr,
        ttl: u8,
        #[serde(with = "hex_bytes")]
        payload: Vec<u8>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "opt_hex_bytes"
        )]
        ah_prefix: Option<Vec<u8>>,
    },
    InterfaceUp {
        interface: String,
    },
    InterfaceDown {
        interface: String,
    },
    /// The interface's primary address changed (equal-priority tie-break).
    InterfaceAddress {
        interface: String,
        address: Option<IpAddr>,
    },
    ScriptResult {
        script: String,
        outcome: ScriptOutcome,
    },
    TrackFileValue {
        file: String,
        value: i64,
    },
    /// How many processes match a `track_process` now.
    ProcessCount {
        process: String,
        count: u32,
    },
    /// Operator "force failover" on one instance: priority 0 and BACKUP
    /// for `hold`.
    ForceFailover {
        instance: String,
        #[serde(with = "micros")]
        hold: Duration,
    },
    /// Operator priority change on one instance (`None`: configured).
    SetPriority {
        instance: String,
        priority: Option<u8>,
    },
}

/// Why a configuration cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BuildError {
    #[error("vrrp_instance '{0}' has no virtual_router_id")]
    MissingVrid(String),
}

/// Everything the console shows of VRRP.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeSnapshot {
    pub instances: Vec<InstanceSnapshot>,
    pub sync_groups: Vec<SyncGroupSnapshot>,
    /// Adverts whose VRID no instance on that interface uses.
    pub unknown_vrid: u64,
}

/// What one instance tracks, resolved to weights.
#[derive(Debug, Clone, Default)]
struct Tracking {
    interfaces: Vec<(String, i32)>,
    scripts: Vec<(String, i32)>,
    files: Vec<(String, i32)>,
    /// (name, weight with its direction, reverse).
    processes: Vec<(String, i32, bool)>,
    last: Option<Effect>,
}

/// The VRRP side of one director.
#[derive(Debug, Clone)]
pub struct Node {
    instances: Vec<Instance>,
    tracking: Vec<Tracking>,
    groups: Vec<SyncGroup>,
    scripts: BTreeMap<String, ScriptTracker>,
    files: BTreeMap<String, FileTracker>,
    processes: BTreeMap<String, ProcessTracker>,
    links: BTreeMap<String, bool>,
    unknown_vrid: u64,
}

impl Node {
    /// Builds every `vrrp_instance` and `vrrp_sync_group` of `config`.
    /// `interfaces` gives link states and addresses at start.
    pub fn from_config(config: &Config, interfaces: &Interfaces) -> Result<Node, BuildError> {
        let vrrp = &config.vrrp;
        let scripts: BTreeMap<String, ScriptTracker> = vrrp
            .scripts
            .iter()
            .map(|s| (s.name.value.clone(), ScriptTracker::from_model(s)))
            .collect();
        let files: BTreeMap<String, FileTracker> = vrrp
            .track_files
            .iter()
            .map(|f| (f.name.value.clone(), FileTracker::from_model(f)))
            .collect();
        let processes: BTreeMap<String, ProcessTracker> = vrrp
            .track_processes
            .iter()
            .map(|p| (p.name.value.clone(), ProcessTracker::from_model(p)))
            .collect();
        let mut instances = Vec::new();
        let mut tracking = Vec::new();
        for model in &vrrp.instances {
            let config = InstanceConfig::from_model(model, &config.global)
                .ok_or_else(|| BuildError::MissingVrid(model.name.value.clone()))?;
            let mut t = Tracking::default();
            if let Some(primary) = &config.interface {
                if !model.dont_track_primary {
                    t.interfaces.push((primary.clone(), 0));
                }
            }
            add_refs(
                &mut t,
                &model.track_interfaces,
                &model.track_scripts,
                &model.track_files,
                &scripts,
                &files,
            );
            add_process_refs(&mut t, &model.track_processes, &processes);
            let local = config.unicast_src.or_else(|| {
                let info = interfaces.get(config.interface.as_deref()?)?;
                let v6 = config.is_ipv6();
                info.addresses.iter().copied().find(|a| a.is_ipv6() == v6)
            });
            let mut instance = Instance::new(config);
            instance.handle(Timestamp(0), Event::LocalAddress(local));
            instances.push(instance);
            tracking.push(t);
        }
        let mut groups = Vec::new();
        for group in &vrrp.sync_groups {
            let members: Vec<usize> = group
                .members
                .iter()
                .filter_map(|m| instances.iter().position(|i| i.name() == m.value))
                .collect();
            for &m in &members {
                instances[m].set_sync_group(Some(group.name.value.clone()));
                add_refs(
                    &mut tracking[m],
                    &group.track_interfaces,
                    &group.track_scripts,
                    &group.track_files,
                    &scripts,
                    &files,
                );
                add_process_refs(&mut tracking[m], &group.track_processes, &processes);
            }
            groups.push(SyncGroup::new(
                group.name.value.clone(),
                members,
                NotifyScripts::resolve(
                    &group.notify,
                    group.smtp_alert.map(|flag| flag.value),
                    &config.global,
                ),
            ));
        }
        let links = interfaces
            .iter()
            .map(|(name, info)| (name.clone(), info.up))
            .collect();
        Ok(Node {
            instances,
            tracking,
            groups,
            scripts,
            files,
            processes,
            links,
            unknown_vrid: 0,
        })
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name() == name)
    }

    /// The `vrrp_script`s the node runs (name, command, interval, timeout).
    pub fn scripts(&self) -> impl Iterator<Item = &ScriptTracker> {
        self.scripts.values()
    }

    /// The `track_file`s whose values the adapter should report.
    pub fn track_files(&self) -> impl Iterator<Item = &FileTracker> {
        self.files.values()
    }

    /// The `track_process`es whose counts the adapter should report.
    pub fn track_processes(&self) -> impl Iterator<Item = &ProcessTracker> {
        self.processes.values()
    }

    pub fn snapshot(&self) -> NodeSnapshot {
        NodeSnapshot {
            instances: self.instances.iter().map(Instance::snapshot).collect(),
            sync_groups: self
                .groups
                .iter()
                .map(|g| g.snapshot(&self.instances))
                .collect(),
            unknown_vrid: self.unknown_vrid,
        }
    }

    /// The earliest timer of any instance, script run or process delay.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let instances = self.instances.iter().filter_map(Instance::next_deadline);
        let scripts = self.scripts.values().filter_map(|s| s.next_run);
        let processes = self.processes.values().filter_map(ProcessTracker::deadline);
        instances.chain(scripts).chain(processes).min()
    }

    /// Feeds one input at `now`; returns the actions, in order.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Vec<VrrpAction> {
        let mut out = Vec::new();
        match input {
            Input::Startup => {
                self.retrack(now, &mut out);
                for s in self.scripts.values_mut() {
                    if self
                        .tracking
                        .iter()
                        .any(|t| t.scripts.iter().any(|(n, _)| *n == s.name))
                    {
                        s.next_run = Some(now);
                    }
                }
                self.each(now, Event::Startup, &mut out);
                self.run_scripts(now, &mut out);
            }
            Input::Shutdown => {
                for s in self.scripts.values_mut() {
                    s.next_run = None;
                }
                self.each(now, Event::Shutdown, &mut out);
            }
            Input::Delete => {
                for s in self.scripts.values_mut() {
                    s.next_run = None;
                }
                self.each(now, Event::Delete, &mut out);
            }
            Input::Tick => {
                self.each(now, Event::Tick, &mut out);
                self.run_scripts(now, &mut out);
                let mut moved = false;
                for tracker in self.processes.values_mut() {
                    if let Some((_, line)) = tracker.tick(now) {
                        out.push(VrrpAction::Log { line });
                        moved = true;
                    }
                }
                if moved {
                    self.retrack(now, &mut out);
                }
            }
            Input::Received {
                interface,
                from,
                to,
                ttl,
                payload,
                ah_prefix,
            } => {
                let datagram = crate::vrrp::transport::Datagram {
                    source: from,
                    destination: to,
                    ttl,
                    ifindex: 0,
                    payload,
                    ah_prefix,
                };
                self.received(now, interface, datagram, &mut out)
            }
            Input::InterfaceUp { interface } => {
                self.links.insert(interface, true);
                self.retrack(now, &mut out);
            }
            Input::InterfaceDown { interface } => {
                out.push(VrrpAction::Log {
                    line: format!("Netlink reports {interface} down"),
                });
                self.links.insert(interface, false);
                self.retrack(now, &mut out);
            }
            Input::InterfaceAddress { interface, address } => {
                for i in &mut self.instances {
                    if i.config().interface.as_deref() == Some(interface.as_str()) {
                        i.handle(now, Event::LocalAddress(address));
                    }
                }
            }
            Input::ScriptResult { script, outcome } => {
                if let Some(tracker) = self.scripts.get_mut(&script) {
                    if let Some((_, line)) = tracker.record(outcome) {
                        out.push(VrrpAction::Log { line });
                        self.retrack(now, &mut out);
                    }
                }
            }
            Input::TrackFileValue { file, value } => {
                if let Some(tracker) = self.files.get_mut(&file) {
                    if tracker.value != value {
                        tracker.value = value;
                        self.retrack(now, &mut out);
                    }
                }
            }
            Input::ProcessCount { process, count } => {
                if let Some(tracker) = self.processes.get_mut(&process) {
                    if let Some((_, line)) = tracker.observe(now, count) {
                        out.push(VrrpAction::Log { line });
                        self.retrack(now, &mut out);
                    }
                }
            }
            Input::ForceFailover { instance, hold } => {
                if let Some(i) = self.instances.iter_mut().find(|i| i.name() == instance) {
                    out.extend(i.handle(now, Event::ForceFailover { hold }));
                }
            }
            Input::SetPriority { instance, priority } => {
                if let Some(i) = self.instances.iter_mut().find(|i| i.name() == instance) {
                    out.extend(i.handle(now, Event::SetPriority(priority)));
                }
            }
        }
        self.sync(now, &mut out);
        out
    }

    fn each(&mut self, now: Timestamp, event: Event, out: &mut Vec<VrrpAction>) {
        for instance in &mut self.instances {
            out.extend(instance.handle(now, event.clone()));
        }
    }

    fn received(
        &mut self,
        now: Timestamp,
        interface: Option<String>,
        datagram: crate::vrrp::transport::Datagram,
        out: &mut Vec<VrrpAction>,
    ) {
        let from = datagram.source;
        let vrid = datagram.payload.get(1).copied();
        let on_link = |i: &Instance| {
            let config = i.config();
            config.is_ipv6() == from.is_ipv6()
                && (interface.is_none() || config.is_unicast() || config.interface == interface)
        };
        let mut matched = false;
        for instance in self.instances.iter_mut().filter(|i| on_link(i)) {
            if vrid.is_some_and(|v| v != instance.config().vrid) {
                continue;
            }
            matched = true;
            out.extend(instance.handle(
                now,
                Event::AdvertReceived {
                    from,
                    to: datagram.destination,
                    ttl: datagram.ttl,
                    payload: datagram.payload.clone(),
                    ah_prefix: datagram.ah_prefix.clone(),
                },
            ));
        }
        if !matched {
            self.unknown_vrid += 1;
        }
    }

    fn run_scripts(&mut self, now: Timestamp, out: &mut Vec<VrrpAction>) {
        for script in self.scripts.values_mut() {
            if script.next_run.is_some_and(|at| at <= now) {
                script.next_run = Some(now.plus(script.interval));
                if let Some(command) = &script.command {
                    out.push(VrrpAction::RunScript {
                        script: script.name.clone(),
                        command: command.clone(),
                        timeout: script.timeout,
                    });
                }
            }
        }
    }

    /// Recomputes every instance's tracking effect and tells those whose
    /// effect changed.
    fn retrack(&mut self, now: Timestamp, out: &mut Vec<VrrpAction>) {
        for (index, tracking) in self.tracking.iter_mut().enumerate() {
            let mut effect = Effect::default();
            for (name, weight) in &tracking.interfaces {
                let up = self.links.get(name).copied().unwrap_or(true);
                effect.add(track::interface_effect(name, up, *weight));
            }
            for (name, weight) in &tracking.scripts {
                if let Some(script) = self.scripts.get(name) {
                    effect.add(track::script_effect(name, script.status(), *weight));
                }
            }
            for (name, weight) in &tracking.files {
                if let Some(file) = self.files.get(name) {
                    effect.add(track::file_effect(name, file.value, *weight));
                }
            }
            for (name, weight, reverse) in &tracking.processes {
                if let Some(process) = self.processes.get(name) {
                    let status = process.status();
                    effect.add(track::process_effect(name, status, *weight, *reverse));
                }
            }
            if tracking.last.as_ref() != Some(&effect) {
                tracking.last = Some(effect.clone());
                if let Some(instance) = self.instances.get_mut(index) {
                    out.extend(instance.handle(
                        now,
                        Event::Tracking {
                            delta: effect.delta,
                            faults: effect.faults,
                        },
                    ));
                }
            }
        }
    }

    /// Lets each sync group bring its members in line until nothing moves.
    fn sync(&mut self, now: Timestamp, out: &mut Vec<VrrpAction>) {
        let starting: Vec<bool> = self
            .groups
            .iter()
            .map(|g| g.state() == super::State::Initialize)
            .collect();
        let mut round = out.clone();
        for _ in 0..4 {
            let mut more = Vec::new();
            let mut moved = false;
            for group in &mut self.groups {
                moved |= group.reconcile(now, &mut self.instances, &round, &mut more);
            }
            out.extend(more.iter().cloned());
            if !moved {
                break;
            }
            round = more;
        }
        for (group, starting) in self.groups.iter().zip(starting) {
            if starting {
                self.announce_group_first(group, out);
            }
        }
    }

    /// keepalived announces a sync group's first state before its members'
    /// (recorded: `GROUP "G1" BACKUP 0` ahead of `INSTANCE "VI_1" BACKUP`
    /// at start), later ones after the member that moved it.
    fn announce_group_first(&self, group: &SyncGroup, out: &mut Vec<VrrpAction>) {
        let is_group_notice = |a: &VrrpAction| matches!(a, VrrpAction::Notice { target: NotifyTarget::Group, name, .. } if *name == group.name);
        let member_names: Vec<&str> = group
            .members
            .iter()
            .filter_map(|&i| self.instances.get(i).map(Instance::name))
            .collect();
        let is_member_notice = |a: &VrrpAction| matches!(a, VrrpAction::Notice { target: NotifyTarget::Instance, name, .. } if member_names.contains(&name.as_str()));
        let (Some(at), Some(first)) = (
            out.iter().position(is_group_notice),
            out.iter().position(is_member_notice),
        ) else {
            return;
        };
        if first < at {
            let notice = out.remove(at);
            out.insert(first, notice);
        }
    }
}

fn add_refs(
    tracking: &mut Tracking,
    interfaces: &[Tracked],
    scripts: &[Tracked],
    files: &[Tracked],
    script_defs: &BTreeMap<String, ScriptTracker>,
    file_defs: &BTreeMap<String, FileTracker>,
) {
    for t in interfaces {
        let weight = track::reference_weight(t, 0, false);
        tracking.interfaces.push((t.name.value.clone(), weight));
    }
    for t in scripts {
        // keepalived ignores references to undefined scripts (validation
        // warns).
        if let Some(def) = script_defs.get(&t.name.value) {
            let weight = track::reference_weight(t, def.weight, def.reverse);
            tracking.scripts.push((t.name.value.clone(), weight));
        }
    }
    for t in files {
        if let Some(def) = file_defs.get(&t.name.value) {
            let weight = track::reference_weight(t, def.weight, def.reverse);
            tracking.files.push((t.name.value.clone(), weight));
        }
    }
}

/// `track_process` references; a weight on the reference wins over the
/// block's, and so does its `reverse`/`noreverse`.
fn add_process_refs(
    tracking: &mut Tracking,
    refs: &[Tracked],
    defs: &BTreeMap<String, ProcessTracker>,
) {
    for t in refs {
        // Like scripts, an undefined (or `process`-less) one is ignored.
        if let Some(def) = defs.get(&t.name.value).filter(|d| d.pattern.is_some()) {
            let weight = track::reference_weight(t, def.weight, def.reverse);
            let reverse = t.reverse.unwrap_or(def.reverse);
            tracking
                .processes
                .push((t.name.value.clone(), weight, reverse));
        }
    }
}

/// Payload bytes as a hex string in JSON (replay files stay readable).
mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        if text.len() % 2 != 0 {
            return Err(D::Error::custom("odd number of hex digits"));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| D::Error::custom(format!("bad hex at {i}")))
            })
            .collect()
    }
}

/// Optional bytes as a hex string in JSON.
mod opt_hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => super::hex_bytes::serialize(bytes, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        #[derive(Deserialize)]
        struct Hex(#[serde(with = "super::hex_bytes")] Vec<u8>);
        Ok(Option::<Hex>::deserialize(d)?.map(|Hex(bytes)| bytes))
    }
}

/// A duration as whole microseconds in JSON.
mod micros {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_micros(u64::deserialize(d)?))
    }
}
