//! Addresses, routes and rules that VRRP instances (or the static blocks)
//! install: the `ip address/route/rule add` vocabulary keepalived accepts.

use std::net::IpAddr;

use crate::config::source::Spanned;

/// One `virtual_ipaddress` / `virtual_ipaddress_excluded` /
/// `static_ipaddress` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualAddress {
    pub address: Spanned<IpAddr>,
    /// `/MASK`; keepalived uses /32 (/128) when absent.
    pub prefix: Option<u8>,
    /// `brd`/`broadcast`: an address, or `-`/`+` to clear/set host bits.
    pub broadcast: Option<String>,
    pub dev: Option<Spanned<String>>,
    pub scope: Option<String>,
    pub label: Option<String>,
    pub peer: Option<String>,
    pub home: bool,
    pub nodad: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    pub no_track: bool,
    pub track_group: Option<String>,
    /// `use_vmac [NAME]` on a VIP.
    pub use_vmac: Option<Option<String>>,
    pub preferred_lft: Option<String>,
}

impl VirtualAddress {
    pub fn new(address: Spanned<IpAddr>) -> Self {
        Self {
            address,
            prefix: None,
            broadcast: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            home: false,
            nodad: false,
            mngtmpaddr: false,
            noprefixroute: false,
            autojoin: false,
            no_track: false,
            track_group: None,
            use_vmac: None,
            preferred_lft: None,
        }
    }

    /// The prefix length in use: /32 for IPv4, /128 for IPv6 when unset.
    pub fn effective_prefix(&self) -> u8 {
        self.prefix.unwrap_or(if self.address.value.is_ipv4() {
            32
        } else {
            128
        })
    }
}

/// One route line (`virtual_routes`, `static_routes`): the destination and
/// the options lvstop needs typed; everything else stays in `options`, in
/// order, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `blackhole`, `unreachable`, `prohibit`, `throw`, … before the
    /// destination.
    pub route_type: Option<String>,
    /// `IP[/LEN]` or `default`.
    pub destination: Spanned<String>,
    /// Preferred source (`src`).
    pub src: Option<IpAddr>,
    /// Gateway (`via`; deprecated spelling `gw`).
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub table: Option<String>,
    /// `metric`/`priority`/`preference`.
    pub metric: Option<u32>,
    pub scope: Option<String>,
    pub no_track: bool,
    pub track_group: Option<String>,
    /// Remaining words (`nexthop …`, `mtu 1400`, `onlink`, …).
    pub options: Vec<String>,
}

/// One rule line (`virtual_rules`, `static_rules`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub from: Option<String>,
    pub to: Option<String>,
    pub table: Option<String>,
    /// `preference`/`priority`/`pref`; the parser fills in keepalived's
    /// default (16384 downwards, in file order) when the line has none.
    pub preference: Option<u32>,
    pub no_track: bool,
    pub track_group: Option<String>,
    /// Remaining words (`iif`, `oif`, `fwmark`, `goto`, …) in order.
    pub options: Vec<String>,
    /// Where the line starts (equality ignores it).
    pub at: Spanned<()>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::Location;

    #[test]
    fn unset_prefix_is_a_host_address() {
        let v4 = VirtualAddress::new(Spanned::new(
            "10.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            Location::default(),
        ));
        assert_eq!(v4.effective_prefix(), 32);
        let v6 = VirtualAddress::new(Spanned::new(
            "fe80::1".parse().unwrap_or(IpAddr::from([0u16; 8])),
            Location::default(),
        ));
        assert_eq!(v6.effective_prefix(), 128);
    }
}
