//! Test rig for the VRRP director tier: two directors and an observer,
//! each in its own network namespace, plugged into a bridge that lives in
//! a fourth ("switch") namespace; `lvstop daemon` and keepalived process
//! guards; a frame capture on the observer; VIP checks with `ip addr`.
//! Everything is removed on drop, also when a test fails.
//!
//! Shared by the modules of the tier2 binary, each using part of it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::support::keepalived;
use crate::support::netns::{run, Netns};
use crate::support::unique_name;

pub const A_ADDR: &str = "198.51.100.1";
pub const B_ADDR: &str = "198.51.100.2";
pub const OBS_ADDR: &str = "198.51.100.3";
pub const VIP: &str = "198.51.100.100";

/// Directors `a` and `b` and observer `obs` on one bridged segment.
pub struct Lan {
    pub a: Netns,
    pub b: Netns,
    pub obs: Netns,
    pub a_if: String,
    pub b_if: String,
    pub obs_if: String,
    /// The switch ports of a, b and obs (in the switch namespace).
    pub sw_ports: Vec<String>,
    // Dropped last: the switch holds the bridge and the veth peers.
    pub sw: Netns,
}

impl Lan {
    pub fn new() -> Self {
        let sw = Netns::new(&unique_name("vsw"));
        let a = Netns::new(&unique_name("vdA"));
        let b = Netns::new(&unique_name("vdB"));
        let obs = Netns::new(&unique_name("vdO"));
        sw.exec(
            "ip",
            &[
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        );
        sw.exec("ip", &["link", "set", "br0", "up"]);
        let mut names = Vec::new();
        let mut sw_ports = Vec::new();
        for (ns, addr) in [(&a, A_ADDR), (&b, B_ADDR), (&obs, OBS_ADDR)] {
            ns.exec("sysctl", &["-qw", "net.ipv6.conf.all.accept_dad=0"]);
            ns.exec("sysctl", &["-qw", "net.ipv6.conf.default.accept_dad=0"]);
            let inside = unique_name("vde");
            let port = unique_name("vdp");
            run(
                "ip",
                &[
                    "link", "add", &inside, "netns", &ns.name, "type", "veth", "peer", "name",
                    &port, "netns", &sw.name,
                ],
            );
            sw.exec("ip", &["link", "set", &port, "master", "br0"]);
            sw.exec("ip", &["link", "set", &port, "up"]);
            ns.exec(
                "ip",
                &["addr", "add", &format!("{addr}/24"), "dev", &inside],
            );
            ns.exec("ip", &["link", "set", &inside, "up"]);
            names.push(inside);
            sw_ports.push(port);
        }
        for (ns, ifname) in [(&a, &names[0]), (&b, &names[1]), (&obs, &names[2])] {
            let up = eventually(Duration::from_secs(10), || {
                let out = ns.exec("ip", &["-o", "link", "show", "dev", ifname]);
                String::from_utf8_lossy(&out.stdout).contains("LOWER_UP")
            });
            assert!(up, "{ifname} never came up");
        }
        let obs_if = names.pop().unwrap();
        let b_if = names.pop().unwrap();
        let a_if = names.pop().unwrap();
        Self {
            a,
            b,
            obs,
            a_if,
            b_if,
            obs_if,
            sw_ports,
            sw,
        }
    }

    /// Whether `ns` holds `addr` on any interface (`ip addr`).
    pub fn has(ns: &Netns, addr: &str) -> bool {
        let out = ns.exec("ip", &["-o", "addr", "show"]);
        String::from_utf8_lossy(&out.stdout).contains(&format!(" {addr}/"))
    }

    /// Where the VIP is: (on a, on b).
    pub fn vip(&self) -> (bool, bool) {
        (Self::has(&self.a, VIP), Self::has(&self.b, VIP))
    }

    /// The MAC of `ifname` in `ns`.
    pub fn mac(ns: &Netns, ifname: &str) -> [u8; 6] {
        let out = ns.exec("cat", &[&format!("/sys/class/net/{ifname}/address")]);
        let text = String::from_utf8_lossy(&out.stdout);
        let bytes: Vec<u8> = text
            .trim()
            .split(':')
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }
}

/// The `lvstop` binary under test: `LVSTOP_TEST_BIN` when set (a target
/// directory shared by several checkouts holds one `debug/lvstop`, the
/// last one built; the checkout's own build stays in `debug/deps/`), else
/// the one cargo built for this test.
pub fn lvstop_binary() -> String {
    std::env::var("LVSTOP_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_lvstop").to_string())
}

pub use crate::support::eventually;

/// True when `cond` holds at every check for `span` (checked every 100 ms).
pub fn always(span: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + span;
    while Instant::now() < deadline {
        if !cond() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

/// A VRRP director process in a namespace: `lvstop daemon` or keepalived
/// 2.2.7. Killed (SIGKILL, every process of its namespace for keepalived)
/// on drop.
pub struct Director {
    pub keepalived: bool,
    ns: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Director {
    pub fn lvstop(ns: &Netns, config: &str) -> Self {
        Self::lvstop_with(ns, config, &[])
    }

    /// `lvstop daemon` with more options (`--metrics ADDR:PORT`, …).
    pub fn lvstop_with(ns: &Netns, config: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("keepalived.conf");
        std::fs::write(&conf, config).unwrap();
        let log = File::create(dir.path().join("log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, &lvstop_binary(), "daemon", "-f"])
            .arg(&conf)
            .arg("--socket")
            .arg(dir.path().join("sock"))
            .args(extra)
            .env("LVSTOP_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Self {
            keepalived: false,
            ns: ns.name.clone(),
            child: Some(child),
            dir,
        }
    }

    pub fn keepalived(ns: &Netns, config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let child = keepalived::spawn(ns, config, dir.path());
        Self {
            keepalived: true,
            ns: ns.name.clone(),
            child: Some(child),
            dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The configuration file the director was started on (rewrite it,
    /// then [`Self::hup`], to reload).
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("keepalived.conf")
    }

    /// SIGHUP: reload the configuration.
    pub fn hup(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-HUP", &child.id().to_string()])
                .status();
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// Every process of the director (keepalived forks its VRRP child).
    fn pids(&self) -> Vec<String> {
        if self.keepalived {
            let out = Command::new("ip")
                .args(["netns", "pids", &self.ns])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        } else {
            self.child.iter().map(|c| c.id().to_string()).collect()
        }
    }

    /// SIGKILL to every process at once: a crash.
    pub fn crash(&mut self) {
        let pids = self.pids();
        if !pids.is_empty() {
            let mut args = vec!["-KILL".to_string()];
            args.extend(pids);
            let _ = Command::new("kill").args(&args).status();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait (10 s) for the exit: a clean stop.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            if eventually(Duration::from_secs(10), || {
                matches!(child.try_wait(), Ok(Some(_)))
            }) {
                return;
            }
            self.child = Some(child);
            self.crash();
        }
    }

    /// `lvstop --once --json` against this daemon, parsed.
    pub fn once_json(&self) -> serde_json::Value {
        let out = Command::new(lvstop_binary())
            .args(["--once", "--json", "--socket"])
            .arg(self.socket())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `lvstop --once` text against this daemon.
    pub fn once_text(&self, extra: &[&str]) -> String {
        let out = Command::new(lvstop_binary())
            .arg("--once")
            .args(extra)
            .arg("--socket")
            .arg(self.socket())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The VI_1 instance of `--once --json`'s `vrrp` member.
    pub fn instance(&self) -> serde_json::Value {
        let json = self.once_json();
        json["vrrp"]["instances"][0].clone()
    }
}

impl Drop for Director {
    fn drop(&mut self) {
        self.crash();
    }
}

type Frames = Arc<Mutex<Vec<(SystemTime, Vec<u8>)>>>;

/// Every frame seen on the observer's interface, with its arrival time,
/// captured from a thread that lives in the observer's namespace.
pub struct Capture {
    stop: Arc<AtomicBool>,
    frames: Frames,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    pub fn start(ns: &Netns) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let frames = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let path = format!("/run/netns/{}", ns.name);
        let thread = {
            let (stop, frames) = (Arc::clone(&stop), Arc::clone(&frames));
            std::thread::spawn(move || {
                let file = File::open(path).unwrap();
                nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                const ETH_P_ALL: u16 = 0x0003;
                let socket = socket2::Socket::new(
                    socket2::Domain::PACKET,
                    socket2::Type::RAW,
                    Some(socket2::Protocol::from(i32::from(ETH_P_ALL.to_be()))),
                )
                .unwrap();
                socket
                    .set_read_timeout(Some(Duration::from_millis(50)))
                    .unwrap();
                ready_tx.send(()).unwrap();
                let mut buf = [0u8; 2048];
                while !stop.load(Ordering::Relaxed) {
                    use std::io::Read;
                    if let Ok(n) = (&socket).read(&mut buf) {
                        frames
                            .lock()
                            .unwrap()
                            .push((SystemTime::now(), buf[..n].to_vec()));
                    }
                }
            })
        };
        ready_rx.recv().unwrap();
        Self {
            stop,
            frames,
            thread: Some(thread),
        }
    }

    /// Every frame captured so far (the observer's own outgoing frames
    /// included), with its arrival time, in order.
    pub fn frames(&self) -> Vec<(SystemTime, Vec<u8>)> {
        self.frames.lock().unwrap().clone()
    }

    /// Gratuitous ARPs for `vip` (sender IP = target IP = VIP), with the
    /// Ethernet source MAC and arrival time, in order.
    pub fn garps(&self, vip: Ipv4Addr) -> Vec<(SystemTime, [u8; 6])> {
        self.frames
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, f)| {
                f.len() >= 42
                    && f[12..14] == [0x08, 0x06]
                    && f[28..32] == vip.octets()
                    && f[38..42] == vip.octets()
            })
            .map(|(at, f)| (*at, f[6..12].try_into().unwrap()))
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A keepalived.conf with one instance `VI_1` (VRID 51) holding [`VIP`].
pub fn vrrp_config(
    interface: &str,
    priority: u8,
    version: u8,
    advert_int: &str,
    extra: &str,
) -> String {
    format!(
        "global_defs {{\n  router_id test\n  vrrp_version {version}\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface {interface}\n  virtual_router_id 51\n  \
         priority {priority}\n  advert_int {advert_int}\n{extra}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

pub fn vip4() -> Ipv4Addr {
    VIP.parse().unwrap()
}
