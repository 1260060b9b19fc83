//! Attributes nested in `IPVS_CMD_ATTR_DEST`: a real server's address,
//! forwarding method, weight, thresholds and tunnel settings, and in replies
//! its connection counts and counters.

use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable};

use super::nla::{fixed, u16_be, u16_ne, u32_ne, u8_of, Nest};
use super::service::InetAddr;
use super::stats::{Stats32Attr, Stats64Attr};

pub const IPVS_DEST_ATTR_ADDR: u16 = 1;
pub const IPVS_DEST_ATTR_PORT: u16 = 2;
pub const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
pub const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
pub const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
pub const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
pub const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
pub const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
pub const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
pub const IPVS_DEST_ATTR_STATS: u16 = 10;
pub const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
pub const IPVS_DEST_ATTR_STATS64: u16 = 12;
pub const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
pub const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
pub const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

/// One attribute of a destination nest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestAttr {
    /// `IPVS_DEST_ATTR_ADDR`, `union nf_inet_addr`
    Addr(InetAddr),
    /// `IPVS_DEST_ATTR_PORT`, network byte order on the wire
    Port(u16),
    /// `IPVS_DEST_ATTR_FWD_METHOD`, `IP_VS_CONN_F_*` (masked with
    /// `IP_VS_CONN_F_FWD_MASK` by the kernel)
    FwdMethod(u32),
    /// `IPVS_DEST_ATTR_WEIGHT`, a u32 the kernel reads into an int
    Weight(i32),
    /// `IPVS_DEST_ATTR_U_THRESH`
    UThresh(u32),
    /// `IPVS_DEST_ATTR_L_THRESH`
    LThresh(u32),
    /// `IPVS_DEST_ATTR_ACTIVE_CONNS` (replies)
    ActiveConns(u32),
    /// `IPVS_DEST_ATTR_INACT_CONNS` (replies)
    InactConns(u32),
    /// `IPVS_DEST_ATTR_PERSIST_CONNS` (replies)
    PersistConns(u32),
    /// `IPVS_DEST_ATTR_STATS` (replies)
    Stats(Nest<Stats32Attr>),
    /// `IPVS_DEST_ATTR_ADDR_FAMILY`, u16; absent means the service's family
    AddrFamily(u16),
    /// `IPVS_DEST_ATTR_STATS64` (replies)
    Stats64(Nest<Stats64Attr>),
    /// `IPVS_DEST_ATTR_TUN_TYPE`, u8 `IP_VS_CONN_F_TUNNEL_TYPE_*`
    TunType(u8),
    /// `IPVS_DEST_ATTR_TUN_PORT`, network byte order on the wire
    TunPort(u16),
    /// `IPVS_DEST_ATTR_TUN_FLAGS`, u16 `IP_VS_TUNNEL_ENCAP_FLAG_*`
    TunFlags(u16),
    Other(DefaultNla),
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Addr(_) => 16,
            Self::Port(_) | Self::AddrFamily(_) | Self::TunPort(_) | Self::TunFlags(_) => 2,
            Self::TunType(_) => 1,
            Self::FwdMethod(_)
            | Self::Weight(_)
            | Self::UThresh(_)
            | Self::LThresh(_)
            | Self::ActiveConns(_)
            | Self::InactConns(_)
            | Self::PersistConns(_) => 4,
            Self::Stats(nest) => nest.value_len(),
            Self::Stats64(nest) => nest.value_len(),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Addr(_) => IPVS_DEST_ATTR_ADDR,
            Self::Port(_) => IPVS_DEST_ATTR_PORT,
            Self::FwdMethod(_) => IPVS_DEST_ATTR_FWD_METHOD,
            Self::Weight(_) => IPVS_DEST_ATTR_WEIGHT,
            Self::UThresh(_) => IPVS_DEST_ATTR_U_THRESH,
            Self::LThresh(_) => IPVS_DEST_ATTR_L_THRESH,
            Self::ActiveConns(_) => IPVS_DEST_ATTR_ACTIVE_CONNS,
            Self::InactConns(_) => IPVS_DEST_ATTR_INACT_CONNS,
            Self::PersistConns(_) => IPVS_DEST_ATTR_PERSIST_CONNS,
            Self::Stats(nest) => nest.kind(IPVS_DEST_ATTR_STATS),
            Self::AddrFamily(_) => IPVS_DEST_ATTR_ADDR_FAMILY,
            Self::Stats64(nest) => nest.kind(IPVS_DEST_ATTR_STATS64),
            Self::TunType(_) => IPVS_DEST_ATTR_TUN_TYPE,
            Self::TunPort(_) => IPVS_DEST_ATTR_TUN_PORT,
            Self::TunFlags(_) => IPVS_DEST_ATTR_TUN_FLAGS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Addr(addr) => buffer.copy_from_slice(&addr.0),
            Self::Port(v) | Self::TunPort(v) => buffer.copy_from_slice(&v.to_be_bytes()),
            Self::AddrFamily(v) | Self::TunFlags(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::TunType(v) => buffer[0] = *v,
            Self::Weight(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::FwdMethod(v)
            | Self::UThresh(v)
            | Self::LThresh(v)
            | Self::ActiveConns(v)
            | Self::InactConns(v)
            | Self::PersistConns(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Stats(nest) => nest.emit_value(buffer),
            Self::Stats64(nest) => nest.emit_value(buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_DEST_ATTR_ADDR if v.len() == 16 => {
                Self::Addr(InetAddr(fixed(v, "IPVS_DEST_ATTR_ADDR")?))
            }
            IPVS_DEST_ATTR_PORT => Self::Port(u16_be(v, "IPVS_DEST_ATTR_PORT")?),
            IPVS_DEST_ATTR_FWD_METHOD => Self::FwdMethod(u32_ne(v, "IPVS_DEST_ATTR_FWD_METHOD")?),
            IPVS_DEST_ATTR_WEIGHT => {
                Self::Weight(i32::from_ne_bytes(fixed(v, "IPVS_DEST_ATTR_WEIGHT")?))
            }
            IPVS_DEST_ATTR_U_THRESH => Self::UThresh(u32_ne(v, "IPVS_DEST_ATTR_U_THRESH")?),
            IPVS_DEST_ATTR_L_THRESH => Self::LThresh(u32_ne(v, "IPVS_DEST_ATTR_L_THRESH")?),
            IPVS_DEST_ATTR_ACTIVE_CONNS => {
                Self::ActiveConns(u32_ne(v, "IPVS_DEST_ATTR_ACTIVE_CONNS")?)
            }
            IPVS_DEST_ATTR_INACT_CONNS => {
                Self::InactConns(u32_ne(v, "IPVS_DEST_ATTR_INACT_CONNS")?)
            }
            IPVS_DEST_ATTR_PERSIST_CONNS => {
                Self::PersistConns(u32_ne(v, "IPVS_DEST_ATTR_PERSIST_CONNS")?)
            }
            IPVS_DEST_ATTR_STATS => Self::Stats(Nest::parse(buf)?),
            IPVS_DEST_ATTR_ADDR_FAMILY => {
                Self::AddrFamily(u16_ne(v, "IPVS_DEST_ATTR_ADDR_FAMILY")?)
            }
            IPVS_DEST_ATTR_STATS64 => Self::Stats64(Nest::parse(buf)?),
            IPVS_DEST_ATTR_TUN_TYPE => Self::TunType(u8_of(v, "IPVS_DEST_ATTR_TUN_TYPE")?),
            IPVS_DEST_ATTR_TUN_PORT => Self::TunPort(u16_be(v, "IPVS_DEST_ATTR_TUN_PORT")?),
            IPVS_DEST_ATTR_TUN_FLAGS => Self::TunFlags(u16_ne(v, "IPVS_DEST_ATTR_TUN_FLAGS")?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
