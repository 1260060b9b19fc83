#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real-kernel tier: the reference deployment end to end with two
//! directors — lvstop in both roles, then mixed with the real keepalived
//! in both arrangements — on one VM boot (Debian's kernel: real IPVS, DR).
//!
//! The segment (`support::lan`): `lvsd1` (lvs-master, priority 100) and
//! `lvsd2` (lvs-backup, 99) run the reference configuration with only
//! addresses and interface names changed, e-mail alerts to a real SMTP
//! server (aiosmtpd) on `lvsmail`; `lvsrs1`/`lvsrs2` run nginx answering
//! `This is test` and their name, set up by `lvstop realserver start`;
//! eight client hosts `lvscl1`…`lvscl8` each ask the VIP with curl.
//!
//! Each arrangement asserts, from the clients' side, the note's checks:
//! 1. requests spread over both real servers, each client sticky to one
//!    (persistence 60); `lvstop --once` on each director shows the table
//!    with connections and the roles;
//! 2. stopping rs1's web server takes it out of the table, every client is
//!    then served by rs2 and the SMTP server receives `TCP CHECK failed`;
//!    starting it puts it back and the recovery alert arrives;
//! 3. the master crashing (its processes SIGKILLed and its link down, as a
//!    dead host) moves the VIP to the backup and every client is served
//!    again (the time from the crash to each client's first served request
//!    is reported); after the master returns as a rebooted host and takes
//!    the VIP back, a clean stop (SIGTERM) does the same;
//! 4. the VRRP adverts captured on the segment for the whole arrangement
//!    never show two masters (judged by lvstop's own advert tracker).
//!
//! With lvstop in both roles, the console runs in tmux on the master and
//! its screen is printed while the clients' connections show.
//!
//! The host half boots the VM; the in-guest half (this binary inside the
//! guest, `IN_GUEST_OUT` set) drives everything, prints each check as it
//! passes, and writes them to `steps.log`.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lvstop::observe::wire::{Expected, ObservedAdvert, Tracker, WireAlarm};
use lvstop::vrrp::packet::{Advertisement, Auth, Version};
use support::lan::{self, sh, spawn, until, words, Run, MAIL, RS1, RS2, VIP};
use support::tmux::{count, Tmux};

const TEST: &str = "the_reference_deployment_runs_on_two_directors_lvstop_and_keepalived_mixed";
/// Set inside the guest: where the in-guest half writes its results.
const IN_GUEST_OUT: &str = "LVSTOP_SEED_PAIR_OUT";
/// Set inside the guest: the Python that has aiosmtpd (pip may have put it
/// in an interpreter the guest's PATH does not reach, such as pyenv's).
const IN_GUEST_PYTHON: &str = "LVSTOP_SEED_PAIR_PYTHON";
/// The lvstop binary the guest runs: a copy made when the test starts.
const BINARY: &str = "lvstop";
const SMTP_SINK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/notify/smtp_sink.py"
);

/// Waits for the time in the file `argv[1]` (written at the kill), then
/// asks the VIP until it answers; prints the seconds from that time to
/// the first answer and the server's name.
const PROBE: &str = r#"
import os, socket, sys, time
go = sys.argv[1]
while not os.path.exists(go) or os.path.getsize(go) == 0:
    time.sleep(0.02)
t0 = float(open(go).read())
while time.time() - t0 < 90:
    try:
        s = socket.create_connection(("198.51.100.88", 80), timeout=0.5)
        s.settimeout(1)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = s.recv(4096).decode()
        s.close()
        if "This is test" in data:
            print("%.2f %s" % (time.time() - t0, data.split()[-1]))
            sys.exit(0)
    except OSError:
        time.sleep(0.05)
print("never")
"#;

const GLOBAL: &str = "    notification_email {
        ops@example.org
    }
    notification_email_from lvs@localhost
    smtp_server 198.51.100.90
    smtp_connect_timeout 30
";

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Lvstop,
    Keepalived,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Lvstop => "lvstop",
            Kind::Keepalived => "keepalived",
        }
    }
}

/// One director: what runs it and its pid.
struct Director {
    ns: &'static str,
    kind: Kind,
    state: &'static str,
    priority: u8,
    pid: u32,
}

impl Director {
    fn start(&mut self, run: &Run) {
        let config = lan::director_config(self.state, self.priority, GLOBAL);
        self.pid = match self.kind {
            Kind::Lvstop => run.lvstop_daemon(self.ns, &config),
            Kind::Keepalived => run.keepalived(self.ns, &config),
        };
    }

    /// The director crashes: its processes die and its link goes with
    /// them. (A killed process alone leaves the VIP and the IPVS table in
    /// the kernel, still serving: that is no failover to measure.)
    fn crash(&self) {
        // Every process of the host dies (keepalived's checker and VRRP
        // children too), as in a crash of the whole machine.
        sh(&format!(
            "ip netns pids {ns} | xargs -r kill -KILL; ip -n {ns} link set eth0 down",
            ns = self.ns
        ));
        until("the director to die", 30, || !alive(self.pid));
    }

    /// Back from a crash as a rebooted host: a new network stack, with no
    /// VIP, no IPVS table and no persistence templates left.
    fn reboot(&self) {
        lan::reboot(self.ns);
    }

    fn stop(&self) {
        sh(&format!("kill -TERM {}", self.pid));
        until("the director to stop", 60, || !alive(self.pid));
    }

    /// `lvstop --once -n` here: from the daemon, or observing keepalived.
    fn once(&self, run: &Run) -> String {
        match self.kind {
            Kind::Lvstop => run.once(self.ns),
            Kind::Keepalived => sh(&format!(
                "ip netns exec {} {} --once -n --socket /tmp/none.sock",
                self.ns, run.lvstop
            )),
        }
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
}

fn holds_vip(ns: &str) -> bool {
    sh(&format!("ip -n {ns} -o addr show dev eth0")).contains(&format!("{VIP}/"))
}

fn table(ns: &str) -> String {
    sh(&format!("ip netns exec {ns} ipvsadm -Ln"))
}

/// Client `i` asks the VIP once; the server's name, if answered.
fn ask(i: u8) -> Option<String> {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &format!("lvscl{i}"), "curl", "-s"])
        .args(["--max-time", "5", &format!("http://{VIP}/")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.starts_with("This is test")
        .then(|| text.split_whitespace().last().unwrap_or("").to_string())
}

/// The e-mails received so far (headers and body).
fn mails(run: &Run) -> Vec<String> {
    let text = std::fs::read_to_string(run.path("mail.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|record| record["data"].as_str().map(str::to_string))
        .collect()
}

/// How many alerts say rs1's TCP_CHECK went `DOWN` (or `UP`), in
/// keepalived's words: the subject names the real server and virtual
/// server, the body the checker's verdict.
fn rs1_alerts(run: &Run, up: bool) -> usize {
    let (state, verdict) = if up {
        ("- UP", "TCP CHECK succeed")
    } else {
        ("- DOWN", "TCP CHECK failed")
    };
    let (address, port) = RS1.split_once(':').unwrap_or((RS1, "80"));
    let subject =
        format!("Realserver [{address}]:tcp:{port} of virtual server [{VIP}]:tcp:80 {state}");
    mails(run)
        .iter()
        .filter(|m| m.contains(&subject) && m.contains(verdict))
        .count()
}

/// Kills or stops the master and measures each client's way back.
fn failover(run: &mut Run, label: &str, act: impl FnOnce()) -> Vec<f64> {
    let go = run.path(&format!("go-{label}"));
    let probes: Vec<PathBuf> = (1..=lan::CLIENTS)
        .map(|i| run.path(&format!("probe-{label}-{i}")))
        .collect();
    for (i, out) in (1..=lan::CLIENTS).zip(&probes) {
        spawn(
            &format!(
                "exec ip netns exec lvscl{i} python3 {} {}",
                run.path("probe.py").display(),
                go.display()
            ),
            out,
        );
    }
    std::thread::sleep(Duration::from_secs(3));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    std::fs::write(&go, format!("{now:.3}")).unwrap();
    act();
    until("every client's probe to finish", 120, || {
        probes
            .iter()
            .all(|p| std::fs::read_to_string(p).is_ok_and(|t| t.ends_with('\n')))
    });
    probes
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let seconds = text.split_whitespace().next().unwrap_or("never");
            seconds
                .parse()
                .unwrap_or_else(|_| panic!("a client was never served again ({label}): {text}"))
        })
        .collect()
}

fn spread(times: &[f64]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    format!(
        "min {:.2} s, median {:.2} s, max {:.2} s",
        sorted[0],
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1]
    )
}

/// No two masters in the capture: every advert fed to lvstop's tracker,
/// its report checked at each advert and between them.
fn never_two_masters(adverts: &str) {
    let expected = Expected {
        instance: "VI_1".into(),
        interface: Some("eth0".into()),
        vrid: 51,
        version: 2,
        interval_cs: 100,
        vips: vec![VIP.parse().unwrap()],
        priority: 99,
    };
    let mut tracker = Tracker::new(vec![expected]);
    let mut first = None;
    for line in adverts.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(time), Some(source)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        let Some(priority) = line
            .split("prio ")
            .nth(1)
            .and_then(|p| p.split(',').next())
            .and_then(|p| p.parse().ok())
        else {
            continue;
        };
        let seconds: f64 = time.parse().unwrap();
        let t0 = *first.get_or_insert(seconds);
        let at_ms = ((seconds - t0) * 1000.0) as u64;
        tracker.observe(ObservedAdvert {
            at_ms,
            interface: "eth0".into(),
            outgoing: false,
            source: source.parse().unwrap(),
            advert: Advertisement {
                version: Version::V2,
                vrid: 51,
                priority,
                interval: 1,
                auth: Auth::None,
                addresses: vec![VIP.parse().unwrap()],
            },
        });
        for now in [at_ms, at_ms + 500] {
            let report = tracker.report(now);
            let split = report
                .alarms
                .iter()
                .find(|a| matches!(a, WireAlarm::TwoMasters { .. }));
            assert!(split.is_none(), "two masters at {line}: {split:?}");
        }
    }
    assert!(first.is_some(), "no advert captured:\n{adverts}");
}

/// One arrangement of the pair, the note's checks from the clients' side.
fn arrangement(run: &mut Run, master_kind: Kind, backup_kind: Kind) {
    let label = format!("{}+{}", master_kind.name(), backup_kind.name());
    let mut master = Director {
        ns: "lvsd1",
        kind: master_kind,
        state: "MASTER",
        priority: 100,
        pid: 0,
    };
    let mut backup = Director {
        ns: "lvsd2",
        kind: backup_kind,
        state: "BACKUP",
        priority: 99,
        pid: 0,
    };
    run.capture_vrrp("lvsd2", &label);
    master.start(run);
    until("the VIP on the master", 60, || holds_vip("lvsd1"));
    backup.start(run);
    until("both real servers in the master's table", 120, || {
        let t = table("lvsd1");
        t.contains(RS1) && t.contains(RS2)
    });
    until("both real servers in the backup's table", 120, || {
        let t = table("lvsd2");
        t.contains(RS1) && t.contains(RS2)
    });
    run.step(&format!("{label}: pair up, master holds the VIP"));

    // 1. Spread and persistence, and the table as the note shows it.
    let console = (master_kind == Kind::Lvstop && backup_kind == Kind::Lvstop).then(|| {
        Tmux::start(&format!(
            "ip netns exec lvsd1 {} --socket {}",
            run.lvstop,
            Run::socket("lvsd1").display()
        ))
        .expect("tmux")
    });
    let mut served = Vec::new();
    for i in 1..=lan::CLIENTS {
        let answers: Vec<Option<String>> = (0..3).map(|_| ask(i)).collect();
        let first = answers[0].clone().expect("every client is served");
        assert!(
            answers.iter().all(|a| a.as_deref() == Some(first.as_str())),
            "{label}: client {i} sticks to one real server: {answers:?}"
        );
        served.push(first);
    }
    assert!(
        served.iter().any(|s| s == "rs1") && served.iter().any(|s| s == "rs2"),
        "{label}: requests spread over both real servers: {served:?}"
    );
    for director in [&master, &backup] {
        let once = director.once(run);
        std::fs::write(run.path(&format!("once-{label}-{}", director.ns)), &once).unwrap();
        assert!(
            once.contains("TCP  198.51.100.88:80 wrr persistent 60"),
            "{once}"
        );
        let w = words(&once);
        for rs in [RS1, RS2] {
            assert!(w.contains(&format!("-> {rs} Route 3")), "{label}: {once}");
        }
        let role = if director.ns == "lvsd1" {
            "MASTER"
        } else {
            "BACKUP"
        };
        assert!(w.contains(&format!("VI_1 {role}")), "{label}: {once}");
    }
    let once = master.once(run);
    let inactive: u64 = once
        .lines()
        .filter(|l| l.contains("-> 198.51.100.8"))
        .filter_map(|l| l.split_whitespace().nth(5)?.parse::<u64>().ok())
        .sum();
    assert!(
        inactive > 0,
        "{label}: the requests show as InActConn: {once}"
    );
    if let Some(console) = &console {
        let screen = console.until("the console's rows with connections", 60, |s| {
            [RS1, RS2].iter().any(|rs| count(s, rs, 6).unwrap_or(0) > 0)
        });
        run.step(&format!("{label}: the console on the master:\n{screen}"));
        console.quit();
    }
    run.step(&format!(
        "{label}: 8 clients spread over rs1 and rs2, each sticky: {served:?}; --once on both"
    ));

    // 2. A stopped web server leaves the table; mail says so.
    let (failed_before, back_before) = (rs1_alerts(run, false), rs1_alerts(run, true));
    run.stop_nginx("lvsrs1");
    let stopped = Instant::now();
    until("rs1 out of the master's table", 120, || {
        !table("lvsd1").contains(RS1)
    });
    let removed_after = stopped.elapsed();
    for i in 1..=lan::CLIENTS {
        assert_eq!(ask(i).as_deref(), Some("rs2"), "{label}: client {i}");
    }
    until("the TCP CHECK failed alert", 60, || {
        rs1_alerts(run, false) > failed_before
    });
    run.nginx("lvsrs1", "rs1");
    until("rs1 back in the master's table", 120, || {
        table("lvsd1").contains(RS1)
    });
    until("the recovery alert", 60, || {
        rs1_alerts(run, true) > back_before
    });
    run.step(&format!(
        "{label}: rs1 stopped: out of the table after {:.1} s, every client served by rs2, \
         TCP CHECK failed mailed; back with the recovery mail",
        removed_after.as_secs_f64()
    ));

    // 3. The master killed, then back, then stopped cleanly.
    let times = failover(run, &format!("{label}-kill"), || master.crash());
    until("the backup to hold the VIP", 30, || holds_vip("lvsd2"));
    run.step(&format!(
        "{label}: master crashed (killed, link down): every client served again by the backup ({})",
        spread(&times)
    ));
    master.reboot();
    master.start(run);
    until("the master to take the VIP back", 120, || {
        holds_vip("lvsd1") && !holds_vip("lvsd2")
    });
    until("both real servers in the master's table again", 120, || {
        let t = table("lvsd1");
        t.contains(RS1) && t.contains(RS2)
    });
    let times = failover(run, &format!("{label}-stop"), || master.stop());
    until("the backup to hold the VIP", 30, || holds_vip("lvsd2"));
    assert!(
        !holds_vip("lvsd1"),
        "{label}: a clean stop gives the VIP up"
    );
    run.step(&format!(
        "{label}: master stopped cleanly: every client served again by the backup ({})",
        spread(&times)
    ));

    // 4. Never two masters on the wire; then clear the stage.
    backup.stop();
    lan::stop_captures();
    never_two_masters(&run.adverts(&label));
    run.step(&format!("{label}: the adverts never show two masters"));
    // Both directors rebooted: the next pair starts with no connection
    // entries or persistence templates from this one.
    drop(console);
    for ns in ["lvsd1", "lvsd2"] {
        lan::reboot(ns);
    }
}

fn in_guest(out: &Path) {
    let mut run = Run::new(out, &out.join(BINARY));
    lan::build(false);
    std::fs::write(run.path("probe.py"), PROBE).unwrap();
    spawn(
        &format!(
            "exec ip netns exec lvsmail {} {SMTP_SINK} {} {MAIL} 25",
            std::env::var(IN_GUEST_PYTHON).unwrap_or_else(|_| "python3".into()),
            run.path("mail.jsonl").display()
        ),
        &run.path("smtp.log"),
    );
    until("the SMTP server", 60, || {
        std::fs::read_to_string(run.path("smtp.log")).is_ok_and(|l| l.contains("port 25"))
    });
    run.real_server("lvsrs1", "rs1");
    run.real_server("lvsrs2", "rs2");
    run.step("the segment, the SMTP server and both real servers");
    for (master, backup) in [
        (Kind::Lvstop, Kind::Lvstop),
        (Kind::Keepalived, Kind::Lvstop),
        (Kind::Lvstop, Kind::Keepalived),
    ] {
        arrangement(&mut run, master, backup);
    }
    std::fs::write(out.join("passed"), "").unwrap();
}

#[test]
fn the_reference_deployment_runs_on_two_directors_lvstop_and_keepalived_mixed() {
    if let Some(out) = std::env::var_os(IN_GUEST_OUT) {
        in_guest(Path::new(&out));
        return;
    }
    let Some(_group) = support::privileged_test(module_path!(), TEST) else {
        return;
    };
    // keepalived's /tmp is a tmpfs of its own: the run's files live elsewhere.
    let dir = support::dir_outside_tmp();
    let out = dir.path().to_path_buf();
    std::fs::copy(env!("CARGO_BIN_EXE_lvstop"), out.join(BINARY)).unwrap();
    let me = std::env::current_exe().unwrap();
    let python = Command::new("python3")
        .args(["-c", "import aiosmtpd, sys; print(sys.executable)"])
        .output()
        .unwrap();
    assert!(
        python.status.success(),
        "the SMTP server needs Python's aiosmtpd (.ci/run installs it): {}",
        String::from_utf8_lossy(&python.stderr)
    );
    let python = String::from_utf8_lossy(&python.stdout).trim().to_string();
    let script = format!(
        "{IN_GUEST_PYTHON}={python} {IN_GUEST_OUT}={o} {} --exact {exact} --nocapture > {o}/guest-test.log 2>&1; echo done > {o}/done",
        me.display(),
        exact = support::test_path(module_path!(), TEST),
        o = out.display()
    );
    std::fs::write(out.join("guest.sh"), script).unwrap();
    // Each check is printed as it passes (`--nocapture` shows them live).
    let run = support::vm::run_showing(
        &format!("sh {}/guest.sh", out.display()),
        &out,
        &out.join("steps.log"),
    );
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    let steps = read("steps.log");
    let passed = out.join("passed").exists();
    let kept = if passed {
        String::new()
    } else {
        format!("(files kept in {})", dir.keep().display())
    };
    assert!(
        passed,
        "the guest run {kept} failed after:\n{steps}\nguest test:\n{}\nVM:\n{}\n{}",
        read("guest-test.log"),
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
}
