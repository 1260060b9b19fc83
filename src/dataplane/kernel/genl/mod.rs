//! The IPVS generic-netlink family ("IPVS", version 1) as bytes on the wire:
//! commands, their nested attributes, and the conversions to and from the
//! domain model in [`crate::ipvs::model`].
//!
//! The layout follows `include/uapi/linux/ip_vs.h` and the kernel's
//! `ip_vs_ctl.c` (read, not copied). Constants keep their C names;
//! attribute enums end with `Other(DefaultNla)` so attributes a newer kernel
//! adds survive a parse/emit round trip. This module does no I/O: the
//! socket lives in [`super::client`].

mod convert;
pub mod daemon;
pub mod dest;
pub mod message;
mod nla;
pub mod service;
pub mod stats;

#[cfg(test)]
mod tests;

pub use convert::{
    daemon_attrs, daemon_from_attrs, daemon_state_attrs, dest_attrs, dest_from_attrs,
    dest_key_attrs, info_from_attrs, service_attrs, service_from_attrs, service_key_attrs,
    timeouts_attrs, timeouts_from_attrs, ConvertError,
};
pub use daemon::DaemonAttr;
pub use dest::DestAttr;
pub use message::{IpvsAttr, IpvsCmd, IpvsMessage};
pub use nla::Nest;
pub use service::{InetAddr, IpVsFlags, ServiceAttr};
pub use stats::{Stats32Attr, Stats64Attr};

/// `IPVS_GENL_NAME`: the family name to resolve through nlctrl.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`
pub const IPVS_GENL_VERSION: u8 = 1;

/// `IP_VS_SCHEDNAME_MAXLEN`, terminating NUL included.
pub const IP_VS_SCHEDNAME_MAXLEN: usize = 16;
/// `IP_VS_PENAME_MAXLEN`, terminating NUL included.
pub const IP_VS_PENAME_MAXLEN: usize = 16;
/// `IP_VS_IFNAME_MAXLEN`, terminating NUL included.
pub const IP_VS_IFNAME_MAXLEN: usize = 16;

/// `IP_VS_STATE_NONE`
pub const IP_VS_STATE_NONE: u32 = 0;
/// `IP_VS_STATE_MASTER`
pub const IP_VS_STATE_MASTER: u32 = 1;
/// `IP_VS_STATE_BACKUP`
pub const IP_VS_STATE_BACKUP: u32 = 2;
