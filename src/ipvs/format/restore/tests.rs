//! Restore-syntax parsing: defaults, ipvsadm's port rules, errors.

use super::*;

fn one(line: &str) -> RestoreCommand {
    parse_line(line)
        .unwrap_or_else(|e| panic!("{line}: {e}"))
        .unwrap_or_else(|| panic!("{line}: no command"))
}

#[test]
fn service_defaults_follow_ipvsadm() {
    let RestoreCommand::AddService(cfg) = one("-A -t 10.0.0.1:80") else {
        panic!("not -A")
    };
    assert_eq!(cfg.scheduler, "wlc");
    assert!(!cfg.flags.persistent());
    assert_eq!(cfg.netmask, 0xffff_ffff);
    let RestoreCommand::AddService(cfg) = one("ipvsadm -A -u [2001:db8::1]:53 -s rr -p") else {
        panic!("not -A")
    };
    assert!(cfg.flags.persistent());
    assert_eq!(cfg.timeout, DEFAULT_PERSISTENCE_TIMEOUT);
    assert_eq!(cfg.netmask, 128);
}

#[test]
fn masks_flags_pe_and_ops() {
    let RestoreCommand::AddService(cfg) =
        one("-A -u 10.0.0.1:5060 -s sh -p 60 -M 255.255.255.0 --pe sip -o -b sh-fallback,sh-port")
    else {
        panic!("not -A")
    };
    assert_eq!(cfg.netmask, 0xffff_ff00);
    assert_eq!(cfg.pe_name.as_deref(), Some("sip"));
    assert!(cfg.flags.one_packet());
    assert_eq!(
        cfg.flags.sched_bits(),
        ServiceFlags::SCHED1 | ServiceFlags::SCHED2
    );
    assert!(parse_line("-A -t 10.0.0.1:80 -s rr -b sh-port")
        .unwrap_err()
        .to_string()
        .contains("incompatible scheduler flag 'sh-port'"));
}

#[test]
fn direct_routing_and_tunnels_keep_the_service_port() {
    let RestoreCommand::AddDest(_, d) = one("-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g") else {
        panic!("not -a")
    };
    assert_eq!(d.key.port, 80);
    let RestoreCommand::AddDest(_, d) = one("-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 0") else {
        panic!("not -a")
    };
    assert_eq!((d.key.port, d.forward, d.weight), (8080, Forward::Masq, 0));
    let RestoreCommand::AddDest(_, d) = one("-a -t 10.0.0.1:80 -r 10.0.0.2") else {
        panic!("not -a")
    };
    assert_eq!((d.key.port, d.forward, d.weight), (80, Forward::Route, 1));
    // Firewall-mark services have no port to force.
    let RestoreCommand::AddDest(key, d) = one("-a -f 7 -6 -r 2001:db8::2 -g") else {
        panic!("not -a")
    };
    assert_eq!(key.family(), Family::Inet6);
    assert_eq!(d.key.port, 0);
}

#[test]
fn tunnel_options_need_a_tunnel() {
    let RestoreCommand::AddDest(_, d) =
        one("-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 6080 --tun-remcsum")
    else {
        panic!("not -a")
    };
    assert_eq!(d.tunnel.kind, TunnelType::Gue);
    assert_eq!(d.tunnel.port, 6080);
    assert_eq!(d.tunnel.flags, TunnelConfig::FLAG_REMCSUM);
    assert!(
        parse_line("-a -t 10.0.0.1:80 -r 10.0.0.2 -m --tun-type gue")
            .unwrap_err()
            .to_string()
            .contains("tunnel options")
    );
}

#[test]
fn errors_name_the_line_and_the_word() {
    let err =
        Restored::from_text("# comment\n\n-A -t 10.0.0.1:80\n-A -t 10.0.0.1:http\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 4: '10.0.0.1:http' is not a numeric address[:port]"
    );
    let err = Restored::from_text("-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80 -s rr\n").unwrap_err();
    assert_eq!(err.to_string(), "line 2: service already exists");
    let err = Restored::from_text("-a -t 10.0.0.1:80 -r 10.0.0.2\n").unwrap_err();
    assert_eq!(err.to_string(), "line 1: no such service");
    assert!(parse_line("-A -t 10.0.0.1:80 --frobnicate")
        .unwrap_err()
        .to_string()
        .contains("'--frobnicate'"));
}

#[test]
fn replay_keeps_the_kernels_list_order_and_settings() {
    let r = Restored::from_text(concat!(
        "-A -t 10.0.0.1:80 -s rr\n",
        "-a -t 10.0.0.1:80 -r 10.0.0.2 -g\n",
        "-a -t 10.0.0.1:80 -r 10.0.0.3 -g\n",
        "-e -t 10.0.0.1:80 -r 10.0.0.2 -g -w 5\n",
        "--set 0 30 0\n",
        "--start-daemon master --mcast-interface eth1 --syncid 4\n",
    ))
    .unwrap();
    let svc = &r.table.services[0];
    // Newest first, as the kernel links them.
    assert_eq!(svc.dests[0].key().to_string(), "10.0.0.3:80");
    assert_eq!(svc.dests[1].weight(), 5);
    assert_eq!(r.timeouts.tcp_fin, 30);
    assert_eq!(r.timeouts.tcp, 900);
    assert_eq!(r.daemons[0].syncid, 4);
    assert_eq!(r.daemons[0].mcast_ifn, "eth1");
}

#[test]
fn negative_fwmarks_from_save_output_wrap_to_32_bits() {
    let RestoreCommand::AddService(cfg) = one("-A -f -1 -s rr") else {
        panic!("not -A")
    };
    assert_eq!(
        cfg.key,
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark: u32::MAX
        }
    );
    assert!(parse_line("-A -f 0").is_err());
}
