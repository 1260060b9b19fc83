//! Configurations composed from keepalived's grammar: global_defs, scripts,
//! VRRP instances and sync groups, virtual servers with every checker, each
//! option drawn with good and bad values, wrapped now and then in the
//! preprocessor's constructs (multiline `$NAME` definitions, `@` conditionals,
//! `~SEQ`, includes).

use super::rng::Rng;
use super::Fixtures;

/// Values a number-taking keyword is tried with, good and bad.
const NUMBERS: &[&str] = &[
    "1",
    "2",
    "3",
    "5",
    "10",
    "60",
    "100",
    "150",
    "255",
    "0",
    "-1",
    "256",
    "65535",
    "65536",
    "4294967296",
    "abc",
    "1.5",
    "0x10",
    "",
    "3s",
];
const ADDRESSES: &[&str] = &[
    "198.51.100.1",
    "198.51.100.88",
    "198.51.100.89/24",
    "2001:db8::1",
    "fe80::1",
    "300.1.1.1",
    "198.51.100",
    "host.invalid",
    "",
];
const BOOLS: &[&str] = &[
    "", "true", "false", "on", "off", "yes", "no", "0", "1", "2", "maybe",
];
const INTERFACES: &[&str] = &["eth0", "eth0", "eth0", "lo", "nosuch0"];
const USERS: &[&str] = &[
    "root",
    "nobody",
    "nosuchuser",
    "root root",
    "nobody nogroup",
    "root nosuchgroup",
];

/// One of `items`, as a `&'static str`.
fn pick_str(rng: &mut Rng, items: &[&'static str]) -> &'static str {
    items[rng.below(items.len())]
}

fn num(rng: &mut Rng) -> &'static str {
    if rng.chance(75) {
        pick_str(rng, &NUMBERS[..7])
    } else {
        pick_str(rng, NUMBERS)
    }
}

fn addr(rng: &mut Rng) -> &'static str {
    if rng.chance(80) {
        pick_str(rng, &ADDRESSES[..3])
    } else {
        pick_str(rng, ADDRESSES)
    }
}

fn script(rng: &mut Rng, fx: &Fixtures) -> String {
    let choice = rng.below(9);
    let path = match choice {
        0 => "/bin/true".to_string(),
        1 => "true".to_string(),
        2 => "/nonexistent/check.sh".to_string(),
        3 => fx.executable.clone(),
        4 => fx.world_writable.clone(),
        5 => fx.not_executable.clone(),
        6 => "\"/bin/true arg\"".to_string(),
        7 => "\"/bin/sh -c 'exit 0'\"".to_string(),
        _ => "killall".to_string(),
    };
    if rng.chance(15) {
        format!("{path} {}", rng.pick(USERS))
    } else {
        path
    }
}

fn line(out: &mut String, depth: usize, text: impl AsRef<str>) {
    for _ in 0..depth {
        out.push_str("    ");
    }
    out.push_str(text.as_ref().trim_end());
    out.push('\n');
}

fn global_defs(rng: &mut Rng, fx: &Fixtures, out: &mut String) {
    line(out, 0, "global_defs {");
    let options: Vec<String> = vec![
        "router_id LVS_TEST".into(),
        format!(
            "notification_email_from {}",
            rng.pick(&["lvs@localhost", "", "x"])
        ),
        format!(
            "smtp_server {} {}",
            addr(rng),
            rng.pick(&["", "25", "-1", "70000"])
        ),
        format!("smtp_connect_timeout {}", num(rng)),
        "enable_script_security".into(),
        format!("script_user {}", rng.pick(USERS)),
        format!("vrrp_garp_master_delay {}", num(rng)),
        format!("vrrp_garp_master_repeat {}", num(rng)),
        "vrrp_strict".into(),
        format!("vrrp_version {}", rng.pick(&["2", "3", "4"])),
        format!("vrrp_priority {}", num(rng)),
        format!("checker_priority {}", num(rng)),
        format!("lvs_id {}", rng.pick(&["X", ""])),
        "dynamic_interfaces".into(),
        format!("default_interface {}", rng.pick(INTERFACES)),
        format!("notify_fifo {}", rng.pick(&["/run/lvstop-test.fifo", ""])),
        format!("vrrp_notify_fifo_script {}", script(rng, fx)),
        format!("max_auto_priority {}", num(rng)),
        "vrrp_skip_check_adv_addr".into(),
        format!("vrrp_garp_interval {}", num(rng)),
        format!("vrrp_min_garp {}", rng.pick(BOOLS)),
        format!("lvs_flush {}", rng.pick(BOOLS)),
        format!("unknown_global_keyword {}", num(rng)),
    ];
    for _ in 0..rng.below(5) {
        line(out, 1, rng.pick(&options));
    }
    if rng.chance(40) {
        line(out, 1, "notification_email {");
        line(out, 2, rng.pick(&["ops@example.com", "", "a@b c@d"]));
        line(out, 1, "}");
    }
    line(out, 0, "}");
}

fn vrrp_script(rng: &mut Rng, fx: &Fixtures, name: &str, out: &mut String) {
    line(out, 0, format!("vrrp_script {name} {{"));
    if rng.chance(90) {
        line(out, 1, format!("script {}", script(rng, fx)));
    }
    let options = [
        format!("interval {}", num(rng)),
        format!("timeout {}", num(rng)),
        format!(
            "weight {}",
            rng.pick(&["10", "-10", "0", "254", "-254", "300", "10 reverse", "x"])
        ),
        format!("rise {}", num(rng)),
        format!("fall {}", num(rng)),
        format!("user {}", rng.pick(USERS)),
        "init_fail".into(),
    ];
    for _ in 0..rng.below(4) {
        line(out, 1, rng.pick(&options));
    }
    line(out, 0, "}");
}

fn vrrp_instance(rng: &mut Rng, fx: &Fixtures, name: &str, vrid: &str, out: &mut String) {
    line(out, 0, format!("vrrp_instance {name} {{"));
    if rng.chance(92) {
        line(out, 1, format!("interface {}", rng.pick(INTERFACES)));
    }
    if rng.chance(92) {
        line(out, 1, format!("virtual_router_id {vrid}"));
    }
    let options: Vec<String> = vec![
        format!(
            "state {}",
            rng.pick(&["MASTER", "BACKUP", "MASTER", "FOO", ""])
        ),
        format!("priority {}", num(rng)),
        format!(
            "advert_int {}",
            rng.pick(&["1", "2", "0.5", "0", "abc", "41", ""])
        ),
        "nopreempt".into(),
        format!("preempt_delay {}", num(rng)),
        format!("garp_master_delay {}", num(rng)),
        format!("garp_master_refresh {}", num(rng)),
        format!("version {}", rng.pick(&["2", "3", "1"])),
        "accept".into(),
        "no_accept".into(),
        "strict_mode".into(),
        "dont_track_primary".into(),
        "use_vmac".into(),
        format!(
            "use_vmac {}",
            rng.pick(&["vrrp.51", "averyveryverylongname"])
        ),
        "vmac_xmit_base".into(),
        "native_ipv6".into(),
        format!("unicast_src_ip {}", addr(rng)),
        format!("notify_master {}", script(rng, fx)),
        format!("notify_backup {}", script(rng, fx)),
        format!("notify {}", script(rng, fx)),
        "smtp_alert".into(),
        format!("lvs_sync_daemon_interface {}", rng.pick(INTERFACES)),
        format!("track_file {}", rng.pick(&["tf1", "nosuchfile"])),
        "debug".into(),
        format!("garp_lower_prio_repeat {}", num(rng)),
        format!("mcast_src_ip {}", addr(rng)),
        format!("unknown_instance_keyword {}", num(rng)),
        "priority".into(),
    ];
    for _ in 0..rng.below(6) {
        line(out, 1, rng.pick(&options));
    }
    if rng.chance(50) {
        line(out, 1, "authentication {");
        line(
            out,
            2,
            format!("auth_type {}", rng.pick(&["PASS", "PASS", "AH", "FOO"])),
        );
        line(
            out,
            2,
            format!("auth_pass {}", rng.pick(&["1111", "averylongpassword", ""])),
        );
        line(out, 1, "}");
    }
    if rng.chance(85) {
        line(out, 1, "virtual_ipaddress {");
        for _ in 0..=rng.below(3) {
            let extra = rng.pick(&[
                "",
                "",
                " dev eth0",
                " dev nosuch0",
                " label eth0:1",
                " nodad",
                " no_track",
                " home",
                " preferred_lft 0",
                " scope link",
                " brd 198.51.100.255",
                " bogus_option",
            ]);
            line(out, 2, format!("{}{extra}", addr(rng)));
        }
        line(out, 1, "}");
    }
    if rng.chance(25) {
        line(out, 1, "track_interface {");
        line(
            out,
            2,
            format!(
                "{} {}",
                rng.pick(INTERFACES),
                rng.pick(&["", "weight 10", "weight 300"])
            ),
        );
        line(out, 1, "}");
    }
    if rng.chance(30) {
        line(out, 1, "track_script {");
        line(
            out,
            2,
            rng.pick(&["chk_a", "chk_b", "chk_missing", "chk_a weight 5"]),
        );
        line(out, 1, "}");
    }
    if rng.chance(15) {
        line(out, 1, "unicast_peer {");
        line(out, 2, addr(rng));
        line(out, 1, "}");
    }
    if rng.chance(8) {
        let block = rng.pick(&[
            "virtual_routes",
            "virtual_rules",
            "virtual_ipaddress_excluded",
        ]);
        line(out, 1, format!("{block} {{"));
        line(
            out,
            2,
            rng.pick(&[
                "198.51.100.0/24 dev eth0",
                "from 198.51.100.1 table 100",
                "198.51.100.7",
            ]),
        );
        line(out, 1, "}");
    }
    line(out, 0, "}");
}

// Each arm draws its own options; a guard would hide the draw in the pattern.
#[allow(clippy::collapsible_match)]
fn checker(rng: &mut Rng, fx: &Fixtures, out: &mut String) {
    let kind = rng.pick(&[
        "TCP_CHECK",
        "HTTP_GET",
        "SSL_GET",
        "MISC_CHECK",
        "SMTP_CHECK",
        "DNS_CHECK",
        "UDP_CHECK",
        "PING_CHECK",
        "FILE_CHECK",
        "BFD_CHECK",
        "FOO_CHECK",
    ]);
    line(out, 2, format!("{kind} {{"));
    let common: Vec<String> = vec![
        format!("connect_timeout {}", num(rng)),
        format!("connect_port {}", num(rng)),
        format!("connect_ip {}", addr(rng)),
        format!("retry {}", num(rng)),
        format!("nb_get_retry {}", num(rng)),
        format!("delay_before_retry {}", num(rng)),
        format!("delay_loop {}", num(rng)),
        format!("alpha {}", rng.pick(BOOLS)),
        format!("fwmark {}", num(rng)),
        format!("warmup {}", num(rng)),
        format!("bindto {}", addr(rng)),
    ];
    for _ in 0..rng.below(3) {
        line(out, 3, rng.pick(&common));
    }
    match *kind {
        "HTTP_GET" | "SSL_GET" => {
            if rng.chance(85) {
                line(out, 3, "url {");
                line(
                    out,
                    4,
                    rng.pick(&["path /", "path /index.html", "path", "path relative"]),
                );
                if rng.chance(50) {
                    line(
                        out,
                        4,
                        format!(
                            "digest {}",
                            rng.pick(&["9b3a0c85a887a256d6939da88aabd8cd", "abc", "ZZZ", ""])
                        ),
                    );
                }
                if rng.chance(40) {
                    line(
                        out,
                        4,
                        format!(
                            "status_code {}",
                            rng.pick(&["200", "200-299", "99", "600", "x"])
                        ),
                    );
                }
                line(out, 3, "}");
            }
        }
        "MISC_CHECK" => {
            if rng.chance(90) {
                line(out, 3, format!("misc_path {}", script(rng, fx)));
            }
            if rng.chance(30) {
                line(out, 3, format!("misc_timeout {}", num(rng)));
            }
            if rng.chance(20) {
                line(out, 3, "misc_dynamic");
            }
        }
        "SMTP_CHECK" => {
            if rng.chance(50) {
                line(
                    out,
                    3,
                    format!("helo_name {}", rng.pick(&["lvs.example", ""])),
                );
            }
        }
        "DNS_CHECK" => {
            line(
                out,
                3,
                format!("type {}", rng.pick(&["A", "AAAA", "MX", "FOO"])),
            );
            line(out, 3, format!("name {}", rng.pick(&["example.com", ""])));
        }
        "UDP_CHECK" => {
            if rng.chance(40) {
                line(out, 3, format!("payload {}", rng.pick(&["00ff", "zz", ""])));
            }
        }
        "FILE_CHECK" => {
            line(
                out,
                3,
                format!("track_file {}", rng.pick(&["tf1", "nosuchfile"])),
            );
        }
        _ => {}
    }
    line(out, 2, "}");
}

fn virtual_server(rng: &mut Rng, fx: &Fixtures, out: &mut String) {
    let head = rng.pick(&[
        "198.51.100.88 80",
        "198.51.100.88 80",
        "198.51.100.89 443",
        "fwmark 1",
        "group vsg1",
        "2001:db8::88 80",
        "198.51.100.88",
        "300.1.1.1 80",
    ]);
    line(out, 0, format!("virtual_server {head} {{"));
    let options: Vec<String> = vec![
        format!("delay_loop {}", num(rng)),
        format!(
            "lb_algo {}",
            rng.pick(&["rr", "wrr", "lc", "wlc", "sh", "mh", "lblc", "fo", "ovf", "foo"])
        ),
        format!("lvs_sched {}", rng.pick(&["rr", "foo"])),
        format!("lb_kind {}", rng.pick(&["DR", "NAT", "TUN", "FOO"])),
        format!("protocol {}", rng.pick(&["TCP", "UDP", "SCTP", "ICMP"])),
        format!("persistence_timeout {}", num(rng)),
        format!(
            "persistence_granularity {}",
            rng.pick(&["255.255.255.0", "24", "abc", "ffff::"])
        ),
        format!("sorry_server {} {}", addr(rng), rng.pick(&["80", "", "x"])),
        format!("quorum {}", num(rng)),
        format!("hysteresis {}", num(rng)),
        format!("quorum_up {}", script(rng, fx)),
        format!("quorum_down {}", script(rng, fx)),
        format!("alpha {}", rng.pick(BOOLS)),
        format!("omega {}", rng.pick(BOOLS)),
        format!("virtualhost {}", rng.pick(&["www.example.com", ""])),
        "ha_suspend".into(),
        "ops".into(),
        "inhibit_on_failure".into(),
        format!("retry {}", num(rng)),
        format!("delay_before_retry {}", num(rng)),
        format!("sh-port {}", rng.pick(BOOLS)),
        "one_packet_scheduling".into(),
        format!("unknown_vs_keyword {}", num(rng)),
    ];
    for _ in 0..rng.below(6) {
        line(out, 1, rng.pick(&options));
    }
    for _ in 0..rng.below(4) {
        let port = rng.pick(&["80", "80", "8080", "", "0", "70000"]);
        line(out, 1, format!("real_server {} {port} {{", addr(rng)));
        let rs_options: Vec<String> = vec![
            format!("weight {}", num(rng)),
            "inhibit_on_failure".into(),
            format!("notify_up {}", script(rng, fx)),
            format!("notify_down {}", script(rng, fx)),
            format!("uthreshold {}", num(rng)),
            format!("lthreshold {}", num(rng)),
            format!("lb_kind {}", rng.pick(&["DR", "NAT", "FOO"])),
            format!("smtp_alert {}", rng.pick(BOOLS)),
        ];
        for _ in 0..rng.below(3) {
            line(out, 2, rng.pick(&rs_options));
        }
        for _ in 0..rng.below(3) {
            checker(rng, fx, out);
        }
        line(out, 1, "}");
    }
    line(out, 0, "}");
}

fn vs_group(rng: &mut Rng, out: &mut String) {
    line(out, 0, "virtual_server_group vsg1 {");
    for _ in 0..=rng.below(3) {
        line(
            out,
            1,
            rng.pick(&[
                "198.51.100.88 80",
                "198.51.100.1-10 80",
                "fwmark 1",
                "198.51.100.90",
                "2001:db8::1 80",
                "300.1.1.1 80",
            ]),
        );
    }
    line(out, 0, "}");
}

fn sync_group(rng: &mut Rng, fx: &Fixtures, out: &mut String) {
    line(out, 0, "vrrp_sync_group SG1 {");
    line(out, 1, "group {");
    for _ in 0..=rng.below(3) {
        line(out, 2, rng.pick(&["VI_1", "VI_2", "VI_9"]));
    }
    line(out, 1, "}");
    if rng.chance(40) {
        line(out, 1, format!("notify_master {}", script(rng, fx)));
    }
    if rng.chance(20) {
        line(out, 1, "smtp_alert");
    }
    line(out, 0, "}");
}

/// Writes one composed configuration; `include` is the path of a second
/// file the caller writes with [`include_body`].
pub fn compose(rng: &mut Rng, fx: &Fixtures, include: &str) -> (String, Option<String>) {
    let mut body = String::new();
    if rng.chance(70) {
        global_defs(rng, fx, &mut body);
    }
    for name in ["chk_a", "chk_b"] {
        if rng.chance(25) {
            vrrp_script(rng, fx, name, &mut body);
        }
    }
    let vrids = ["51", "51", "52", "0", "256", "abc", ""];
    for name in ["VI_1", "VI_2"] {
        if rng.chance(if name == "VI_1" { 75 } else { 35 }) {
            let vrid = rng.pick(&vrids).to_string();
            vrrp_instance(rng, fx, name, &vrid, &mut body);
        }
    }
    if rng.chance(15) {
        sync_group(rng, fx, &mut body);
    }
    if rng.chance(15) {
        vs_group(rng, &mut body);
    }
    for _ in 0..rng.below(3) {
        virtual_server(rng, fx, &mut body);
    }
    let mut included = None;
    if rng.chance(15) {
        let mut other = String::new();
        if rng.chance(50) {
            virtual_server(rng, fx, &mut other);
        } else {
            vrrp_instance(rng, fx, "VI_3", "53", &mut other);
        }
        body.push_str(&format!("include {include}\n"));
        included = Some(other);
    }
    (super::preprocess::wrap(rng, body), included)
}
