//! Golden bytes: adverts captured from keepalived 2.2.7 (see
//! tests/fixtures/vrrp/capture.sh), annotated field by field, checked in
//! both directions; and every kind of damage reported by name.

use std::net::IpAddr;

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

const MCAST4: &str = "224.0.0.18";

/// keepalived 2.2.7, `virtual_router_id 51`, `priority 100`, `advert_int 1`,
/// two VIPs, no authentication; from 198.51.100.1.
const V2_KEEPALIVED: [u8; 24] = [
    0x21, // version 2, type 1 (ADVERTISEMENT)
    0x33, // vrid = 51
    0x64, // priority = 100
    0x02, // count = 2 addresses
    0x00, // auth type = 0 (none)
    0x01, // adver int = 1 s
    0x26, 0x4c, // checksum
    198, 51, 100, 10, // 198.51.100.10
    198, 51, 100, 11, // 198.51.100.11
    0, 0, 0, 0, 0, 0, 0, 0, // authentication data (unused, zero)
];

/// keepalived 2.2.7, `version 3`, `virtual_router_id 54`, `priority 200`,
/// `advert_int 1`, from fe80::ff:fe00:1 to ff02::12.
const V3_IPV6_KEEPALIVED: [u8; 40] = [
    0x31, // version 3, type 1
    0x36, // vrid = 54
    0xc8, // priority = 200
    0x02, // count = 2 addresses
    0x00, 0x64, // reserved 0, max adver int = 100 cs (1 s)
    0xad, 0xa0, // checksum (with the IPv6 pseudo-header)
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, // 2001:db8::10
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, // 2001:db8::11
];

#[test]
fn keepalived_v2_advert_parses_and_reemits_byte_identical() {
    let advert = Advertisement::parse(ip("198.51.100.1"), ip(MCAST4), &V2_KEEPALIVED).unwrap();
    assert_eq!(
        advert,
        Advertisement {
            version: Version::V2,
            vrid: 51,
            priority: 100,
            interval: 1,
            auth: Auth::None,
            addresses: vec![ip("198.51.100.10"), ip("198.51.100.11")],
        }
    );
    assert_eq!(advert.interval(), Duration::from_secs(1));
    let bytes = advert.emit(ip("198.51.100.1"), ip(MCAST4)).unwrap();
    assert_eq!(bytes, V2_KEEPALIVED);
}

#[test]
fn keepalived_v3_ipv6_advert_parses_and_reemits_byte_identical() {
    let (src, dst) = (ip("fe80::ff:fe00:1"), ip("ff02::12"));
    let advert = Advertisement::parse(src, dst, &V3_IPV6_KEEPALIVED).unwrap();
    assert_eq!(advert.version, Version::V3);
    assert_eq!(
        (advert.vrid, advert.priority, advert.interval),
        (54, 200, 100)
    );
    assert_eq!(
        advert.addresses,
        vec![ip("2001:db8::10"), ip("2001:db8::11")]
    );
    assert_eq!(advert.emit(src, dst).unwrap(), V3_IPV6_KEEPALIVED);
}

#[test]
fn v3_checksum_covers_the_pseudo_header() {
    // The same bytes from another source fail: the source is summed.
    let err = Advertisement::parse(ip("fe80::ff:fe00:2"), ip("ff02::12"), &V3_IPV6_KEEPALIVED)
        .unwrap_err();
    assert!(matches!(
        err,
        PacketError::ChecksumMismatch {
            received: 0xada0,
            ..
        }
    ));
}

#[test]
fn pass_password_is_zero_padded_to_eight_octets() {
    let advert = Advertisement {
        version: Version::V2,
        vrid: 52,
        priority: 150,
        interval: 2,
        auth: Auth::pass("lvs1"),
        addresses: vec![ip("198.51.100.12")],
    };
    let bytes = advert.emit(ip("198.51.100.1"), ip(MCAST4)).unwrap();
    assert_eq!(bytes[4], 1, "auth type = 1 (PASS)");
    assert_eq!(&bytes[12..], b"lvs1\0\0\0\0");
    assert_eq!(Auth::pass("longer-than-8"), Auth::Pass(*b"longer-t"));
}

#[test]
fn each_kind_of_damage_is_named() {
    let (src, dst) = (ip("198.51.100.1"), ip(MCAST4));
    let parse = |bytes: &[u8]| Advertisement::parse(src, dst, bytes).unwrap_err();

    assert_eq!(
        parse(&V2_KEEPALIVED[..5]),
        PacketError::TooShort {
            actual: 5,
            minimum: 8
        }
    );
    let mut bad = V2_KEEPALIVED;
    bad[0] = 0x11;
    assert_eq!(parse(&bad), PacketError::BadVersion(1));
    bad[0] = 0x22;
    assert_eq!(parse(&bad), PacketError::BadType(2));
    assert_eq!(
        parse(&V2_KEEPALIVED[..20]),
        PacketError::LengthMismatch {
            actual: 20,
            expected: 24,
            count: 2
        }
    );
    let mut bad = V2_KEEPALIVED;
    bad[3] = 1; // count says one address, the message holds two
    assert_eq!(
        parse(&bad),
        PacketError::LengthMismatch {
            actual: 24,
            expected: 20,
            count: 1
        }
    );
    let mut bad = V2_KEEPALIVED;
    bad[2] = 99; // priority changed, checksum not
    assert!(matches!(
        parse(&bad),
        PacketError::ChecksumMismatch { received: 0x264c, computed } if computed != 0x264c
    ));
    let message = PacketError::ChecksumMismatch {
        received: 0x264c,
        computed: 0x274c,
    }
    .to_string();
    assert!(
        message.contains("0x264c") && message.contains("0x274c"),
        "{message}"
    );
}

fn with_auth_type(auth_type: u8) -> Vec<u8> {
    let mut bytes = V2_KEEPALIVED.to_vec();
    bytes[4] = auth_type;
    bytes[6] = 0;
    bytes[7] = 0;
    let sum = checksum::v2(&bytes);
    bytes[6..8].copy_from_slice(&sum.to_be_bytes());
    bytes
}

#[test]
fn unknown_auth_type_is_named() {
    let err = Advertisement::parse(ip("198.51.100.1"), ip(MCAST4), &with_auth_type(7)).unwrap_err();
    assert_eq!(err, PacketError::UnknownAuthType(7));
}

/// The VRRP message of keepalived 2.2.7's `auth_type AH` advert (the AH
/// golden vector of `ah.rs`): auth type 2, zero authentication octets.
const V2_KEEPALIVED_AH: [u8; 20] = [
    0x21, 0x33, 0x96, 0x01, 0x02, 0x01, 0x1c, 0x32, 0xc6, 0x33, 0x64, 0x64, 0, 0, 0, 0, 0, 0, 0, 0,
];

#[test]
fn ah_advert_round_trips_with_zero_auth_octets() {
    let advert = Advertisement::parse(ip("198.51.100.1"), ip(MCAST4), &V2_KEEPALIVED_AH).unwrap();
    assert_eq!(advert.auth, Auth::Ah([0; 8]));
    assert_eq!(advert.priority, 150);
    let keyed = Advertisement {
        auth: Auth::ah("secret12"),
        ..advert
    };
    let bytes = keyed.emit(ip("198.51.100.1"), ip(MCAST4)).unwrap();
    assert_eq!(
        bytes, V2_KEEPALIVED_AH,
        "the key never travels in the advert"
    );
}

#[test]
fn v2_over_ipv6_and_mixed_families_are_refused() {
    let err = Advertisement::parse(ip("fe80::1"), ip("ff02::12"), &V2_KEEPALIVED).unwrap_err();
    assert_eq!(err, PacketError::V2OverIpv6);
    let err = Advertisement::parse(ip("fe80::1"), ip(MCAST4), &V2_KEEPALIVED).unwrap_err();
    assert!(matches!(err, PacketError::FamilyMismatch { .. }));
}

#[test]
fn emit_refuses_what_no_message_can_carry() {
    let mut advert = Advertisement {
        version: Version::V3,
        vrid: 1,
        priority: 100,
        interval: 0x1000,
        auth: Auth::None,
        addresses: vec![],
    };
    let (src, dst) = (ip("198.51.100.1"), ip(MCAST4));
    assert_eq!(
        advert.emit(src, dst),
        Err(PacketError::IntervalOutOfRange(0x1000))
    );
    advert.interval = 100;
    advert.addresses = vec![ip("2001:db8::1")];
    assert!(matches!(
        advert.emit(src, dst),
        Err(PacketError::AddressFamily { .. })
    ));
    advert.addresses = vec![ip("198.51.100.9"); 256];
    assert_eq!(
        advert.emit(src, dst),
        Err(PacketError::TooManyAddresses(256))
    );
}

#[test]
fn v3_reserved_bits_are_ignored_on_receipt() {
    let advert = Advertisement {
        version: Version::V3,
        vrid: 9,
        priority: 100,
        interval: 50,
        auth: Auth::None,
        addresses: vec![ip("198.51.100.13")],
    };
    let (src, dst) = (ip("198.51.100.1"), ip(MCAST4));
    let mut bytes = advert.emit(src, dst).unwrap();
    bytes[4] |= 0xf0;
    bytes[6] = 0;
    bytes[7] = 0;
    let sum = checksum::v3(src, dst, &bytes);
    bytes[6..8].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(Advertisement::parse(src, dst, &bytes).unwrap(), advert);
}

/// Found by fuzzing: a zero interval parsed, then could not be re-emitted.
#[test]
fn a_zero_advertisement_interval_is_malformed() {
    let (src, dst) = (ip("198.51.100.12"), ip(MCAST4));
    let mut advert = Advertisement {
        version: Version::V2,
        vrid: 1,
        priority: 100,
        interval: 1,
        auth: Auth::None,
        addresses: vec![ip("198.51.100.88")],
    };
    let mut bytes = advert.emit(src, dst).unwrap();
    bytes[5] = 0;
    // Fix the checksum so only the interval is wrong.
    bytes[6] = 0;
    bytes[7] = 0;
    let sum = checksum::v2(&bytes);
    bytes[6..8].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(
        Advertisement::parse(src, dst, &bytes),
        Err(PacketError::IntervalOutOfRange(0))
    );
    advert.interval = 0;
    assert_eq!(
        advert.emit(src, dst),
        Err(PacketError::IntervalOutOfRange(0))
    );
}
