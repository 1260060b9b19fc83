#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real-kernel tier: `lvstop --once` against the real `ipvsadm` on the same
//! kernel state, byte for byte, for every listing option; and `lvstop
//! daemon --dataplane kernel` programming IPVS from a keepalived.conf,
//! leaving a foreign service alone and removing its own on SIGTERM.
//!
//! One VM boot runs a script of the test's own making; outputs land in a
//! host directory and are compared here.

mod support;

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
    // Rates decay every 2 s and timers tick: each lvstop read is
    // bracketed by two ipvsadm reads and must equal one of them.
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
    lines.push(format!("cat > /tmp/k.conf <<'EOF'\n{DAEMON_CONFIG}EOF"));
    lines.push(format!(
        "{LVSTOP} daemon -f /tmp/k.conf --dataplane kernel --socket /tmp/lvstop.sock > {o}/daemon.log 2>&1 &"
    ));
    lines.push("pid=$!".into());
    lines.push("for i in $(seq 200); do [ -S /tmp/lvstop.sock ] && break; sleep 0.1; done".into());
    lines.push(format!("ipvsadm -Ln > {o}/daemon.ipvsadm"));
    lines.push(format!(
        "{LVSTOP} --once -Ln --socket /tmp/lvstop.sock > {o}/daemon.lvstop 2>> {o}/daemon.err"
    ));
    lines.push("kill -TERM $pid; wait $pid || echo \"daemon exit $?\" >> /dev/null".into());
    lines.push(format!("ipvsadm -Ln > {o}/after-stop.ipvsadm"));
    lines.push(format!("echo done > {o}/done"));
    lines.join("\n") + "\n"
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn once_matches_ipvsadm_byte_for_byte_and_the_daemon_programs_the_kernel() {
    if support::skip_unless_privileged(
        "once_matches_ipvsadm_byte_for_byte_and_the_daemon_programs_the_kernel",
    ) {
        return;
    }
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
    let conns = read(out, "conns.lvstop");
    assert!(
        conns == read(out, "conns.before") || conns == read(out, "conns.after"),
        "lvstop --once -c -n matches neither ipvsadm -Lnc read:\n{conns}\nbefore:\n{}\nafter:\n{}",
        read(out, "conns.before"),
        read(out, "conns.after")
    );
    assert!(
        conns.lines().count() >= 4,
        "expected live entries:\n{conns}"
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
    let after = read(out, "after-stop.ipvsadm");
    assert!(
        !after.contains("198.51.100.50:80"),
        "the daemon left its service: {after}"
    );
    assert!(
        after.contains("198.51.100.60:443"),
        "the daemon removed a foreign service: {after}"
    );
}
