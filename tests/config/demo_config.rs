#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The demo directors' keepalived.conf texts: they load with lvstop's own
//! loader without a single diagnostic, describe the reference deployment's pair (VI_1,
//! master 150 / backup 100, the VIP, both real servers with HTTP_GET),
//! and unusable options are refused before anything starts.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use lvstop::config::load::{load_str, Options};
use lvstop::config::model::lvs::{ServiceAddress, VirtualServer};
use lvstop::config::model::Config;
use lvstop::demo::{DemoError, DemoOptions, DirectorRole};

fn load(name: &str, text: &str) -> Config {
    let outcome = load_str(Path::new(name), text, &Options::default());
    let diagnostics: Vec<String> = outcome
        .diagnostics
        .iter()
        .map(|d| format!("{:?} {}: {}", d.severity, d.code, d.message))
        .collect();
    assert!(diagnostics.is_empty(), "{name}:\n{text}\n{diagnostics:#?}");
    outcome.config
}

fn only_service(config: &Config) -> &VirtualServer {
    assert_eq!(config.lvs.virtual_servers.len(), 1);
    &config.lvs.virtual_servers[0]
}

#[test]
fn both_directors_load_cleanly_as_the_seeds_pair_on_loopback() {
    let options = DemoOptions::default();
    let [master, backup] = options.director_configs().unwrap();
    assert_eq!(master.role, DirectorRole::Master);
    assert_eq!(backup.role, DirectorRole::Backup);
    assert_ne!(master.segment_address, backup.segment_address);

    let vip: IpAddr = "127.0.0.88".parse().unwrap();
    for (director, priority, state) in [(&master, 150, "MASTER"), (&backup, 100, "BACKUP")] {
        let config = load(&director.name, &director.text);
        assert_eq!(config.vrrp.instances.len(), 1);
        let vi = &config.vrrp.instances[0];
        assert_eq!(vi.name.value, "VI_1");
        assert_eq!(vi.priority.as_ref().unwrap().value, priority);
        assert_eq!(vi.virtual_router_id.as_ref().unwrap().value, 51);
        assert_eq!(vi.interface.as_ref().unwrap().value, "demo0");
        let vips: Vec<IpAddr> = vi
            .virtual_addresses
            .iter()
            .map(|a| a.address.value)
            .collect();
        assert_eq!(vips, [vip]);
        assert!(director.text.contains(&format!("state {state}\n")));

        let vs = only_service(&config);
        assert_eq!(
            vs.service.value,
            ServiceAddress::Address {
                ip: vip,
                port: Some(8088)
            }
        );
        assert_eq!(vs.scheduler.as_ref().unwrap().value, "wrr");
        let real: Vec<SocketAddr> = vs
            .real_servers
            .iter()
            .map(|rs| SocketAddr::new(rs.endpoint.value.ip, rs.endpoint.value.port.unwrap()))
            .collect();
        let expected: Vec<SocketAddr> = options.real_servers.iter().map(|r| r.addr).collect();
        assert_eq!(real, expected);
        for rs in &vs.real_servers {
            assert_eq!(rs.checkers.len(), 1);
        }
        assert_eq!(director.text.matches("HTTP_GET {").count(), 2);
    }
}

#[test]
fn chosen_vip_port_and_real_servers_reach_both_texts() {
    let mut options = DemoOptions {
        vip: "127.0.0.99".parse().unwrap(),
        port: 9099,
        scheduler: "rr".into(),
        ..DemoOptions::default()
    };
    options.real_servers[1].addr = "127.0.0.97:9097".parse().unwrap();
    options.real_servers[1].name = "web-b".into();
    for director in options.director_configs().unwrap() {
        let config = load(&director.name, &director.text);
        let vs = only_service(&config);
        assert_eq!(
            vs.service.value,
            ServiceAddress::Address {
                ip: options.vip,
                port: Some(9099)
            }
        );
        assert_eq!(vs.real_servers[1].endpoint.value.port, Some(9097));
        assert!(director.text.contains("\"This is test web-b\""));
        assert!(director.text.contains("lvs_sched rr\n"));
    }
}

#[test]
fn options_that_would_leave_loopback_or_collide_are_refused() {
    let refused = |options: DemoOptions| match options.director_configs() {
        Err(DemoError::Options(message)) => message,
        other => panic!("accepted: {other:?}"),
    };
    let off_loopback = DemoOptions {
        vip: "192.168.100.88".parse().unwrap(),
        ..DemoOptions::default()
    };
    assert!(refused(off_loopback).contains("'192.168.100.88'"));

    let mut twice = DemoOptions::default();
    twice.real_servers[1].addr = twice.real_servers[0].addr;
    assert!(refused(twice).contains("listed twice"));

    let mut is_the_vip = DemoOptions::default();
    is_the_vip.real_servers[0].addr = is_the_vip.virtual_service();
    assert!(refused(is_the_vip).contains("is the virtual service"));

    let mut spaced = DemoOptions::default();
    spaced.real_servers[0].name = "rs 1".into();
    assert!(refused(spaced).contains("'rs 1'"));

    let none = DemoOptions {
        real_servers: Vec::new(),
        ..DemoOptions::default()
    };
    assert!(refused(none).contains("at least one real server"));
}
