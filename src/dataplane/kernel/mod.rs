//! The kernel's IPVS as a [`Dataplane`](super::Dataplane): generic netlink
//! for the table, `/proc/net/ip_vs_conn` for connections.

pub mod genl;
