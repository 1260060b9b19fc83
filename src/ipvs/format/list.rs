//! The `-L` family and `-S`: one service line, then one line per
//! destination, in ipvsadm 1.31's exact columns.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::number::push_counter;
use super::text::{push_addr_port, push_i64_left, push_left, push_u64_left, push_u64_right};
use super::ListOptions;
use crate::ipvs::model::{
    Dest, Family, Forward, Protocol, Service, ServiceConfig, ServiceFlags, ServiceKey,
    TunnelConfig, TunnelType,
};

/// Which per-destination table `-L` prints; ipvsadm honours the first of
/// these that is set, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum View {
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    TunInfo,
    Plain,
}

impl View {
    pub(super) fn of(opts: &ListOptions) -> Self {
        if opts.stats {
            View::Stats
        } else if opts.rate {
            View::Rate
        } else if opts.thresholds {
            View::Thresholds
        } else if opts.persistent_conn {
            View::PersistentConn
        } else if opts.tun_info {
            View::TunInfo
        } else {
            View::Plain
        }
    }

    pub(super) fn title(self) -> &'static str {
        match self {
            View::Stats => concat!(
                "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
                "  -> RemoteAddress:Port\n"
            ),
            View::Rate => concat!(
                "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n",
                "  -> RemoteAddress:Port\n"
            ),
            View::Thresholds => concat!(
                "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n",
                "  -> RemoteAddress:Port\n"
            ),
            View::PersistentConn => concat!(
                "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n",
                "  -> RemoteAddress:Port\n"
            ),
            View::TunInfo => concat!(
                "Prot LocalAddress:Port Scheduler Flags\n",
                "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
            ),
            View::Plain => concat!(
                "Prot LocalAddress:Port Scheduler Flags\n",
                "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            ),
        }
    }
}

/// Append one service and its destinations (sorted) in the given view.
pub(super) fn push_service(out: &mut String, svc: &Service, view: View, opts: &ListOptions) {
    let exact = opts.exact;
    match view {
        View::Stats => {
            push_padded_service_name(out, &svc.config);
            push_stats(out, &svc.stats, exact);
        }
        View::Rate => {
            push_padded_service_name(out, &svc.config);
            let r = &svc.rates;
            for v in [r.cps, r.inpps, r.outpps, r.inbps, r.outbps] {
                push_counter(out, v, exact);
            }
        }
        _ => {
            push_service_name(out, &svc.config);
            out.push(' ');
            out.push_str(&svc.config.scheduler);
            push_service_flags(out, &svc.config);
        }
    }
    out.push('\n');

    let family = svc.config.key.family();
    let dests: Vec<&Dest> = if opts.nosort {
        svc.dests.iter().collect()
    } else {
        super::order::dests(&svc.dests)
    };
    let mut dname = String::with_capacity(64);
    for dest in dests {
        dname.clear();
        push_addr_port(&mut dname, dest.config.key.addr, dest.config.key.port);
        if family == Family::Inet {
            // ipvsadm cuts IPv4 names to 28 bytes (only ever reached with
            // resolved host names); IPv6 names overflow the column instead.
            truncate_ascii(&mut dname, 28);
        }
        push_dest(out, &dname, dest, view, exact);
    }
}

fn push_dest(out: &mut String, dname: &str, dest: &Dest, view: View, exact: bool) {
    let cfg = &dest.config;
    out.push_str("  -> ");
    match view {
        View::Stats => {
            push_left(out, dname, 28);
            push_stats(out, &dest.stats, exact);
        }
        View::Rate => {
            // ipvsadm prints the destination's cps and pps with a plain
            // `%8llu`, and only the byte rates through the K/M/G printer.
            let r = &dest.rates;
            push_left(out, dname, 28);
            for v in [r.cps, r.inpps, r.outpps] {
                out.push(' ');
                push_u64_right(out, v, 8);
            }
            push_counter(out, r.inbps, exact);
            push_counter(out, r.outbps, exact);
        }
        View::Thresholds => {
            push_left(out, dname, 28);
            for v in [
                cfg.upper_threshold,
                cfg.lower_threshold,
                dest.active,
                dest.inactive,
            ] {
                out.push(' ');
                push_u64_left(out, u64::from(v), 10);
            }
        }
        View::PersistentConn => {
            push_left(out, dname, 28);
            out.push(' ');
            // `%u` of the kernel's signed weight.
            push_u64_left(out, u64::from(cfg.weight as u32), 9);
            out.push(' ');
            push_u64_left(out, u64::from(dest.persistent), 11);
            out.push(' ');
            push_u64_left(out, u64::from(dest.active), 10);
            out.push(' ');
            push_u64_left(out, u64::from(dest.inactive), 10);
        }
        View::TunInfo => {
            push_left(out, dname, 28);
            out.push(' ');
            push_left(out, forward_name(cfg.forward), 7);
            out.push(' ');
            push_left(out, &tunnel_info(cfg.forward, &cfg.tunnel), 13);
            push_weight_and_conns(out, dest);
        }
        View::Plain => {
            push_left(out, dname, 28);
            out.push(' ');
            push_left(out, forward_name(cfg.forward), 7);
            push_weight_and_conns(out, dest);
        }
    }
    out.push('\n');
}

/// ` %-6d %-10u %-10u`: weight, ActiveConn, InActConn.
fn push_weight_and_conns(out: &mut String, dest: &Dest) {
    out.push(' ');
    push_i64_left(out, i64::from(dest.config.weight), 6);
    out.push(' ');
    push_u64_left(out, u64::from(dest.active), 10);
    out.push(' ');
    push_u64_left(out, u64::from(dest.inactive), 10);
}

/// The service name left-aligned in 33 columns (`%-33s`).
fn push_padded_service_name(out: &mut String, cfg: &ServiceConfig) {
    let start = out.len();
    push_service_name(out, cfg);
    let used = out.len() - start;
    push_left(out, "", 33usize.saturating_sub(used));
}

/// [`service_name`] appended to `out` without allocating.
fn push_service_name(out: &mut String, cfg: &ServiceConfig) {
    match cfg.key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => {
            let start = out.len();
            push_left(out, protocol.as_str(), 4);
            out.push(' ');
            push_addr_port(out, addr, port);
            if addr.is_ipv4() && out.len() - start > 33 {
                out.truncate(start + 33);
            }
        }
        _ => out.push_str(&service_name(cfg)),
    }
}

fn push_stats(out: &mut String, s: &crate::ipvs::model::Stats, exact: bool) {
    for v in [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes] {
        push_counter(out, v, exact);
    }
}

/// ` (flags) persistent N mask M pe NAME ops` after the scheduler name.
fn push_service_flags(out: &mut String, cfg: &ServiceConfig) {
    if cfg.flags.sched_bits() != 0 {
        out.push_str(" (");
        out.push_str(&sched_flag_names(&cfg.scheduler, cfg.flags));
        out.push(')');
    }
    if cfg.flags.persistent() {
        let _ = write!(out, " persistent {}", cfg.timeout);
        if let Some(mask) = mask_text(cfg) {
            let _ = write!(out, " mask {mask}");
        }
        if let Some(pe) = &cfg.pe_name {
            let _ = write!(out, " pe {pe}");
        }
    }
    if cfg.flags.one_packet() {
        out.push_str(" ops");
    }
}

/// The persistence mask when it is not the family's default (/32, /128):
/// dotted quad for IPv4, prefix length for IPv6.
fn mask_text(cfg: &ServiceConfig) -> Option<String> {
    match cfg.key.family() {
        Family::Inet if cfg.netmask != 0xffff_ffff => Some(Ipv4Addr::from(cfg.netmask).to_string()),
        Family::Inet6 if cfg.netmask != 128 => Some(cfg.netmask.to_string()),
        _ => None,
    }
}

/// The scheduler flags by name, comma-separated: `sh` and `mh` name their
/// first two flags (and leave the third unnamed), every other scheduler
/// shows `flag-1..3`.
pub(super) fn sched_flag_names(scheduler: &str, flags: ServiceFlags) -> String {
    let names: [Option<&str>; 3] = match scheduler {
        "sh" => [Some("sh-fallback"), Some("sh-port"), None],
        "mh" => [Some("mh-fallback"), Some("mh-port"), None],
        _ => [Some("flag-1"), Some("flag-2"), Some("flag-3")],
    };
    let bits = [
        ServiceFlags::SCHED1,
        ServiceFlags::SCHED2,
        ServiceFlags::SCHED3,
    ];
    let mut text = String::new();
    for (bit, name) in bits.iter().zip(names) {
        if let (true, Some(name)) = (flags.has(*bit), name) {
            if !text.is_empty() {
                text.push(',');
            }
            text.push_str(name);
        }
    }
    text
}

/// `TCP  10.0.0.1:80`, `SCTP [2001:db8::1]:80`, `FWM  7`, `FWM  7 IPv6`.
pub(super) fn service_name(cfg: &ServiceConfig) -> String {
    match cfg.key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => {
            let mut name = format!("{:<4} {}", protocol.as_str(), addr_port(addr, port));
            if addr.is_ipv4() {
                truncate_ascii(&mut name, 33);
            }
            name
        }
        // ipvsadm prints the mark with `%d`.
        ServiceKey::Fwmark { family, mark } => match family {
            Family::Inet => format!("FWM  {}", mark as i32),
            Family::Inet6 => format!("FWM  {} IPv6", mark as i32),
        },
    }
}

/// `-A` line of `-S`.
pub(super) fn push_rule_service(out: &mut String, cfg: &ServiceConfig) {
    let _ = write!(out, "-A {} -s {}", rule_service_name(cfg), cfg.scheduler);
    if cfg.flags.persistent() {
        let _ = write!(out, " -p {}", cfg.timeout);
        if let Some(mask) = mask_text(cfg) {
            let _ = write!(out, " -M {mask}");
        }
    }
    if let Some(pe) = &cfg.pe_name {
        let _ = write!(out, " --pe {pe}");
    }
    if cfg.flags.one_packet() {
        out.push_str(" -o");
    }
    if cfg.flags.sched_bits() != 0 {
        out.push_str(" -b ");
        out.push_str(&sched_flag_names(&cfg.scheduler, cfg.flags));
    }
    out.push('\n');
}

/// `-a` line of `-S`. ipvsadm does not save thresholds.
pub(super) fn push_rule_dest(out: &mut String, svc: &ServiceConfig, dest: &Dest) {
    let cfg = &dest.config;
    let _ = write!(
        out,
        "-a {} -r {} {} -w {}",
        rule_service_name(svc),
        addr_port(cfg.key.addr, cfg.key.port),
        forward_switch(cfg.forward),
        cfg.weight
    );
    if cfg.forward == Forward::Tunnel {
        let t = &cfg.tunnel;
        let _ = match t.kind {
            TunnelType::Ipip => write!(out, " --tun-type ipip"),
            TunnelType::Gue => write!(
                out,
                " --tun-type gue --tun-port {} --tun-{}",
                t.port,
                tunnel_csum_option(t.flags)
            ),
            TunnelType::Gre => write!(out, " --tun-type gre --tun-{}", tunnel_csum_option(t.flags)),
        };
    }
    out.push('\n');
}

fn rule_service_name(cfg: &ServiceConfig) -> String {
    service_switch(cfg.key)
}

/// How ipvsadm names a service on its command line: `-t 10.0.0.1:80`,
/// `--sctp-service [::1]:80`, `-f 7`, `-f 7 -6`.
pub fn service_switch(key: ServiceKey) -> String {
    match key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => {
            let flag = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
            };
            format!("{flag} {}", addr_port(addr, port))
        }
        ServiceKey::Fwmark { family, mark } => match family {
            Family::Inet => format!("-f {}", mark as i32),
            Family::Inet6 => format!("-f {} -6", mark as i32),
        },
    }
}

fn forward_name(forward: Forward) -> &'static str {
    forward.ipvsadm_name()
}

/// The `-S` switch of a forwarding method; a local node saves as `-g`.
fn forward_switch(forward: Forward) -> &'static str {
    match forward {
        Forward::Masq => "-m",
        Forward::Tunnel => "-i",
        Forward::Local | Forward::Route => "-g",
        // ipvsadm has no switch for it and prints a NULL string.
        Forward::Bypass => "(null)",
    }
}

/// The `TunnelInfo` column: `ipip`, `gue:PORT:CSUM`, `gre:CSUM`, or `n/a`
/// for anything but a tunnel.
fn tunnel_info(forward: Forward, t: &TunnelConfig) -> String {
    if forward != Forward::Tunnel {
        return "n/a".to_owned();
    }
    match t.kind {
        TunnelType::Ipip => "ipip".to_owned(),
        TunnelType::Gue => format!("gue:{}:{}", t.port, tunnel_csum_name(t.flags)),
        TunnelType::Gre => format!("gre:{}", tunnel_csum_name(t.flags)),
    }
}

/// The checksum mode in the `TunnelInfo` column.
fn tunnel_csum_name(flags: u16) -> &'static str {
    if flags & TunnelConfig::FLAG_REMCSUM != 0 {
        "r+c"
    } else if flags & TunnelConfig::FLAG_CSUM != 0 {
        "+c"
    } else {
        "-c"
    }
}

/// The checksum mode as `-S` writes it (`--tun-<mode>`).
fn tunnel_csum_option(flags: u16) -> &'static str {
    if flags & TunnelConfig::FLAG_REMCSUM != 0 {
        "remcsum"
    } else if flags & TunnelConfig::FLAG_CSUM != 0 {
        "csum"
    } else {
        "nocsum"
    }
}

/// `a.b.c.d:port` or `[v6]:port`, with IPv6 written as glibc's
/// `inet_ntop` writes it.
pub(super) fn addr_port(addr: IpAddr, port: u16) -> String {
    let mut s = String::with_capacity(24);
    push_addr_port(&mut s, addr, port);
    s
}

/// IPv6 text as glibc prints it. Rust agrees with glibc (RFC 5952
/// compression, `::ffff:a.b.c.d`) except for IPv4-compatible addresses
/// (`::a.b.c.d`), which glibc still writes with a dotted quad.
pub(super) fn ipv6_text(v6: Ipv6Addr) -> String {
    let seg = v6.segments();
    if seg[..6].iter().all(|&s| s == 0) && seg[6] != 0 {
        let [.., a, b, c, d] = v6.octets();
        return format!("::{a}.{b}.{c}.{d}");
    }
    v6.to_string()
}

fn truncate_ascii(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}
