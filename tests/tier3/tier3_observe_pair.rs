#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real-kernel tier: `lvstop` on a director pair that real keepalived runs,
//! as an operator meets it (`ssh director; lvstop`). One VM boot (Debian's
//! kernel with IPVS, Debian's keepalived 2.2.7 and nginx) holds the
//! reference deployment's hosts on one bridged segment:
//!
//! | namespace | address                     | role                                    |
//! |-----------|-----------------------------|-----------------------------------------|
//! | `lvsd1`   | 198.51.100.80               | director, keepalived `VI_1` MASTER (100) |
//! | `lvsd2`   | 198.51.100.81               | director, keepalived `VI_1` BACKUP (99)  |
//! | `lvsrs1`  | 198.51.100.82, VIP on `lo`  | real server: nginx                      |
//! | `lvsrs2`  | 198.51.100.83, VIP on `lo`  | real server: nginx                      |
//! | `lvscl`   | 203.0.113.1–.8              | clients: held and short HTTP requests   |
//!
//! keepalived runs the reference deployment's configuration (DR, wrr,
//! persistence 60, TCP_CHECK) with the VIP 198.51.100.88, each with a
//! private `/tmp` (its dumps are reached through `/proc/PID/root`). The
//! console runs in tmux on both directors. What an operator would check:
//!
//! - the header names keepalived and its pid; the services screen shows
//!   both real servers with connection counts that move under the load;
//!   the VRRP screen shows `VI_1` MASTER here and BACKUP on the peer, and
//!   the master's adverts as heard on the wire;
//! - a stopped web server shows as failed by keepalived's checker and "not
//!   in the IPVS table" once keepalived removed it;
//! - a drain from the console sets weight 0 in the kernel (`ipvsadm -Ln`
//!   agrees) and keepalived keeps running, its own processes unchanged;
//! - the console owns no socket that can send VRRP, every advert captured
//!   on both directors' interfaces for the whole run is keepalived's, and
//!   `ipvsadm -Sn` and `ip addr` are the same after the console as before,
//!   apart from the drained weight;
//! - blocking VRRP into the backup (nftables) makes both keepalived
//!   MASTER, and the consoles on both directors raise the two-master alarm;
//! - `lvstop --engine` on the director refuses, naming keepalived's pid.
//!
//! The host half boots the VM; the in-guest half (this binary, run inside
//! the guest with `IN_GUEST_OUT` set) drives the run, asserts, and writes
//! each step it passed to `steps.log` (printed by the host on failure).

use crate::support;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use support::lan::{self, sh, spawn, until, words, Run, RS1, RS2, VIP};
use support::tmux::{count, row, Tmux};

const TEST: &str = "the_console_observes_a_keepalived_pair_and_changes_only_what_it_is_asked";
/// Set inside the guest: where the in-guest half writes its results.
const IN_GUEST_OUT: &str = "LVSTOP_OBSERVE_PAIR_OUT";
/// The lvstop binary the guest runs: a copy made when the test starts, so
/// a rebuild during the run cannot swap it.
const BINARY: &str = "lvstop";

/// Client load until `stop` exists: eight held keep-alive connections
/// (ActiveConn on the director) asking now and then, and short requests
/// from each client address (InActConn).
const LOAD: &str = r#"
import os, socket, sys, time
stop = sys.argv[1]
def connect(i):
    return socket.create_connection(("198.51.100.88", 80), timeout=3,
                                    source_address=("203.0.113.%d" % i, 0))
held = {}
while not os.path.exists(stop):
    for i in range(1, 9):
        try:
            if i not in held:
                held[i] = connect(i)
            held[i].sendall(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
            if not held[i].recv(4096):
                raise OSError("closed")
        except OSError:
            held.pop(i, None)
        try:
            s = connect(i)
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            s.recv(4096)
            s.close()
        except OSError:
            pass
    time.sleep(0.3)
"#;

/// The console in a real terminal on `ns`, observing (no daemon answers).
fn console(run: &Run, ns: &str) -> Tmux {
    let lvstop = &run.lvstop;
    Tmux::start(&format!(
        "ip netns exec {ns} {lvstop} --socket /tmp/{ns}-none.sock -f {}",
        run.path(ns).join("keepalived.conf").display()
    ))
    .expect("tmux is installed")
}

/// The socket inodes of `pid`'s open files.
fn socket_inodes(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect()
}

/// The pid of the lvstop console running in `ns`.
fn console_pid(ns: &str) -> u32 {
    let pids = sh(&format!("ip netns pids {ns}"));
    pids.split_whitespace()
        .filter_map(|p| p.parse::<u32>().ok())
        .find(|p| {
            std::fs::read_link(format!("/proc/{p}/exe"))
                .is_ok_and(|e| e.to_string_lossy().ends_with("/lvstop"))
        })
        .unwrap_or_else(|| panic!("no lvstop process in {ns}: {pids}"))
}

/// `ipvsadm -Sn` as a sorted set of lines (keepalived re-adds a real
/// server at the end of its service's list).
fn saved_table(ns: &str) -> Vec<String> {
    let mut lines: Vec<String> = sh(&format!("ip netns exec {ns} ipvsadm -Sn"))
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

fn in_guest(out: &Path) {
    let mut run = Run::new(out, &out.join(BINARY));
    let lvstop = run.lvstop.clone();
    lan::build(true);
    run.step("namespaces on one bridge");

    // Capture every VRRP packet on both directors' interfaces, all run.
    for ns in ["lvsd1", "lvsd2"] {
        run.capture_vrrp(ns, ns);
    }

    // The real servers: lvstop realserver for the VIP, nginx for the web.
    for (ns, name) in [("lvsrs1", "rs1"), ("lvsrs2", "rs2")] {
        run.real_server(ns, name);
    }
    run.step("nginx on both real servers");

    let master_pid = run.keepalived("lvsd1", &lan::director_config("MASTER", 100, ""));
    let backup_pid = run.keepalived("lvsd2", &lan::director_config("BACKUP", 99, ""));
    until(
        "the VIP on the master and both real servers in its table",
        120,
        || {
            sh("ip -n lvsd1 -o addr show dev eth0").contains(VIP)
                && sh("ip netns exec lvsd1 ipvsadm -Ln").contains(RS1)
                && sh("ip netns exec lvsd1 ipvsadm -Ln").contains(RS2)
        },
    );
    run.step("keepalived pair up, master holds the VIP");

    std::fs::write(run.path("clients.py"), LOAD).unwrap();
    spawn(
        &format!(
            "exec ip netns exec lvscl python3 {} {}",
            run.path("clients.py").display(),
            run.path("clients.stop").display()
        ),
        &run.path("clients.log"),
    );
    let table_before = saved_table("lvsd1");
    let addr_before = sh("ip -n lvsd1 addr");
    let keepalived_children = sh(&format!("pgrep -P {master_pid} | sort"));

    // The console on both directors, observing.
    let master = console(&run, "lvsd1");
    let backup = console(&run, "lvsd2");
    let header = format!("observing keepalived (pid {master_pid})");
    let screen = master.until("the header naming keepalived", 60, |s| s.contains(&header));
    assert!(!screen.contains("embedded"), "{screen}");
    backup.until("the backup's header", 60, |s| {
        s.contains(&format!("observing keepalived (pid {backup_pid})"))
    });
    run.step("the header names keepalived and its pid on both directors");

    // Both real servers with connections that move under the load.
    let first = master.until("both real servers with connections", 90, |s| {
        [RS1, RS2].iter().all(|rs| {
            count(s, rs, 5).unwrap_or(0) + count(s, rs, 6).unwrap_or(0) > 0
                && row(s, rs).is_some_and(|r| r.get(4).map(String::as_str) == Some("3"))
        })
    });
    let totals = |s: &str| -> Vec<Option<u64>> {
        [RS1, RS2]
            .iter()
            .flat_map(|rs| [count(s, rs, 5), count(s, rs, 6)])
            .collect()
    };
    let before = totals(&first);
    let moved = master.until("the connection counts to move", 60, |s| totals(s) != before);
    std::fs::write(run.path("console-services.txt"), &moved).unwrap();
    run.step("services screen: both real servers, counts moving");

    // The console owns no socket that could send VRRP: none of its
    // sockets is a raw IP socket.
    let pid = console_pid("lvsd1");
    let raw = sh(&format!("cat /proc/{pid}/net/raw /proc/{pid}/net/raw6"));
    for inode in socket_inodes(pid) {
        assert!(
            !raw.split_whitespace().any(|field| field == inode),
            "lvstop holds a raw IP socket (inode {inode}):\n{raw}"
        );
    }
    run.step("the console holds no raw IP socket");

    // The VRRP screen: MASTER here, BACKUP on the peer, the master heard.
    master.keys(&["2"]);
    let screen = master.until("VI_1 MASTER here", 60, |s| {
        words(s).contains("VI_1 MASTER prio 100")
            && words(s).contains("198.51.100.80 prio 100 (here)")
    });
    std::fs::write(run.path("console-vrrp-master.txt"), &screen).unwrap();
    backup.keys(&["2"]);
    let screen = backup.until("VI_1 BACKUP on the peer, the master heard", 60, |s| {
        let w = words(s);
        w.contains("VI_1 BACKUP prio 99") && w.contains("198.51.100.80 prio 100")
    });
    std::fs::write(run.path("console-vrrp-backup.txt"), &screen).unwrap();
    run.step("VRRP screens: MASTER here, BACKUP on the peer");

    // A stopped web server: keepalived's checker fails it and removes it.
    master.keys(&["1"]);
    run.stop_nginx("lvsrs1");
    let screen = master.until("rs1 failed by keepalived and gone from IPVS", 120, |s| {
        s.lines().any(|l| {
            l.contains(&format!("-> {RS1} "))
                && l.contains("not in the IPVS table")
                && l.contains("TCP_CHECK failed")
        }) || s.contains("TCP_CHECK failed") && s.contains("not in the IPVS table")
    });
    std::fs::write(run.path("console-rs1-down.txt"), &screen).unwrap();
    assert!(!sh("ip netns exec lvsd1 ipvsadm -Ln").contains(RS1));
    // `lvstop --once` says the same after ipvsadm's listing.
    let once = sh(&format!(
        "ip netns exec lvsd1 {lvstop} --once -n --socket /tmp/none.sock -f {}",
        run.path("lvsd1").join("keepalived.conf").display()
    ));
    std::fs::write(run.path("once-rs1-down.txt"), &once).unwrap();
    let ipvsadm = sh("ip netns exec lvsd1 ipvsadm -Ln");
    assert!(once.starts_with(ipvsadm.lines().next().unwrap()), "{once}");
    for line in [
        format!("Source: observing keepalived (pid {master_pid})"),
        format!("-> {RS1} in TCP {VIP}:80 not in the IPVS table"),
        "VI_1 MASTER prio 100 vrid 51 on eth0".to_string(),
        format!("-> {RS1} in TCP {VIP}:80 TCP_CHECK failed"),
    ] {
        assert!(
            words(&once).contains(&line),
            "--once lacks `{line}`:\n{once}"
        );
    }
    run.nginx("lvsrs1", "rs1");
    until("keepalived to put rs1 back", 120, || {
        sh("ip netns exec lvsd1 ipvsadm -Ln").contains(RS1)
    });
    master.until("rs1 back on the console", 60, |s| {
        row(s, RS1).is_some_and(|r| r.get(4).map(String::as_str) == Some("3"))
    });
    run.step("a stopped web server: failed by keepalived, not in the IPVS table, back");

    // A drain from the console: weight 0 in the kernel.
    master.keys(&[&format!(":drain {VIP}:80 {RS2}"), "Enter"]);
    let screen = master.until("the drain confirmation", 30, |s| {
        s.contains(&format!("Drain {RS2}?"))
    });
    std::fs::write(run.path("console-drain-dialog.txt"), &screen).unwrap();
    master.keys(&["y"]);
    until("ipvsadm to show rs2 at weight 0", 30, || {
        sh("ip netns exec lvsd1 ipvsadm -Ln")
            .lines()
            .any(|l| l.contains(RS2) && l.split_whitespace().nth(3) == Some("0"))
    });
    master.until("rs2 at weight 0 on the console", 30, |s| {
        row(s, RS2).is_some_and(|r| r.get(4).map(String::as_str) == Some("0"))
    });
    assert!(Path::new(&format!("/proc/{master_pid}")).exists());
    assert_eq!(
        sh(&format!("pgrep -P {master_pid} | sort")),
        keepalived_children,
        "keepalived's VRRP and checker processes are the same ones"
    );
    run.step("a console drain sets weight 0 in the kernel; keepalived undisturbed");

    // Quit both consoles; the director is as it was but for the drain.
    for console in [&master, &backup] {
        console.quit();
    }
    drop((master, backup));
    let table_after = saved_table("lvsd1");
    let drained = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                if l.contains(RS2) {
                    l.replace(" -w 0", " -w 3")
                } else {
                    l.clone()
                }
            })
            .collect()
    };
    assert_ne!(table_after, table_before, "the drain shows in ipvsadm -Sn");
    assert_eq!(
        drained(&table_after),
        table_before,
        "ipvsadm -Sn is the same but for rs2's weight"
    );
    assert_eq!(sh("ip -n lvsd1 addr"), addr_before, "ip addr is the same");
    run.step("ipvsadm -Sn and ip addr as before, but for the drained weight");

    // The safe default: an engine beside keepalived is refused.
    let refused = Command::new("ip")
        .args(["netns", "exec", "lvsd1", &lvstop, "--engine", "-f"])
        .arg(run.path("lvsd1").join("keepalived.conf"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains(&format!("keepalived (pid {master_pid}")),
        "the refusal names keepalived's pid: {said}"
    );
    run.step("lvstop --engine beside keepalived refuses, naming its pid");

    // Split brain: VRRP blocked into the backup; both become MASTER.
    let master = console(&run, "lvsd1");
    let backup = console(&run, "lvsd2");
    for console in [&master, &backup] {
        console.until("the console up", 60, |s| s.contains("observing keepalived"));
        console.keys(&["2"]);
    }
    sh("ip netns exec lvsd2 nft -f - <<'EOF'
table inet lvstoptest {
    chain input {
        type filter hook input priority 0; policy accept;
        ip protocol vrrp drop
    }
}
EOF");
    let blocked = Instant::now();
    until("the VIP on both directors", 60, || {
        sh("ip -n lvsd2 -o addr show dev eth0").contains(VIP)
    });
    let on_master = master.until("the two-master alarm on the master", 60, |s| {
        s.contains("TWO MASTERS")
    });
    let alarm_after = blocked.elapsed();
    let on_backup = backup.until("the two-master alarm on the backup", 60, |s| {
        s.contains("TWO MASTERS")
    });
    std::fs::write(run.path("console-split-master.txt"), &on_master).unwrap();
    std::fs::write(run.path("console-split-backup.txt"), &on_backup).unwrap();
    run.step(&format!(
        "split brain: the two-master alarm on both consoles ({:.1} s after the block)",
        alarm_after.as_secs_f64()
    ));
    sh("ip netns exec lvsd2 nft delete table inet lvstoptest");
    for console in [&master, &backup] {
        console.quit();
    }
    drop((master, backup));

    // Every VRRP packet on both directors' wires is keepalived's.
    std::fs::write(run.path("clients.stop"), "").unwrap();
    lan::stop_captures();
    for ns in ["lvsd1", "lvsd2"] {
        let text = run.adverts(ns);
        std::fs::write(run.path(&format!("{ns}.vrrp.txt")), &text).unwrap();
        let adverts: Vec<&str> = text.lines().collect();
        assert!(!adverts.is_empty(), "{ns}: no advert captured");
        for line in adverts {
            let keepalived = (line.contains("IP 198.51.100.80 > 224.0.0.18")
                && line.contains("prio 100,"))
                || (line.contains("IP 198.51.100.81 > 224.0.0.18") && line.contains("prio 99,"));
            assert!(
                keepalived && line.contains("vrid 51,"),
                "{ns}: a VRRP packet keepalived did not send: {line}"
            );
        }
    }
    run.step("every VRRP packet captured is keepalived's");
    sh(&format!("kill -TERM {master_pid} {backup_pid}; sleep 1"));
    std::fs::write(out.join("passed"), "").unwrap();
}

#[test]
fn the_console_observes_a_keepalived_pair_and_changes_only_what_it_is_asked() {
    if let Some(out) = std::env::var_os(IN_GUEST_OUT) {
        in_guest(Path::new(&out));
        return;
    }
    let Some(_group) = support::privileged_test(module_path!(), TEST) else {
        return;
    };
    // keepalived's /tmp is a tmpfs of its own: its files live elsewhere.
    let dir = support::dir_outside_tmp();
    let out = dir.path().to_path_buf();
    std::fs::copy(env!("CARGO_BIN_EXE_lvstop"), out.join(BINARY)).unwrap();
    let me = std::env::current_exe().unwrap();
    let script = format!(
        "{IN_GUEST_OUT}={o} {} --exact {exact} --nocapture > {o}/guest-test.log 2>&1; echo done > {o}/done",
        me.display(),
        exact = support::test_path(module_path!(), TEST),
        o = out.display()
    );
    std::fs::write(out.join("guest.sh"), script).unwrap();
    let run = support::vm::run(&format!("sh {}/guest.sh", out.display()), Some(&out));
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    let steps = read("steps.log");
    eprintln!("{steps}");
    for name in [
        "console-services.txt",
        "console-vrrp-master.txt",
        "console-rs1-down.txt",
        "console-split-master.txt",
    ] {
        eprintln!("--- {name}\n{}", read(name));
    }
    let passed = out.join("passed").exists();
    let kept = if passed {
        String::new()
    } else {
        format!("(files kept in {})", dir.keep().display())
    };
    assert!(
        passed,
        "the guest run {kept} failed after:\n{steps}\nguest test:\n{}\nVM:\n{}\n{}\nkeepalived (master):\n{}\nkeepalived (backup):\n{}\nclients:\n{}",
        read("guest-test.log"),
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
        read("lvsd1/keepalived.log"),
        read("lvsd2/keepalived.log"),
        read("clients.log"),
    );
}
