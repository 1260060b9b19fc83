//! The byte pump: move one direction of a proxied TCP connection until
//! end of stream. The caller propagates the half-close.
//!
//! Short exchanges (the common HTTP request / response) go through a
//! userspace buffer that starts small and grows to `Options::buffer_size`
//! only when reads fill it. A short read means the socket's receive queue
//! is empty, so it also clears the socket's readiness: the next read waits
//! for the reactor instead of costing a syscall that fails with EAGAIN.
//! When the peer's FIN came with (or before the end of) the last data, the
//! reactor has already reported the read side closed: the pump then ends
//! without the read that would return 0, and writes those last bytes
//! corked so that the caller's half-close leaves with them in one segment
//! (a director forwards the real server's data+FIN segment as it came).
//! Once a direction has carried
//! `Options::splice_after` bytes it switches to `splice(2)` through a pipe,
//! so bulk transfers never cross into userspace.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::FutureExt;
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::socket::{self, Pipe};
use super::Options;

/// First buffer size; most request/response exchanges fit.
const INITIAL_BUFFER: usize = 16 * 1024;
/// Bytes moved per splice call (the pipe is grown to at least this).
const SPLICE_CHUNK: usize = 1 << 20;

/// Copy `src` to `dst` until `src` reaches end of stream, counting bytes
/// into `counter`.
pub(super) async fn pump(
    src: &TcpStream,
    dst: &TcpStream,
    counter: &AtomicU64,
    options: &Options,
) -> io::Result<()> {
    let mut buffer = Vec::with_capacity(INITIAL_BUFFER.min(options.buffer_size.max(1)));
    let mut total = 0u64;
    loop {
        buffer.clear();
        // Looked at before the read: a FIN the reactor reported by then
        // was queued behind every byte this read can see. (Looked at
        // after, it could be a FIN that arrived with more data after the
        // read came back short, and that data would be lost.)
        let fin_seen = peer_closed(src);
        let (n, drained) = match read_some(src, &mut buffer) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                src.readable().await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        // The receive queue is empty and the peer's FIN was processed
        // before the read: these are the stream's last bytes. (Data
        // always precedes the FIN in the queue, so nothing can follow.)
        if drained && fin_seen {
            write_all_before_fin(dst, &buffer[..n]).await?;
            counter.fetch_add(n as u64, Ordering::Relaxed);
            return Ok(());
        }
        write_all(dst, &buffer[..n]).await?;
        counter.fetch_add(n as u64, Ordering::Relaxed);
        total += n as u64;
        if n == buffer.capacity() {
            if options.splice_after.is_some_and(|after| total >= after) {
                // Splicing needs a pipe; without one keep copying.
                if let Ok(pipe) = Pipe::new() {
                    drop(buffer);
                    return splice_rest(src, dst, &pipe, counter).await;
                }
            }
            if buffer.capacity() < options.buffer_size {
                buffer.clear();
                buffer.reserve_exact(options.buffer_size);
            }
        }
    }
    Ok(())
}

/// Read what `src` has, and whether that drained its receive queue.
/// `tcp_recvmsg` returns less than asked only when the receive queue ran
/// empty, so a short read clears the readiness (by reporting WouldBlock to
/// tokio's `try_io`, which keeps any readiness a newer reactor event
/// brought, and never clears read-closed) while the bytes read are still
/// returned.
fn read_some(src: &TcpStream, buffer: &mut Vec<u8>) -> io::Result<(usize, bool)> {
    let mut short = None;
    let result = src.try_io(Interest::READABLE, || {
        let n = socket::recv_spare(src, buffer)?;
        if n > 0 && n < buffer.capacity() {
            short = Some(n);
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    });
    match short {
        Some(n) => Ok((n, true)),
        None => result.map(|n| (n, false)),
    }
}

/// Whether the reactor has seen the peer's FIN (`EPOLLRDHUP`), without
/// waiting and without a syscall.
fn peer_closed(src: &TcpStream) -> bool {
    src.ready(Interest::READABLE)
        .now_or_never()
        .is_some_and(|ready| ready.is_ok_and(|r| r.is_read_closed()))
}

/// Like [`write_all`], but corked: the caller shuts the write side down
/// right after, and the FIN joins the last segment.
async fn write_all_before_fin(dst: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match dst.try_io(Interest::WRITABLE, || socket::send_before_fin(dst, data)) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => dst.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn write_all(dst: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match dst.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => dst.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The rest of the stream through a pipe: fill it from `src`, drain it
/// into `dst`, repeat. The pipe is always empty before a fill, so a
/// would-block on the fill means `src` has nothing to read.
async fn splice_rest(
    src: &TcpStream,
    dst: &TcpStream,
    pipe: &Pipe,
    counter: &AtomicU64,
) -> io::Result<()> {
    loop {
        let filled = match src.try_io(Interest::READABLE, || pipe.fill_from(src, SPLICE_CHUNK)) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                src.readable().await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        if filled == 0 {
            break;
        }
        let mut left = filled;
        while left > 0 {
            match dst.try_io(Interest::WRITABLE, || pipe.drain_to(dst, left)) {
                Ok(n) => left -= n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => dst.writable().await?,
                Err(e) => return Err(e),
            }
        }
        counter.fetch_add(filled as u64, Ordering::Relaxed);
    }
    Ok(())
}
