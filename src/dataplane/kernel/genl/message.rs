//! The IPVS generic-netlink message: a command (`IPVS_CMD_*`) and its
//! top-level attributes (`IPVS_CMD_ATTR_*`, or `IPVS_INFO_ATTR_*` in the
//! reply to `IPVS_CMD_GET_INFO`, whose numbers overlap).

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, NlasIterator, Parseable,
    ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::daemon::DaemonAttr;
use super::dest::DestAttr;
use super::nla::{emit_nested, nested_len, u32_ne, Nest};
use super::service::ServiceAttr;
use super::{IPVS_GENL_NAME, IPVS_GENL_VERSION};

pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
pub const IPVS_CMD_SET_SERVICE: u8 = 2;
pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
pub const IPVS_CMD_GET_SERVICE: u8 = 4;
pub const IPVS_CMD_NEW_DEST: u8 = 5;
pub const IPVS_CMD_SET_DEST: u8 = 6;
pub const IPVS_CMD_DEL_DEST: u8 = 7;
pub const IPVS_CMD_GET_DEST: u8 = 8;
pub const IPVS_CMD_NEW_DAEMON: u8 = 9;
pub const IPVS_CMD_DEL_DAEMON: u8 = 10;
pub const IPVS_CMD_GET_DAEMON: u8 = 11;
pub const IPVS_CMD_SET_CONFIG: u8 = 12;
pub const IPVS_CMD_GET_CONFIG: u8 = 13;
pub const IPVS_CMD_SET_INFO: u8 = 14;
pub const IPVS_CMD_GET_INFO: u8 = 15;
pub const IPVS_CMD_ZERO: u8 = 16;
pub const IPVS_CMD_FLUSH: u8 = 17;

pub const IPVS_CMD_ATTR_SERVICE: u16 = 1;
pub const IPVS_CMD_ATTR_DEST: u16 = 2;
pub const IPVS_CMD_ATTR_DAEMON: u16 = 3;
pub const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
pub const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
pub const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;

pub const IPVS_INFO_ATTR_VERSION: u16 = 1;
pub const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

/// An IPVS command. The kernel answers GET_SERVICE with NEW_SERVICE,
/// GET_DEST with NEW_DEST, GET_DAEMON with NEW_DAEMON, GET_CONFIG with
/// SET_CONFIG and GET_INFO with SET_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpvsCmd {
    NewService,
    SetService,
    DelService,
    GetService,
    NewDest,
    SetDest,
    DelDest,
    GetDest,
    NewDaemon,
    DelDaemon,
    GetDaemon,
    SetConfig,
    GetConfig,
    SetInfo,
    GetInfo,
    Zero,
    Flush,
    Other(u8),
}

impl From<IpvsCmd> for u8 {
    fn from(cmd: IpvsCmd) -> u8 {
        match cmd {
            IpvsCmd::NewService => IPVS_CMD_NEW_SERVICE,
            IpvsCmd::SetService => IPVS_CMD_SET_SERVICE,
            IpvsCmd::DelService => IPVS_CMD_DEL_SERVICE,
            IpvsCmd::GetService => IPVS_CMD_GET_SERVICE,
            IpvsCmd::NewDest => IPVS_CMD_NEW_DEST,
            IpvsCmd::SetDest => IPVS_CMD_SET_DEST,
            IpvsCmd::DelDest => IPVS_CMD_DEL_DEST,
            IpvsCmd::GetDest => IPVS_CMD_GET_DEST,
            IpvsCmd::NewDaemon => IPVS_CMD_NEW_DAEMON,
            IpvsCmd::DelDaemon => IPVS_CMD_DEL_DAEMON,
            IpvsCmd::GetDaemon => IPVS_CMD_GET_DAEMON,
            IpvsCmd::SetConfig => IPVS_CMD_SET_CONFIG,
            IpvsCmd::GetConfig => IPVS_CMD_GET_CONFIG,
            IpvsCmd::SetInfo => IPVS_CMD_SET_INFO,
            IpvsCmd::GetInfo => IPVS_CMD_GET_INFO,
            IpvsCmd::Zero => IPVS_CMD_ZERO,
            IpvsCmd::Flush => IPVS_CMD_FLUSH,
            IpvsCmd::Other(cmd) => cmd,
        }
    }
}

impl From<u8> for IpvsCmd {
    fn from(cmd: u8) -> IpvsCmd {
        match cmd {
            IPVS_CMD_NEW_SERVICE => IpvsCmd::NewService,
            IPVS_CMD_SET_SERVICE => IpvsCmd::SetService,
            IPVS_CMD_DEL_SERVICE => IpvsCmd::DelService,
            IPVS_CMD_GET_SERVICE => IpvsCmd::GetService,
            IPVS_CMD_NEW_DEST => IpvsCmd::NewDest,
            IPVS_CMD_SET_DEST => IpvsCmd::SetDest,
            IPVS_CMD_DEL_DEST => IpvsCmd::DelDest,
            IPVS_CMD_GET_DEST => IpvsCmd::GetDest,
            IPVS_CMD_NEW_DAEMON => IpvsCmd::NewDaemon,
            IPVS_CMD_DEL_DAEMON => IpvsCmd::DelDaemon,
            IPVS_CMD_GET_DAEMON => IpvsCmd::GetDaemon,
            IPVS_CMD_SET_CONFIG => IpvsCmd::SetConfig,
            IPVS_CMD_GET_CONFIG => IpvsCmd::GetConfig,
            IPVS_CMD_SET_INFO => IpvsCmd::SetInfo,
            IPVS_CMD_GET_INFO => IpvsCmd::GetInfo,
            IPVS_CMD_ZERO => IpvsCmd::Zero,
            IPVS_CMD_FLUSH => IpvsCmd::Flush,
            other => IpvsCmd::Other(other),
        }
    }
}

impl IpvsCmd {
    /// Whether top-level attributes are `IPVS_INFO_ATTR_*`.
    fn carries_info(self) -> bool {
        matches!(self, IpvsCmd::SetInfo | IpvsCmd::GetInfo)
    }
}

/// A top-level attribute of an IPVS message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpvsAttr {
    /// `IPVS_CMD_ATTR_SERVICE`
    Service(Nest<ServiceAttr>),
    /// `IPVS_CMD_ATTR_DEST`
    Dest(Nest<DestAttr>),
    /// `IPVS_CMD_ATTR_DAEMON`
    Daemon(Nest<DaemonAttr>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`, seconds
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`, seconds
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`, seconds
    TimeoutUdp(u32),
    /// `IPVS_INFO_ATTR_VERSION` (only in GET_INFO replies)
    InfoVersion(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (only in GET_INFO replies)
    InfoConnTabSize(u32),
    Other(DefaultNla),
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Service(nest) => nest.value_len(),
            Self::Dest(nest) => nest.value_len(),
            Self::Daemon(nest) => nest.value_len(),
            Self::TimeoutTcp(_)
            | Self::TimeoutTcpFin(_)
            | Self::TimeoutUdp(_)
            | Self::InfoVersion(_)
            | Self::InfoConnTabSize(_) => 4,
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Service(nest) => nest.kind(IPVS_CMD_ATTR_SERVICE),
            Self::Dest(nest) => nest.kind(IPVS_CMD_ATTR_DEST),
            Self::Daemon(nest) => nest.kind(IPVS_CMD_ATTR_DAEMON),
            Self::TimeoutTcp(_) => IPVS_CMD_ATTR_TIMEOUT_TCP,
            Self::TimeoutTcpFin(_) => IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
            Self::TimeoutUdp(_) => IPVS_CMD_ATTR_TIMEOUT_UDP,
            Self::InfoVersion(_) => IPVS_INFO_ATTR_VERSION,
            Self::InfoConnTabSize(_) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Service(nest) => nest.emit_value(buffer),
            Self::Dest(nest) => nest.emit_value(buffer),
            Self::Daemon(nest) => nest.emit_value(buffer),
            Self::TimeoutTcp(v)
            | Self::TimeoutTcpFin(v)
            | Self::TimeoutUdp(v)
            | Self::InfoVersion(v)
            | Self::InfoConnTabSize(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl IpvsAttr {
    fn parse_for(buf: &NlaBuffer<&[u8]>, cmd: IpvsCmd) -> Result<Self, DecodeError> {
        let v = buf.value();
        if cmd.carries_info() {
            return Ok(match buf.kind() {
                IPVS_INFO_ATTR_VERSION => Self::InfoVersion(u32_ne(v, "IPVS_INFO_ATTR_VERSION")?),
                IPVS_INFO_ATTR_CONN_TAB_SIZE => {
                    Self::InfoConnTabSize(u32_ne(v, "IPVS_INFO_ATTR_CONN_TAB_SIZE")?)
                }
                _ => Self::Other(DefaultNla::parse(buf)?),
            });
        }
        Ok(match buf.kind() {
            IPVS_CMD_ATTR_SERVICE => Self::Service(Nest::parse(buf)?),
            IPVS_CMD_ATTR_DEST => Self::Dest(Nest::parse(buf)?),
            IPVS_CMD_ATTR_DAEMON => Self::Daemon(Nest::parse(buf)?),
            IPVS_CMD_ATTR_TIMEOUT_TCP => Self::TimeoutTcp(u32_ne(v, "IPVS_CMD_ATTR_TIMEOUT_TCP")?),
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => {
                Self::TimeoutTcpFin(u32_ne(v, "IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_UDP => Self::TimeoutUdp(u32_ne(v, "IPVS_CMD_ATTR_TIMEOUT_UDP")?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// One IPVS generic-netlink message (the part after the genl header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    pub cmd: IpvsCmd,
    pub attrs: Vec<IpvsAttr>,
}

impl IpvsMessage {
    pub fn new(cmd: IpvsCmd, attrs: Vec<IpvsAttr>) -> Self {
        IpvsMessage { cmd, attrs }
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.into()
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        nested_len(&self.attrs)
    }

    fn emit(&self, buffer: &mut [u8]) {
        emit_nested(&self.attrs, buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from(header.cmd);
        let attrs = NlasIterator::new(buf)
            .map(|nla| nla.and_then(|nla| IpvsAttr::parse_for(&nla, cmd)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(IpvsMessage { cmd, attrs })
    }
}
