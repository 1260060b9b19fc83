//! Fuzz the VRRP codec: any bytes, over IPv4 or IPv6 (first byte picks),
//! must parse or fail without panicking, and whatever parses must re-emit
//! and parse back to the same advert.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use lvstop::vrrp::packet::Advertisement;

fuzz_target!(|data: &[u8]| {
    let Some((&family, payload)) = data.split_first() else {
        return;
    };
    let (src, dst): (IpAddr, IpAddr) = if family & 1 == 0 {
        (IpAddr::from([198, 51, 100, 1]), IpAddr::from([224, 0, 0, 18]))
    } else {
        (
            IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, 1]),
            IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, 0x12]),
        )
    };
    if let Ok(advert) = Advertisement::parse(src, dst, payload) {
        let bytes = advert.emit(src, dst).expect("a parsed advert re-emits");
        let again = Advertisement::parse(src, dst, &bytes).expect("re-emitted bytes parse");
        assert_eq!(again, advert);
    }
});
