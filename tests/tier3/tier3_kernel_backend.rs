//! lvstop's kernel IPVS backend against the real thing: Debian's kernel in
//! a virtme-ng VM (tier 3 of the test tiers in ARCHITECTURE.md), with ipvsadm as the referee.
//!
//! One boot runs everything: this very test binary is started inside the
//! guest (see `kernel_backend/probe.rs`) to program IPVS through
//! `KernelDataplane`; ipvsadm then lists what the kernel holds. After a
//! flush, ipvsadm builds a table and the probe reads it back. The host half
//! below checks that both directions agree, line for line, with
//! `ipvsadm -Ln`, and that errors read the way ipvsadm would say them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

#[path = "kernel_backend/probe.rs"]
mod probe;

use std::path::Path;

use lvstop::ipvs::model::{
    Daemon, DaemonState, Family, Forward, ServiceFlags, ServiceKey, Table, Timeouts, TunnelType,
};
use serde_json::Value;

/// The half that runs inside the VM; a no-op anywhere else.
#[test]
fn inside_vm_probe() {
    probe::run_if_inside_vm();
}

/// ipvsadm commands of the read phase: a table lvstop did not make.
const IPVSADM_TABLE: &[&str] = &[
    "ipvsadm -A -t 198.51.100.88:80 -s wlc -p 60 -M 255.255.0.0",
    "ipvsadm -a -t 198.51.100.88:80 -r 198.51.100.82:80 -g -w 1",
    "ipvsadm -a -t 198.51.100.88:80 -r 198.51.100.83:80 -g -w 2 -x 10 -y 5",
    "ipvsadm -A -u [2001:db8::88]:53 -s rr",
    "ipvsadm -a -u [2001:db8::88]:53 -r [2001:db8::82]:53 -m -w 1",
    "ipvsadm -A -f 9 -s mh -b mh-fallback",
    "ipvsadm -a -f 9 -r 198.51.100.84 -i --tun-type gue --tun-port 5555 --tun-remcsum -w 3",
    "ipvsadm -A -u 198.51.100.89:443 -s sh -b sh-port -o",
    "ipvsadm --set 600 60 120",
    "ipvsadm --start-daemon backup --mcast-interface lvsdummy0 --syncid 9",
];

fn guest_script(exe: &Path, out: &Path) -> String {
    let probe = |phase: &str| {
        format!(
            "{}={phase} {}={} {} --exact {} --test-threads=1 > {}/probe-{phase}.log 2>&1",
            probe::PROBE_ENV,
            probe::OUT_ENV,
            out.display(),
            exe.display(),
            support::test_path(module_path!(), "inside_vm_probe"),
            out.display()
        )
    };
    let o = out.display();
    [
        "set -e".to_string(),
        // Generic netlink would load ip_vs on demand: forbid module loading
        // to see what lvstop says on a kernel without IPVS.
        "saved=$(cat /proc/sys/kernel/modprobe)".into(),
        "echo /bin/true > /proc/sys/kernel/modprobe".into(),
        probe("noipvs"),
        "echo \"$saved\" > /proc/sys/kernel/modprobe".into(),
        "modprobe ip_vs".into(),
        "for s in rr wrr wlc sh mh; do modprobe ip_vs_$s; done".into(),
        "ip link add lvsdummy0 type dummy && ip link set lvsdummy0 up multicast on".into(),
        probe("write"),
        format!("ipvsadm -Ln > {o}/write-Ln.txt"),
        format!("ipvsadm -Ln --thresholds > {o}/write-thresholds.txt"),
        format!("ipvsadm -Ln --tun-info > {o}/write-tun.txt"),
        format!("ipvsadm -L --timeout > {o}/write-timeout.txt"),
        format!("ipvsadm -L --daemon > {o}/write-daemon.txt"),
        "ipvsadm --stop-daemon master".into(),
        "ipvsadm -C".into(),
        IPVSADM_TABLE.join("\n"),
        format!("ipvsadm -Ln > {o}/read-Ln.txt"),
        probe("read"),
        "ipvsadm --stop-daemon backup".into(),
        "ipvsadm -C".into(),
        probe("big"),
        format!("ipvsadm -Ln > {o}/big-Ln.txt"),
        // Live connections: local UDP to a VIP on the guest's own lo, one
        // persistent service (a template and a connection, both long-lived
        // so nothing expires between the reads).
        "ipvsadm -C".into(),
        "ip addr add 192.0.2.100/32 dev lo".into(),
        "ipvsadm -A -u 192.0.2.100:5353 -s rr -p 120".into(),
        "ipvsadm -a -u 192.0.2.100:5353 -r 127.0.0.1:5354 -m".into(),
        "ipvsadm -A -u 192.0.2.100:5355 -s rr".into(),
        "ipvsadm -a -u 192.0.2.100:5355 -r 127.0.0.1:5356 -m".into(),
        "python3 -c \"import socket; u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
         u.sendto(b'x', ('192.0.2.100', 5353)); u.sendto(b'x', ('192.0.2.100', 5355))\""
            .into(),
        probe("conns"),
        format!("ipvsadm -Lnc > {o}/conns-Lnc.txt"),
        format!("ipvsadm -Ln > {o}/conns-Ln.txt"),
        format!("echo done > {o}/done"),
    ]
    .join("\n")
}

/// `ipvsadm -Ln` with runs of blanks squeezed, header lines dropped.
fn listing(text: &str) -> Vec<String> {
    text.lines()
        .skip(3)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// What `ipvsadm -Ln` prints for `table`, blanks squeezed; written here
/// from ipvsadm's format so the test does not trust lvstop's renderer.
fn render(table: &Table) -> Vec<String> {
    let mut lines = Vec::new();
    for service in table.sorted_services() {
        let c = &service.config;
        let mut line = match c.key {
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => format!(
                "{} {}",
                protocol.as_str(),
                std::net::SocketAddr::new(addr, port)
            ),
            ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
        };
        line += &format!(" {}", c.scheduler);
        let names = match c.scheduler.as_str() {
            "sh" => ["sh-fallback", "sh-port", "flag-3"],
            "mh" => ["mh-fallback", "mh-port", "flag-3"],
            _ => ["flag-1", "flag-2", "flag-3"],
        };
        let bits = [
            ServiceFlags::SCHED1,
            ServiceFlags::SCHED2,
            ServiceFlags::SCHED3,
        ];
        let set: Vec<&str> = (0..3)
            .filter(|&i| c.flags.has(bits[i]))
            .map(|i| names[i])
            .collect();
        if !set.is_empty() {
            line += &format!(" ({})", set.join(","));
        }
        if c.flags.persistent() {
            line += &format!(" persistent {}", c.timeout);
            let family = c.key.family();
            if c.netmask != lvstop::ipvs::model::default_netmask(family) {
                match family {
                    Family::Inet => {
                        line += &format!(" mask {}", std::net::Ipv4Addr::from(c.netmask))
                    }
                    Family::Inet6 => line += &format!(" mask {}", c.netmask),
                }
            }
        }
        if c.flags.one_packet() {
            line += " ops";
        }
        lines.push(line);
        for dest in service.sorted_dests() {
            lines.push(format!(
                "-> {} {} {} {} {}",
                dest.key().socket_addr(),
                dest.config.forward.ipvsadm_name(),
                dest.weight(),
                dest.active,
                dest.inactive
            ));
        }
    }
    lines
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("{name} missing from the VM run ({e})"))
}

fn json(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&read(dir, name)).unwrap()
}

/// The fast listing (netlink services + /proc/net/ip_vs destinations)
/// prints exactly like ipvsadm too.
fn check_listing(probe: &Value, ipvsadm: &[String]) {
    let listing: Table = serde_json::from_value(probe["listing"].clone()).unwrap();
    assert_eq!(
        render(&listing),
        ipvsadm,
        "the fast listing differs from ipvsadm -Ln"
    );
}

fn check_write_phase(dir: &Path) {
    let probe = json(dir, "probe-write.json");
    let table: Table = serde_json::from_value(probe["table"].clone()).unwrap();
    let ipvsadm = listing(&read(dir, "write-Ln.txt"));
    // What lvstop programmed, as ipvsadm reads it back from the kernel.
    assert_eq!(
        ipvsadm,
        [
            "TCP 192.0.2.1:80 wrr persistent 120",
            "-> 198.51.100.10:8080 Masq 5 0 0",
            "-> 198.51.100.11:80 Tunnel 2 0 0",
            "-> 198.51.100.12:80 Route 0 0 0",
            "UDP 192.0.2.2:53 rr ops",
            "TCP [2001:db8::1]:443 sh (sh-fallback,sh-port) persistent 300 mask 64",
            "-> [2001:db8::10]:443 Masq 1 0 0",
            "FWM 7 rr persistent 60 mask 255.255.255.0",
            "-> 198.51.100.13:0 Tunnel 4 0 0",
        ]
    );
    // And lvstop's own read of the same kernel state agrees.
    assert_eq!(render(&table), ipvsadm);
    check_listing(&probe, &ipvsadm);
    // The listing took its destinations from /proc/net/ip_vs (which has
    // no thresholds), not from a fallback snapshot.
    let fast: Table = serde_json::from_value(probe["listing"].clone()).unwrap();
    let fast_web = fast.service(probe::web()).unwrap();
    assert!(fast_web.dests.iter().all(|d| d.config.upper_threshold == 0));
    let thresholds = read(dir, "write-thresholds.txt");
    assert!(
        thresholds
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["->", "198.51.100.10:8080", "100", "50", "0", "0"]),
        "{thresholds}"
    );
    let tun = read(dir, "write-tun.txt");
    assert!(
        tun.contains("gue") && tun.contains("6080") && tun.contains("gre"),
        "{tun}"
    );
    assert!(read(dir, "write-timeout.txt").contains("Timeout (tcp tcpfin udp): 1000 100 200"));
    assert!(
        read(dir, "write-daemon.txt").contains("master sync daemon (mcast=lvsdummy0, syncid=5"),
        "{}",
        read(dir, "write-daemon.txt")
    );
    // lvstop's own reads of timeouts and daemons.
    let timeouts: Timeouts = serde_json::from_value(probe["timeouts"].clone()).unwrap();
    assert_eq!(
        (timeouts.tcp, timeouts.tcp_fin, timeouts.udp),
        (1000, 100, 200)
    );
    let daemons: Vec<Daemon> = serde_json::from_value(probe["daemons"].clone()).unwrap();
    assert_eq!(daemons.len(), 1);
    assert_eq!(daemons[0].state, DaemonState::Master);
    assert_eq!(
        (daemons[0].mcast_ifn.as_str(), daemons[0].syncid),
        ("lvsdummy0", 5)
    );
    // Destinations come in the kernel's order: most recent first.
    let web = table.service(probe::web()).unwrap();
    let order: Vec<String> = web.dests.iter().map(|d| d.key().to_string()).collect();
    assert_eq!(
        order,
        ["198.51.100.12:80", "198.51.100.11:80", "198.51.100.10:8080"]
    );
    let gue = &web.dests[1].config;
    assert_eq!(gue.tunnel.kind, TunnelType::Gue);
    assert_eq!((gue.tunnel.port, gue.tunnel.flags), (6080, 1));
    let masq = &web.dests[2].config;
    assert_eq!((masq.upper_threshold, masq.lower_threshold), (100, 50));
    // Errors, in ipvsadm's words.
    let errors = &probe["errors"];
    let expect = |name: &str, variant: &str, index: u64| {
        let e = &errors[name];
        assert!(
            e["debug"].as_str().unwrap().starts_with(variant),
            "{name}: {e}"
        );
        assert_eq!(e["index"], index, "{name}: {e}");
    };
    expect("delete_missing_service", "NoSuchService", 0);
    expect("edit_missing_service", "NoSuchService", 0);
    expect("add_existing_service", "ServiceExists", 0);
    expect("unknown_scheduler", "UnknownScheduler", 0);
    expect("add_existing_dest", "DestExists", 0);
    expect("delete_missing_dest", "NoSuchDest", 0);
    expect("dest_in_missing_service", "NoSuchService", 0);
    expect("stops_at_first_failure", "NoSuchService", 1);
    assert_eq!(
        errors["delete_missing_service"]["message"],
        "no such service: TCP 192.0.2.99:80"
    );
    assert_eq!(probe["partial"]["first_applied"], true);
    assert_eq!(probe["partial"]["third_applied"], false);
}

fn check_read_phase(dir: &Path) {
    let probe = json(dir, "probe-read.json");
    let table: Table = serde_json::from_value(probe["table"].clone()).unwrap();
    let ipvsadm = listing(&read(dir, "read-Ln.txt"));
    assert_eq!(
        render(&table),
        ipvsadm,
        "lvstop's read differs from ipvsadm -Ln"
    );
    check_listing(&probe, &ipvsadm);
    assert_eq!(table.services.len(), 4);
    let vip = table
        .service(ServiceKey::tcp("198.51.100.88:80".parse().unwrap()))
        .unwrap();
    assert_eq!(vip.config.netmask, 0xffff_0000);
    assert_eq!(vip.config.persistence_prefix(), 16);
    let rs83 = vip.dest(lvstop::ipvs::model::DestKey::new(
        "198.51.100.83:80".parse().unwrap(),
    ));
    let rs83 = rs83.unwrap();
    assert_eq!(rs83.config.forward, Forward::Route);
    assert_eq!(
        (rs83.config.upper_threshold, rs83.config.lower_threshold),
        (10, 5)
    );
    let fwm = table
        .service(ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 9,
        })
        .unwrap();
    assert!(fwm.config.flags.has(ServiceFlags::SCHED1));
    let tunnel = fwm.dests[0].config.tunnel;
    assert_eq!(tunnel.kind, TunnelType::Gue);
    assert_eq!((tunnel.port, tunnel.flags), (5555, 2));
    let timeouts: Timeouts = serde_json::from_value(probe["timeouts"].clone()).unwrap();
    assert_eq!(
        (timeouts.tcp, timeouts.tcp_fin, timeouts.udp),
        (600, 60, 120)
    );
    let daemons: Vec<Daemon> = serde_json::from_value(probe["daemons"].clone()).unwrap();
    assert_eq!(daemons.len(), 1);
    assert_eq!(
        (daemons[0].state, daemons[0].syncid),
        (DaemonState::Backup, 9)
    );
    assert_eq!(probe["connections"], Value::Array(Vec::new()));
}

fn check_big_table(dir: &Path) {
    let probe = json(dir, "probe-big.json");
    let table: Table = serde_json::from_value(probe["table"].clone()).unwrap();
    assert_eq!(table.services.len(), 41);
    let big = table
        .service(ServiceKey::tcp("192.0.2.50:80".parse().unwrap()))
        .unwrap();
    assert_eq!(big.dests.len(), 300);
    let ipvsadm = listing(&read(dir, "big-Ln.txt"));
    assert_eq!(render(&table), ipvsadm);
    check_listing(&probe, &ipvsadm);
}

fn check_connections(dir: &Path) {
    let probe = json(dir, "probe-conns.json");
    let table: Table = serde_json::from_value(probe["table"].clone()).unwrap();
    // Live counts: each destination holds one inactive connection.
    let ipvsadm = listing(&read(dir, "conns-Ln.txt"));
    assert_eq!(render(&table), ipvsadm);
    check_listing(&probe, &ipvsadm);
    let conns: Vec<lvstop::ipvs::model::Connection> =
        serde_json::from_value(probe["connections"].clone()).unwrap();
    let ipvsadm = read(dir, "conns-Lnc.txt");
    let rows: Vec<Vec<&str>> = ipvsadm
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(conns.len(), rows.len(), "{ipvsadm}\n{conns:?}");
    for conn in &conns {
        let client = conn.client.to_string();
        let virt = conn.virtual_addr.to_string();
        let dest = conn.dest.to_string();
        assert!(
            rows.iter().any(|r| r.len() == 6
                && r[0] == conn.protocol.as_str()
                && r[2] == conn.state.as_str()
                && r[3] == client
                && r[4] == virt
                && r[5] == dest),
            "{conn:?} not in ipvsadm -Lnc:\n{ipvsadm}"
        );
    }
    let templates: Vec<_> = conns.iter().filter(|c| c.template).collect();
    assert_eq!(templates.len(), 1, "{conns:?}");
    assert_eq!(templates[0].client.port(), 0);
    assert_eq!(
        conns
            .iter()
            .filter(|c| c.protocol == "UDP" && !c.template)
            .count(),
        2
    );
}

#[test]
fn kernel_backend_against_ipvsadm_in_a_vm() {
    let Some(_group) =
        support::privileged_test(module_path!(), "kernel_backend_against_ipvsadm_in_a_vm")
    else {
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("lvstop-vm")
        .tempdir()
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    // The script goes in a file: virtme-ng hands --exec to the guest on the
    // kernel command line, which is too short for it.
    let script = dir.path().join("guest.sh");
    std::fs::write(&script, guest_script(&exe, dir.path())).unwrap();
    let out = support::vm::run(&format!("sh {}", script.display()), Some(dir.path()));
    let logs = ["noipvs", "write", "read", "big", "conns"]
        .iter()
        .map(|p| {
            std::fs::read_to_string(dir.path().join(format!("probe-{p}.log"))).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        dir.path().join("done").exists(),
        "the guest script stopped early:\n{}\n{}\n{logs}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let noipvs = json(dir.path(), "probe-noipvs.json");
    assert!(
        noipvs["error"]
            .as_str()
            .unwrap()
            .contains("this kernel has no IPVS (modprobe ip_vs)"),
        "{noipvs}"
    );
    check_write_phase(dir.path());
    check_read_phase(dir.path());
    check_big_table(dir.path());
    check_connections(dir.path());
}
