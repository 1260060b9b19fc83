//! The half of the kernel-backend test that runs inside the VM: the test
//! binary itself, started by the guest's script with `LVSTOP_VM_PROBE`
//! set, programs and reads IPVS through `KernelDataplane` and writes what
//! it saw as JSON for the host half to compare with ipvsadm's output.

use std::path::Path;

use lvstop::dataplane::kernel::KernelDataplane;
use lvstop::dataplane::{Dataplane, Operation};
use lvstop::ipvs::model::{
    Daemon, DaemonState, DestConfig, DestKey, Family, Forward, ServiceConfig, ServiceFlags,
    ServiceKey, Timeouts, TunnelConfig, TunnelType,
};
use serde_json::{json, Value};

pub const PROBE_ENV: &str = "LVSTOP_VM_PROBE";
pub const OUT_ENV: &str = "LVSTOP_VM_OUT";

pub fn web() -> ServiceKey {
    ServiceKey::tcp("192.0.2.1:80".parse().unwrap())
}

pub fn dns() -> ServiceKey {
    ServiceKey::udp("192.0.2.2:53".parse().unwrap())
}

pub fn six() -> ServiceKey {
    ServiceKey::tcp("[2001:db8::1]:443".parse().unwrap())
}

pub fn fwm() -> ServiceKey {
    ServiceKey::Fwmark {
        family: Family::Inet,
        mark: 7,
    }
}

fn dest(addr: &str, forward: Forward, weight: i32) -> DestConfig {
    DestConfig::new(addr.parse().unwrap(), forward, weight)
}

fn add(service: ServiceKey, dest: DestConfig) -> Operation {
    Operation::AddDest { service, dest }
}

/// Everything the write phase programs, in one `apply`.
fn write_operations() -> Vec<Operation> {
    let mut dns_config = ServiceConfig::new(dns(), "rr");
    dns_config.flags = dns_config.flags.with(ServiceFlags::ONEPACKET, true);
    let mut six_config = ServiceConfig::new(six(), "sh").persistent(300);
    six_config.flags = six_config
        .flags
        .with(ServiceFlags::SCHED1, true)
        .with(ServiceFlags::SCHED2, true);
    six_config.netmask = 64;
    let mut fwm_config = ServiceConfig::new(fwm(), "rr").persistent(60);
    fwm_config.netmask = 0xffff_ff00;
    let mut masq = dest("198.51.100.10:8080", Forward::Masq, 3);
    masq.upper_threshold = 100;
    masq.lower_threshold = 50;
    let mut gue = dest("198.51.100.11:80", Forward::Tunnel, 2);
    gue.tunnel = TunnelConfig {
        kind: TunnelType::Gue,
        port: 6080,
        flags: TunnelConfig::FLAG_CSUM,
    };
    let mut gre = dest("198.51.100.13:0", Forward::Tunnel, 4);
    gre.tunnel.kind = TunnelType::Gre;
    let mut edited_masq = masq;
    edited_masq.weight = 5;
    let scratch = ServiceKey::tcp("192.0.2.3:80".parse().unwrap());
    vec![
        Operation::AddService(ServiceConfig::new(web(), "wlc")),
        Operation::AddService(dns_config),
        Operation::AddService(six_config),
        Operation::AddService(fwm_config),
        add(web(), masq),
        add(web(), gue),
        add(web(), dest("198.51.100.12:80", Forward::Route, 0)),
        add(six(), dest("[2001:db8::10]:443", Forward::Masq, 1)),
        add(fwm(), gre),
        add(dns(), dest("198.51.100.15:53", Forward::Masq, 1)),
        Operation::EditService(ServiceConfig::new(web(), "wrr").persistent(120)),
        Operation::EditDest {
            service: web(),
            dest: edited_masq,
        },
        Operation::DeleteDest {
            service: dns(),
            dest: DestKey::new("198.51.100.15:53".parse().unwrap()),
        },
        Operation::AddService(ServiceConfig::new(scratch, "rr")),
        Operation::DeleteService(scratch),
        Operation::SetTimeouts(Timeouts {
            tcp: 1000,
            tcp_fin: 100,
            udp: 200,
        }),
    ]
}

/// Operations that must fail, each applied on its own.
fn failing_operations() -> Vec<(&'static str, Vec<Operation>)> {
    let missing = ServiceKey::tcp("192.0.2.99:80".parse().unwrap());
    let fresh = ServiceKey::tcp("192.0.2.4:80".parse().unwrap());
    let never = ServiceKey::tcp("192.0.2.5:80".parse().unwrap());
    vec![
        (
            "delete_missing_service",
            vec![Operation::DeleteService(missing)],
        ),
        (
            "edit_missing_service",
            vec![Operation::EditService(ServiceConfig::new(missing, "rr"))],
        ),
        (
            "add_existing_service",
            vec![Operation::AddService(ServiceConfig::new(web(), "rr"))],
        ),
        (
            "unknown_scheduler",
            vec![Operation::AddService(ServiceConfig::new(missing, "nope"))],
        ),
        (
            "add_existing_dest",
            vec![add(web(), dest("198.51.100.12:80", Forward::Route, 1))],
        ),
        (
            "delete_missing_dest",
            vec![Operation::DeleteDest {
                service: web(),
                dest: DestKey::new("198.51.100.99:80".parse().unwrap()),
            }],
        ),
        (
            "dest_in_missing_service",
            vec![add(missing, dest("198.51.100.12:80", Forward::Route, 1))],
        ),
        (
            "stops_at_first_failure",
            vec![
                Operation::AddService(ServiceConfig::new(fresh, "rr")),
                Operation::DeleteService(missing),
                Operation::AddService(ServiceConfig::new(never, "rr")),
            ],
        ),
    ]
}

async fn state(dataplane: &KernelDataplane) -> Value {
    json!({
        "table": dataplane.snapshot().await.unwrap(),
        "listing": dataplane.listing().await.unwrap(),
        "timeouts": dataplane.timeouts().await.unwrap(),
        "daemons": dataplane.daemons().await.unwrap(),
        "connections": dataplane.connections().await.unwrap(),
    })
}

async fn write_phase(dataplane: &KernelDataplane) -> Value {
    dataplane.apply(&write_operations()).await.unwrap();
    dataplane
        .start_daemon(&Daemon {
            state: DaemonState::Master,
            mcast_ifn: "lvsdummy0".into(),
            syncid: 5,
            sync_maxlen: 0,
            mcast_group: None,
            mcast_port: 0,
            mcast_ttl: 0,
        })
        .await
        .unwrap();
    let mut result = state(dataplane).await;
    let mut errors = serde_json::Map::new();
    for (name, operations) in failing_operations() {
        let error = dataplane.apply(&operations).await.unwrap_err();
        errors.insert(
            name.to_string(),
            json!({
                "index": error.index,
                "message": error.error.to_string(),
                "debug": format!("{:?}", error.error),
            }),
        );
    }
    // The partial apply kept its first operation and nothing after.
    let fresh = ServiceKey::tcp("192.0.2.4:80".parse().unwrap());
    let never = ServiceKey::tcp("192.0.2.5:80".parse().unwrap());
    let table = dataplane.snapshot().await.unwrap();
    result["partial"] = json!({
        "first_applied": table.service(fresh).is_some(),
        "third_applied": table.service(never).is_some(),
    });
    dataplane
        .apply(&[Operation::DeleteService(fresh)])
        .await
        .unwrap();
    result["errors"] = Value::Object(errors);
    result
}

/// A table with one service too big for one dump datagram (its dump spans
/// several reads) among many small ones, read over the client's socket
/// pool.
async fn big_phase(dataplane: &KernelDataplane) -> Value {
    let big = ServiceKey::tcp("192.0.2.50:80".parse().unwrap());
    let mut operations = vec![Operation::AddService(ServiceConfig::new(big, "wlc"))];
    for i in 0..300u32 {
        let addr = std::net::Ipv4Addr::from(0xc633_6400 + (i % 250) + 1);
        let port = 1000 + (i / 250) as u16;
        let dest = DestConfig::new(
            std::net::SocketAddr::new(addr.into(), port),
            Forward::Route,
            1,
        );
        operations.push(add(big, dest));
    }
    for s in 0..40u32 {
        let key = ServiceKey::udp(std::net::SocketAddr::new(
            std::net::Ipv4Addr::from(0xc000_0280 + s).into(),
            53,
        ));
        operations.push(Operation::AddService(ServiceConfig::new(key, "rr")));
        for d in 0..3u16 {
            operations.push(add(
                key,
                dest(&format!("198.51.100.{}:53", 20 + d), Forward::Masq, 1),
            ));
        }
    }
    dataplane.apply(&operations).await.unwrap();
    state(dataplane).await
}

/// Run the probe when the guest's script asked for it; returns whether it
/// ran.
pub fn run_if_inside_vm() -> bool {
    let Ok(phase) = std::env::var(PROBE_ENV) else {
        return false;
    };
    let out = std::env::var(OUT_ENV).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        if phase == "noipvs" {
            let error = KernelDataplane::connect().await.unwrap_err();
            return json!({ "error": error.to_string() });
        }
        let dataplane = KernelDataplane::connect().await.unwrap();
        match phase.as_str() {
            "write" => write_phase(&dataplane).await,
            "read" => state(&dataplane).await,
            "big" => big_phase(&dataplane).await,
            "conns" => state(&dataplane).await,
            other => panic!("unknown probe phase {other}"),
        }
    });
    let path = Path::new(&out).join(format!("probe-{phase}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&result).unwrap()).unwrap();
    true
}
