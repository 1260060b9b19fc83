//! The order ipvsadm lists services and destinations in.
//!
//! ipvsadm sorts with glibc's `qsort` (a top-down merge sort in the glibc
//! Debian ships) and comparators that subtract 32-bit values and read the
//! difference as a signed `int`. Differences of 2^31 or more wrap, so
//! fwmark 4294967295 sorts before address services, `200.0.0.1` before
//! `1.0.0.1`, and the order is not even transitive for such sets: the
//! result then depends on the order the kernel returned. Reproducing the
//! comparator and the merge sort exactly, on the table's own order (the
//! kernel's dump order when the table was read from the kernel), gives
//! byte-identical listings.

use std::net::IpAddr;

use crate::ipvs::model::{Dest, Protocol, Service, ServiceKey};

/// Services in ipvsadm's listing order.
pub(super) fn services(services: &[Service]) -> Vec<&Service> {
    let mut v: Vec<&Service> = services.iter().collect();
    merge_sort(&mut v, |a, b| {
        compare_services(&a.config.key, &b.config.key)
    });
    v
}

/// Destinations in ipvsadm's listing order.
pub(super) fn dests(dests: &[Dest]) -> Vec<&Dest> {
    let mut v: Vec<&Dest> = dests.iter().collect();
    merge_sort(&mut v, |a, b| {
        compare_addr(a.config.key.addr, b.config.key.addr)
            .then_int(i32::from(a.config.key.port) - i32::from(b.config.key.port))
    });
    v
}

trait ThenInt {
    fn then_int(self, next: i32) -> i32;
}

impl ThenInt for i32 {
    fn then_int(self, next: i32) -> i32 {
        if self != 0 {
            self
        } else {
            next
        }
    }
}

/// `a - b` of two 32-bit values, read as C's `int`.
fn wrapping_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

fn words(ip: IpAddr) -> [u32; 4] {
    match ip {
        IpAddr::V4(v4) => [u32::from(v4), 0, 0, 0],
        IpAddr::V6(v6) => {
            let o = v6.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

/// Address comparison as ipvsadm does it: the first address's family
/// decides whether one word or four are compared.
fn compare_addr(a: IpAddr, b: IpAddr) -> i32 {
    let (wa, wb) = (words(a), words(b));
    let count = if a.is_ipv6() { 4 } else { 1 };
    for i in 0..count {
        let r = wrapping_diff(wa[i], wb[i]);
        if r != 0 {
            return r;
        }
    }
    0
}

fn compare_services(a: &ServiceKey, b: &ServiceKey) -> i32 {
    let fields = |k: &ServiceKey| -> (u32, i32, i32, IpAddr, u16) {
        match *k {
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => (
                0,
                i32::from(k.family().af()),
                protocol_number(protocol),
                addr,
                port,
            ),
            // ipvsadm gives firewall-mark services protocol TCP and a zero
            // address and port.
            ServiceKey::Fwmark { family, mark } => (
                mark,
                i32::from(family.af()),
                6,
                IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                0,
            ),
        }
    };
    let (ma, fa, pa, aa, porta) = fields(a);
    let (mb, fb, pb, ab, portb) = fields(b);
    wrapping_diff(ma, mb)
        .then_int(fa - fb)
        .then_int(pa - pb)
        .then_int(compare_addr(aa, ab))
        .then_int(i32::from(porta) - i32::from(portb))
}

fn protocol_number(p: Protocol) -> i32 {
    i32::from(crate::ipvs::model::protocol_number(p))
}

/// glibc's `msort_with_tmp`: split at `n / 2`, sort both halves, merge
/// taking from the left half while `cmp(left, right) <= 0`.
fn merge_sort<T: Copy>(v: &mut [T], cmp: impl Fn(&T, &T) -> i32 + Copy) {
    let mut scratch = Vec::with_capacity(v.len());
    merge_sort_with(v, cmp, &mut scratch);
}

fn merge_sort_with<T: Copy>(v: &mut [T], cmp: impl Fn(&T, &T) -> i32 + Copy, tmp: &mut Vec<T>) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    merge_sort_with(&mut v[..n1], cmp, tmp);
    merge_sort_with(&mut v[n1..], cmp, tmp);
    tmp.clear();
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            tmp.push(v[i]);
            i += 1;
        } else {
            tmp.push(v[j]);
            j += 1;
        }
    }
    // What is left of the right half is already in place.
    tmp.extend_from_slice(&v[i..n1]);
    let done = tmp.len();
    v[..done].copy_from_slice(tmp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_of_two_to_the_31_wrap_like_c_int() {
        let a: IpAddr = "200.0.0.1".parse().unwrap_or(IpAddr::V4(0.into()));
        let b: IpAddr = "1.0.0.1".parse().unwrap_or(IpAddr::V4(0.into()));
        assert!(compare_addr(a, b) < 0);
        assert!(
            compare_addr(
                "10.0.0.2".parse().unwrap_or(a),
                "10.0.0.1".parse().unwrap_or(a)
            ) > 0
        );
    }

    #[test]
    fn merge_sort_is_stable_on_ties() {
        let mut v = [(1, 'a'), (0, 'b'), (1, 'c'), (0, 'd')];
        merge_sort(&mut v, |x, y| x.0 - y.0);
        assert_eq!(v, [(0, 'b'), (0, 'd'), (1, 'a'), (1, 'c')]);
    }
}
