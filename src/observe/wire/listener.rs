//! The passive listener: one AF_PACKET socket that hears every VRRP
//! advert (IP protocol 112) this host receives or sends, on every
//! interface, and feeds them to the tracker.
//!
//! It owns the socket, its BPF filter and the tokio task that reads it.
//! It must never send anything: no send call exists in this module, and
//! it neither joins multicast groups nor turns on promiscuous mode. It
//! therefore hears what the host's interfaces accept: on a director,
//! keepalived has joined the VRRP group, so every advert of its segment
//! arrives. A frame crossing stacked interfaces (a bridge and its port, a
//! VLAN and its parent) is heard on each, and each shows as its own router
//! row, as tcpdump would list it. Opening the socket needs CAP_NET_RAW.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::socket::{recvfrom, LinkAddr};
use socket2::{Domain, SockFilter, Socket, Type};
use thiserror::Error;
use tokio::io::unix::AsyncFd;
use tokio::task::JoinHandle;

use super::decode::{decode_frame, LinkInfo};
use super::machine::{Expected, Tracker};
use super::report::WireReport;
use crate::net::sys::{link_address, register};

/// `ETH_P_ALL` (linux/if_ether.h): every protocol, outgoing frames too.
const ETH_P_ALL: u16 = 0x0003;
/// `ETH_P_IP` / `ETH_P_IPV6`: the protocols the filter lets through.
const ETH_P_IP: u32 = 0x0800;
const ETH_P_IPV6: u32 = 0x86dd;
/// `PACKET_OUTGOING` (linux/if_packet.h): a frame this host sent.
const PACKET_OUTGOING: u8 = 4;
/// Larger than any VRRP packet (255 IPv6 addresses make 4,088 bytes plus
/// the IP header); the filter also truncates to it.
const RECV_BUFFER: usize = 8192;
/// Interface names are looked up again after this long, so a renamed or
/// re-created interface shows under its current name.
const NAME_CACHE_LIFETIME: Duration = Duration::from_secs(30);

/// Classic BPF opcodes (linux/filter.h).
const BPF_LD_H_ABS: u16 = 0x28;
const BPF_LD_B_ABS: u16 = 0x30;
const BPF_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;
/// `SKF_AD_OFF + SKF_AD_PROTOCOL`: the ancillary load of the frame's
/// ethertype (host order).
const SKF_AD_PROTOCOL: u32 = 0xffff_f000;

/// The socket filter: accept IPv4 with protocol 112 or 51 (byte 9 of the
/// header; 51 is an advert behind an Authentication Header, `auth_type
/// AH`) and IPv6 with next header 112 (byte 6; VRRP has no extension
/// headers), drop everything else in the kernel. A `SOCK_DGRAM` packet
/// socket runs its filter on the network header, outgoing frames included.
fn vrrp_filter() -> [SockFilter; 10] {
    let accept = u32::try_from(RECV_BUFFER).unwrap_or(u32::MAX);
    [
        /* 0 */ SockFilter::new(BPF_LD_H_ABS, 0, 0, SKF_AD_PROTOCOL),
        /* 1 */ SockFilter::new(BPF_JEQ_K, 0, 3, ETH_P_IP),
        /* 2 */ SockFilter::new(BPF_LD_B_ABS, 0, 0, 9),
        /* 3 */ SockFilter::new(BPF_JEQ_K, 4, 0, 112),
        /* 4 */ SockFilter::new(BPF_JEQ_K, 3, 4, 51),
        /* 5 */ SockFilter::new(BPF_JEQ_K, 0, 3, ETH_P_IPV6),
        /* 6 */ SockFilter::new(BPF_LD_B_ABS, 0, 0, 6),
        /* 7 */ SockFilter::new(BPF_JEQ_K, 0, 1, 112),
        /* 8 */ SockFilter::new(BPF_RET_K, 0, 0, accept),
        /* 9 */ SockFilter::new(BPF_RET_K, 0, 0, 0),
    ]
}

/// Why the listener could not start.
#[derive(Debug, Error)]
pub enum WireError {
    #[error(
        "listening to VRRP on the wire needs CAP_NET_RAW (run lvstop as root or grant it \
         the capability): {0}"
    )]
    PermissionDenied(#[source] io::Error),
    #[error("cannot {action} for the VRRP listener: {source}")]
    Io {
        action: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("the VRRP listener must be started inside a tokio runtime")]
    NoRuntime,
}

fn io_error(action: &'static str) -> impl FnOnce(io::Error) -> WireError {
    move |source| WireError::Io { action, source }
}

/// The running listener; dropping it stops the task and closes the socket.
#[derive(Debug)]
pub struct WireWatch {
    tracker: Arc<Mutex<Tracker>>,
    epoch: Instant,
    task: JoinHandle<()>,
}

impl WireWatch {
    /// Opens the socket and starts listening. Must be called inside a
    /// tokio runtime.
    pub fn start(expected: Vec<Expected>) -> Result<WireWatch, WireError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| WireError::NoRuntime)?;
        let socket = register(open()?).map_err(io_error("register the socket with tokio"))?;
        let tracker = Arc::new(Mutex::new(Tracker::new(expected)));
        let epoch = Instant::now();
        let task = runtime.spawn(listen(socket, Arc::clone(&tracker), epoch));
        Ok(WireWatch {
            tracker,
            epoch,
            task,
        })
    }

    /// Replaces the expectations from the configuration.
    pub fn set_expected(&self, expected: Vec<Expected>) {
        lock(&self.tracker).set_expected(expected, millis_since(self.epoch));
    }

    /// What was heard, with the alarms that hold now.
    pub fn report(&self) -> WireReport {
        lock(&self.tracker).report(millis_since(self.epoch))
    }
}

impl Drop for WireWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The tracker has no invariant a panic elsewhere could break halfway,
/// so a poisoned lock is still good to read.
fn lock(tracker: &Mutex<Tracker>) -> std::sync::MutexGuard<'_, Tracker> {
    tracker.lock().unwrap_or_else(PoisonError::into_inner)
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The packet socket: opened with protocol 0 (no frames yet), filtered,
/// then bound to every protocol on every interface, so no unfiltered frame
/// is ever queued.
fn open() -> Result<Socket, WireError> {
    let socket = Socket::new(Domain::PACKET, Type::DGRAM, Some(0.into())).map_err(|e| {
        if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) {
            WireError::PermissionDenied(e)
        } else {
            WireError::Io {
                action: "open an AF_PACKET socket",
                source: e,
            }
        }
    })?;
    socket
        .attach_filter(&vrrp_filter())
        .map_err(io_error("attach the protocol-112 filter"))?;
    let everywhere =
        link_address(0, ETH_P_ALL, None).map_err(io_error("build the packet address"))?;
    socket
        .bind(&everywhere)
        .map_err(io_error("bind the AF_PACKET socket"))?;
    socket
        .set_nonblocking(true)
        .map_err(io_error("make the socket non-blocking"))?;
    Ok(socket)
}

async fn listen(socket: AsyncFd<Socket>, tracker: Arc<Mutex<Tracker>>, epoch: Instant) {
    let mut names = InterfaceNames::default();
    let mut buffer = vec![0u8; RECV_BUFFER];
    loop {
        let Ok(mut ready) = socket.readable().await else {
            tracing::warn!("VRRP listener: the socket left the reactor; listening stops");
            return;
        };
        loop {
            let received = ready.try_io(|inner| {
                recvfrom::<LinkAddr>(inner.get_ref().as_raw_fd(), &mut buffer)
                    .map_err(io::Error::from)
            });
            match received {
                Ok(Ok((length, link))) => {
                    let frame = buffer.get(..length).unwrap_or_default();
                    handle(frame, link, &mut names, &tracker, epoch);
                }
                Ok(Err(error)) => {
                    // Wait for the next frame rather than spin on an error
                    // that repeats; queued frames come with it.
                    tracing::debug!(%error, "VRRP listener: receive failed");
                    ready.clear_ready();
                    break;
                }
                Err(_would_block) => break,
            }
        }
    }
}

fn handle(
    frame: &[u8],
    link: Option<LinkAddr>,
    names: &mut InterfaceNames,
    tracker: &Mutex<Tracker>,
    epoch: Instant,
) {
    let at_ms = millis_since(epoch);
    let (ifindex, pkttype) = link.map_or((0, 0), |l| (l.ifindex(), l.pkttype()));
    let info = LinkInfo {
        interface: names.name(ifindex),
        outgoing: pkttype == PACKET_OUTGOING,
    };
    let decoded = decode_frame(at_ms, &info, frame);
    let mut tracker = lock(tracker);
    match decoded {
        Ok(advert) => tracker.observe(advert),
        Err(error) => {
            tracing::debug!(%error, "VRRP listener: undecodable frame");
            tracker.malformed(error);
        }
    }
}

/// ifindex → interface name, looked up in this process's network
/// namespace and cached for [`NAME_CACHE_LIFETIME`].
#[derive(Debug, Default)]
struct InterfaceNames {
    names: HashMap<usize, String>,
    filled: Option<Instant>,
}

impl InterfaceNames {
    fn name(&mut self, ifindex: usize) -> String {
        if self
            .filled
            .is_none_or(|at| at.elapsed() > NAME_CACHE_LIFETIME)
        {
            self.names.clear();
            self.filled = Some(Instant::now());
        }
        self.names
            .entry(ifindex)
            .or_insert_with(|| {
                u32::try_from(ifindex)
                    .ok()
                    .and_then(|index| nix::net::if_::if_indextoname(index).ok())
                    .and_then(|name| name.into_string().ok())
                    .unwrap_or_else(|| format!("if{ifindex}"))
            })
            .clone()
    }
}
