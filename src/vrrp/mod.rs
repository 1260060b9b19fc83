//! VRRP (RFC 3768 / RFC 5798), keepalived-compatible: the packet codec, the
//! sans-I/O instance state machine, sync groups and tracking.
//!
//! Everything here is plain data in, data out with an injected clock: no
//! sockets, no timers, no logging. The I/O adapters (raw sockets, address
//! changes, gratuitous ARP) live beside this module and feed it events.

pub mod fsm;
pub mod packet;
pub mod replay;
pub mod sync_group;
pub mod track;
