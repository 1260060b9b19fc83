#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Golden scheduler sequences: each `tests/golden/sched/*.txt` case is a
//! script of service/destination operations and picks, with the expected
//! picks written after `=>`. The runner replays the script through
//! `sched::bind` and the accounting helpers, re-renders the file with the
//! results, and compares; `LVSTOP_BLESS=1` rewrites the results.
//!
//! Labels are names given at `add`; cases name them so that, once the
//! initial destinations are added, **A is index 0 of the kernel list, i.e.
//! the newest** (`add C`, `add B`, `add A`), the order every kernel
//! scheduler walks. `show` prints the list in that order. The format is in
//! `tests/golden/sched/README.md`; it is meant to be replayed against a
//! real kernel later (ipvsadm for the operations, one connection per pick).

use crate::support;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lvstop::ipvs::model::{
    Dest, DestConfig, DestKey, Forward, Protocol, ServiceConfig, ServiceFlags, ServiceKey,
};
use lvstop::ipvs::sched::{self, DestChange, Packet, Scheduler};

struct Replay {
    service: ServiceConfig,
    sched: Box<dyn Scheduler>,
    dests: Vec<Dest>,
    labels: HashMap<String, DestKey>,
    names: HashMap<DestKey, String>,
    now: Duration,
}

fn args(words: &[&str]) -> HashMap<String, String> {
    words
        .iter()
        .map(|w| {
            let (k, v) = w
                .split_once('=')
                .unwrap_or_else(|| panic!("expected key=value, got '{w}'"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn flag_bit(name: &str) -> u32 {
    match name {
        "sh-fallback" | "mh-fallback" | "flag-1" => ServiceFlags::SCHED1,
        "sh-port" | "mh-port" | "flag-2" => ServiceFlags::SCHED2,
        "flag-3" => ServiceFlags::SCHED3,
        other => panic!("unknown service flag '{other}'"),
    }
}

fn bump(addr: SocketAddr, by: u32, what: &str) -> SocketAddr {
    match what {
        "port" => SocketAddr::new(addr.ip(), addr.port().wrapping_add(by as u16)),
        "addr" => {
            let ip = match addr.ip() {
                IpAddr::V4(v4) => IpAddr::V4((u32::from(v4).wrapping_add(by)).into()),
                IpAddr::V6(v6) => IpAddr::V6((u128::from(v6).wrapping_add(u128::from(by))).into()),
            };
            SocketAddr::new(ip, addr.port())
        }
        other => panic!("vary must be port or addr, got '{other}'"),
    }
}

impl Replay {
    fn new(words: &[&str]) -> Replay {
        let protocol = match words[0] {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            other => panic!("unknown protocol '{other}'"),
        };
        let vip: SocketAddr = words[1].parse().unwrap();
        let key = ServiceKey::Inet {
            protocol,
            addr: vip.ip(),
            port: vip.port(),
        };
        let mut service = ServiceConfig::new(key, words[2]);
        for flag in &words[3..] {
            service.flags = service.flags.with(flag_bit(flag), true);
        }
        // ipvsadm -A: the scheduler is bound to an empty service.
        let sched = sched::bind(&service, &[]).unwrap();
        Replay {
            service,
            sched,
            dests: Vec::new(),
            labels: HashMap::new(),
            names: HashMap::new(),
            now: Duration::ZERO,
        }
    }

    fn index(&self, label: &str) -> usize {
        let key = self.labels[label];
        self.dests.iter().position(|d| d.key() == key).unwrap()
    }

    fn name(&self, index: usize) -> String {
        self.names[&self.dests[index].key()].clone()
    }

    fn configure(config: &mut DestConfig, a: &HashMap<String, String>) {
        for (k, v) in a {
            match k.as_str() {
                "weight" => config.weight = v.parse().unwrap(),
                "upper" => config.upper_threshold = v.parse().unwrap(),
                "lower" => config.lower_threshold = v.parse().unwrap(),
                other => panic!("unknown destination setting '{other}'"),
            }
        }
    }

    fn show(&self) -> String {
        self.dests
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut s = format!(
                    "{} w{} a{} i{}",
                    self.name(i),
                    d.weight(),
                    d.active,
                    d.inactive
                );
                if d.overloaded {
                    s.push_str(" ovl");
                }
                s
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// Run one operation; returns the rendered result for `=>` lines.
    fn run(&mut self, words: &[&str]) -> Option<String> {
        let (op, rest) = words.split_first().unwrap();
        match *op {
            "add" => {
                let label = rest[0].to_string();
                let addr: SocketAddr = rest[1].parse().unwrap();
                let mut config = DestConfig::new(addr, Forward::Route, 1);
                Self::configure(&mut config, &args(&rest[2..]));
                let dest = Dest::new(config);
                self.labels.insert(label.clone(), dest.key());
                self.names.insert(dest.key(), label);
                self.dests.insert(0, dest);
                self.sched
                    .dests_changed(&self.dests, DestChange::Added { index: 0 });
                None
            }
            "edit" => {
                let i = self.index(rest[0]);
                let mut config = self.dests[i].config;
                Self::configure(&mut config, &args(&rest[1..]));
                self.dests[i].set_config(config);
                self.sched
                    .dests_changed(&self.dests, DestChange::Updated { index: i });
                None
            }
            "remove" => {
                let i = self.index(rest[0]);
                let key = self.dests.remove(i).key();
                self.sched
                    .dests_changed(&self.dests, DestChange::Removed { index: i, key });
                None
            }
            "conns" => {
                let i = self.index(rest[0]);
                for (k, v) in args(&rest[1..]) {
                    match k.as_str() {
                        "active" => self.dests[i].active = v.parse().unwrap(),
                        "inactive" => self.dests[i].inactive = v.parse().unwrap(),
                        other => panic!("unknown counter '{other}'"),
                    }
                }
                None
            }
            "overload" => {
                let i = self.index(rest[0]);
                self.dests[i].overloaded = rest[1] == "on";
                None
            }
            "close" => {
                let i = self.index(rest[0]);
                self.dests[i].connection_unbound(rest[1] == "active");
                None
            }
            "at" => {
                self.now = Duration::from_secs_f64(rest[0].parse().unwrap());
                None
            }
            "seed" => {
                self.sched.seed_rng(rest[0].parse().unwrap());
                None
            }
            "scheduler" => {
                // ipvsadm -E: the kernel re-binds only when the name changes.
                let mut flags = ServiceFlags::default();
                for flag in &rest[1..] {
                    flags = flags.with(flag_bit(flag), true);
                }
                self.service.flags = flags;
                if self.service.scheduler != rest[0] {
                    self.service.scheduler = rest[0].into();
                    self.sched = sched::bind(&self.service, &self.dests).unwrap();
                } else {
                    self.sched.service_changed(&self.service);
                }
                None
            }
            "show" => Some(self.show()),
            "pick" => Some(self.pick(&args(rest))),
            other => panic!("unknown operation '{other}'"),
        }
    }

    fn pick(&mut self, a: &HashMap<String, String>) -> String {
        let vip = self.service.key.socket_addr().unwrap();
        let mut client: SocketAddr = a
            .get("client")
            .map_or("203.0.113.1:40000".parse().unwrap(), |c| c.parse().unwrap());
        let mut destination: SocketAddr = a.get("dest").map_or(vip, |d| d.parse().unwrap());
        let count: u32 = a.get("count").map_or(1, |c| c.parse().unwrap());
        let bind = a.get("conn").is_none_or(|c| c != "none");
        let protocol = match self.service.key {
            ServiceKey::Inet { protocol, .. } => protocol,
            ServiceKey::Fwmark { .. } => Protocol::Tcp,
        };
        let mut out = Vec::new();
        for n in 0..count {
            if n > 0 {
                match a.get("vary").map(String::as_str) {
                    Some("dest") => destination = bump(destination, 1, "addr"),
                    Some(what) => client = bump(client, 1, what),
                    None => {}
                }
            }
            let packet = Packet {
                protocol,
                client,
                destination,
            };
            match self.sched.schedule(&self.dests, &packet, self.now) {
                Ok(i) => {
                    out.push(self.name(i));
                    if bind {
                        // A new connection: bound inactive; TCP's SYN makes
                        // it active right away, UDP stays inactive.
                        self.dests[i].connection_bound(false);
                        if protocol != Protocol::Udp {
                            self.dests[i].connection_became_active();
                        }
                    }
                }
                Err(_) => out.push("-".to_string()),
            }
        }
        out.join(" ")
    }
}

/// Replay a case file and render it back with fresh results.
fn replay(text: &str) -> String {
    let mut replay: Option<Replay> = None;
    let mut out = String::new();
    for (n, line) in text.lines().enumerate() {
        let script = line.split(" =>").next().unwrap().trim_end();
        let words: Vec<&str> = script.split_whitespace().collect();
        if words.is_empty() || words[0].starts_with('#') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let result = if words[0] == "service" {
            replay = Some(Replay::new(&words[1..]));
            None
        } else {
            let r = replay
                .as_mut()
                .unwrap_or_else(|| panic!("line {}: 'service' must come first", n + 1));
            r.run(&words)
        };
        out.push_str(script);
        if let Some(result) = result {
            out.push_str(" => ");
            out.push_str(&result);
        }
        out.push('\n');
    }
    out
}

fn case_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/sched")
        .join(format!("{name}.txt"))
}

fn check(name: &str) {
    let path = case_path(name);
    let text = std::fs::read_to_string(&path).unwrap();
    if let Err(diff) = support::golden::check(&path, &replay(&text)) {
        panic!("{diff}");
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { check(stringify!($name)); } )*
        const CASES: &[&str] = &[$(stringify!($name)),*];
    };
}

cases!(
    rr_basic,
    rr_quiesce_and_restore,
    rr_remove_cursor,
    rr_add_while_running,
    rr_upper_threshold,
    wrr_4_3_2,
    wrr_added_one_by_one,
    wrr_4_2,
    wrr_5_1,
    wrr_gcd,
    wrr_weight_change_mid_cycle,
    wrr_remove_cursor,
    wrr_quiesce,
    wrr_all_overloaded,
    wrr_thresholds_hysteresis,
    lc_basic,
    lc_inactive_weighs_less,
    lc_skips_weight_zero_and_overloaded,
    wlc_weights,
    wlc_ties_keep_list_order,
    sed_basic,
    nq_idle_first,
    fo_failover,
    ovf_overflow,
    sh_basic,
    sh_weights,
    sh_fallback,
    sh_port,
    sh_ipv6,
    sh_remove_reassigns,
    dh_basic,
    mh_basic,
    mh_quiesce_keeps_slots,
    mh_fallback,
    mh_port,
    mh_remove,
    mh_ipv6_weights,
    lblc_cache_and_expiry,
    lblc_reschedules_busy_destination,
    lblc_readded_destination,
    lblcr_set_grows_and_shrinks,
    twos_seeded,
);

#[test]
fn every_case_file_is_listed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/sched");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
            assert!(
                CASES.contains(&stem.as_str()),
                "{stem}.txt is not in cases!()"
            );
        }
    }
}

/// sh's bucket computed by hand: `(addr * 0x61C88647) >> 24` (mod 2^32),
/// and with three weight-1 destinations the fill is A B C A B C …, so the
/// bucket number mod 3 names the destination.
#[test]
fn sh_bucket_matches_hand_computed_golden_ratio_hash() {
    let mut service = ServiceConfig::new(ServiceKey::tcp("198.51.100.1:80".parse().unwrap()), "sh");
    service.flags = ServiceFlags::default();
    let mut dests = Vec::new();
    let mut sched = sched::bind(&service, &dests).unwrap();
    for n in [3, 2, 1] {
        dests.insert(
            0,
            Dest::new(DestConfig::new(
                format!("198.51.100.1{n}:80").parse().unwrap(),
                Forward::Route,
                1,
            )),
        );
        sched.dests_changed(&dests, DestChange::Added { index: 0 });
    }
    for last in 0..=255u32 {
        let client: IpAddr = format!("203.0.113.{last}").parse().unwrap();
        let addr = (203u32 << 24) | (113 << 8) | last;
        let bucket = (u64::from(addr) * 0x61C8_8647 % (1u64 << 32)) >> 24;
        let packet = Packet {
            protocol: Protocol::Tcp,
            client: SocketAddr::new(client, 5000),
            destination: "198.51.100.1:80".parse().unwrap(),
        };
        let got = sched.schedule(&dests, &packet, Duration::ZERO).unwrap();
        assert_eq!(got as u64, bucket % 3, "client {client}");
    }
}

/// dh's bucket computed by hand, the same way, on the destination address.
#[test]
fn dh_bucket_matches_hand_computed_golden_ratio_hash() {
    let service = ServiceConfig::new(ServiceKey::tcp("198.51.100.1:80".parse().unwrap()), "dh");
    let mut dests = Vec::new();
    let mut sched = sched::bind(&service, &dests).unwrap();
    for n in [2, 1] {
        dests.insert(
            0,
            Dest::new(DestConfig::new(
                format!("198.51.100.1{n}:80").parse().unwrap(),
                Forward::Route,
                1,
            )),
        );
        sched.dests_changed(&dests, DestChange::Added { index: 0 });
    }
    for last in 0..=255u32 {
        let target: IpAddr = format!("192.0.2.{last}").parse().unwrap();
        let addr = (192u32 << 24) | (2 << 8) | last;
        let bucket = (u64::from(addr) * 0x61C8_8647 % (1u64 << 32)) >> 24;
        let packet = Packet {
            protocol: Protocol::Tcp,
            client: "203.0.113.1:5000".parse().unwrap(),
            destination: SocketAddr::new(target, 80),
        };
        let got = sched.schedule(&dests, &packet, Duration::ZERO).unwrap();
        assert_eq!(got as u64, bucket % 2, "destination {target}");
    }
}

#[test]
fn bind_knows_every_kernel_scheduler_and_rejects_others() {
    for name in sched::KNOWN {
        let service = ServiceConfig::new(ServiceKey::tcp("198.51.100.1:80".parse().unwrap()), name);
        let s = sched::bind(&service, &[]).unwrap();
        assert_eq!(s.name(), *name);
    }
    for bad in ["", "RR", "wrr2", "none", "maglev"] {
        let service = ServiceConfig::new(ServiceKey::tcp("198.51.100.1:80".parse().unwrap()), bad);
        let err = sched::bind(&service, &[]).unwrap_err();
        assert_eq!(err.0, bad);
    }
}
