//! A one-shot timer with microsecond precision for the VRRP deadlines.
//!
//! tokio's timer wheel counts whole milliseconds and fires a deadline on
//! the first tick after it, so every Master_Down or skew timer would end
//! up to a millisecond late — later than keepalived, whose scheduler
//! sleeps to the microsecond. A `timerfd` (timerfd_create(2)) on
//! CLOCK_MONOTONIC, registered with tokio, expires at the deadline itself.
//! This module owns that fd and nothing else; when it cannot be created
//! the caller falls back to tokio's timer.
//!
//! The one `unsafe` block registers the fd with tokio's reactor.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

/// The timerfd, as tokio registers file descriptors.
#[derive(Debug)]
struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A re-armable one-shot timer.
#[derive(Debug)]
pub struct PreciseTimer {
    fd: AsyncFd<Fd>,
}

impl PreciseTimer {
    /// Needs a tokio runtime with I/O enabled.
    pub fn new() -> io::Result<Self> {
        let flags = TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC;
        let fd = TimerFd::new(ClockId::CLOCK_MONOTONIC, flags).map_err(io::Error::from)?;
        // SAFETY: `Fd` owns the timerfd (an `OwnedFd` inside `TimerFd`) and
        // closes it only on drop; the AsyncFd owns the `Fd`, so the
        // descriptor stays open and is the same timer for the AsyncFd's
        // whole life.
        let fd = unsafe { AsyncFd::register(Fd(fd)) }.map_err(io::Error::from)?;
        Ok(Self { fd })
    }

    /// Waits until `deadline` (at once when it has passed). Cancel-safe:
    /// dropping the future leaves a timer armed that the next call
    /// re-arms.
    pub async fn sleep_until(&self, deadline: Instant) -> io::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        // An expiry from an earlier, abandoned wait must not end this one:
        // settimeout re-arms and clears the expiry count.
        self.fd
            .get_ref()
            .0
            .set(
                Expiration::OneShot(TimeSpec::from_duration(left)),
                TimerSetTimeFlags::empty(),
            )
            .map_err(io::Error::from)?;
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| fd.get_ref().0.wait().map_err(io::Error::from)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn wakes_at_the_deadline_not_before() {
        let timer = PreciseTimer::new().unwrap();
        let start = Instant::now();
        let deadline = start + Duration::from_micros(2_500);
        timer.sleep_until(deadline).await.unwrap();
        assert!(Instant::now() >= deadline);
        // A past deadline returns at once, and a re-armed timer works.
        timer.sleep_until(start).await.unwrap();
        let again = Instant::now() + Duration::from_micros(300);
        timer.sleep_until(again).await.unwrap();
        assert!(Instant::now() >= again);
    }
}
