//! Test rig for the VRRP I/O tier: two namespaces joined by a veth pair
//! with known MACs and addresses, entering a namespace from a thread, hand
//! built VRRP adverts, a keepalived process guard and a raw frame capture.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::support::keepalived;
use crate::support::netns::{run, Netns};
use crate::support::unique_name;

pub const MAC_A: [u8; 6] = [0x02, 0x00, 0x5e, 0x20, 0x00, 0x01];
pub const MAC_B: [u8; 6] = [0x02, 0x00, 0x5e, 0x20, 0x00, 0x02];
pub const A4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
pub const B4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
pub const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
pub const B6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

/// Two namespaces, `a` and `b`, joined by `a_if` ↔ `b_if`.
pub struct Pair {
    pub a: Netns,
    pub b: Netns,
    pub a_if: String,
    pub b_if: String,
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Pair {
    /// Namespaces with IPv6 duplicate address detection off (so link-local
    /// addresses are usable at once), 198.51.100.1-2/24 and 2001:db8::1-2/64.
    pub fn new() -> Self {
        let a = Netns::new(&unique_name("vioA"));
        let b = Netns::new(&unique_name("vioB"));
        for ns in [&a, &b] {
            ns.exec("sysctl", &["-qw", "net.ipv6.conf.default.accept_dad=0"]);
            ns.exec("sysctl", &["-qw", "net.ipv6.conf.all.accept_dad=0"]);
        }
        let a_if = unique_name("via");
        let b_if = unique_name("vib");
        run(
            "ip",
            &[
                "link",
                "add",
                &a_if,
                "netns",
                &a.name,
                "address",
                &mac_text(MAC_A),
                "type",
                "veth",
                "peer",
                "name",
                &b_if,
                "netns",
                &b.name,
                "address",
                &mac_text(MAC_B),
            ],
        );
        for (ns, ifname, v4, v6) in [(&a, &a_if, A4, A6), (&b, &b_if, B4, B6)] {
            ns.exec("ip", &["addr", "add", &format!("{v4}/24"), "dev", ifname]);
            ns.exec(
                "ip",
                &["addr", "add", &format!("{v6}/64"), "dev", ifname, "nodad"],
            );
            ns.exec("ip", &["link", "set", ifname, "up"]);
        }
        // Carrier comes up a moment after `link set up`; until then the
        // peer's IPv6 stack is not ready and frames sent now can be lost.
        for (ns, ifname) in [(&a, &a_if), (&b, &b_if)] {
            let up = eventually(Duration::from_secs(10), || {
                let out = ns.exec("ip", &["-o", "link", "show", "dev", ifname]);
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.contains("LOWER_UP") && text.contains("state UP")
            });
            assert!(up, "{ifname} never came up");
        }
        Self { a, b, a_if, b_if }
    }

    /// The IPv6 link-local address of `ifname` in `ns`.
    pub fn link_local(ns: &Netns, ifname: &str) -> Ipv6Addr {
        let out = ns.exec(
            "ip",
            &["-6", "-o", "addr", "show", "dev", ifname, "scope", "link"],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let word = text
            .split_whitespace()
            .skip_while(|w| *w != "inet6")
            .nth(1)
            .unwrap_or_else(|| panic!("no link-local on {ifname}: {text}"));
        word.split('/').next().unwrap().parse().unwrap()
    }

    pub fn has_address(ns: &Netns, ifname: &str, addr: &str) -> bool {
        let out = ns.exec("ip", &["-o", "addr", "show", "dev", ifname]);
        String::from_utf8_lossy(&out.stdout).contains(&format!(" {addr}/"))
    }
}

/// Moves the calling thread into `ns`'s network namespace. Call only from a
/// thread made for the purpose (see [`in_thread`]).
pub fn enter(ns: &Netns) {
    let file = File::open(format!("/run/netns/{}", ns.name)).unwrap();
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
}

/// Runs `body` on a fresh thread with its own single-threaded tokio
/// runtime, so namespace switches never leak into the test harness.
pub fn in_thread<R: Send>(body: impl FnOnce(&tokio::runtime::Runtime) -> R + Send) -> R {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                body(&rt)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| (u32::from(c[0]) << 8) | u32::from(c.get(1).copied().unwrap_or(0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A VRRPv2 advert (RFC 3768 §5.1): no authentication, interval 1 s.
pub fn advert_v2(vrid: u8, priority: u8, vips: &[Ipv4Addr]) -> Vec<u8> {
    let mut p = vec![0x21, vrid, priority, vips.len() as u8, 0, 1, 0, 0];
    for vip in vips {
        p.extend_from_slice(&vip.octets());
    }
    p.extend_from_slice(&[0; 8]);
    let sum = checksum(&p);
    p[6..8].copy_from_slice(&sum.to_be_bytes());
    p
}

/// A VRRPv3 advert over IPv6 (RFC 5798 §5.1), interval 100 cs, with the
/// pseudo-header checksum for `src` → `dst`.
pub fn advert_v3_ipv6(
    vrid: u8,
    priority: u8,
    vips: &[Ipv6Addr],
    src: Ipv6Addr,
    dst: Ipv6Addr,
) -> Vec<u8> {
    let mut p = vec![0x31, vrid, priority, vips.len() as u8, 0, 100, 0, 0];
    for vip in vips {
        p.extend_from_slice(&vip.octets());
    }
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&(p.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 112]);
    pseudo.extend_from_slice(&p);
    let sum = checksum(&pseudo);
    p[6..8].copy_from_slice(&sum.to_be_bytes());
    p
}

/// A keepalived 2.2.7 (Debian) VRRP process in a namespace; stopped with
/// SIGTERM (then SIGKILL) on drop.
pub struct Keepalived {
    child: Child,
    dir: tempfile::TempDir,
}

impl Keepalived {
    pub fn start(ns: &Netns, config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let child = keepalived::spawn(ns, config, dir.path());
        Self { child, dir }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        keepalived::log_path(self.dir.path())
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        // SIGTERM lets the parent stop its VRRP child; SIGKILL would orphan it.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if eventually(Duration::from_secs(10), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        }) {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use crate::support::eventually;

/// An AF_PACKET capture of every frame on the namespace's interfaces,
/// opened in the calling thread's namespace.
pub struct Capture(socket2::Socket);

impl Capture {
    pub fn open() -> Self {
        const ETH_P_ALL: u16 = 0x0003;
        let socket = socket2::Socket::new(
            socket2::Domain::PACKET,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(i32::from(ETH_P_ALL.to_be()))),
        )
        .unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Self(socket)
    }

    /// Frames received until `limit`, kept when `keep` says so.
    pub fn frames(
        &self,
        limit: Duration,
        keep: impl FnMut(&[u8]) -> bool,
        want: usize,
    ) -> Vec<Vec<u8>> {
        self.timed_frames(limit, keep, want)
            .into_iter()
            .map(|(_, frame)| frame)
            .collect()
    }

    /// Like [`Capture::frames`], with the instant each frame was read.
    pub fn timed_frames(
        &self,
        limit: Duration,
        mut keep: impl FnMut(&[u8]) -> bool,
        want: usize,
    ) -> Vec<(Instant, Vec<u8>)> {
        use std::io::Read;
        let deadline = Instant::now() + limit;
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while out.len() < want && Instant::now() < deadline {
            if let Ok(n) = (&self.0).read(&mut buf) {
                if keep(&buf[..n]) {
                    out.push((Instant::now(), buf[..n].to_vec()));
                }
            }
        }
        out
    }
}

pub fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}
