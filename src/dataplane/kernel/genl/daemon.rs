//! Attributes nested in `IPVS_CMD_ATTR_DAEMON`: a connection
//! synchronisation daemon (master or backup) and its multicast settings.

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable};

use super::nla::{emit_string, fixed, string_len, string_of, u16_ne, u32_ne, u8_of};

pub const IPVS_DAEMON_ATTR_STATE: u16 = 1;
pub const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
pub const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
pub const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
pub const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
pub const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
pub const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
pub const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;

/// One attribute of a sync daemon nest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DaemonAttr {
    /// `IPVS_DAEMON_ATTR_STATE`, `IP_VS_STATE_MASTER` / `_BACKUP`
    State(u32),
    /// `IPVS_DAEMON_ATTR_MCAST_IFN`, NUL-terminated interface name
    McastIfn(String),
    /// `IPVS_DAEMON_ATTR_SYNC_ID`
    SyncId(u32),
    /// `IPVS_DAEMON_ATTR_SYNC_MAXLEN`, UDP payload size
    SyncMaxlen(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP`, IPv4 group
    McastGroup(Ipv4Addr),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP6`, IPv6 group
    McastGroup6(Ipv6Addr),
    /// `IPVS_DAEMON_ATTR_MCAST_PORT`, host byte order (unlike service ports)
    McastPort(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_TTL`
    McastTtl(u8),
    Other(DefaultNla),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::State(_) | Self::SyncId(_) | Self::McastGroup(_) => 4,
            Self::McastIfn(s) => string_len(s),
            Self::SyncMaxlen(_) | Self::McastPort(_) => 2,
            Self::McastGroup6(_) => 16,
            Self::McastTtl(_) => 1,
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::State(_) => IPVS_DAEMON_ATTR_STATE,
            Self::McastIfn(_) => IPVS_DAEMON_ATTR_MCAST_IFN,
            Self::SyncId(_) => IPVS_DAEMON_ATTR_SYNC_ID,
            Self::SyncMaxlen(_) => IPVS_DAEMON_ATTR_SYNC_MAXLEN,
            Self::McastGroup(_) => IPVS_DAEMON_ATTR_MCAST_GROUP,
            Self::McastGroup6(_) => IPVS_DAEMON_ATTR_MCAST_GROUP6,
            Self::McastPort(_) => IPVS_DAEMON_ATTR_MCAST_PORT,
            Self::McastTtl(_) => IPVS_DAEMON_ATTR_MCAST_TTL,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::State(v) | Self::SyncId(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::McastIfn(s) => emit_string(s, buffer),
            Self::SyncMaxlen(v) | Self::McastPort(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::McastGroup(ip) => buffer.copy_from_slice(&ip.octets()),
            Self::McastGroup6(ip) => buffer.copy_from_slice(&ip.octets()),
            Self::McastTtl(v) => buffer[0] = *v,
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DaemonAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_DAEMON_ATTR_STATE => Self::State(u32_ne(v, "IPVS_DAEMON_ATTR_STATE")?),
            IPVS_DAEMON_ATTR_MCAST_IFN => {
                Self::McastIfn(string_of(v, "IPVS_DAEMON_ATTR_MCAST_IFN")?)
            }
            IPVS_DAEMON_ATTR_SYNC_ID => Self::SyncId(u32_ne(v, "IPVS_DAEMON_ATTR_SYNC_ID")?),
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => {
                Self::SyncMaxlen(u16_ne(v, "IPVS_DAEMON_ATTR_SYNC_MAXLEN")?)
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP => Self::McastGroup(Ipv4Addr::from(fixed::<4>(
                v,
                "IPVS_DAEMON_ATTR_MCAST_GROUP",
            )?)),
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => Self::McastGroup6(Ipv6Addr::from(fixed::<16>(
                v,
                "IPVS_DAEMON_ATTR_MCAST_GROUP6",
            )?)),
            IPVS_DAEMON_ATTR_MCAST_PORT => {
                Self::McastPort(u16_ne(v, "IPVS_DAEMON_ATTR_MCAST_PORT")?)
            }
            IPVS_DAEMON_ATTR_MCAST_TTL => Self::McastTtl(u8_of(v, "IPVS_DAEMON_ATTR_MCAST_TTL")?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
