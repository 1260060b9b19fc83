//! The kernel's connection table as `/proc/net/ip_vs_conn` prints it; the
//! only place IPVS publishes connections (there is no netlink command).
//!
//! Each line is `Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires
//! [PEName PEData]`: IPv4 addresses as 8 hex digits of the host-order
//! value, IPv6 addresses in full colon form, ports as 4 hex digits,
//! expiry in seconds. A destination may be IPv6 under an IPv4 service
//! (tunnels), so each address is read on its own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use compact_str::CompactString;

use crate::ipvs::model::Connection;

/// Where the kernel lists connections.
pub const PROC_IP_VS_CONN: &str = "/proc/net/ip_vs_conn";

/// A line that is not a connection entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{PROC_IP_VS_CONN} line {line}: {why}: '{text}'")]
pub struct ConnParseError {
    pub line: usize,
    pub why: &'static str,
    pub text: String,
}

/// Parse the whole file (header line included).
pub fn parse_connections(text: &str) -> Result<Vec<Connection>, ConnParseError> {
    let mut connections = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.starts_with("Pro ") || line.trim().is_empty() {
            continue;
        }
        let error = |why| ConnParseError {
            line: index + 1,
            why,
            text: line.to_string(),
        };
        connections.push(parse_line(line).map_err(error)?);
    }
    Ok(connections)
}

fn parse_line(line: &str) -> Result<Connection, &'static str> {
    let mut fields = line.split_ascii_whitespace();
    let mut next = |what| fields.next().ok_or(what);
    let protocol = next("no protocol")?;
    let client = endpoint(next("no client address")?, next("no client port")?)?;
    let virtual_addr = endpoint(next("no virtual address")?, next("no virtual port")?)?;
    let dest = endpoint(
        next("no destination address")?,
        next("no destination port")?,
    )?;
    let state = next("no state")?;
    let expires = next("no expiry")?
        .parse()
        .map_err(|_| "expiry is not a number")?;
    Ok(Connection {
        protocol: CompactString::from(protocol),
        client,
        virtual_addr,
        dest,
        state: CompactString::from(state),
        expires,
        // Templates carry client port 0; their state reads NONE on older
        // kernels and ASSURED on 6.x, so the port is what tells.
        template: client.port() == 0,
        // A persistence engine appends its name and data (`sip <call-id>`).
        pe_name: fields.next().map(CompactString::from),
        pe_data: fields.next().map(CompactString::from),
    })
}

fn endpoint(addr: &str, port: &str) -> Result<SocketAddr, &'static str> {
    let ip = if addr.contains(':') {
        IpAddr::V6(addr.parse::<Ipv6Addr>().map_err(|_| "bad IPv6 address")?)
    } else if addr.len() == 8 {
        IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(addr, 16).map_err(|_| "bad IPv4 address")?,
        ))
    } else {
        return Err("bad address");
    };
    let port = u16::from_str_radix(port, 16).map_err(|_| "bad port")?;
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP CB00714D C221 C6336458 0050 C633640A 0050 ESTABLISHED     857
UDP CB00714D 8A32 C6336458 0035 C633640B 0035 UDP             283
TCP CB007100 0000 C6336458 0050 C633640A 0050 NONE             58
IP  CB00714D 0000 00000000 0000 C633640C 0000 NONE            299
TCP 2001:0db8:0000:0000:0000:0000:0000:00cb E7AE 2001:0db8:0000:0000:0000:0000:0000:0001 01BB 2001:0db8:0000:0000:0000:0000:0000:0010 01BB TIME_WAIT       115
UDP C6336458 1F90 C6336458 1F90 2001:0db8:0000:0000:0000:0000:0000:0011 1F90 UDP             12 sip abc
";

    #[test]
    fn reads_ipv4_ipv6_templates_and_mixed_families() {
        let conns = parse_connections(SAMPLE).unwrap();
        assert_eq!(conns.len(), 6);
        assert_eq!(conns[0].client, "203.0.113.77:49697".parse().unwrap());
        assert_eq!(conns[0].virtual_addr, "198.51.100.88:80".parse().unwrap());
        assert_eq!(conns[0].dest, "198.51.100.10:80".parse().unwrap());
        assert_eq!(conns[0].state, "ESTABLISHED");
        assert_eq!(conns[0].expires, 857);
        assert!(!conns[0].template);
        assert_eq!(conns[1].protocol, "UDP");
        assert!(
            conns[2].template,
            "persistence template: client port 0, NONE"
        );
        assert_eq!(
            conns[2].client.ip(),
            "203.0.113.0".parse::<IpAddr>().unwrap()
        );
        assert!(conns[3].template, "fwmark template");
        assert_eq!(conns[3].protocol, "IP");
        assert_eq!(conns[4].client, "[2001:db8::cb]:59310".parse().unwrap());
        assert_eq!(conns[4].dest, "[2001:db8::10]:443".parse().unwrap());
        assert_eq!(conns[5].dest, "[2001:db8::11]:8080".parse().unwrap());
    }

    #[test]
    fn a_broken_line_is_reported_with_its_number() {
        let err = parse_connections("Pro FromIP\nTCP ZZZZZZZZ 0000\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(err.why, "bad IPv4 address");
    }

    #[test]
    fn an_empty_table_is_just_the_header() {
        let text =
            "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n";
        assert!(parse_connections(text).unwrap().is_empty());
    }
}
