//! The hash functions the kernel's hashing schedulers use, bit for bit:
//! IPv6 address folding (`addr_fold` in `ip_vs_sh.c`, `ip_vs_dh.c`,
//! `ip_vs_lblc.c`, `ip_vs_lblcr.c`, `ip_vs_mh.c`), `hash_32()` from
//! `include/linux/hash.h` (multiply by `GOLDEN_RATIO_32`, keep the top
//! bits), and `hsiphash()` from `lib/siphash.c` as a 64-bit kernel builds it:
//! SipHash-1-3 over 64-bit words, truncated to 32 bits.
//!
//! Nothing here depends on the running machine: the kernel hashes the
//! host-order value of a `u32` as its little-endian bytes (x86), which is
//! what [`hsiphash_u32`] does on every platform.

use std::net::IpAddr;

use crate::ipvs::model::Family;

/// `GOLDEN_RATIO_32` of `include/linux/hash.h`.
const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// `hash_32(val, bits)`: the top `bits` bits of `val * GOLDEN_RATIO_32`.
pub fn hash_32(val: u32, bits: u32) -> u32 {
    val.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)
}

/// `ntohl(addr_fold)` as the schedulers compute it for a service of
/// `family`: an IPv4 address as is; an IPv6 address as the XOR of its four
/// 32-bit words. The kernel reads the `nf_inet_addr` union by the
/// *service's* family, so an IPv6 address hashed for an IPv4 service
/// contributes its first word, and an IPv4 address in an IPv6 service
/// folds with three zero words (the union is zero-filled).
pub fn fold_addr(family: Family, addr: IpAddr) -> u32 {
    match (family, addr) {
        (_, IpAddr::V4(v4)) => u32::from(v4),
        (Family::Inet, IpAddr::V6(v6)) => {
            let o = v6.octets();
            u32::from_be_bytes([o[0], o[1], o[2], o[3]])
        }
        (Family::Inet6, IpAddr::V6(v6)) => {
            let o = v6.octets();
            (0..4).fold(0u32, |acc, word| {
                let i = word * 4;
                acc ^ u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]])
            })
        }
    }
}

/// One SipHash round (`SIPROUND`).
#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-1-3 of `data` with the 128-bit key `(k0, k1)`: one compression
/// round per 64-bit little-endian word, three finalization rounds.
pub fn siphash13(data: &[u8], k0: u64, k1: u64) -> u64 {
    let mut v = [
        0x736f_6d65_7073_6575 ^ k0,
        0x646f_7261_6e64_6f6d ^ k1,
        0x6c79_6765_6e65_7261 ^ k0,
        0x7465_6462_7974_6573 ^ k1,
    ];
    let mut words = data.chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let m = u64::from_le_bytes(bytes);
        v[3] ^= m;
        sip_round(&mut v);
        v[0] ^= m;
    }
    let mut last = (data.len() as u64) << 56;
    for (i, byte) in words.remainder().iter().enumerate() {
        last |= u64::from(*byte) << (8 * i);
    }
    v[3] ^= last;
    sip_round(&mut v);
    v[0] ^= last;
    v[2] ^= 0xff;
    sip_round(&mut v);
    sip_round(&mut v);
    sip_round(&mut v);
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// `hsiphash(&v, sizeof(v), key)` for a `u32` on a 64-bit kernel, where
/// `hsiphash_key_t` is two `unsigned long`s.
pub fn hsiphash_u32(value: u32, key: [u64; 2]) -> u32 {
    siphash13(&value.to_le_bytes(), key[0], key[1]) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hasher;

    #[test]
    fn siphash13_matches_the_std_sip13_hasher_with_zero_keys() {
        // std's DefaultHasher::new() is SipHash-1-3 keyed with (0, 0); feed
        // it raw bytes through `write` so no length prefix is added.
        #[allow(deprecated)]
        for len in 0..20usize {
            let data: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(37)).collect();
            let mut std_hasher = std::collections::hash_map::DefaultHasher::new();
            std_hasher.write(&data);
            assert_eq!(siphash13(&data, 0, 0), std_hasher.finish(), "len {len}");
        }
    }

    #[test]
    fn hash_32_keeps_the_top_bits_of_the_golden_ratio_product() {
        assert_eq!(hash_32(0, 8), 0);
        assert_eq!(hash_32(1, 8), 0x61);
        assert_eq!(hash_32(1, 10), 0x61C8_8647 >> 22);
        assert_eq!(
            hash_32(0xffff_ffff, 8),
            (0x61C8_8647u32.wrapping_neg()) >> 24
        );
    }

    #[test]
    fn ipv6_addresses_fold_to_the_xor_of_their_words() {
        let addr: IpAddr = "2001:db8:0:1::5".parse().unwrap();
        // Words 2001:0db8, 0000:0001, 0000:0000, 0000:0005.
        let expected = 0x2001_0db8 ^ 0x0000_0001 ^ 0x0000_0005;
        assert_eq!(fold_addr(Family::Inet6, addr), expected);
        assert_eq!(fold_addr(Family::Inet, addr), 0x2001_0db8);
        let v4: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(fold_addr(Family::Inet6, v4), 0xcb00_7109);
    }
}
