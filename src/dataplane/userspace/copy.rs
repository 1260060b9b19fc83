//! The byte pump: one direction of a proxied TCP connection, driven by the
//! reactor whenever either socket's readiness changes. The caller
//! propagates the half-close when a direction ends.
//!
//! Data is read into the reactor's scratch buffer and written straight
//! on; only what the other side cannot take yet is kept, in a buffer of
//! the direction's own (allocated on first need). While such bytes wait,
//! the source is not read: the peer feels the back-pressure through its
//! TCP window, as it would through a director.
//!
//! A short read means the socket's receive queue is empty (`tcp_recvmsg`
//! returns less than asked only then), so it clears the socket's
//! readiness: the next read waits for the reactor instead of costing a
//! syscall that fails with EAGAIN. When the peer's FIN came with (or
//! before the end of) the last data, the reactor has already reported the
//! read side closed: the direction then ends without the read that would
//! return 0, and its last bytes are written corked so that the caller's
//! half-close leaves with them in one segment (a director forwards the
//! real server's data+FIN segment as it came).
//!
//! Once a direction has carried `Options::splice_after` bytes in full
//! reads it switches to `splice(2)` through a pipe, so bulk transfers
//! never cross into userspace.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use mio::event::Event;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::socket::{self, Pipe};

/// Bytes moved per splice call (the pipe is grown to at least this).
const SPLICE_CHUNK: usize = 1 << 20;
/// Reads one direction makes per turn before the reactor's other
/// connections get theirs: a fast bulk transfer would otherwise keep a
/// reactor to itself.
const READS_PER_TURN: usize = 16;

/// Where a turn of the pump left the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pumped {
    /// Waiting for readiness (or already over).
    Blocked,
    /// Ended just now: end of stream read and every byte written. The
    /// caller half-closes.
    Ended,
    /// Out of turn with work left: drive it again soon, no event will.
    Yielded,
}

/// One socket of a proxied connection and what the reactor last said of
/// it. Edge-triggered: a flag stays set until an operation finds the
/// socket not ready (or a short read shows its queue is empty).
#[derive(Debug)]
pub(super) struct Endpoint {
    pub stream: TcpStream,
    pub readable: bool,
    pub writable: bool,
    /// The peer's FIN (`EPOLLRDHUP`) or a hang-up was reported. Never
    /// cleared: the next read returns what is left, then end of stream.
    pub read_closed: bool,
    /// `EPOLLERR` / `EPOLLHUP` was reported: the next operation says why.
    pub failed: bool,
    /// What the socket is registered for; `None` before registration.
    interest: Option<Interest>,
    /// Whether the socket has `TCP_NODELAY`, and whether it was written to.
    nodelay: bool,
    written: bool,
}

impl Endpoint {
    /// An accepted socket the reactor has not reported on yet. Writes are
    /// tried at once (a fresh socket's send buffer is empty); reads wait
    /// for the first readiness event.
    pub fn accepted(stream: TcpStream) -> Self {
        Endpoint {
            stream,
            readable: false,
            writable: true,
            read_closed: false,
            failed: false,
            interest: None,
            // Inherited from the listening socket.
            nodelay: true,
            written: false,
        }
    }

    /// A socket whose connect is in progress: its first writable
    /// readiness says the connect succeeded. `TCP_NODELAY` is set before
    /// its second write ([`socket::set_nodelay`]).
    pub fn connecting(stream: TcpStream) -> Self {
        Endpoint {
            writable: false,
            nodelay: false,
            ..Endpoint::accepted(stream)
        }
    }

    /// Take in a readiness event. Errors and hang-ups make both
    /// directions worth trying, so the failure surfaces from the syscall.
    pub fn absorb(&mut self, event: &Event) {
        let failed = event.is_error() || event.is_write_closed();
        self.readable |= event.is_readable() || failed;
        self.writable |= event.is_writable() || failed;
        self.read_closed |= event.is_read_closed();
        self.failed |= failed;
    }

    /// Register with the reactor: for readable readiness always (data, a
    /// FIN, a reset), for writable readiness only while a write (or the
    /// connect) waits for it. A socket that could take every write so far
    /// — most of them — thus raises no event for it.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = self.wanted_interest();
        registry.register(&mut self.stream, token, interest)?;
        self.interest = Some(interest);
        Ok(())
    }

    /// After a write blocked: ask for writable readiness too, once. (A
    /// re-registration reports readiness the socket already has, so
    /// nothing between the blocked write and this call is missed.)
    pub fn watch_writable(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let Some(interest) = self.interest else {
            return Ok(());
        };
        if self.writable || interest.is_writable() {
            return Ok(());
        }
        let interest = self.wanted_interest();
        registry.reregister(&mut self.stream, token, interest)?;
        self.interest = Some(interest);
        Ok(())
    }

    fn wanted_interest(&self) -> Interest {
        if self.writable {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        }
    }

    fn can_read(&self) -> bool {
        self.readable || self.read_closed
    }
}

/// One direction of a connection.
#[derive(Debug, Default)]
pub(super) struct Flow {
    /// Bytes read but not yet taken by the destination, from `sent` on.
    pending: Vec<u8>,
    sent: usize,
    /// The pending bytes are the stream's last: write them corked.
    last: bool,
    /// The source reached end of stream.
    eof: bool,
    /// The direction is over: everything read was written.
    ended: bool,
    /// Bytes moved so far, to decide when to splice.
    total: u64,
    splice: Option<Spliced>,
}

#[derive(Debug)]
struct Spliced {
    pipe: Pipe,
    /// Bytes in the pipe not yet drained into the destination.
    held: usize,
}

impl Flow {
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Move what can be moved from `src` to `dst` without blocking, up
    /// to a turn's worth of reads.
    pub fn pump(
        &mut self,
        src: &mut Endpoint,
        dst: &mut Endpoint,
        scratch: &mut [u8],
        counter: &AtomicU64,
        splice_after: Option<u64>,
    ) -> io::Result<Pumped> {
        if self.ended {
            return Ok(Pumped::Blocked);
        }
        for _ in 0..READS_PER_TURN {
            if !self.flush(dst, counter)? {
                return Ok(Pumped::Blocked);
            }
            if self.eof {
                self.ended = true;
                return Ok(Pumped::Ended);
            }
            if !src.can_read() {
                return Ok(Pumped::Blocked);
            }
            if self.splice.is_some() {
                self.fill_pipe(src)?;
                continue;
            }
            // Looked at before the read: a FIN the reactor reported by
            // then was queued behind every byte this read can see.
            // (Looked at after, it could be a FIN that arrived with more
            // data after the read came back short, and that data would be
            // lost.)
            let fin_seen = src.read_closed;
            let n = match (&src.stream).read(scratch) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    src.readable = false;
                    return Ok(Pumped::Blocked);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
                continue;
            }
            let drained = n < scratch.len();
            if drained {
                src.readable = false;
            }
            // The receive queue is empty and the peer's FIN was processed
            // before the read: these are the stream's last bytes. (Data
            // always precedes the FIN in the queue, so nothing can follow.)
            self.last = drained && fin_seen;
            self.eof = self.last;
            self.total += n as u64;
            self.forward(dst, &scratch[..n], counter)?;
            if !drained && splice_after.is_some_and(|after| self.total >= after) {
                // Splicing needs a pipe; without one keep copying.
                if let Ok(pipe) = Pipe::new() {
                    self.splice = Some(Spliced { pipe, held: 0 });
                }
            }
        }
        Ok(Pumped::Yielded)
    }

    /// Write freshly read bytes, keeping what `dst` cannot take yet.
    fn forward(&mut self, dst: &mut Endpoint, data: &[u8], counter: &AtomicU64) -> io::Result<()> {
        let written = if dst.writable {
            match send(dst, data, self.last) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    dst.writable = false;
                    0
                }
                Err(e) => return Err(e),
            }
        } else {
            0
        };
        counter.fetch_add(written as u64, Ordering::Relaxed);
        if written < data.len() {
            self.pending.clear();
            self.pending.extend_from_slice(&data[written..]);
            self.sent = 0;
        }
        Ok(())
    }

    /// Write what waits for `dst`. `Ok(true)` when nothing is left.
    fn flush(&mut self, dst: &mut Endpoint, counter: &AtomicU64) -> io::Result<bool> {
        while self.sent < self.pending.len() {
            if !dst.writable {
                return Ok(false);
            }
            match send(dst, &self.pending[self.sent..], self.last) {
                Ok(n) => {
                    self.sent += n;
                    counter.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    dst.writable = false;
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
        }
        if !self.pending.is_empty() {
            // A connection that was slow once may be slow again: keep the
            // allocation, only forget the bytes.
            self.pending.clear();
            self.sent = 0;
        }
        let Some(spliced) = &mut self.splice else {
            return Ok(true);
        };
        while spliced.held > 0 {
            if !dst.writable {
                return Ok(false);
            }
            match spliced.pipe.drain_to(&dst.stream, spliced.held) {
                Ok(n) => {
                    spliced.held -= n;
                    counter.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    dst.writable = false;
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Move the next chunk from `src` into the (empty) pipe. A would-block
    /// means `src` has nothing to read.
    fn fill_pipe(&mut self, src: &mut Endpoint) -> io::Result<()> {
        let Some(spliced) = &mut self.splice else {
            return Ok(());
        };
        match spliced.pipe.fill_from(&src.stream, SPLICE_CHUNK) {
            Ok(0) => self.eof = true,
            Ok(n) => {
                spliced.held = n;
                self.total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => src.readable = false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

fn send(dst: &mut Endpoint, data: &[u8], last: bool) -> io::Result<usize> {
    if !dst.nodelay {
        if dst.written {
            socket::set_nodelay(&dst.stream)?;
            dst.nodelay = true;
        } else {
            dst.written = true;
        }
    }
    if last {
        socket::send_before_fin(&dst.stream, data)
    } else {
        socket::send(&dst.stream, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_server_socket_gets_nodelay_before_its_second_write_only() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = socket::tcp_connect_start(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let mut endpoint = Endpoint::connecting(TcpStream::from_std(upstream));
        let nodelay = |e: &Endpoint| socket2::SockRef::from(&e.stream).tcp_nodelay().unwrap();
        assert!(!nodelay(&endpoint));
        // The accept above means the handshake is done: writes go out.
        assert_eq!(send(&mut endpoint, b"first", false).unwrap(), 5);
        assert!(!nodelay(&endpoint), "a first write is never held back");
        assert_eq!(send(&mut endpoint, b"second", false).unwrap(), 6);
        assert!(nodelay(&endpoint), "set before the second write");
    }
}
