//! lvstop's VRRP notices against keepalived 2.2.7's: the notify FIFO lines
//! and e-mail alerts two directors write for the transitions recorded in
//! tests/fixtures/notify/keepalived-vrrp (see its README for the command).
//! Both directors run their configuration's units as the daemon does (one
//! state machine per sync group or lone instance) on a simulated wire that
//! delivers every advert at once, with keepalived's recorded timeline:
//! start, a track_file lowering A's VI_2, B cut off and joined again, A
//! reloaded without VI_2, A stopped, B stopped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::SystemTime;

use lvstop::config::load::{load_str, Options};
use lvstop::notify::alert::{render, Addresses};
use lvstop::vrrp::driver::notices;
use lvstop::vrrp::driver::units::{slices, UnitKey};
use lvstop::vrrp::machine::{
    Input, InterfaceInfo, Interfaces, Node, NoticeState, NotifyTarget, Timestamp, VrrpAction,
};

const FIXTURES: &str = "tests/fixtures/notify/keepalived-vrrp";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURES)
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One director: its units' state machines and what it announced.
struct Director {
    address: IpAddr,
    router_id: String,
    nodes: BTreeMap<UnitKey, Node>,
    fifo: Vec<String>,
    mails: Vec<String>,
    /// Notify scripts run, as the recording's hook writes them:
    /// `notify [INSTANCE] [VI_1] [MASTER] [150]`.
    hooks: Vec<String>,
}

impl Director {
    fn new(conf: &str, address: &str) -> Self {
        let outcome = load_str(Path::new(conf), &fixture(conf), &Options::default());
        let config = outcome.config;
        let address: IpAddr = address.parse().unwrap();
        let interfaces: Interfaces = [(
            "eth0".to_string(),
            InterfaceInfo {
                up: true,
                addresses: vec![address],
            },
        )]
        .into();
        let nodes = slices(&config)
            .into_iter()
            .map(|(key, (_, slice))| (key, Node::from_config(&slice, &interfaces).unwrap()))
            .collect();
        let router_id = config.global.router_id.unwrap().value;
        Self {
            address,
            router_id,
            nodes,
            fifo: Vec::new(),
            mails: Vec::new(),
            hooks: Vec::new(),
        }
    }

    /// Records the notices; returns the adverts to put on the wire.
    fn carry_out(&mut self, actions: Vec<VrrpAction>) -> Vec<(IpAddr, IpAddr, Vec<u8>)> {
        let mut wire = Vec::new();
        for action in actions {
            match action {
                VrrpAction::Notice {
                    target,
                    name,
                    state,
                    priority,
                    alert,
                } => {
                    let line = notices::fifo_event(target, &name, state, priority).line();
                    self.fifo.push(line.trim_end().to_string());
                    if alert {
                        if let Some(mail) = notices::alert(&self.router_id, target, &name, state) {
                            self.mails.push(mail_text(&mail));
                        }
                    }
                }
                VrrpAction::SendAdvert {
                    destinations,
                    advert,
                    ..
                } => {
                    for to in destinations {
                        let payload = advert.emit(self.address, to).unwrap();
                        wire.push((self.address, to, payload));
                    }
                }
                VrrpAction::RunNotify { command, .. } => {
                    let name = Path::new(&command.argv[0])
                        .file_stem()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    let args: String = command.argv[1..]
                        .iter()
                        .map(|a| format!(" [{a}]"))
                        .collect();
                    self.hooks.push(format!("{name}{args}"));
                }
                _ => {}
            }
        }
        wire
    }
}

/// The message as the fixture keeps it: headers without `Date`, a blank
/// line, the body; LF line ends.
fn mail_text(alert: &lvstop::notify::Alert) -> String {
    let addresses = Addresses {
        from: "lvs@example.com".into(),
        to: vec!["ops@example.com".into()],
    };
    render(alert, &addresses, SystemTime::UNIX_EPOCH)
        .replace("\r\n", "\n")
        .lines()
        .filter(|line| !line.starts_with("Date: "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Two directors on one segment; `joined` says whether adverts cross.
struct World {
    now: Timestamp,
    directors: [Director; 2],
    joined: bool,
}

impl World {
    /// Feeds `input` to every unit of director `index` at the current time.
    fn input(&mut self, index: usize, input: &Input) {
        let keys: Vec<UnitKey> = self.directors[index].nodes.keys().cloned().collect();
        for key in keys {
            self.feed(index, &key, input.clone());
        }
    }

    fn feed(&mut self, index: usize, key: &UnitKey, input: Input) {
        let now = self.now;
        let Some(node) = self.directors[index].nodes.get_mut(key) else {
            return;
        };
        let actions = node.handle(now, input);
        let wire = self.directors[index].carry_out(actions);
        if !self.joined {
            return;
        }
        let other = 1 - index;
        for (from, to, payload) in wire {
            let keys: Vec<UnitKey> = self.directors[other].nodes.keys().cloned().collect();
            for key in keys {
                let received = Input::Received {
                    interface: Some("eth0".into()),
                    from,
                    to,
                    ttl: 255,
                    payload: payload.clone(),
                    ah_prefix: None,
                };
                self.feed(other, &key, received);
            }
        }
    }

    /// Stops every unit of director `index` as the daemon does
    /// (`VrrpService::stop`): units one after another, the sync groups'
    /// STOP notices held back and announced last.
    fn shutdown(&mut self, index: usize) {
        let now = self.now;
        let mut actions = Vec::new();
        let mut held = Vec::new();
        for node in self.directors[index].nodes.values_mut() {
            let (group_stops, rest): (Vec<VrrpAction>, Vec<VrrpAction>) = node
                .handle(now, Input::Shutdown)
                .into_iter()
                .partition(|a| {
                    matches!(
                        a,
                        VrrpAction::Notice {
                            target: NotifyTarget::Group,
                            state: NoticeState::Stop,
                            ..
                        }
                    )
                });
            actions.extend(rest);
            held.extend(group_stops);
        }
        actions.extend(held);
        self.directors[index].carry_out(actions);
    }

    /// Fires every timer due until `seconds` after the start.
    fn run_until(&mut self, seconds: u64) {
        let until = Timestamp(seconds * 1_000_000);
        loop {
            let next = self
                .directors
                .iter()
                .enumerate()
                .flat_map(|(i, d)| {
                    d.nodes
                        .iter()
                        .filter_map(move |(k, n)| n.next_deadline().map(|at| (at, i, k.clone())))
                })
                .min();
            match next {
                Some((at, index, key)) if at <= until => {
                    self.now = at.max(self.now);
                    self.feed(index, &key, Input::Tick);
                }
                _ => break,
            }
        }
        self.now = until;
    }
}

fn recorded_timeline() -> World {
    let mut world = World {
        now: Timestamp(0),
        directors: [
            Director::new("A.keepalived.conf", "198.51.100.1"),
            Director::new("B.keepalived.conf", "198.51.100.2"),
        ],
        joined: true,
    };
    let mark = |world: &mut World, text: &str| {
        for director in &mut world.directors {
            director.hooks.push(format!("== {text}"));
        }
    };
    mark(&mut world, "start");
    world.input(0, &Input::Startup);
    world.input(1, &Input::Startup);
    world.run_until(8);
    mark(&mut world, "A VI_2 priority 150 -> 140");
    // `echo -10 > tf`: A's VI_2 tracks the file with weight 1.
    world.input(
        0,
        &Input::TrackFileValue {
            file: "tf".into(),
            value: -10,
        },
    );
    world.run_until(11);
    mark(&mut world, "B cut off");
    world.joined = false;
    world.run_until(17);
    mark(&mut world, "B joined");
    world.joined = true;
    world.run_until(22);
    mark(&mut world, "A reload without VI_2");
    // A reloads a configuration without VI_2: its unit is deleted.
    let key = UnitKey::Instance("VI_2".into());
    world.feed(0, &key, Input::Delete);
    world.directors[0].nodes.remove(&key);
    world.run_until(27);
    mark(&mut world, "A stop");
    world.shutdown(0);
    world.run_until(33);
    mark(&mut world, "B stop");
    world.shutdown(1);
    world.run_until(37);
    mark(&mut world, "end");
    world
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

fn mails(text: &str) -> Vec<String> {
    text.split("----\n")
        .map(|mail| mail.trim_end().to_string())
        .filter(|mail| !mail.is_empty())
        .collect()
}

#[test]
fn fifo_lines_match_keepalived_in_order() {
    let world = recorded_timeline();
    assert_eq!(
        world.directors[0].fifo,
        lines(&fixture("A.vrrp_notify_fifo")),
        "director A"
    );
    assert_eq!(
        world.directors[1].fifo,
        lines(&fixture("B.vrrp_notify_fifo")),
        "director B"
    );
}

#[test]
fn notify_hooks_get_keepalived_arguments_at_each_step() {
    let world = recorded_timeline();
    for (director, name) in world.directors.iter().zip(["A", "B"]) {
        assert_eq!(
            steps(&director.hooks),
            steps(&lines(&fixture(&format!("{name}.hooks")))),
            "director {name}"
        );
    }
}

#[test]
fn alerts_match_keepalived_in_order() {
    let world = recorded_timeline();
    assert_eq!(
        world.directors[0].mails,
        mails(&fixture("A.mails")),
        "director A"
    );
    assert_eq!(
        world.directors[1].mails,
        mails(&fixture("B.mails")),
        "director B"
    );
}

/// keepalived alone with a sync group G2 (VI_3, faulted by a track_file)
/// and VI_4 (no notify_deleted), recorded by `record-fault.sh`: start,
/// fault, recovery, a reload removing VI_4, stop.
fn recorded_fault_timeline() -> Director {
    let mut world = World {
        now: Timestamp(0),
        directors: [
            Director::new("F.keepalived.conf", "198.51.100.1"),
            Director::new("F.keepalived.conf", "198.51.100.1"),
        ],
        joined: false,
    };
    let mark = |world: &mut World, text: &str| {
        let f = &mut world.directors[0];
        f.fifo.push(format!("== {text}"));
        f.hooks.push(format!("== {text}"));
    };
    mark(&mut world, "start");
    world.input(0, &Input::Startup);
    world.run_until(6);
    mark(&mut world, "ff 1");
    let ff = |value| Input::TrackFileValue {
        file: "ff".into(),
        value,
    };
    world.input(0, &ff(1));
    world.run_until(9);
    mark(&mut world, "ff 0");
    world.input(0, &ff(0));
    world.run_until(15);
    mark(&mut world, "reload without VI_4");
    let key = UnitKey::Instance("VI_4".into());
    world.feed(0, &key, Input::Delete);
    world.directors[0].nodes.remove(&key);
    world.run_until(19);
    mark(&mut world, "stop");
    world.shutdown(0);
    mark(&mut world, "end");
    let [f, _] = world.directors;
    f
}

#[test]
fn fault_and_deletion_without_notify_deleted_match_keepalived() {
    let f = recorded_fault_timeline();
    assert_eq!(f.fifo, lines(&fixture("F.vrrp_notify_fifo")));
    assert_eq!(f.mails, mails(&fixture("F.mails")));
    // keepalived starts scripts without waiting, so only the set per step
    // is recorded; a deletion without notify_deleted runs `notify` with
    // FAULT but not notify_fault.
    assert_eq!(steps(&f.hooks), steps(&lines(&fixture("F.hooks"))));
}

/// Lines between `==` markers, sorted within each step.
fn steps(lines: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for line in lines {
        if line.starts_with("== ") || out.is_empty() {
            out.push(vec![line.clone()]);
        } else if let Some(step) = out.last_mut() {
            step.push(line.clone());
            step[1..].sort();
        }
    }
    out
}

/// keepalived.conf(5): with `notify_priority_changes` (or the global
/// `vrrp_notify_priority_changes`) a priority change of a non-master is a
/// `BACKUP_PRIORITY` line; without either, nothing.
#[test]
fn a_backup_priority_change_is_a_backup_priority_line() {
    let base = fixture("B.keepalived.conf");
    let global = base.replace("  notify_priority_changes\n", "").replace(
        "global_defs {\n",
        "global_defs {\n  vrrp_notify_priority_changes\n",
    );
    let silent = base.replace("  notify_priority_changes\n", "");
    for (conf, want) in [
        (&base, vec!["INSTANCE \"VI_2\" BACKUP_PRIORITY 90"]),
        (&global, vec!["INSTANCE \"VI_2\" BACKUP_PRIORITY 90"]),
        (&silent, vec![]),
    ] {
        let outcome = load_str(Path::new("b.conf"), conf, &Options::default());
        let slice = slices(&outcome.config)
            .remove(&UnitKey::Instance("VI_2".into()))
            .unwrap()
            .1;
        let mut node = Node::from_config(&slice, &Interfaces::new()).unwrap();
        node.handle(Timestamp(0), Input::Startup);
        let changed = Input::TrackFileValue {
            file: "tf".into(),
            value: -10,
        };
        let lines: Vec<String> = node
            .handle(Timestamp(1_000_000), changed)
            .into_iter()
            .filter_map(|a| match a {
                VrrpAction::Notice {
                    target,
                    name,
                    state,
                    priority,
                    alert,
                } => {
                    assert!(!alert, "priority changes are never mailed");
                    let line = notices::fifo_event(target, &name, state, priority).line();
                    Some(line.trim_end().to_string())
                }
                _ => None,
            })
            .collect();
        assert_eq!(lines, want);
    }
}

/// Whether a transition is mailed: the block's own `smtp_alert` wins,
/// else `smtp_alert_vrrp`, else the global `smtp_alert`, else no
/// (keepalived.conf(5)); for instances and sync groups alike.
#[test]
fn smtp_alert_precedence_follows_keepalived() {
    let cases = [
        ("", "", false),
        ("smtp_alert", "", true),
        ("smtp_alert", "smtp_alert false", false),
        ("smtp_alert_vrrp", "", true),
        ("smtp_alert\n  smtp_alert_vrrp false", "", false),
        ("smtp_alert_checker", "", false),
        ("", "smtp_alert", true),
        ("smtp_alert false", "smtp_alert true", true),
    ];
    for (global, own, mailed) in cases {
        let conf = format!(
            "global_defs {{\n  {global}\n}}\n\
             vrrp_sync_group G {{\n  group {{ VI_1 }}\n  {own}\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 1\n  priority 100\n  \
             {own}\n  virtual_ipaddress {{ 198.51.100.9 }}\n}}\n"
        );
        let outcome = load_str(Path::new("s.conf"), &conf, &Options::default());
        let mut node = Node::from_config(&outcome.config, &Interfaces::new()).unwrap();
        let alerts: Vec<(String, bool)> = node
            .handle(Timestamp(0), Input::Startup)
            .into_iter()
            .filter_map(|a| match a {
                VrrpAction::Notice { name, alert, .. } => Some((name, alert)),
                _ => None,
            })
            .collect();
        assert_eq!(
            alerts,
            [("G".to_string(), mailed), ("VI_1".to_string(), mailed)],
            "global '{global}', own '{own}'"
        );
    }
}
