//! A director as the console fixtures show it: the reference deployment's VIP
//! 192.168.100.88:80 (wrr, persistent 60) with real server .82 up and .83
//! taken out by a failing TCP_CHECK; a second service 192.168.100.90:80
//! sharing .82 and draining .84; VRRP instance VI_1 MASTER; a few events
//! and connections. The clock is fixed, the time zone UTC.

#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lvstop::dataplane::DataplaneKind;
use lvstop::engine::channel::Update;
use lvstop::engine::event::{Event, EventKind};
use lvstop::engine::overrides::{Actor, Target, WeightOverride, WeightSource};
use lvstop::engine::snapshot::{DirectorInfo, DrainView, Snapshot, TargetOverrides};
use lvstop::health::driver::DriverStats;
use lvstop::health::machine::{
    CheckerId, CheckerView, HealthSnapshot, RealServerView, VirtualServerView,
};
use lvstop::health::report::ChecksReport;
use lvstop::ipvs::model::{
    Connection, Dest, DestConfig, DestKey, Forward, Info, Origin, Rates, Service, ServiceConfig,
    ServiceKey, Table,
};
use lvstop::ui::keymap::Keymap;
use lvstop::ui::theme::Theme;
use lvstop::ui::{App, ConsoleOptions};
use lvstop::vrrp::driver::status::IoErrors;
use lvstop::vrrp::driver::{InstanceStatus, Transition, VrrpStatus};
use lvstop::vrrp::machine::State;

/// 2023-11-14 22:13:20 UTC.
pub const NOW_MS: u64 = 1_700_000_000_000;
/// The director's monotonic clock at NOW_MS.
pub const CLOCK_MS: u64 = 500_000;

pub fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

pub fn vip() -> ServiceKey {
    ServiceKey::tcp(addr("192.168.100.88:80"))
}

pub fn second_vip() -> ServiceKey {
    ServiceKey::tcp(addr("192.168.100.90:80"))
}

pub fn rs(text: &str) -> DestKey {
    DestKey::new(addr(text))
}

fn dest(address: &str, weight: i32, active: u32, inactive: u32, cps: u64, bps: u64) -> Dest {
    let mut dest = Dest::new(DestConfig::new(addr(address), Forward::Route, weight));
    dest.active = active;
    dest.inactive = inactive;
    dest.rates = Rates {
        cps,
        inbps: bps,
        ..Rates::default()
    };
    dest
}

fn operator() -> Actor {
    Actor {
        uid: 1000,
        name: "alice".into(),
    }
}

/// The fixture snapshot; `step` varies the rates so sparklines move.
pub fn snapshot(step: u64) -> Snapshot {
    let mut seed = Service::new(ServiceConfig::new(vip(), "wrr").persistent(60));
    seed.dests = vec![dest(
        "192.168.100.82:80",
        1,
        3,
        7,
        10 + step * 5,
        4000 + step * 900,
    )];
    seed.rates = Rates {
        cps: 10 + step * 5,
        inbps: 4000 + step * 900,
        ..Rates::default()
    };
    let mut second = Service::new(ServiceConfig::new(second_vip(), "rr"));
    second.dests = vec![
        dest("192.168.100.82:80", 2, 1, 0, 2, 800),
        dest("192.168.100.84:80", 0, 4, 2, 0, 100 * (5 - step.min(5))),
    ];
    second.rates = Rates {
        cps: 2,
        inbps: 900,
        ..Rates::default()
    };
    let checker = |up: bool| CheckerView {
        id: CheckerId(0),
        kind: Cow::Borrowed("TCP_CHECK"),
        target: String::new(),
        up,
        checked: true,
        running: false,
        consecutive_failures: if up { 0 } else { 3 },
        reason: (!up).then(|| "connection refused".to_string()),
        latency: up.then_some(Duration::from_millis(2)),
        since: Duration::from_secs(if up { 10 } else { 3_000 }),
        last_check: Some(Duration::from_secs(3_100)),
        flaps: 0,
    };
    let checks = ChecksReport {
        epoch_unix_ms: NOW_MS - 3_600_000,
        snapshot: HealthSnapshot {
            virtual_servers: vec![VirtualServerView {
                name: "[192.168.100.88]:tcp:80".into(),
                quorum_up: true,
                quorum: 1,
                hysteresis: 0,
                weight_sum: 1,
                sorry_server: None,
                sorry_server_active: false,
                real_servers: vec![
                    RealServerView {
                        name: "[192.168.100.82]:tcp:80".into(),
                        address: "192.168.100.82:80".into(),
                        up: true,
                        weight: 1,
                        inhibit_on_failure: false,
                        checkers: vec![CheckerView {
                            target: "192.168.100.82:80".into(),
                            ..checker(true)
                        }],
                    },
                    RealServerView {
                        name: "[192.168.100.83]:tcp:80".into(),
                        address: "192.168.100.83:80".into(),
                        up: false,
                        weight: 1,
                        inhibit_on_failure: false,
                        checkers: vec![CheckerView {
                            id: CheckerId(1),
                            target: "192.168.100.83:80".into(),
                            ..checker(false)
                        }],
                    },
                ],
            }],
        },
        driver: DriverStats::default(),
        alerts: None,
    };
    let mut stats = BTreeMap::new();
    stats.insert("advert_sent".to_string(), 3_600);
    stats.insert("advert_rcvd".to_string(), 12);
    let vrrp = VrrpStatus {
        instances: vec![InstanceStatus {
            name: "VI_1".into(),
            state: State::Master,
            vrid: 51,
            version: 2,
            interface: Some("eth0".into()),
            base_priority: 100,
            operator_priority: None,
            effective_priority: 100,
            master_address: Some("192.168.100.80".parse().unwrap_or_else(|e| panic!("{e}"))),
            master_priority: Some(100),
            vips: vec!["192.168.100.88".parse().unwrap_or_else(|e| panic!("{e}"))],
            vips_installed: vec![],
            sync_group: None,
            fault_reasons: vec![],
            since_unix_ms: NOW_MS - 3_540_000,
            transitions: vec![Transition {
                from: State::Backup,
                to: State::Master,
                at_unix_ms: NOW_MS - 3_540_000,
            }],
            stats,
            io_errors: IoErrors::default(),
        }],
        sync_groups: vec![],
        unknown_vrid: 0,
    };
    let drain = WeightOverride {
        weight: 0,
        source: WeightSource::Drain {
            deadline_ms: CLOCK_MS + 240_000,
            remove: false,
        },
        by: operator(),
        reason: "kernel upgrade".into(),
        since_ms: CLOCK_MS - 60_000,
    };
    Snapshot {
        taken_unix_ms: NOW_MS + step * 1000,
        clock_ms: CLOCK_MS,
        director: DirectorInfo {
            name: "LVS_DEVEL".into(),
            version: "0.1.0".into(),
            pid: 4242,
            dataplane: DataplaneKind::Userspace,
            config_path: "/etc/keepalived/keepalived.conf".into(),
            config_hash: "0123456789abcdef".into(),
            started_unix_ms: NOW_MS - 3_600_000,
        },
        table: Table {
            origin: Origin::Userspace,
            info: Info::KERNEL_DEFAULT,
            services: vec![seed, second],
        },
        checks,
        vrrp,
        overrides: vec![TargetOverrides {
            target: Target::RealServer(second_vip(), rs("192.168.100.84:80")),
            weight: Some(drain),
            effective_weight: Some(0),
            disabled: vec![],
        }],
        drains: vec![DrainView {
            service: second_vip(),
            server: rs("192.168.100.84:80"),
            deadline_ms: CLOCK_MS + 240_000,
            remove: false,
            by: "alice".into(),
        }],
        last_event_seq: 3,
        observed: None,
    }
}

pub fn events() -> Vec<Event> {
    vec![
        Event {
            seq: 1,
            at_ms: NOW_MS - 3_540_000,
            kind: EventKind::Vrrp {
                name: "VI_1".into(),
                from: "BACKUP".into(),
                to: "MASTER".into(),
            },
            message: "(VI_1) Entering MASTER STATE".into(),
        },
        Event {
            seq: 2,
            at_ms: NOW_MS - 600_000,
            kind: EventKind::Check {
                service: "[192.168.100.88]:tcp:80".into(),
                server: Some("[192.168.100.83]:tcp:80".into()),
                up: false,
                reason: Some("connection refused".into()),
            },
            message: "TCP connection to [192.168.100.83]:tcp:80 failed.".into(),
        },
        Event {
            seq: 3,
            at_ms: NOW_MS - 60_000,
            kind: EventKind::Operator {
                uid: 1000,
                who: "alice".into(),
                action: "drain".into(),
                target: Some("192.168.100.84:80".into()),
                reason: Some("kernel upgrade".into()),
            },
            message: "alice drains 192.168.100.84:80 in TCP 192.168.100.90:80: kernel upgrade"
                .into(),
        },
    ]
}

pub fn connections() -> Vec<Connection> {
    let connection = |client: &str, dest: &str, state: &str, expires: u32| Connection {
        protocol: "TCP".into(),
        client: addr(client),
        virtual_addr: addr("192.168.100.88:80"),
        dest: addr(dest),
        state: state.into(),
        expires,
        template: false,
        pe_name: None,
        pe_data: None,
    };
    vec![
        connection("203.0.113.7:51234", "192.168.100.82:80", "ESTABLISHED", 895),
        connection("203.0.113.9:40112", "192.168.100.82:80", "FIN_WAIT", 75),
    ]
}

pub fn options() -> ConsoleOptions {
    let keymap = Keymap::shipped("default").unwrap_or_else(|e| panic!("{e}"));
    let theme = Theme::load("default", &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
    let mut options = ConsoleOptions::new(keymap, theme);
    options.time_zone = jiff::tz::TimeZone::UTC;
    options.source = "lvstop daemon /run/lvstop/lvstop.sock".into();
    options
}

/// An app that has seen five snapshots, the events, the connections and
/// the running configuration.
pub fn app_with(options: &ConsoleOptions) -> App {
    let mut app = App::new(options);
    for step in 0..5 {
        app.on_update(Update::Snapshot(Arc::new(snapshot(step))));
    }
    app.on_update(Update::Events {
        events: events(),
        missed: false,
    });
    app.on_connections(connections());
    app.on_running_config(
        std::path::Path::new("/etc/keepalived/keepalived.conf"),
        include_str!("../fixtures/ui/keepalived.conf").to_string(),
    );
    app
}

pub fn app() -> App {
    app_with(&options())
}
