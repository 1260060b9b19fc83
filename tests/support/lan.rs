//! The reference deployment's segment inside the VM: one bridge joining a
//! namespace per host, and the programs that run on them (nginx real
//! servers, keepalived or lvstop directors, an SMTP server, clients).
//! Used by the in-guest halves of the VM tests, where the guest is fresh,
//! so namespace names are fixed.
//!
//! | namespace | address                      | role                   |
//! |-----------|------------------------------|------------------------|
//! | `lvsd1`   | 198.51.100.80                | lvs-master             |
//! | `lvsd2`   | 198.51.100.81                | lvs-backup             |
//! | `lvsrs1`  | 198.51.100.82, VIP on `lo`   | rs1: nginx             |
//! | `lvsrs2`  | 198.51.100.83, VIP on `lo`   | rs2: nginx             |
//! | `lvsmail` | 198.51.100.90                | SMTP server (aiosmtpd) |
//! | `lvscl1`…`lvscl8` | 203.0.113.1–.8       | one client each        |

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const VIP: &str = "198.51.100.88";
pub const RS1: &str = "198.51.100.82:80";
pub const RS2: &str = "198.51.100.83:80";
pub const MAIL: &str = "198.51.100.90";
pub const CLIENTS: u8 = 8;

/// Runs a shell command line of the test's own making; panics with its
/// output when it fails.
pub fn sh(script: &str) -> String {
    let output = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(
        output.status.success(),
        "`{script}` failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Starts a command in the background, its output to `log`.
pub fn spawn(script: &str, log: &Path) {
    sh(&format!("({script}) > {} 2>&1 &", log.display()));
}

/// Waits (bounded) until `check` holds; panics naming `what`.
pub fn until(what: &str, seconds: u64, check: impl Fn() -> bool) {
    assert!(
        super::eventually(Duration::from_secs(seconds), check),
        "never saw {what}"
    );
}

/// The reference deployment's keepalived.conf for one director, in the
/// test's address range; `global` goes into `global_defs`.
pub fn director_config(state: &str, priority: u8, global: &str) -> String {
    let real_server = |addr: &str| {
        format!(
            "    real_server {addr} 80 {{
        weight 3
        TCP_CHECK {{
            connect_timeout 10
            nb_get_retry 3
            delay_before_retry 3
            connect_port 80
        }}
    }}
"
        )
    };
    format!(
        "global_defs {{
{global}    router_id LVS_DEVEL
}}
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass 1111
    }}
    virtual_ipaddress {{
        {VIP}
    }}
}}
virtual_server {VIP} 80 {{
    delay_loop 6
    lb_algo wrr
    lb_kind DR
    persistence_timeout 60
    protocol TCP
{}{}}}
",
        real_server("198.51.100.82"),
        real_server("198.51.100.83")
    )
}

/// nginx answering as the reference deployment's web servers did
/// (`This is test` and the server's name), with long keep-alives so held
/// client connections stay established.
fn nginx_config(name: &str, dir: &Path) -> String {
    let d = dir.display();
    format!(
        "daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_timeout 600;
    keepalive_requests 100000;
    server {{
        listen 80;
        location / {{ return 200 \"This is test\\n{name}\\n\"; }}
    }}
}}
"
    )
}

/// The hosts of the server range and the last octet of their address;
/// their index here is their port on the bridge.
const SERVERS: [(&str, u8); 5] = [
    ("lvsd1", 80),
    ("lvsd2", 81),
    ("lvsrs1", 82),
    ("lvsrs2", 83),
    ("lvsmail", 90),
];

/// A host's namespace, plugged into the bridge on port `p{port}`.
fn plug(host: &str, port: usize) -> String {
    format!(
        "ip netns add {host}; ip -n {host} link set lo up\n\
         ip link add eth0 netns {host} type veth peer name p{port} netns lvslan\n\
         ip -n lvslan link set p{port} master br0 up; ip -n {host} link set eth0 up\n"
    )
}

/// A server-range host's address and its on-link route to the clients.
fn address(host: &str, last: u8) -> String {
    format!(
        "ip -n {host} addr add 198.51.100.{last}/24 dev eth0\n\
         ip -n {host} route add 203.0.113.0/24 dev eth0\n"
    )
}

/// `host` (a director) as after a reboot: a new namespace, so nothing of
/// the old kernel state is left — no VIP, no IPVS services, and no
/// connection entries or persistence templates, which `ipvsadm -C` keeps
/// until they expire. Every process left in the old namespace ends, as in
/// a reboot, and the old stack is gone (its bridge port with it) before the
/// new one is plugged in.
pub fn reboot(host: &str) {
    let (port, (_, last)) = SERVERS
        .iter()
        .enumerate()
        .find(|(_, (name, _))| *name == host)
        .expect("a host of the server range");
    sh(&format!(
        "ip netns pids {host} | xargs -r kill -KILL; ip netns del {host}; \
         i=0; while ip -n lvslan link show p{port} >/dev/null 2>&1; do \
           i=$((i + 1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done"
    ));
    sh(&format!(
        "set -e\n{}{}",
        plug(host, port),
        address(host, *last)
    ));
}

/// The segment: namespaces on one bridge, addresses, on-link routes
/// between the two ranges (no default routes).
pub fn build(clients_in_one_namespace: bool) {
    let mut hosts = vec!["lvsd1", "lvsd2", "lvsrs1", "lvsrs2", "lvsmail"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    let clients: Vec<String> = if clients_in_one_namespace {
        vec!["lvscl".into()]
    } else {
        (1..=CLIENTS).map(|i| format!("lvscl{i}")).collect()
    };
    hosts.extend(clients.iter().cloned());
    let mut script = String::from(
        "set -e\nmodprobe ip_vs; modprobe ip_vs_wrr; modprobe veth; modprobe bridge\n\
         ip netns add lvslan; ip -n lvslan link set lo up\n\
         ip -n lvslan link add br0 type bridge; ip -n lvslan link set br0 up\n",
    );
    for (n, host) in hosts.iter().enumerate() {
        script += &plug(host, n);
    }
    for (host, last) in SERVERS {
        script += &address(host, last);
    }
    for (n, host) in clients.iter().enumerate() {
        let addresses: Vec<u8> = if clients_in_one_namespace {
            (1..=CLIENTS).collect()
        } else {
            vec![u8::try_from(n).unwrap() + 1]
        };
        for a in addresses {
            script += &format!("ip -n {host} addr add 203.0.113.{a}/24 dev eth0\n");
        }
        script += &format!("ip -n {host} route add 198.51.100.0/24 dev eth0\n");
    }
    sh(&script);
}

/// The run's directory, the lvstop binary it uses, and a log of the
/// steps passed (what the host prints when the run fails).
pub struct Run {
    pub out: PathBuf,
    pub lvstop: String,
    steps: std::fs::File,
}

impl Run {
    /// `lvstop` is the copy of the binary the host made for this run.
    pub fn new(out: &Path, lvstop: &Path) -> Run {
        Run {
            out: out.to_path_buf(),
            lvstop: lvstop.display().to_string(),
            steps: std::fs::File::create(out.join("steps.log")).unwrap(),
        }
    }

    /// Records a step passed (and prints it, for a run by hand).
    pub fn step(&mut self, what: &str) {
        writeln!(self.steps, "ok: {what}").unwrap();
        eprintln!("ok: {what}");
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.out.join(name)
    }

    /// keepalived in `ns` with a tmpfs of its own on `/tmp`; returns its
    /// main pid.
    pub fn keepalived(&self, ns: &str, config: &str) -> u32 {
        let dir = self.path(ns);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("keepalived.conf"), config).unwrap();
        let d = dir.display();
        let pid_file = dir.join("k.pid");
        let _ = std::fs::remove_file(&pid_file);
        spawn(
            &format!(
                "exec ip netns exec {ns} unshare -m --propagation private sh -c \
                 'mount -t tmpfs lvstop-test /tmp && exec keepalived -n -l -D -f {d}/keepalived.conf \
                 -p {d}/k.pid -r {d}/v.pid -c {d}/c.pid'"
            ),
            &dir.join("keepalived.log"),
        );
        until(&format!("keepalived's pid file in {ns}"), 60, || {
            std::fs::read_to_string(&pid_file).is_ok_and(|p| !p.trim().is_empty())
        });
        std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// `lvstop daemon --dataplane kernel` in `ns` on `config`; returns its
    /// pid once its control socket answers.
    pub fn lvstop_daemon(&self, ns: &str, config: &str) -> u32 {
        let dir = self.path(ns);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("keepalived.conf"), config).unwrap();
        let d = dir.display();
        let pid_file = dir.join("daemon.pid");
        let _ = std::fs::remove_file(&pid_file);
        let socket = Self::socket(ns);
        let _ = std::fs::remove_file(&socket);
        spawn(
            &format!(
                "ip netns exec {ns} {} daemon -f {d}/keepalived.conf --dataplane kernel \
                 --socket {} & echo $! > {d}/daemon.pid; wait",
                self.lvstop,
                socket.display()
            ),
            &dir.join("daemon.log"),
        );
        until(&format!("lvstop daemon in {ns}"), 60, || {
            socket.exists() && pid_file.exists()
        });
        std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// The control socket of the lvstop daemon in `ns`: in the guest's own
    /// /tmp, as the shared folder (9p) cannot hold a Unix socket.
    pub fn socket(ns: &str) -> PathBuf {
        PathBuf::from(format!("/tmp/lvstop-{ns}.sock"))
    }

    /// `lvstop --once -n` against the daemon in `ns`.
    pub fn once(&self, ns: &str) -> String {
        sh(&format!(
            "ip netns exec {ns} {} --once -n --socket {}",
            self.lvstop,
            Self::socket(ns).display()
        ))
    }

    /// `lvstop realserver start` for the VIP, then nginx, in `ns`.
    pub fn real_server(&self, ns: &str, name: &str) {
        sh(&format!(
            "ip netns exec {ns} {} realserver start --vip {VIP} --state-file /tmp/{ns}.state",
            self.lvstop
        ));
        self.nginx(ns, name);
    }

    pub fn nginx(&self, ns: &str, name: &str) {
        let dir = self.path(ns);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("nginx.conf"), nginx_config(name, &dir)).unwrap();
        spawn(
            &format!(
                "exec ip netns exec {ns} nginx -p {d} -c {d}/nginx.conf",
                d = dir.display()
            ),
            &dir.join("nginx.log"),
        );
        until(&format!("nginx in {ns}"), 60, || listening(ns));
    }

    pub fn stop_nginx(&self, ns: &str) {
        let pid = self.path(ns).join("nginx.pid");
        sh(&format!("kill -TERM $(cat {})", pid.display()));
        until(&format!("nginx in {ns} to stop"), 30, || !listening(ns));
    }

    /// Captures VRRP on `ns`'s eth0 into `NAME.pcap` until [`stop_captures`].
    pub fn capture_vrrp(&self, ns: &str, name: &str) {
        spawn(
            &format!(
                "exec ip netns exec {ns} tcpdump -i eth0 -nn -U -w {} 'ip proto 112'",
                self.path(&format!("{name}.pcap")).display()
            ),
            &self.path(&format!("{name}.tcpdump.log")),
        );
    }

    /// The adverts captured in `NAME.pcap`, as tcpdump prints them with
    /// epoch timestamps.
    pub fn adverts(&self, name: &str) -> String {
        sh(&format!(
            "tcpdump -nn -tt -r {} 2>/dev/null",
            self.path(&format!("{name}.pcap")).display()
        ))
    }
}

fn listening(ns: &str) -> bool {
    sh(&format!("ip netns exec {ns} ss -Hltn 'sport = :80'")).contains(":80")
}

/// Stops every capture (tcpdump flushes on SIGINT).
pub fn stop_captures() {
    sh("pkill -INT tcpdump; sleep 1");
}

/// The lines of a screen or output with runs of spaces folded to one.
pub fn words(text: &str) -> String {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}
