//! The VRRP codec against real keepalived 2.2.7 adverts (captured by
//! tests/fixtures/vrrp/capture.sh): every captured advert parses and
//! re-emits byte for byte; and no input makes the codec panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::Path;

use lvstop::vrrp::packet::{Advertisement, Auth, Version};
use proptest::prelude::*;

struct Captured {
    name: String,
    source: IpAddr,
    destination: IpAddr,
    ttl: u64,
    payload: Vec<u8>,
}

fn captured() -> Vec<Captured> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vrrp/captured");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let hex = v["payload"].as_str().unwrap();
            let payload = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            out.push(Captured {
                name: format!("{}#{}", path.file_name().unwrap().to_string_lossy(), n + 1),
                source: v["source"].as_str().unwrap().parse().unwrap(),
                destination: v["destination"].as_str().unwrap().parse().unwrap(),
                ttl: v["ttl"].as_u64().unwrap(),
                payload,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[test]
fn every_keepalived_advert_parses_and_reemits_byte_identical() {
    let all = captured();
    assert_eq!(
        all.len(),
        8,
        "four configurations, live and shutdown adverts"
    );
    for c in &all {
        assert_eq!(c.ttl, 255, "{}: keepalived sends with TTL 255", c.name);
        let advert = Advertisement::parse(c.source, c.destination, &c.payload)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let bytes = advert.emit(c.source, c.destination).unwrap();
        assert_eq!(bytes, c.payload, "{}: re-emitted bytes differ", c.name);
    }
}

#[test]
fn captured_adverts_carry_what_keepalived_was_configured_with() {
    let all = captured();
    let find = |name: &str| {
        let c = all.iter().find(|c| c.name == name).unwrap();
        Advertisement::parse(c.source, c.destination, &c.payload).unwrap()
    };
    let pass = find("v2_ipv4_pass.jsonl#1");
    assert_eq!(
        (pass.version, pass.vrid, pass.priority, pass.interval),
        (Version::V2, 52, 150, 2)
    );
    assert_eq!(pass.auth, Auth::pass("lvs1"));
    let v3 = find("v3_ipv4.jsonl#1");
    assert_eq!((v3.version, v3.priority), (Version::V3, 120));
    assert_eq!(v3.interval, 50, "advert_int 0.5 is 50 centiseconds");
    assert_eq!(v3.addresses.len(), 3);
    let v6 = find("v3_ipv6.jsonl#1");
    assert!(v6.addresses.iter().all(IpAddr::is_ipv6));
    for name in ["v2_ipv4", "v2_ipv4_pass", "v3_ipv4", "v3_ipv6"] {
        assert_eq!(
            find(&format!("{name}.jsonl#2")).priority,
            0,
            "{name}: shutdown advert"
        );
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_what_parses_round_trips(
        payload in proptest::collection::vec(any::<u8>(), 0..80),
        v6 in any::<bool>(),
    ) {
        let (src, dst): (IpAddr, IpAddr) = if v6 {
            ("fe80::1".parse().unwrap(), "ff02::12".parse().unwrap())
        } else {
            ("198.51.100.1".parse().unwrap(), "224.0.0.18".parse().unwrap())
        };
        if let Ok(advert) = Advertisement::parse(src, dst, &payload) {
            let again = Advertisement::parse(src, dst, &advert.emit(src, dst).unwrap()).unwrap();
            prop_assert_eq!(again, advert);
        }
    }

    #[test]
    fn every_emitted_advert_parses_back(
        vrid in 1u8..=255, priority in any::<u8>(), interval in 1u16..=255,
        count in 0usize..8, pass in proptest::option::of("[a-z0-9]{0,8}"),
    ) {
        let advert = Advertisement {
            version: Version::V2,
            vrid,
            priority,
            interval,
            auth: pass.as_deref().map_or(Auth::None, Auth::pass),
            addresses: (0..count).map(|i| IpAddr::from([198, 51, 100, i as u8])).collect(),
        };
        let (src, dst): (IpAddr, IpAddr) = ("198.51.100.1".parse().unwrap(), "224.0.0.18".parse().unwrap());
        let bytes = advert.emit(src, dst).unwrap();
        prop_assert_eq!(Advertisement::parse(src, dst, &bytes).unwrap(), advert);
    }
}
