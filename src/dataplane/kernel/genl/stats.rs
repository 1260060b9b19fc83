//! Counter and rate attributes nested in `IPVS_SVC_ATTR_STATS[64]` and
//! `IPVS_DEST_ATTR_STATS[64]`.
//!
//! The older `*_STATS` nest carries 32-bit counters except the byte counts
//! (64-bit); the `*_STATS64` nest (kernel 4.x+) carries everything as 64-bit.
//! Both are kept, with the kernel's widths, so a reply re-emits byte for
//! byte; the domain conversion prefers the 64-bit nest.

use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable};

use super::nla::{u32_ne, u64_ne};

pub const IPVS_STATS_ATTR_CONNS: u16 = 1;
pub const IPVS_STATS_ATTR_INPKTS: u16 = 2;
pub const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
pub const IPVS_STATS_ATTR_INBYTES: u16 = 4;
pub const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
pub const IPVS_STATS_ATTR_CPS: u16 = 6;
pub const IPVS_STATS_ATTR_INPPS: u16 = 7;
pub const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
pub const IPVS_STATS_ATTR_INBPS: u16 = 9;
pub const IPVS_STATS_ATTR_OUTBPS: u16 = 10;
/// Alignment padding some architectures put before a 64-bit value; it
/// lands in `Other`.
pub const IPVS_STATS_ATTR_PAD: u16 = 11;

/// One attribute of the 32-bit stats nest (`IPVS_*_ATTR_STATS`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stats32Attr {
    Conns(u32),
    Inpkts(u32),
    Outpkts(u32),
    Inbytes(u64),
    Outbytes(u64),
    Cps(u32),
    Inpps(u32),
    Outpps(u32),
    Inbps(u32),
    Outbps(u32),
    Other(DefaultNla),
}

impl Nla for Stats32Attr {
    fn value_len(&self) -> usize {
        match self {
            Self::Inbytes(_) | Self::Outbytes(_) => 8,
            Self::Other(nla) => nla.value_len(),
            _ => 4,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Conns(_) => IPVS_STATS_ATTR_CONNS,
            Self::Inpkts(_) => IPVS_STATS_ATTR_INPKTS,
            Self::Outpkts(_) => IPVS_STATS_ATTR_OUTPKTS,
            Self::Inbytes(_) => IPVS_STATS_ATTR_INBYTES,
            Self::Outbytes(_) => IPVS_STATS_ATTR_OUTBYTES,
            Self::Cps(_) => IPVS_STATS_ATTR_CPS,
            Self::Inpps(_) => IPVS_STATS_ATTR_INPPS,
            Self::Outpps(_) => IPVS_STATS_ATTR_OUTPPS,
            Self::Inbps(_) => IPVS_STATS_ATTR_INBPS,
            Self::Outbps(_) => IPVS_STATS_ATTR_OUTBPS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Conns(v)
            | Self::Inpkts(v)
            | Self::Outpkts(v)
            | Self::Cps(v)
            | Self::Inpps(v)
            | Self::Outpps(v)
            | Self::Inbps(v)
            | Self::Outbps(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Inbytes(v) | Self::Outbytes(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for Stats32Attr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_STATS_ATTR_CONNS => Self::Conns(u32_ne(v, "IPVS_STATS_ATTR_CONNS")?),
            IPVS_STATS_ATTR_INPKTS => Self::Inpkts(u32_ne(v, "IPVS_STATS_ATTR_INPKTS")?),
            IPVS_STATS_ATTR_OUTPKTS => Self::Outpkts(u32_ne(v, "IPVS_STATS_ATTR_OUTPKTS")?),
            IPVS_STATS_ATTR_INBYTES => Self::Inbytes(u64_ne(v, "IPVS_STATS_ATTR_INBYTES")?),
            IPVS_STATS_ATTR_OUTBYTES => Self::Outbytes(u64_ne(v, "IPVS_STATS_ATTR_OUTBYTES")?),
            IPVS_STATS_ATTR_CPS => Self::Cps(u32_ne(v, "IPVS_STATS_ATTR_CPS")?),
            IPVS_STATS_ATTR_INPPS => Self::Inpps(u32_ne(v, "IPVS_STATS_ATTR_INPPS")?),
            IPVS_STATS_ATTR_OUTPPS => Self::Outpps(u32_ne(v, "IPVS_STATS_ATTR_OUTPPS")?),
            IPVS_STATS_ATTR_INBPS => Self::Inbps(u32_ne(v, "IPVS_STATS_ATTR_INBPS")?),
            IPVS_STATS_ATTR_OUTBPS => Self::Outbps(u32_ne(v, "IPVS_STATS_ATTR_OUTBPS")?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// One attribute of the 64-bit stats nest (`IPVS_*_ATTR_STATS64`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stats64Attr {
    Conns(u64),
    Inpkts(u64),
    Outpkts(u64),
    Inbytes(u64),
    Outbytes(u64),
    Cps(u64),
    Inpps(u64),
    Outpps(u64),
    Inbps(u64),
    Outbps(u64),
    Other(DefaultNla),
}

impl Nla for Stats64Attr {
    fn value_len(&self) -> usize {
        match self {
            Self::Other(nla) => nla.value_len(),
            _ => 8,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Conns(_) => IPVS_STATS_ATTR_CONNS,
            Self::Inpkts(_) => IPVS_STATS_ATTR_INPKTS,
            Self::Outpkts(_) => IPVS_STATS_ATTR_OUTPKTS,
            Self::Inbytes(_) => IPVS_STATS_ATTR_INBYTES,
            Self::Outbytes(_) => IPVS_STATS_ATTR_OUTBYTES,
            Self::Cps(_) => IPVS_STATS_ATTR_CPS,
            Self::Inpps(_) => IPVS_STATS_ATTR_INPPS,
            Self::Outpps(_) => IPVS_STATS_ATTR_OUTPPS,
            Self::Inbps(_) => IPVS_STATS_ATTR_INBPS,
            Self::Outbps(_) => IPVS_STATS_ATTR_OUTBPS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Conns(v)
            | Self::Inpkts(v)
            | Self::Outpkts(v)
            | Self::Inbytes(v)
            | Self::Outbytes(v)
            | Self::Cps(v)
            | Self::Inpps(v)
            | Self::Outpps(v)
            | Self::Inbps(v)
            | Self::Outbps(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for Stats64Attr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        let what = "IPVS_STATS_ATTR (64-bit)";
        Ok(match buf.kind() {
            IPVS_STATS_ATTR_CONNS => Self::Conns(u64_ne(v, what)?),
            IPVS_STATS_ATTR_INPKTS => Self::Inpkts(u64_ne(v, what)?),
            IPVS_STATS_ATTR_OUTPKTS => Self::Outpkts(u64_ne(v, what)?),
            IPVS_STATS_ATTR_INBYTES => Self::Inbytes(u64_ne(v, what)?),
            IPVS_STATS_ATTR_OUTBYTES => Self::Outbytes(u64_ne(v, what)?),
            IPVS_STATS_ATTR_CPS => Self::Cps(u64_ne(v, what)?),
            IPVS_STATS_ATTR_INPPS => Self::Inpps(u64_ne(v, what)?),
            IPVS_STATS_ATTR_OUTPPS => Self::Outpps(u64_ne(v, what)?),
            IPVS_STATS_ATTR_INBPS => Self::Inbps(u64_ne(v, what)?),
            IPVS_STATS_ATTR_OUTBPS => Self::Outbps(u64_ne(v, what)?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
