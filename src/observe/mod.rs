//! The observer: a read-only view of a director that lvstop does not run
//! (stock keepalived and kernel IPVS). It reads the kernel's IPVS tables,
//! listens to VRRP on the wire, and asks keepalived for its own state
//! dumps. It never sends a VRRP packet and never changes keepalived's
//! configuration; the only writes it makes are the operator's explicit
//! weight changes on kernel IPVS.
//!
//! - [`driver`]: the refresh loop that hands the console a snapshot, and
//!   the commands it answers.
//! - [`table`]: the refresh's read of the kernel's IPVS table, bounded
//!   per refresh so a 10,000-service table refreshes every second.
//! - [`weights`]: the operator's weight changes on a table keepalived owns.
//! - [`report`]: what the observer adds to a snapshot.
//! - [`wire`]: the passive VRRP advert listener and its sans-I/O tracker.
//! - [`keepalived`]: finding a running keepalived and reading its dumps.

pub mod driver;
pub mod keepalived;

pub mod report;
pub mod table;
pub mod weights;
pub mod wire;
