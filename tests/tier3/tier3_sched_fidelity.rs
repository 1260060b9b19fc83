#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real-kernel tier: lvstop's schedulers pick exactly what the kernel's IPVS
//! picks. One VM boot runs every scheduler against a real NAT director.
//!
//! Inside the guest, three network namespaces: a client (203.0.113.1–.8 on
//! one veth), a director (IPVS, VIP 198.51.100.1, NAT) and one real-server
//! namespace holding 198.51.100.11–.14, where a tiny TCP server answers each
//! connection with the address it was reached on. For each case the guest
//! driver creates a service, adds the real servers one by one in a known
//! order, then opens connections one after the other from known client
//! addresses and ports, **holding each one open** (ESTABLISHED: ActiveConn)
//! until the case ends, so the kernel's counts at every pick are known
//! exactly. Two cases (lc, wlc) also close some connections mid-run: the
//! client closes, the server answers the EOF, and the kernel keeps the
//! connection as InActConn (FIN_WAIT, then TIME_WAIT, two minutes each);
//! the driver waits until `ipvsadm` shows it before the next pick. Each case
//! has a service port of its own, so the closed connections of earlier cases
//! (lingering in TIME_WAIT on their old destinations, which the kernel may
//! revive from its trash only for the same service) never weigh in.
//!
//! On the host the same history goes through `sched::bind`: each destination
//! inserted at index 0 (`DestChange::Added`), each pick with the client's
//! address and port and the counts as the kernel had them; the sequences
//! must be identical. The guest's final `ipvsadm -Ln` of each case checks
//! that modelling of the counts.
//!
//! Covered: rr, wrr, lc, wlc, sed, nq, fo, ovf, sh and mh (plain, -port,
//! -fallback; a weight-0 server keeps its sh buckets, so plain sh refuses
//! some clients and sh-fallback rehashes them), dh, lblc, lblcr. Not
//! covered here: twos (random by design), upper/lower thresholds
//! (`IP_VS_DEST_F_OVERLOAD`, the only way mh-fallback can trigger, as mh
//! leaves weight-0 servers out of its table), weight edits and removals on
//! a live service; golden cases in `tests/golden/sched/` cover those
//! against the kernel's documented behaviour only.

use crate::support;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use lvstop::ipvs::model::{
    Dest, DestConfig, Forward, Protocol, ServiceConfig, ServiceFlags, ServiceKey,
};
use lvstop::ipvs::sched::{self, DestChange, Packet};

const VIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const CLIENTS: u8 = 8;
const PICKS: usize = 12;

/// One scheduler case: name, service flags (`-b`), the real servers' last
/// octet and weight in the order they are added, and connections closed
/// during the run: `(after, which)` closes pick `which`'s connection after
/// pick `after`. A closed connection stays in the kernel's table (FIN_WAIT,
/// then TIME_WAIT, two minutes each) and counts in InActConn.
struct Case {
    scheduler: &'static str,
    flags: &'static [&'static str],
    dests: &'static [(u8, i32)],
    closes: &'static [(usize, usize)],
}

const CASES: &[Case] = &[
    Case {
        scheduler: "rr",
        flags: &[],
        closes: &[],
        dests: &[(11, 1), (12, 1), (13, 0), (14, 1)],
    },
    Case {
        scheduler: "wrr",
        flags: &[],
        closes: &[],
        dests: &[(11, 4), (12, 3), (13, 0), (14, 2)],
    },
    Case {
        scheduler: "lc",
        flags: &[],
        closes: &[],
        dests: &[(11, 1), (12, 2), (13, 0), (14, 1)],
    },
    Case {
        scheduler: "wlc",
        flags: &[],
        closes: &[],
        dests: &[(11, 3), (12, 1), (13, 0), (14, 2)],
    },
    Case {
        scheduler: "sed",
        flags: &[],
        closes: &[],
        dests: &[(11, 3), (12, 1), (13, 0), (14, 2)],
    },
    Case {
        scheduler: "nq",
        flags: &[],
        closes: &[],
        dests: &[(11, 3), (12, 1), (13, 0), (14, 2)],
    },
    Case {
        scheduler: "fo",
        flags: &[],
        closes: &[],
        dests: &[(11, 2), (12, 5), (13, 0), (14, 5)],
    },
    Case {
        scheduler: "ovf",
        flags: &[],
        closes: &[],
        dests: &[(11, 2), (12, 3), (13, 0), (14, 3)],
    },
    Case {
        scheduler: "sh",
        flags: &[],
        closes: &[],
        dests: &[(11, 1), (12, 2), (13, 0), (14, 1)],
    },
    Case {
        scheduler: "sh",
        flags: &["sh-port"],
        closes: &[],
        dests: &[(11, 1), (12, 2), (13, 1), (14, 1)],
    },
    Case {
        scheduler: "sh",
        flags: &["sh-fallback"],
        closes: &[],
        dests: &[(11, 1), (12, 2), (13, 0), (14, 1)],
    },
    Case {
        scheduler: "mh",
        flags: &[],
        closes: &[],
        dests: &[(11, 1), (12, 2), (13, 0), (14, 1)],
    },
    Case {
        scheduler: "mh",
        flags: &["mh-port"],
        closes: &[],
        dests: &[(11, 1), (12, 2), (13, 1), (14, 1)],
    },
    Case {
        scheduler: "mh",
        flags: &["mh-fallback"],
        closes: &[],
        dests: &[(11, 1), (12, 0), (13, 2), (14, 1)],
    },
    Case {
        scheduler: "dh",
        flags: &[],
        closes: &[],
        dests: &[(11, 1), (12, 1), (13, 0), (14, 1)],
    },
    Case {
        scheduler: "lblc",
        flags: &[],
        closes: &[],
        dests: &[(11, 3), (12, 2), (13, 0), (14, 1)],
    },
    Case {
        scheduler: "lblcr",
        flags: &[],
        closes: &[],
        dests: &[(11, 3), (12, 2), (13, 0), (14, 1)],
    },
    // Inactive connections weigh 1, active ones 256: a destination whose
    // connection closed is the least loaded until it takes a new one.
    Case {
        scheduler: "lc",
        flags: &[],
        closes: &[(2, 1), (5, 3), (5, 4), (8, 0)],
        dests: &[(11, 1), (12, 2), (13, 0), (14, 1)],
    },
    Case {
        scheduler: "wlc",
        flags: &[],
        closes: &[(3, 0), (3, 2), (6, 5), (9, 1), (9, 7)],
        dests: &[(11, 3), (12, 1), (13, 0), (14, 2)],
    },
];

fn rip(octet: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, octet)
}

/// The service port of case `n`: one per case (see the module comment).
fn service_port(n: usize) -> u16 {
    8000 + n as u16
}

/// The client of pick `k` in case `n`: addresses in a scrambled order so
/// the hashing schedulers see repeats and changes, and a port of its own.
fn client(n: usize, k: usize) -> SocketAddr {
    let octet = 1 + ((k * 5 + n) % usize::from(CLIENTS)) as u8;
    let port = 20_000 + (n * 100 + k * 7) as u16;
    SocketAddr::new(Ipv4Addr::new(203, 0, 113, octet).into(), port)
}

/// The driver's plan: one block per case.
fn plan() -> String {
    let mut out = String::new();
    for (n, case) in CASES.iter().enumerate() {
        let flags = if case.flags.is_empty() {
            "-".to_string()
        } else {
            case.flags.join(",")
        };
        writeln!(
            out,
            "service {} {} {flags}",
            service_port(n),
            case.scheduler
        )
        .unwrap();
        for (octet, weight) in case.dests {
            writeln!(out, "add {} {weight}", rip(*octet)).unwrap();
        }
        for k in 0..PICKS {
            let c = client(n, k);
            writeln!(out, "pick {} {}", c.ip(), c.port()).unwrap();
            for (_, which) in case.closes.iter().filter(|(after, _)| *after == k) {
                writeln!(out, "close {which}").unwrap();
            }
        }
        writeln!(out, "end").unwrap();
    }
    out
}

/// Runs in the client namespace; reaches the director's IPVS through
/// `ip netns exec`. Writes `<port>.picks` (one answering address or `-` per
/// line) and `<port>.ipvsadm` per case.
const DRIVER: &str = r#"
import socket, subprocess, sys, time
plan, out = sys.argv[1], sys.argv[2]
VIP = "198.51.100.1"
def adm(*args, stdin=None):
    r = subprocess.run(["ip", "netns", "exec", "lvsdir", "ipvsadm"] + list(args),
                       input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("ipvsadm %s: %s%s" % (" ".join(args), stdin or "", r.stderr))
    return r.stdout
# A case's service and destinations go to one `ipvsadm -R`, which applies
# its lines in order (one process instead of five under TCG).
port, held, picks, setup, closed = None, [], [], [], 0
for line in open(plan):
    w = line.split()
    if setup and w[0] != "add":
        adm("-R", stdin="\n".join(setup) + "\n")
        setup = []
    if w[0] == "service":
        port = int(w[1])
        extra = "" if w[3] == "-" else " -b " + w[3]
        setup.append("-A -t %s:%d -s %s%s" % (VIP, port, w[2], extra))
    elif w[0] == "add":
        setup.append("-a -t %s:%d -r %s:80 -m -w %s" % (VIP, port, w[1], w[2]))
    elif w[0] == "pick":
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(5)
        try:
            s.bind((w[1], int(w[2])))
            s.connect((VIP, port))
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(64)
                if not chunk:
                    break
                data += chunk
            picks.append(data.decode().strip() or "-")
            held.append(s)
        except OSError as e:
            picks.append("-")
            held.append(None)
            s.close()
    elif w[0] == "close":
        # The client closes first, the server answers the EOF with its own
        # FIN: the kernel moves the connection out of ESTABLISHED. Wait
        # until InActConn shows it before the next pick.
        held[int(w[1])].close()
        held[int(w[1])] = None
        closed += 1
        for _ in range(100):
            listing = adm("-Ln", "-t", "%s:%d" % (VIP, port))
            inactive = sum(int(l.split()[5]) for l in listing.splitlines()
                           if l.strip().startswith("->") and l.split()[1][0].isdigit())
            if inactive >= closed:
                break
            time.sleep(0.05)
    elif w[0] == "end":
        with open("%s/%d.ipvsadm" % (out, port), "w") as f:
            f.write(adm("-Ln", "-t", "%s:%d" % (VIP, port)))
        with open("%s/%d.picks" % (out, port), "w") as f:
            f.write("\n".join(picks) + "\n")
        for s in held:
            if s:
                s.close()
        held, picks, closed = [], [], 0
"#;

/// Runs in the real-server namespace: answers every connection on port 80
/// with the address it was reached on, and keeps it open until the client
/// closes it.
const SERVER: &str = r#"
import selectors, socket, sys
sel = selectors.DefaultSelector()
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 80))
l.listen(128)
sel.register(l, selectors.EVENT_READ)
open(sys.argv[1], "w").close()
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if s is l:
            c, _ = l.accept()
            c.sendall((c.getsockname()[0] + "\n").encode())
            sel.register(c, selectors.EVENT_READ)
        else:
            try:
                data = s.recv(64)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
"#;

fn script(out: &Path) -> String {
    let o = out.display();
    let clients: String = (1..=CLIENTS)
        .map(|i| format!("ip -n lvscl addr add 203.0.113.{i}/24 dev c0\n"))
        .collect();
    let rips: String = (11..=14)
        .map(|i| format!("ip -n lvsrs addr add 198.51.100.{i}/24 dev r0\n"))
        .collect();
    format!(
        "set -e
date +%s.%N > {o}/t.start
modprobe ip_vs
for s in rr wrr lc wlc sed nq fo ovf sh mh dh lblc lblcr; do modprobe ip_vs_$s; done
for n in lvscl lvsdir lvsrs; do ip netns add $n; ip -n $n link set lo up; done
ip link add c0 netns lvscl type veth peer name d0 netns lvsdir
ip link add r0 netns lvsrs type veth peer name d1 netns lvsdir
{clients}{rips}ip -n lvsdir addr add 203.0.113.254/24 dev d0
ip -n lvsdir addr add 198.51.100.254/24 dev d1
ip -n lvsdir addr add 198.51.100.1/32 dev lo
ip -n lvscl link set c0 up
ip -n lvsrs link set r0 up
ip -n lvsdir link set d0 up
ip -n lvsdir link set d1 up
ip -n lvscl route add 198.51.100.0/24 via 203.0.113.254
ip -n lvsrs route add 203.0.113.0/24 via 198.51.100.254
ip netns exec lvsdir sysctl -qw net.ipv4.ip_forward=1
ip netns exec lvsrs python3 {o}/server.py /tmp/server.ready &
for i in $(seq 100); do [ -e /tmp/server.ready ] && break; sleep 0.1; done
date +%s.%N > {o}/t.driver
ip netns exec lvscl python3 {o}/driver.py {o}/plan.txt {o} > {o}/driver.log 2>&1
date +%s.%N > {o}/t.end
echo done > {o}/done
"
    )
}

/// lvstop's picks for case `n`, given the kernel's counts at each pick:
/// a connection is active from its pick until it is closed, then inactive
/// for the rest of the case. (Counting the kernel's picks, not ours, keeps
/// the inputs right after a first difference, so the report shows every
/// pick that differs.)
fn lvstop_picks(n: usize, case: &Case, kernel: &[String]) -> (Vec<String>, Vec<Dest>) {
    let port = service_port(n);
    let vip = SocketAddr::new(VIP.into(), port);
    let mut service = ServiceConfig::new(ServiceKey::tcp(vip), case.scheduler);
    for flag in case.flags {
        let bit = match *flag {
            "sh-fallback" | "mh-fallback" => ServiceFlags::SCHED1,
            "sh-port" | "mh-port" => ServiceFlags::SCHED2,
            other => panic!("unknown flag {other}"),
        };
        service.flags = service.flags.with(bit, true);
    }
    let mut sched = sched::bind(&service, &[]).unwrap();
    let mut dests: Vec<Dest> = Vec::new();
    for (octet, weight) in case.dests {
        let addr = SocketAddr::new(rip(*octet).into(), 80);
        dests.insert(0, Dest::new(DestConfig::new(addr, Forward::Masq, *weight)));
        sched.dests_changed(&dests, DestChange::Added { index: 0 });
    }
    let position = |dests: &[Dest], answered: &str| {
        dests
            .iter()
            .position(|d| d.key().addr.to_string() == answered)
    };
    let mut picks = Vec::new();
    for (k, answered) in kernel.iter().enumerate() {
        let packet = Packet {
            protocol: Protocol::Tcp,
            client: client(n, k),
            destination: vip,
        };
        let now = Duration::from_millis(k as u64 * 100);
        picks.push(match sched.schedule(&dests, &packet, now) {
            Ok(i) => dests[i].key().addr.to_string(),
            Err(_) => "-".to_string(),
        });
        if let Some(i) = position(&dests, answered) {
            dests[i].active += 1;
        }
        for (_, which) in case.closes.iter().filter(|(after, _)| *after == k) {
            let i = position(&dests, &kernel[*which])
                .unwrap_or_else(|| panic!("case {n} closes pick {which}, which failed"));
            dests[i].active -= 1;
            dests[i].inactive += 1;
        }
    }
    (picks, dests)
}

/// `addr -> (active, inactive)` from an `ipvsadm -Ln` listing.
fn kernel_counts(listing: &str) -> HashMap<IpAddr, (u32, u32)> {
    listing
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("-> "))
        .filter_map(|rest| {
            let w: Vec<&str> = rest.split_whitespace().collect();
            let addr: SocketAddr = w.first()?.parse().ok()?;
            Some((addr.ip(), (w[3].parse().ok()?, w[4].parse().ok()?)))
        })
        .collect()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn schedulers_pick_what_the_kernel_picks() {
    let Some(_group) =
        support::privileged_test(module_path!(), "schedulers_pick_what_the_kernel_picks")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    std::fs::write(out.join("plan.txt"), plan()).unwrap();
    std::fs::write(out.join("driver.py"), DRIVER).unwrap();
    std::fs::write(out.join("server.py"), SERVER).unwrap();
    let script_path = out.join("guest.sh");
    std::fs::write(&script_path, script(out)).unwrap();
    let started = std::time::Instant::now();
    let run = support::vm::run(&format!("sh {}", script_path.display()), Some(out));
    let stamp = |name: &str| -> f64 {
        std::fs::read_to_string(out.join(name))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    eprintln!(
        "VM run: {:.1} s in all; guest setup {:.1} s, driver {:.1} s",
        started.elapsed().as_secs_f64(),
        stamp("t.driver") - stamp("t.start"),
        stamp("t.end") - stamp("t.driver"),
    );
    assert!(
        out.join("done").exists(),
        "the guest script did not finish: {}\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
        std::fs::read_to_string(out.join("driver.log")).unwrap_or_default()
    );

    let mut failures = Vec::new();
    for (n, case) in CASES.iter().enumerate() {
        let port = service_port(n);
        let label = format!(
            "{} {:?} closes {:?} (port {port})",
            case.scheduler, case.flags, case.closes
        );
        let kernel: Vec<String> = read(out, &format!("{port}.picks"))
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(kernel.len(), PICKS, "{label}: kernel picks {kernel:?}");
        assert!(
            kernel.iter().any(|p| p != "-"),
            "{label}: the kernel picked nothing; the topology is broken"
        );
        let (ours, dests) = lvstop_picks(n, case, &kernel);
        // Our model of the kernel's counts must be the kernel's counts.
        let counts = kernel_counts(&read(out, &format!("{port}.ipvsadm")));
        for d in &dests {
            let listed = counts.get(&d.key().addr);
            if listed != Some(&(d.active, d.inactive)) {
                failures.push(format!(
                    "{label}: ipvsadm lists {} with (active, inactive) {listed:?}, \
                     the model fed to lvstop has ({}, {})",
                    d.key().addr,
                    d.active,
                    d.inactive
                ));
            }
        }
        eprintln!("{label}: kernel {}", kernel.join(" "));
        if kernel != ours {
            failures.push(format!(
                "{label}:\n  kernel {}\n  lvstop {}",
                kernel.join(" "),
                ours.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
