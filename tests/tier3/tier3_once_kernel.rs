#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real-kernel tier: `lvstop --once` against the real `ipvsadm` on the same
//! kernel state, byte for byte, for every listing option; and `lvstop
//! daemon --dataplane kernel` programming IPVS from a keepalived.conf,
//! leaving a foreign service alone and removing its own on SIGTERM.
//!
//! One VM boot runs a script of the test's own making; outputs land in a
//! host directory and are compared here.

use crate::support;

use std::path::Path;

const LVSTOP: &str = env!("CARGO_BIN_EXE_lvstop");

/// A table with every shape ipvsadm prints differently, plus live UDP
/// connections and a persistence template (long timeouts, so nothing
/// expires between the two reads).
const TABLE: &[&str] = &[
    "ipvsadm -A -t 198.51.100.10:80 -s wrr -p 60 -M 255.255.255.0",
    "ipvsadm -a -t 198.51.100.10:80 -r 198.51.100.11:80 -g -w 3",
    "ipvsadm -a -t 198.51.100.10:80 -r 198.51.100.12:80 -g -w 0 -x 100 -y 50",
    "ipvsadm -A -t [2001:db8::10]:443 -s mh -b mh-fallback,mh-port",
    "ipvsadm -a -t [2001:db8::10]:443 -r [2001:db8::11]:443 -m -w 2",
    "ipvsadm -A -f 7 -s sh -b sh-port",
    "ipvsadm -a -f 7 -r 198.51.100.21:0 -i --tun-type gue --tun-port 6080 --tun-nocsum",
    "ipvsadm -A -u 198.51.100.30:53 -s rr -o",
    "ipvsadm -a -u 198.51.100.30:53 -r 198.51.100.31:53 -m",
    "ipvsadm -A -u 198.51.100.100:5353 -s rr -p 120",
    "ipvsadm -a -u 198.51.100.100:5353 -r 127.0.0.1:5354 -m",
    "ipvsadm -A -u 198.51.100.100:5355 -s rr",
    "ipvsadm -a -u 198.51.100.100:5355 -r 127.0.0.1:5356 -m",
    "ipvsadm --set 900 120 600",
    "ip link add lvsdummy0 type dummy && ip link set lvsdummy0 up multicast on",
    "ipvsadm --start-daemon master --mcast-interface lvsdummy0 --syncid 5",
];

/// (file stem, ipvsadm arguments, lvstop --once arguments)
const VARIANTS: &[(&str, &str, &str)] = &[
    ("Ln", "-Ln", "-Ln"),
    ("stats", "-Ln --stats", "-Ln --stats"),
    ("rate", "-Ln --rate", "-Ln --rate"),
    ("stats-exact", "-Ln --stats --exact", "-Ln --stats --exact"),
    ("rate-exact", "-Ln --rate --exact", "-Ln --rate --exact"),
    ("thresholds", "-Ln --thresholds", "-Ln --thresholds"),
    (
        "persistent",
        "-Ln --persistent-conn",
        "-Ln --persistent-conn",
    ),
    ("tun", "-Ln --tun-info", "-Ln --tun-info"),
    ("save", "-Sn", "-S -n"),
    ("timeout", "-L --timeout", "--timeout"),
    ("syncd", "-L --daemon", "--daemon"),
];

const DAEMON_CONFIG: &str = "\
global_defs {
    lvs_timeouts tcp 7200 udp 90
    lvs_sync_daemon lvsdummy0 id 9
}
virtual_server 198.51.100.50 80 {
    lb_algo wrr
    lb_kind DR
    persistence_timeout 60
    protocol TCP
    real_server 198.51.100.51 80 {
        weight 3
    }
    real_server 198.51.100.52 80 {
        weight 1
    }
}
";

fn script(out: &Path) -> String {
    let o = out.display();
    let mut lines = vec![
        "set -e".to_string(),
        "modprobe ip_vs".into(),
        "for s in rr wrr sh mh; do modprobe ip_vs_$s; done".into(),
        "ip link set lo up".into(),
        "ip addr add 198.51.100.100/32 dev lo".into(),
    ];
    lines.extend(TABLE.iter().map(|l| l.to_string()));
    lines.push(
        "python3 -c \"import socket; u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
         u.sendto(b'x', ('198.51.100.100', 5353)); u.sendto(b'x', ('198.51.100.100', 5355))\""
            .into(),
    );
    // The estimator decays the traffic's rates every 2 s; let them reach
    // zero so a slow read cannot straddle two ticks. Timers still tick:
    // each lvstop read is bracketed by two ipvsadm reads and must equal
    // one of them.
    lines.push("sleep 16".into());
    for (stem, ipvsadm, once) in VARIANTS {
        lines.push(format!("ipvsadm {ipvsadm} > {o}/{stem}.before"));
        lines.push(format!(
            "{LVSTOP} --once {once} --source kernel > {o}/{stem}.lvstop 2> {o}/{stem}.err"
        ));
        lines.push(format!("ipvsadm {ipvsadm} > {o}/{stem}.after"));
    }
    // Connection timers tick every second: bracket lvstop's read.
    lines.push(format!("ipvsadm -Lnc > {o}/conns.before"));
    lines.push(format!(
        "{LVSTOP} --once -c -n --source kernel > {o}/conns.lvstop 2> {o}/conns.err"
    ));
    lines.push(format!("ipvsadm -Lnc > {o}/conns.after"));

    // The daemon on the kernel: a foreign service must survive it.
    lines.push("ipvsadm -C".into());
    lines.push("ipvsadm -A -t 198.51.100.60:443 -s rr".into());
    lines.push("ipvsadm --stop-daemon master".into());
    lines.push(format!("cat > /tmp/k.conf <<'EOF'\n{DAEMON_CONFIG}EOF"));
    lines.push(format!(
        "{LVSTOP} daemon -f /tmp/k.conf --dataplane kernel --socket /tmp/lvstop.sock > {o}/daemon.log 2>&1 &"
    ));
    lines.push("pid=$!".into());
    lines.push("for i in $(seq 200); do [ -S /tmp/lvstop.sock ] && break; sleep 0.1; done".into());
    lines.push(format!("ipvsadm -Ln > {o}/daemon.ipvsadm"));
    lines.push(format!("ipvsadm -L --timeout > {o}/daemon.timeout"));
    lines.push(format!("ipvsadm -L --daemon > {o}/daemon.syncd"));
    lines.push(format!(
        "{LVSTOP} --once -Ln --socket /tmp/lvstop.sock > {o}/daemon.lvstop 2>> {o}/daemon.err"
    ));
    // Someone edits a weight by hand: the daemon reports it, leaves it.
    lines.push("ipvsadm -e -t 198.51.100.50:80 -r 198.51.100.51:80 -g -w 7".into());
    lines.push("sleep 7".into());
    lines.push(format!("ipvsadm -Ln > {o}/drifted.ipvsadm"));
    lines.push("kill -TERM $pid; wait $pid || echo \"daemon exit $?\" >> /dev/null".into());
    lines.push(format!("ipvsadm -Ln > {o}/after-stop.ipvsadm"));
    lines.push(format!("ipvsadm -L --daemon > {o}/after-stop.syncd"));
    // Again with --keep-ipvs-on-exit: its service stays after SIGTERM.
    lines.push(format!(
        "{LVSTOP} daemon -f /tmp/k.conf --dataplane kernel --socket /tmp/lvstop.sock --keep-ipvs-on-exit > {o}/daemon-keep.log 2>&1 &"
    ));
    lines.push("pid=$!".into());
    lines.push("for i in $(seq 200); do [ -S /tmp/lvstop.sock ] && break; sleep 0.1; done".into());
    lines.push("kill -TERM $pid; wait $pid || true".into());
    lines.push(format!("ipvsadm -Ln > {o}/after-keep.ipvsadm"));
    lines.push(format!("echo done > {o}/done"));
    lines.join("\n") + "\n"
}

/// `-c` lines differ only in the expire column while the timers tick:
/// everything else must be byte-identical, each expire time between the
/// two ipvsadm reads, and the expire field as wide as ipvsadm's.
fn check_connections(lvstop: &str, before: &str, after: &str) {
    let split = |line: &str| -> (String, String) {
        let (head, rest) = line.split_at(4.min(line.len()));
        let expire: String = rest.chars().take(5).collect();
        (format!("{head}{}", &rest[expire.len()..]), expire)
    };
    let seconds = |expire: &str| -> u32 {
        let (m, s) = expire.split_once(':').unwrap();
        m.trim().parse::<u32>().unwrap() * 60 + s.parse::<u32>().unwrap()
    };
    let (ours, theirs_before, theirs_after): (Vec<&str>, Vec<&str>, Vec<&str>) = (
        lvstop.lines().collect(),
        before.lines().collect(),
        after.lines().collect(),
    );
    assert_eq!(
        ours.len(),
        theirs_before.len(),
        "{lvstop}\nipvsadm:\n{before}"
    );
    assert!(ours.len() >= 4, "expected live entries:\n{lvstop}");
    assert_eq!(ours[..2], theirs_before[..2], "titles differ:\n{lvstop}");
    for ((line, b), a) in ours.iter().zip(&theirs_before).zip(&theirs_after).skip(2) {
        let ((rest, expire), (rest_b, expire_b), (_, expire_a)) = (split(line), split(b), split(a));
        assert_eq!(rest, rest_b, "connection line differs:\n{line}\n{b}");
        let (t, tb, ta) = (seconds(&expire), seconds(&expire_b), seconds(&expire_a));
        // A template whose timer ran out while it still controls
        // connections is re-armed, so the count may restart in between.
        let restarted = ta > tb && (t <= tb || t >= ta);
        assert!(
            (ta <= t && t <= tb) || restarted,
            "expire {expire} outside {expire_a}..{expire_b}: {line}"
        );
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn once_matches_ipvsadm_byte_for_byte_and_the_daemon_programs_the_kernel() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "once_matches_ipvsadm_byte_for_byte_and_the_daemon_programs_the_kernel",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let script_path = out.join("guest.sh");
    std::fs::write(&script_path, script(out)).unwrap();
    let run = support::vm::run(&format!("sh {}", script_path.display()), Some(out));
    assert!(
        out.join("done").exists(),
        "the guest script did not finish: {}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );

    for (stem, ipvsadm, once) in VARIANTS {
        let before = read(out, &format!("{stem}.before"));
        let after = read(out, &format!("{stem}.after"));
        let got = read(out, &format!("{stem}.lvstop"));
        assert!(!before.is_empty(), "ipvsadm {ipvsadm} printed nothing");
        assert!(
            got == before || got == after,
            "lvstop --once {once} differs from ipvsadm {ipvsadm}:\n{got}\nipvsadm:\n{before}\nstderr: {}",
            read(out, &format!("{stem}.err"))
        );
    }
    check_connections(
        &read(out, "conns.lvstop"),
        &read(out, "conns.before"),
        &read(out, "conns.after"),
    );

    let log = read(out, "daemon.log");
    assert!(log.contains("dataplane: kernel IPVS"), "{log}");
    let programmed = read(out, "daemon.ipvsadm");
    assert!(
        programmed.contains("TCP  198.51.100.50:80 wrr persistent 60"),
        "{programmed}"
    );
    let dest_line = format!("  -> {:<28} {:<7} {:<6} ", "198.51.100.51:80", "Route", 3);
    assert!(programmed.contains(&dest_line), "{programmed}");
    assert!(
        programmed.contains("TCP  198.51.100.60:443 rr"),
        "{programmed}"
    );
    assert_eq!(
        read(out, "daemon.lvstop"),
        programmed,
        "--once through the daemon differs from ipvsadm"
    );
    assert!(
        log.contains("drift: real server 198.51.100.51:80 of TCP 198.51.100.50:80 was edited (configured: Route weight 3"),
        "{log}"
    );
    let drifted = read(out, "drifted.ipvsadm");
    let drifted_line = format!("  -> {:<28} {:<7} {:<6} ", "198.51.100.51:80", "Route", 7);
    assert!(
        drifted.contains(&drifted_line),
        "the daemon fought the hand edit: {drifted}"
    );
    // lvs_timeouts: tcpfin left out stays at the 120 the setup set.
    assert_eq!(
        read(out, "daemon.timeout"),
        "Timeout (tcp tcpfin udp): 7200 120 90\n",
        "{log}"
    );
    // lvs_sync_daemon without an instance: the master role; stopped on exit.
    let syncd = read(out, "daemon.syncd");
    assert!(
        syncd.contains("master sync daemon (mcast=lvsdummy0, syncid=9"),
        "{syncd}\n{log}"
    );
    assert!(
        !read(out, "after-stop.syncd").contains("syncid=9"),
        "the sync daemon outlived the director"
    );
    let after = read(out, "after-stop.ipvsadm");
    assert!(
        !after.contains("198.51.100.50:80"),
        "the daemon left its service: {after}"
    );
    assert!(
        after.contains("198.51.100.60:443"),
        "the daemon removed a foreign service: {after}"
    );
    let kept = read(out, "after-keep.ipvsadm");
    assert!(
        kept.contains("TCP  198.51.100.50:80 wrr persistent 60"),
        "--keep-ipvs-on-exit removed the service: {kept}\n{}",
        std::fs::read_to_string(out.join("daemon-keep.log")).unwrap_or_default()
    );
}
