//! An in-memory network segment: the in-process twin of the raw socket
//! transport, for unit tests and `lvstop demo`.
//!
//! Every [`MemoryTransport`] attached to a [`MemorySegment`] sees what the
//! others send to the VRRP group (or to its own address, in unicast mode),
//! with TTL 255 as a real segment would deliver it. Tests can inject a
//! datagram with any TTL or source, drop everything (loss), or cut one
//! member off (partition). This module never touches a socket.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::raw::ipv4_header::ah_prefix;
use super::{AhSeal, Datagram, IpFamily, Transport, TransportError, VRRP_TTL};

/// How many datagrams wait in one member's receive queue before further
/// ones are dropped, like a full socket buffer.
const QUEUE_DEPTH: usize = 256;

/// The interface index every member of a segment reports.
pub const MEMORY_IFINDEX: u32 = 1;

#[derive(Debug)]
struct Member {
    address: IpAddr,
    isolated: bool,
    inbox: mpsc::Sender<Datagram>,
}

#[derive(Debug, Default)]
struct Segment {
    members: HashMap<u64, Member>,
    next_id: u64,
    lossy: bool,
}

impl Segment {
    /// Hands `datagram` to every member that would receive it on a real
    /// link: all others for multicast, the owner of the destination for
    /// unicast. `from` is the sending member, which never hears itself.
    fn deliver(&self, from: Option<u64>, datagram: &Datagram) {
        if self.lossy {
            return;
        }
        if from.is_some_and(|id| self.members.get(&id).is_some_and(|m| m.isolated)) {
            return;
        }
        let multicast = datagram.destination.is_multicast();
        for (id, member) in &self.members {
            let addressed = if multicast {
                IpFamily::of(member.address) == IpFamily::of(datagram.destination)
            } else {
                member.address == datagram.destination
            };
            if Some(*id) == from || member.isolated || !addressed {
                continue;
            }
            // A full queue drops the datagram, as a full socket buffer would.
            let _ = member.inbox.try_send(datagram.clone());
        }
    }
}

/// One shared segment; clones refer to the same segment.
#[derive(Debug, Clone, Default)]
pub struct MemorySegment {
    inner: Arc<Mutex<Segment>>,
}

impl MemorySegment {
    /// An empty segment.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Segment> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Attaches a router that sends to the VRRP multicast group of its
    /// address's family.
    pub fn attach(&self, address: IpAddr) -> MemoryTransport {
        let group = IpFamily::of(address).vrrp_group();
        self.attach_with(address, vec![group])
    }

    /// Attaches a router in unicast mode: it sends to each of `peers`
    /// (`unicast_peer`), and receives what is addressed to `address`.
    pub fn attach_unicast(&self, address: IpAddr, peers: Vec<IpAddr>) -> MemoryTransport {
        self.attach_with(address, peers)
    }

    fn attach_with(&self, address: IpAddr, destinations: Vec<IpAddr>) -> MemoryTransport {
        let (inbox, outbox) = mpsc::channel(QUEUE_DEPTH);
        let mut segment = self.lock();
        let id = segment.next_id;
        segment.next_id += 1;
        segment.members.insert(
            id,
            Member {
                address,
                isolated: false,
                inbox,
            },
        );
        MemoryTransport {
            segment: self.clone(),
            id,
            address,
            destinations,
            outbox: tokio::sync::Mutex::new(outbox),
        }
    }

    /// Delivers a datagram as if it came from the wire, with whatever
    /// source and TTL it carries (e.g. TTL 64 to test the receive check).
    /// Every member it is addressed to receives it.
    pub fn inject(&self, datagram: Datagram) {
        self.lock().deliver(None, &datagram);
    }

    /// Drops every datagram while `lossy` is true.
    pub fn set_lossy(&self, lossy: bool) {
        self.lock().lossy = lossy;
    }

    /// Cuts the members with `address` off the segment (nothing in, nothing
    /// out) while `isolated` is true: a partition, or a pulled cable.
    pub fn set_isolated(&self, address: IpAddr, isolated: bool) {
        for member in self.lock().members.values_mut() {
            if member.address == address {
                member.isolated = isolated;
            }
        }
    }

    /// How many transports are attached.
    pub fn members(&self) -> usize {
        self.lock().members.len()
    }
}

/// One router's port on a [`MemorySegment`]; detaches when dropped.
#[derive(Debug)]
pub struct MemoryTransport {
    segment: MemorySegment,
    id: u64,
    address: IpAddr,
    destinations: Vec<IpAddr>,
    outbox: tokio::sync::Mutex<mpsc::Receiver<Datagram>>,
}

impl Drop for MemoryTransport {
    fn drop(&mut self) {
        self.segment.lock().members.remove(&self.id);
    }
}

impl Transport for MemoryTransport {
    fn source_address(&self) -> IpAddr {
        self.address
    }

    fn destinations(&self) -> Vec<IpAddr> {
        self.destinations.clone()
    }

    async fn send(&self, to: IpAddr, payload: &[u8]) -> Result<(), TransportError> {
        let family = IpFamily::of(self.address);
        if IpFamily::of(to) != family {
            return Err(TransportError::WrongFamily { addr: to, family });
        }
        let datagram = Datagram {
            source: self.address,
            destination: to,
            ttl: VRRP_TTL,
            ifindex: MEMORY_IFINDEX,
            payload: payload.to_vec(),
            ah_prefix: None,
        };
        self.segment.lock().deliver(Some(self.id), &datagram);
        Ok(())
    }

    /// The same Authentication Header as on the wire, so instances on a
    /// memory segment check it as they would a real one.
    async fn send_authenticated(
        &self,
        to: IpAddr,
        payload: &[u8],
        seal: AhSeal,
    ) -> Result<(), TransportError> {
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (self.address, to) else {
            return Err(TransportError::WrongFamily {
                addr: to,
                family: IpFamily::V4,
            });
        };
        let prefix = ah_prefix(src, dst, payload, seal.sequence, &seal.key)
            .ok_or(TransportError::PayloadTooLarge(payload.len()))?;
        let datagram = Datagram {
            source: self.address,
            destination: to,
            ttl: VRRP_TTL,
            ifindex: MEMORY_IFINDEX,
            payload: payload.to_vec(),
            ah_prefix: Some(prefix),
        };
        self.segment.lock().deliver(Some(self.id), &datagram);
        Ok(())
    }

    async fn recv(&self) -> Result<Datagram, TransportError> {
        let mut outbox = self.outbox.lock().await;
        // The sender half lives in the segment for as long as this transport
        // is attached, so the channel cannot close while we hold `self`.
        match outbox.recv().await {
            Some(datagram) => Ok(datagram),
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    const ADVERT: &[u8] = &[0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0xaa, 0xbb];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    async fn nothing_arrives(t: &MemoryTransport) -> bool {
        tokio::time::timeout(Duration::from_millis(20), t.recv())
            .await
            .is_err()
    }

    #[tokio::test]
    async fn multicast_advert_reaches_every_other_member_with_ttl_255() {
        let segment = MemorySegment::new();
        let a = segment.attach(ip("198.51.100.1"));
        let b = segment.attach(ip("198.51.100.2"));
        let c = segment.attach(ip("198.51.100.3"));
        assert_eq!(a.destinations(), vec![ip("224.0.0.18")]);
        a.send(ip("224.0.0.18"), ADVERT).await.unwrap();
        for receiver in [&b, &c] {
            let got = receiver.recv().await.unwrap();
            assert_eq!(got.source, ip("198.51.100.1"));
            assert_eq!(got.destination, ip("224.0.0.18"));
            assert_eq!(got.ttl, 255);
            assert_eq!(got.payload, ADVERT);
        }
        assert!(nothing_arrives(&a).await, "sender heard its own advert");
    }

    #[tokio::test]
    async fn multicast_stays_within_one_family() {
        let segment = MemorySegment::new();
        let v4 = segment.attach(ip("198.51.100.1"));
        let v6 = segment.attach(ip("fe80::1"));
        let v6b = segment.attach(ip("fe80::2"));
        assert_eq!(v6.destinations(), vec![ip("ff02::12")]);
        v6.send(ip("ff02::12"), ADVERT).await.unwrap();
        assert_eq!(v6b.recv().await.unwrap().source, ip("fe80::1"));
        assert!(nothing_arrives(&v4).await);
    }

    #[tokio::test]
    async fn unicast_reaches_only_the_addressed_peer() {
        let segment = MemorySegment::new();
        let a = segment.attach_unicast(ip("198.51.100.1"), vec![ip("198.51.100.2")]);
        let b = segment.attach_unicast(ip("198.51.100.2"), vec![ip("198.51.100.1")]);
        let c = segment.attach_unicast(ip("198.51.100.3"), vec![ip("198.51.100.1")]);
        assert_eq!(a.destinations(), vec![ip("198.51.100.2")]);
        a.send(ip("198.51.100.2"), ADVERT).await.unwrap();
        let got = b.recv().await.unwrap();
        assert_eq!(got.destination, ip("198.51.100.2"));
        assert!(nothing_arrives(&c).await);
    }

    #[tokio::test]
    async fn injected_datagram_keeps_its_ttl() {
        let segment = MemorySegment::new();
        let a = segment.attach(ip("198.51.100.1"));
        segment.inject(Datagram {
            source: ip("198.51.100.9"),
            destination: ip("224.0.0.18"),
            ttl: 64,
            ifindex: MEMORY_IFINDEX,
            payload: ADVERT.to_vec(),
            ah_prefix: None,
        });
        let got = a.recv().await.unwrap();
        assert_eq!(got.ttl, 64);
        assert_eq!(got.source, ip("198.51.100.9"));
    }

    #[tokio::test]
    async fn wrong_family_destination_is_refused() {
        let segment = MemorySegment::new();
        let a = segment.attach(ip("198.51.100.1"));
        let err = a.send(ip("ff02::12"), ADVERT).await.unwrap_err();
        assert!(matches!(err, TransportError::WrongFamily { .. }), "{err}");
    }

    #[tokio::test]
    async fn dropped_transport_detaches_and_receives_nothing_more() {
        let segment = MemorySegment::new();
        let a = segment.attach(ip("198.51.100.1"));
        let b = segment.attach(ip("198.51.100.2"));
        assert_eq!(segment.members(), 2);
        drop(b);
        assert_eq!(segment.members(), 1);
        // Sending to a group nobody else listens on is not an error.
        a.send(ip("224.0.0.18"), ADVERT).await.unwrap();
    }

    #[tokio::test]
    async fn loss_and_partition_switches_drop_and_restore_traffic() {
        let segment = MemorySegment::new();
        let a = segment.attach(ip("198.51.100.1"));
        let b = segment.attach(ip("198.51.100.2"));
        let group = ip("224.0.0.18");

        segment.set_lossy(true);
        a.send(group, ADVERT).await.unwrap();
        assert!(nothing_arrives(&b).await);
        segment.set_lossy(false);

        segment.set_isolated(ip("198.51.100.2"), true);
        a.send(group, ADVERT).await.unwrap();
        b.send(group, ADVERT).await.unwrap();
        assert!(nothing_arrives(&b).await, "isolated member received");
        assert!(
            nothing_arrives(&a).await,
            "isolated member's advert got out"
        );

        segment.set_isolated(ip("198.51.100.2"), false);
        a.send(group, ADVERT).await.unwrap();
        assert_eq!(b.recv().await.unwrap().source, ip("198.51.100.1"));
    }

    #[tokio::test]
    async fn full_queue_drops_instead_of_blocking_the_sender() {
        let segment = MemorySegment::new();
        let a = segment.attach(ip("198.51.100.1"));
        let b = segment.attach(ip("198.51.100.2"));
        for _ in 0..QUEUE_DEPTH + 10 {
            a.send(ip("224.0.0.18"), ADVERT).await.unwrap();
        }
        let mut received = 0;
        while !nothing_arrives(&b).await {
            received += 1;
        }
        assert_eq!(received, QUEUE_DEPTH);
    }
}
