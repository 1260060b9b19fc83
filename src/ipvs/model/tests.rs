use super::*;

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn services_sort_like_ipvsadm_addresses_before_fwmarks() {
    let mut keys = [
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 1,
        },
        ServiceKey::udp("10.0.0.1:53".parse().unwrap()),
        ServiceKey::tcp("10.0.0.2:80".parse().unwrap()),
        ServiceKey::tcp("10.0.0.1:443".parse().unwrap()),
        ServiceKey::tcp("10.0.0.1:80".parse().unwrap()),
        ServiceKey::tcp("[2001:db8::1]:80".parse().unwrap()),
    ];
    keys.sort();
    let shown: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    assert_eq!(
        shown,
        [
            "TCP 10.0.0.1:80",
            "TCP 10.0.0.1:443",
            "TCP 10.0.0.2:80",
            "UDP 10.0.0.1:53",
            "TCP [2001:db8::1]:80",
            "FWM 1"
        ]
    );
}

#[test]
fn dests_sort_by_address_bytes_then_port() {
    let mut keys = [
        DestKey::new("10.0.0.10:80".parse().unwrap()),
        DestKey::new("10.0.0.9:81".parse().unwrap()),
        DestKey::new("10.0.0.9:80".parse().unwrap()),
    ];
    keys.sort();
    assert_eq!(keys[0].to_string(), "10.0.0.9:80");
    assert_eq!(keys[2].to_string(), "10.0.0.10:80");
}

#[test]
fn persistence_key_masks_the_client_with_the_granularity() {
    let mut svc =
        ServiceConfig::new(ServiceKey::tcp("10.0.0.1:80".parse().unwrap()), "rr").persistent(60);
    assert_eq!(svc.persistence_key(v4("203.0.113.77")), v4("203.0.113.77"));
    svc.netmask = 0xffff_ff00;
    assert_eq!(svc.persistence_prefix(), 24);
    assert_eq!(svc.persistence_key(v4("203.0.113.77")), v4("203.0.113.0"));
    let mut six = ServiceConfig::new(ServiceKey::tcp("[2001:db8::1]:80".parse().unwrap()), "rr");
    six.netmask = 64;
    assert_eq!(
        six.persistence_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
        "2001:db8:1:2::".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn forward_round_trips_kernel_values() {
    for f in [
        Forward::Masq,
        Forward::Local,
        Forward::Tunnel,
        Forward::Route,
        Forward::Bypass,
    ] {
        assert_eq!(Forward::from_kernel(f.to_kernel()), Some(f));
    }
    assert_eq!(Forward::from_kernel(7), None);
}

#[test]
fn info_decodes_the_version_code() {
    assert_eq!(Info::KERNEL_DEFAULT.version_triple(), (1, 2, 1));
}
