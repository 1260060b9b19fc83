#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real-kernel tier: the reference deployment (LVS-DR), end to end, with
//! lvstop in every role its scripts and keepalived played.
//!
//! Inside the guest, one layer-2 segment (a bridge in namespace `lvslan`)
//! joins four namespaces, as the reference deployment's 192.168.100.0/24 LAN did:
//!
//! | namespace | address            | role                                   |
//! |-----------|--------------------|----------------------------------------|
//! | `lvsdir`  | 198.51.100.80, VIP 198.51.100.88 | director: `lvstop daemon --dataplane kernel` |
//! | `lvsrs1`  | 198.51.100.82      | real server: `lvstop realserver start`, web server |
//! | `lvsrs2`  | 198.51.100.83      | real server: the same                  |
//! | `lvscl`   | 203.0.113.1–.8     | clients, on-link routes to the servers |
//!
//! With direct routing the director only rewrites the destination MAC; a
//! real server answers the client straight from the VIP it holds on `lo`.
//! That works only when `lvstop realserver` did its job: the VIP on `lo`
//! (else the real server drops the packets), `arp_ignore=1` (else real
//! servers answer ARP for the VIP and steal the traffic) and
//! `arp_announce=2`. The test checks the reference deployment's first check — traffic
//! spreads over both real servers — plus the client's ARP entry for the
//! VIP (the director's MAC), `realserver status`, and that `realserver
//! stop` puts everything back.

use crate::support;

use std::path::Path;

const LVSTOP: &str = env!("CARGO_BIN_EXE_lvstop");

/// The reference deployment's keepalived.conf, in the test's address range.
const CONFIG: &str = "\
global_defs {
    router_id LVS_DEVEL
}
virtual_server 198.51.100.88 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind DR
    persistence_timeout 60
    protocol TCP
    real_server 198.51.100.82 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 10
            connect_port 80
        }
    }
    real_server 198.51.100.83 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 10
            connect_port 80
        }
    }
}
";

/// A web server that names itself: one line per connection.
const SERVER: &str = r#"
import socket, sys
name, ready = sys.argv[1], sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80))
s.listen(64)
open(ready, "w").close()
while True:
    c, _ = s.accept()
    try:
        c.recv(1024)
        c.sendall(("HTTP/1.0 200 OK\r\n\r\n" + name + "\n").encode())
    except OSError:
        # The director's TCP_CHECK connects and closes at once; that must
        # not end the server.
        pass
    finally:
        c.close()
"#;

/// Each client address asks the VIP once; prints `client server`.
const CLIENT: &str = r#"
import socket, sys
for i in range(1, 9):
    src = "203.0.113.%d" % i
    s = socket.create_connection(("198.51.100.88", 80), timeout=10, source_address=(src, 0))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(1024)
        if not chunk:
            break
        data += chunk
    s.close()
    print(src, data.decode().split("\r\n\r\n", 1)[1].strip())
"#;

fn script(out: &Path) -> String {
    let o = out.display();
    let clients: String = (1..=8)
        .map(|i| format!("ip -n lvscl addr add 203.0.113.{i}/24 dev eth0\n"))
        .collect();
    format!(
        "set -e
modprobe ip_vs
modprobe ip_vs_wrr
for n in lvslan lvsdir lvsrs1 lvsrs2 lvscl; do ip netns add $n; ip -n $n link set lo up; done
ip -n lvslan link add br0 type bridge
ip -n lvslan link set br0 up
for n in lvsdir lvsrs1 lvsrs2 lvscl; do
  ip link add eth0 netns $n type veth peer name p-$n netns lvslan
  ip -n lvslan link set p-$n master br0 up
  ip -n $n link set eth0 up
done
ip -n lvsdir addr add 198.51.100.80/24 dev eth0
ip -n lvsdir addr add 198.51.100.88/32 dev eth0
ip -n lvsdir route add 203.0.113.0/24 dev eth0
ip -n lvsrs1 addr add 198.51.100.82/24 dev eth0
ip -n lvsrs2 addr add 198.51.100.83/24 dev eth0
ip -n lvsrs1 route add 203.0.113.0/24 dev eth0
ip -n lvsrs2 route add 203.0.113.0/24 dev eth0
{clients}ip -n lvscl route add 198.51.100.0/24 dev eth0
ip -n lvsdir link show eth0 | awk '/link\\/ether/ {{ print $2 }}' > {o}/director.mac

# The real servers, as the reference deployment's realserver script set them up.
for rs in 1 2; do
  ip netns exec lvsrs$rs {LVSTOP} realserver start --vip 198.51.100.88 --state-file /tmp/rs$rs.state > {o}/rs$rs.start 2>&1
  ip netns exec lvsrs$rs {LVSTOP} realserver status --vip 198.51.100.88 --state-file /tmp/rs$rs.state > {o}/rs$rs.status 2>&1 && echo \"exit 0\" >> {o}/rs$rs.status || echo \"exit $?\" >> {o}/rs$rs.status
  ip -n lvsrs$rs -o addr show dev lo > {o}/rs$rs.lo
  ip netns exec lvsrs$rs sh -c 'cat /proc/sys/net/ipv4/conf/lo/arp_ignore /proc/sys/net/ipv4/conf/lo/arp_announce /proc/sys/net/ipv4/conf/all/arp_ignore /proc/sys/net/ipv4/conf/all/arp_announce' > {o}/rs$rs.sysctl
  ip netns exec lvsrs$rs python3 {o}/server.py rs$rs /tmp/rs$rs.ready > {o}/rs$rs.server.log 2>&1 &
done
# Python starts slowly under TCG on a busy host: give the servers a minute.
for i in $(seq 600); do [ -e /tmp/rs1.ready ] && [ -e /tmp/rs2.ready ] && break; sleep 0.1; done
ip netns exec lvsrs1 ss -ltn > {o}/rs1.ss

# The director: lvstop programs the kernel's IPVS from the config.
ip netns exec lvsdir {LVSTOP} daemon -f {o}/keepalived.conf --dataplane kernel --socket /tmp/lvstop.sock > {o}/daemon.log 2>&1 &
daemon=$!
for i in $(seq 100); do ip netns exec lvsdir ipvsadm -Ln | grep -q 198.51.100.83 && break; sleep 0.1; done
# As the reference deployment's operator would: both real servers checked UP first.
for i in $(seq 600); do [ \"$(ip netns exec lvsdir {LVSTOP} --once -n --socket /tmp/lvstop.sock 2>/dev/null | grep -c '  UP  TCP_CHECK')\" = 2 ] && break; sleep 0.1; done

ip netns exec lvsdir ipvsadm -Ln > {o}/director.before-client
ip netns exec lvscl python3 {o}/client.py > {o}/client.out 2> {o}/client.err || {{ ip netns exec lvsdir ipvsadm -Ln > {o}/director.after-failure; exit 1; }}
ip -n lvscl neigh show 198.51.100.88 > {o}/client.neigh
ip netns exec lvsdir ipvsadm -Ln > {o}/director.ipvsadm
ip netns exec lvsdir {LVSTOP} --once -n --socket /tmp/lvstop.sock > {o}/director.once 2>&1

kill -TERM $daemon; wait $daemon || true
for rs in 1 2; do
  ip netns exec lvsrs$rs {LVSTOP} realserver stop --vip 198.51.100.88 --state-file /tmp/rs$rs.state > {o}/rs$rs.stop 2>&1
  ip -n lvsrs$rs -o addr show dev lo > {o}/rs$rs.lo.after
  ip netns exec lvsrs$rs sh -c 'cat /proc/sys/net/ipv4/conf/lo/arp_ignore /proc/sys/net/ipv4/conf/lo/arp_announce /proc/sys/net/ipv4/conf/all/arp_ignore /proc/sys/net/ipv4/conf/all/arp_announce' > {o}/rs$rs.sysctl.after
done
echo done > {o}/done
"
    )
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn seed_dr_director_spreads_traffic_over_lvstop_real_servers() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "seed_dr_director_spreads_traffic_over_lvstop_real_servers",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    std::fs::write(out.join("keepalived.conf"), CONFIG).unwrap();
    std::fs::write(out.join("server.py"), SERVER).unwrap();
    std::fs::write(out.join("client.py"), CLIENT).unwrap();
    let script_path = out.join("guest.sh");
    std::fs::write(&script_path, script(out)).unwrap();
    let run = support::vm::run(&format!("sh {}", script_path.display()), Some(out));
    let diagnostics = || {
        let mut text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        for name in [
            "daemon.log",
            "client.err",
            "client.out",
            "director.before-client",
            "director.after-failure",
            "rs1.ss",
            "rs1.start",
            "rs2.start",
        ] {
            text += &format!(
                "\n--- {name}\n{}",
                std::fs::read_to_string(out.join(name)).unwrap_or_default()
            );
        }
        text
    };
    assert!(
        out.join("done").exists(),
        "the guest script did not finish:\n{}",
        diagnostics()
    );

    // The real servers were set up as the reference deployment's script did.
    for rs in ["rs1", "rs2"] {
        let lo = read(out, &format!("{rs}.lo"));
        assert!(
            lo.contains("inet 198.51.100.88/32") && lo.contains("lo:0"),
            "{rs}: VIP /32 on lo with label lo:0: {lo}"
        );
        assert_eq!(
            read(out, &format!("{rs}.sysctl"))
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["1", "2", "1", "2"],
            "{rs}: arp_ignore/arp_announce on lo and all"
        );
        let status = read(out, &format!("{rs}.status"));
        assert!(
            status.trim_end().ends_with("exit 0"),
            "{rs}: status after start finds everything in place: {status}"
        );
    }

    // The reference deployment's first check: traffic reaches both real servers, each
    // answer straight from the real server that the director picked.
    let answers = read(out, "client.out");
    let served: Vec<&str> = answers
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        served.len(),
        8,
        "every client got an answer:\n{answers}\n{}",
        diagnostics()
    );
    assert!(
        served.contains(&"rs1") && served.contains(&"rs2"),
        "traffic spreads over both real servers:\n{answers}"
    );

    // Only the director answered ARP for the VIP (arp_ignore at work).
    let mac = read(out, "director.mac");
    let neigh = read(out, "client.neigh");
    assert!(
        neigh.contains(mac.trim()),
        "the client reaches the VIP at the director's MAC {}: {neigh}",
        mac.trim()
    );

    // The director's kernel table shows DR ("Route") with both servers,
    // and lvstop's view of it from the daemon matches the kernel's.
    let ipvsadm = read(out, "director.ipvsadm");
    assert!(ipvsadm.contains("TCP  198.51.100.88:80 wrr persistent 60"));
    assert_eq!(ipvsadm.matches("Route   3").count(), 2, "{ipvsadm}");
    let once = read(out, "director.once");
    assert!(
        once.contains("198.51.100.82:80") && once.contains("198.51.100.83:80"),
        "{once}"
    );

    // `realserver stop` puts back what was there before.
    for rs in ["rs1", "rs2"] {
        let lo = read(out, &format!("{rs}.lo.after"));
        assert!(!lo.contains("198.51.100.88"), "{rs}: VIP removed: {lo}");
        assert_eq!(
            read(out, &format!("{rs}.sysctl.after"))
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["0", "0", "0", "0"],
            "{rs}: sysctls restored"
        );
    }
}
