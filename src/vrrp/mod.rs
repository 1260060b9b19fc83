//! VRRP (RFC 3768 version 2, RFC 5798 version 3): how adverts travel.
//!
//! [`transport`] moves opaque advert bytes between routers, over raw IP
//! protocol 112 sockets or an in-memory segment.

pub mod transport;
