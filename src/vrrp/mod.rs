//! VRRP (RFC 3768 version 2, RFC 5798 version 3), keepalived-compatible.
//!
//! - The sans-I/O core — the packet codec ([`packet`]), the instance
//!   state machine ([`fsm`]), sync groups ([`sync_group`]) and tracking
//!   ([`track`]) — is plain data in, data out with an injected clock: no
//!   sockets, no timers, no logging. `replay` (feature `test-support`)
//!   drives it from JSONL files for the conformance tests.
//! - [`runner`] drives a [`fsm::Node`] on tokio: sockets, timers, VIPs,
//!   announcements, scripts.
//! - [`routing`] turns `virtual_routes`/`virtual_rules` and the static
//!   blocks into kernel routes, rules and addresses.
//! - [`transport`] moves the encoded adverts between routers, over raw IP
//!   protocol 112 sockets or an in-memory segment.

pub mod driver;
pub mod machine;
pub mod packet;
pub mod process;
#[cfg(any(test, feature = "test-support"))]
pub mod replay;
pub mod routing;
pub mod sync_group;
pub mod track;
pub mod transport;
