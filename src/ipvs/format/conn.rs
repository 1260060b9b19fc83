//! `-c` / `--connection`: the connection table as ipvsadm prints it from
//! `/proc/net/ip_vs_conn`, plus `--timeout` and `--daemon`.

use std::fmt::Write;

use super::list::{addr_port, ipv6_text};
use super::ListOptions;
use crate::ipvs::model::{Connection, Daemon, DaemonState, Timeouts};

/// The `-c` listing, title included. With `--persistent-conn` two more
/// columns show the persistence engine and its data, for entries that
/// have them (ipvsadm prints the short row for the others).
pub fn connections(conns: &[Connection], opts: &ListOptions, out: &mut String) {
    out.push_str("IPVS connection entries\n");
    if opts.persistent_conn {
        out.push_str(
            "pro expire state       source             virtual            destination        pe name          pe_data\n",
        );
    } else {
        out.push_str("pro expire state       source             virtual            destination\n");
    }
    for c in conns {
        let expire = format!("{:02}:{:02}", c.expires / 60, c.expires % 60);
        let client = addr_port(c.client.ip(), c.client.port());
        let virt = addr_port(c.virtual_addr.ip(), c.virtual_addr.port());
        let dest = addr_port(c.dest.ip(), c.dest.port());
        let _ = match (opts.persistent_conn, &c.pe_name, &c.pe_data) {
            (true, Some(pe_name), Some(pe_data)) => writeln!(
                out,
                "{:<3} {expire:<6} {:<11} {client:<18} {virt:<18} {dest:<16} {pe_name:<18} {pe_data}",
                c.protocol, c.state
            ),
            _ => writeln!(
                out,
                "{:<3} {expire:<6} {:<11} {client:<18} {virt:<18} {dest}",
                c.protocol, c.state
            ),
        };
    }
}

/// `--timeout`.
pub fn timeouts(t: &Timeouts, out: &mut String) {
    // ipvsadm prints the kernel's unsigned values with `%d`.
    let _ = writeln!(
        out,
        "Timeout (tcp tcpfin udp): {} {} {}",
        t.tcp as i32, t.tcp_fin as i32, t.udp as i32
    );
}

/// `--daemon`: the master first, then the backup; optional fields only
/// when the kernel reported them (non-zero).
pub fn daemons(d: &[Daemon], out: &mut String) {
    for state in [DaemonState::Master, DaemonState::Backup] {
        for daemon in d.iter().filter(|d| d.state == state) {
            push_daemon(out, daemon);
        }
    }
}

fn push_daemon(out: &mut String, d: &Daemon) {
    let role = match d.state {
        DaemonState::Master => "master",
        DaemonState::Backup => "backup",
    };
    let _ = write!(
        out,
        "{role} sync daemon (mcast={}, syncid={}",
        d.mcast_ifn, d.syncid as i32
    );
    if d.sync_maxlen != 0 {
        let _ = write!(out, ", maxlen={}", d.sync_maxlen);
    }
    if let Some(group) = d.mcast_group {
        let _ = match group {
            std::net::IpAddr::V4(v4) => write!(out, ", group={v4}"),
            std::net::IpAddr::V6(v6) => write!(out, ", group={}", ipv6_text(v6)),
        };
    }
    if d.mcast_port != 0 {
        let _ = write!(out, ", port={}", d.mcast_port);
    }
    if d.mcast_ttl != 0 {
        let _ = write!(out, ", ttl={}", d.mcast_ttl);
    }
    out.push_str(")\n");
}
