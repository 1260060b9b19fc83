//! Constructed-value goldens: what the VM captures cannot show (large
//! counters, `--exact`, non-zero rates, `-c` entries with persistence-engine
//! data, the userspace header). Expected strings follow ipvsadm 1.31's
//! printf formats (`%-33s`, `%9llu`, `%8lluK`, `  -> %-28s %8llu %8llu
//! %8llu`, `%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s`).

use std::net::SocketAddr;

use compact_str::CompactString;

use super::*;
use crate::ipvs::model::{
    Connection, Daemon, DaemonState, Dest, DestConfig, Forward, Info, Rates, Service,
    ServiceConfig, ServiceKey, Stats, Table, Timeouts,
};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn table(origin: Origin) -> Table {
    let mut svc = Service::new(ServiceConfig::new(ServiceKey::tcp(sa("10.0.0.1:80")), "rr"));
    svc.stats = Stats {
        conns: 123_456_789,
        inpkts: 99_999_999,
        outpkts: 1_000_000_000,
        inbytes: 123_456_789_012_345,
        outbytes: 18_446_744_073_709_551_615,
    };
    svc.rates = Rates {
        cps: 100_000_000,
        inpps: 5,
        outpps: 6,
        inbps: 2_000_000_000,
        outbps: 7,
    };
    let mut d = Dest::new(DestConfig::new(sa("10.0.0.2:80"), Forward::Route, -1));
    d.stats = Stats {
        conns: 42,
        inpkts: 100_000_000,
        outpkts: 0,
        inbytes: 999_999_999,
        outbytes: 100_000_000_000,
    };
    d.rates = Rates {
        cps: 123_456_789,
        inpps: 1,
        outpps: 2,
        inbps: 300_000_000,
        outbps: 4,
    };
    d.active = 3;
    d.inactive = 4;
    d.persistent = 5;
    svc.dests.push(d);
    Table {
        origin,
        info: Info::KERNEL_DEFAULT,
        services: vec![svc],
    }
}

fn listing(t: &Table, opts: ListOptions) -> String {
    let mut out = String::new();
    list(t, &opts, &mut out);
    out
}

#[test]
fn stats_abbreviate_large_counters() {
    let out = listing(
        &table(Origin::Kernel),
        ListOptions {
            stats: true,
            ..ListOptions::default()
        },
    );
    assert_eq!(
        out,
        concat!(
            "IP Virtual Server version 1.2.1 (size=4096)\n",
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
            "  -> RemoteAddress:Port\n",
            "TCP  10.0.0.1:80                 ",
            "  123456K",
            " 99999999",
            "    1000M",
            "     123T",
            "18446744T\n",
            "  -> 10.0.0.2:80                 ",
            "       42",
            "  100000K",
            "        0",
            "  999999K",
            "     100G\n",
        )
    );
}

#[test]
fn exact_stats_print_every_digit() {
    let out = listing(
        &table(Origin::Kernel),
        ListOptions {
            stats: true,
            exact: true,
            ..ListOptions::default()
        },
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[3],
        "TCP  10.0.0.1:80                  123456789 99999999 1000000000 123456789012345 18446744073709551615"
    );
    assert_eq!(
        lines[4],
        concat!(
            "  -> 10.0.0.2:80                 ",
            "       42",
            " 100000000",
            "        0",
            " 999999999",
            " 100000000000"
        )
    );
}

#[test]
fn dest_rates_print_cps_and_pps_unabbreviated() {
    let out = listing(
        &table(Origin::Kernel),
        ListOptions {
            rate: true,
            ..ListOptions::default()
        },
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[3],
        concat!(
            "TCP  10.0.0.1:80                 ",
            "  100000K",
            "        5",
            "        6",
            "    2000M",
            "        7"
        )
    );
    // ipvsadm's `%8llu` for the destination's cps/pps: no suffix, wider.
    assert_eq!(
        lines[4],
        concat!(
            "  -> 10.0.0.2:80                 ",
            " 123456789",
            "        1",
            "        2",
            "  300000K",
            "        4"
        )
    );
}

#[test]
fn persistent_conn_prints_the_weight_unsigned() {
    let out = listing(
        &table(Origin::Kernel),
        ListOptions {
            persistent_conn: true,
            ..ListOptions::default()
        },
    );
    assert_eq!(
        out.lines().nth(4),
        Some("  -> 10.0.0.2:80                  4294967295 5           3          4         ")
    );
}

#[test]
fn userspace_tables_say_so_in_the_header_only() {
    let kernel = listing(&table(Origin::Kernel), ListOptions::default());
    let user = listing(&table(Origin::Userspace), ListOptions::default());
    assert!(user.starts_with("lvstop userspace dataplane"));
    assert!(!user.contains("IP Virtual Server"));
    let rest = |s: &str| s.split_once('\n').map(|(_, r)| r.to_owned());
    assert_eq!(rest(&kernel), rest(&user));
}

fn conn(client: &str, state: &str, expires: u32) -> Connection {
    Connection {
        protocol: CompactString::from("TCP"),
        client: sa(client),
        virtual_addr: sa("198.51.100.100:80"),
        dest: sa("198.51.100.10:80"),
        state: CompactString::from(state),
        expires,
        template: false,
        pe_name: None,
        pe_data: None,
    }
}

#[test]
fn connections_print_minutes_and_seconds() {
    let mut out = String::new();
    let conns = [
        conn("203.0.113.2:40000", "ESTABLISHED", 899),
        conn("[2001:db8::2]:1", "TIME_WAIT", 7),
        conn("203.0.113.2:40001", "NONE", 6000 * 60 + 5),
    ];
    connections(&conns, &ListOptions::default(), &mut out);
    assert_eq!(
        out,
        concat!(
            "IPVS connection entries\n",
            "pro expire state       source             virtual            destination\n",
            "TCP 14:59  ESTABLISHED 203.0.113.2:40000  198.51.100.100:80  198.51.100.10:80\n",
            "TCP 00:07  TIME_WAIT   [2001:db8::2]:1    198.51.100.100:80  198.51.100.10:80\n",
            "TCP 6000:05 NONE        203.0.113.2:40001  198.51.100.100:80  198.51.100.10:80\n",
        )
    );
}

#[test]
fn persistent_conn_connections_show_pe_data_when_present() {
    let mut with_pe = conn("203.0.113.2:5060", "UDP", 60);
    with_pe.protocol = CompactString::from("UDP");
    with_pe.pe_name = Some(CompactString::from("sip"));
    with_pe.pe_data = Some(CompactString::from("a84b4c76e66710"));
    let plain = conn("203.0.113.3:1", "ESTABLISHED", 1);
    let mut out = String::new();
    let opts = ListOptions {
        persistent_conn: true,
        ..ListOptions::default()
    };
    connections(&[with_pe, plain], &opts, &mut out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[2],
        "UDP 01:00  UDP         203.0.113.2:5060   198.51.100.100:80  198.51.100.10:80 sip                a84b4c76e66710"
    );
    assert_eq!(
        lines[3],
        "TCP 00:01  ESTABLISHED 203.0.113.3:1      198.51.100.100:80  198.51.100.10:80"
    );
}

#[test]
fn timeouts_and_daemons() {
    let mut out = String::new();
    timeouts(&Timeouts::default(), &mut out);
    assert_eq!(out, "Timeout (tcp tcpfin udp): 900 120 300\n");
    let mut out = String::new();
    let backup = Daemon {
        state: DaemonState::Backup,
        mcast_ifn: CompactString::from("eth1"),
        syncid: 3,
        sync_maxlen: 0,
        mcast_group: None,
        mcast_port: 0,
        mcast_ttl: 0,
    };
    let master = Daemon {
        state: DaemonState::Master,
        mcast_group: Some("ff02::81".parse().unwrap()),
        mcast_port: 8848,
        ..backup.clone()
    };
    daemons(&[backup, master], &mut out);
    assert_eq!(
        out,
        concat!(
            "master sync daemon (mcast=eth1, syncid=3, group=ff02::81, port=8848)\n",
            "backup sync daemon (mcast=eth1, syncid=3)\n",
        )
    );
}

#[test]
fn ipv4_compatible_ipv6_prints_a_dotted_quad_like_glibc() {
    assert_eq!(list::ipv6_text("::1.2.3.4".parse().unwrap()), "::1.2.3.4");
    assert_eq!(list::ipv6_text("::1".parse().unwrap()), "::1");
    assert_eq!(list::ipv6_text("::".parse().unwrap()), "::");
    assert_eq!(
        list::ipv6_text("::ffff:10.0.0.1".parse().unwrap()),
        "::ffff:10.0.0.1"
    );
    assert_eq!(
        list::ipv6_text("2001:db8:0:1::".parse().unwrap()),
        "2001:db8:0:1::"
    );
}
