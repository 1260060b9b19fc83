//! Host network configuration outside IPVS: interface addresses, routes
//! and policy rules over rtnetlink ([`address`], [`route`], [`rule`]),
//! IPv4 ARP sysctls ([`sysctl`]) and the DR real-server command built on
//! addresses and sysctls ([`realserver`]); and what a new VRRP
//! master tells its segment: gratuitous ARP ([`garp`]), unsolicited
//! neighbour advertisements ([`ndisc`]), when to send them ([`announce`],
//! keepalived's delays and repeats) and the sockets that send them
//! ([`announcer`], over the small `unsafe` wrappers of [`sys`]); the
//! macvlans of VRRP virtual MACs ([`vmac`]).
//!
//! Before an engine starts, [`speakers`] makes sure no other VRRP speaker
//! (keepalived, another lvstop engine) runs in this network namespace.
//!
//! Nothing here shells out to `ip` or `sysctl`; everything goes through
//! netlink sockets and `/proc/sys` files so errors stay typed.

pub mod address;
pub mod announce;
pub mod announcer;
pub mod garp;
pub mod ndisc;
pub mod realserver;
pub mod route;
pub mod rule;
pub mod speakers;
pub mod sys;
pub mod sysctl;
pub mod vmac;
