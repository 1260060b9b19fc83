//! Allocation-free text helpers for the hot listing paths: printf-style
//! padding and integer/address rendering into an output `String`, so a
//! table of tens of thousands of rows renders in a few milliseconds.

use std::net::{IpAddr, Ipv4Addr};

/// Decimal digits of `v` in a stack buffer; returns the used tail.
pub(super) fn digits(mut v: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("")
}

/// `%-Ns`: the text, then spaces up to `width`.
pub(super) fn push_left(out: &mut String, s: &str, width: usize) {
    out.push_str(s);
    pad(out, width.saturating_sub(s.len()));
}

/// `%Ns`: spaces up to `width`, then the text.
pub(super) fn push_right(out: &mut String, s: &str, width: usize) {
    pad(out, width.saturating_sub(s.len()));
    out.push_str(s);
}

fn pad(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// `%-Nu` of an unsigned value.
pub(super) fn push_u64_left(out: &mut String, v: u64, width: usize) {
    let mut buf = [0u8; 20];
    push_left(out, digits(v, &mut buf), width);
}

/// `%Nu` of an unsigned value.
pub(super) fn push_u64_right(out: &mut String, v: u64, width: usize) {
    let mut buf = [0u8; 20];
    push_right(out, digits(v, &mut buf), width);
}

/// `%-Nd` of a signed value.
pub(super) fn push_i64_left(out: &mut String, v: i64, width: usize) {
    let start = out.len();
    if v < 0 {
        out.push('-');
    }
    let mut buf = [0u8; 20];
    out.push_str(digits(v.unsigned_abs(), &mut buf));
    let used = out.len() - start;
    pad(out, width.saturating_sub(used));
}

fn push_ipv4(out: &mut String, ip: Ipv4Addr) {
    let mut buf = [0u8; 20];
    for (i, octet) in ip.octets().iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(digits(u64::from(*octet), &mut buf));
    }
}

/// `a.b.c.d:port` or `[v6]:port` appended to `out`.
pub(super) fn push_addr_port(out: &mut String, ip: IpAddr, port: u16) {
    match ip {
        IpAddr::V4(v4) => push_ipv4(out, v4),
        IpAddr::V6(v6) => {
            out.push('[');
            out.push_str(&super::list::ipv6_text(v6));
            out.push(']');
        }
    }
    out.push(':');
    let mut buf = [0u8; 20];
    out.push_str(digits(u64::from(port), &mut buf));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_match_printf() {
        let mut s = String::new();
        push_left(&mut s, "ab", 4);
        push_right(&mut s, "cd", 4);
        push_u64_left(&mut s, 7, 3);
        push_u64_right(&mut s, 1234, 3);
        push_i64_left(&mut s, -5, 4);
        push_i64_left(&mut s, 65535, 4);
        assert_eq!(s, "ab    cd7  1234-5  65535");
        let mut a = String::new();
        push_addr_port(&mut a, "10.0.0.255".parse().unwrap(), 0);
        push_addr_port(&mut a, "2001:db8::1".parse().unwrap(), 65535);
        assert_eq!(a, "10.0.0.255:0[2001:db8::1]:65535");
    }
}
