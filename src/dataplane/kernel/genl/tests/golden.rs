//! Hand-annotated golden messages, one per message kind lvstop sends or
//! reads (bytes in `golden_bytes.rs`). Each test parses the bytes into the
//! expected value, emits the value back into the same bytes, and checks the
//! conversion to and from the domain model.
#![cfg(target_endian = "little")]

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::{GenlHeader, GenlMessage};

use super::super::{
    daemon_attrs, daemon_from_attrs, dest_attrs, dest_from_attrs, service_attrs,
    service_from_attrs, service_key_attrs, timeouts_attrs, timeouts_from_attrs, DaemonAttr,
    DestAttr, InetAddr, IpVsFlags, IpvsAttr, IpvsCmd, IpvsMessage, Nest, ServiceAttr, Stats32Attr,
    Stats64Attr,
};
use super::golden_bytes::*;
use super::{ipvs, reemit, Message};
use crate::ipvs::model::{
    Daemon, DaemonState, DestConfig, DestKey, Family, Forward, ServiceConfig, ServiceFlags,
    ServiceKey, Timeouts, TunnelConfig, TunnelType,
};

/// Parse `bytes`, compare with `expected`, then emit `expected` under the
/// parsed netlink header and compare with `bytes`.
fn check(bytes: &[u8], expected: IpvsMessage) -> Message {
    let (parsed, reemitted) = reemit(bytes);
    assert_eq!(ipvs(&parsed), &expected);
    assert_eq!(reemitted, bytes);

    let mut header = NetlinkHeader::default();
    header.flags = parsed.header.flags;
    header.sequence_number = parsed.header.sequence_number;
    header.port_number = parsed.header.port_number;
    let genl = GenlMessage::new(
        GenlHeader {
            cmd: expected.cmd.into(),
            version: 1,
        },
        expected,
        parsed.header.message_type,
    );
    let mut built = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl));
    built.finalize();
    let mut out = vec![0u8; built.buffer_len()];
    built.serialize(&mut out);
    assert_eq!(out, bytes, "emitted bytes differ");
    parsed
}

fn service_nest(attrs: &IpvsMessage) -> &[ServiceAttr] {
    attrs
        .attrs
        .iter()
        .find_map(|a| match a {
            IpvsAttr::Service(nest) => Some(nest.attrs.as_slice()),
            _ => None,
        })
        .unwrap()
}

fn dest_nest(attrs: &IpvsMessage) -> &[DestAttr] {
    attrs
        .attrs
        .iter()
        .find_map(|a| match a {
            IpvsAttr::Dest(nest) => Some(nest.attrs.as_slice()),
            _ => None,
        })
        .unwrap()
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn web_service() -> Vec<ServiceAttr> {
    vec![
        ServiceAttr::Af(2),
        ServiceAttr::Protocol(6),
        ServiceAttr::Addr(InetAddr::from_ip(v4(192, 0, 2, 1))),
        ServiceAttr::Port(80),
        ServiceAttr::SchedName(String::new()),
        ServiceAttr::Flags(IpVsFlags { flags: 0, mask: !0 }),
        ServiceAttr::Timeout(0),
        ServiceAttr::Netmask(0xffff_ffff),
    ]
}

#[test]
fn new_service_ipv6_persistent_with_sched_flags() {
    let attrs = vec![
        ServiceAttr::Af(10),
        ServiceAttr::Protocol(6),
        ServiceAttr::Addr(InetAddr::from_ip("2001:db8::1".parse().unwrap())),
        ServiceAttr::Port(443),
        ServiceAttr::SchedName("sh".into()),
        ServiceAttr::Flags(IpVsFlags {
            flags: 0x19,
            mask: !0,
        }),
        ServiceAttr::Timeout(300),
        // A prefix length, in host order inside the __be32 slot.
        ServiceAttr::Netmask(0x4000_0000),
    ];
    let msg = check(
        NEW_SERVICE,
        IpvsMessage::new(
            IpvsCmd::NewService,
            vec![IpvsAttr::Service(Nest::new(attrs.clone()))],
        ),
    );
    let config = service_from_attrs(service_nest(ipvs(&msg))).unwrap().config;
    let mut expected =
        ServiceConfig::new(ServiceKey::tcp("[2001:db8::1]:443".parse().unwrap()), "sh")
            .persistent(300);
    expected.flags = expected
        .flags
        .with(ServiceFlags::SCHED1, true)
        .with(ServiceFlags::SCHED2, true);
    expected.netmask = 64;
    assert_eq!(config, expected);
    assert_eq!(service_attrs(&expected), attrs);
}

#[test]
fn new_dest_with_gue_tunnel() {
    let dest = vec![
        DestAttr::AddrFamily(2),
        DestAttr::Addr(InetAddr::from_ip(v4(198, 51, 100, 11))),
        DestAttr::Port(80),
        DestAttr::FwdMethod(2),
        DestAttr::Weight(2),
        DestAttr::TunType(1),
        DestAttr::TunPort(6080),
        DestAttr::TunFlags(1),
        DestAttr::UThresh(0),
        DestAttr::LThresh(0),
    ];
    let msg = check(
        NEW_DEST_GUE,
        IpvsMessage::new(
            IpvsCmd::NewDest,
            vec![
                IpvsAttr::Service(Nest::new(web_service())),
                IpvsAttr::Dest(Nest::new(dest.clone())),
            ],
        ),
    );
    let config = dest_from_attrs(dest_nest(ipvs(&msg)), Family::Inet)
        .unwrap()
        .config;
    let expected = DestConfig {
        tunnel: TunnelConfig {
            kind: TunnelType::Gue,
            port: 6080,
            flags: TunnelConfig::FLAG_CSUM,
        },
        ..DestConfig::new("198.51.100.11:80".parse().unwrap(), Forward::Tunnel, 2)
    };
    assert_eq!(config, expected);
    assert_eq!(dest_attrs(&expected), dest);
}

#[test]
fn get_dest_dump_request_names_the_service() {
    let key = ServiceKey::tcp("192.0.2.1:80".parse().unwrap());
    let msg = check(
        GET_DEST_DUMP,
        IpvsMessage::new(
            IpvsCmd::GetDest,
            vec![IpvsAttr::Service(Nest::new(service_key_attrs(&key)))],
        ),
    );
    assert_eq!(msg.header.flags, 0x305);
}

fn zero32() -> Vec<Stats32Attr> {
    vec![
        Stats32Attr::Conns(0),
        Stats32Attr::Inpkts(0),
        Stats32Attr::Outpkts(0),
        Stats32Attr::Inbytes(0),
        Stats32Attr::Outbytes(0),
        Stats32Attr::Cps(0),
        Stats32Attr::Inpps(0),
        Stats32Attr::Outpps(0),
        Stats32Attr::Inbps(0),
        Stats32Attr::Outbps(0),
    ]
}

fn zero64() -> Vec<Stats64Attr> {
    vec![
        Stats64Attr::Conns(0),
        Stats64Attr::Inpkts(0),
        Stats64Attr::Outpkts(0),
        Stats64Attr::Inbytes(0),
        Stats64Attr::Outbytes(0),
        Stats64Attr::Cps(0),
        Stats64Attr::Inpps(0),
        Stats64Attr::Outpps(0),
        Stats64Attr::Inbps(0),
        Stats64Attr::Outbps(0),
    ]
}

#[test]
fn dest_dump_reply_with_counters() {
    let mut s32 = zero32();
    s32[0] = Stats32Attr::Conns(7);
    s32[1] = Stats32Attr::Inpkts(40);
    s32[2] = Stats32Attr::Outpkts(38);
    s32[3] = Stats32Attr::Inbytes(0x1_2345_6789);
    s32[4] = Stats32Attr::Outbytes(0x2000);
    s32[5] = Stats32Attr::Cps(3);
    let mut s64 = zero64();
    s64[0] = Stats64Attr::Conns(7);
    s64[1] = Stats64Attr::Inpkts(40);
    s64[2] = Stats64Attr::Outpkts(38);
    s64[3] = Stats64Attr::Inbytes(0x1_2345_6789);
    s64[4] = Stats64Attr::Outbytes(0x2000);
    s64[5] = Stats64Attr::Cps(3);
    let attrs = vec![
        DestAttr::Addr(InetAddr::from_ip(v4(198, 51, 100, 11))),
        DestAttr::Port(80),
        DestAttr::FwdMethod(2),
        DestAttr::Weight(2),
        DestAttr::TunType(1),
        DestAttr::TunPort(6080),
        DestAttr::TunFlags(1),
        DestAttr::UThresh(0),
        DestAttr::LThresh(0),
        DestAttr::ActiveConns(2),
        DestAttr::InactConns(5),
        DestAttr::PersistConns(1),
        DestAttr::AddrFamily(2),
        DestAttr::Stats(Nest::unflagged(s32)),
        DestAttr::Stats64(Nest::unflagged(s64)),
    ];
    let msg = check(
        DEST_REPLY,
        IpvsMessage::new(
            IpvsCmd::NewDest,
            vec![IpvsAttr::Dest(Nest::unflagged(attrs))],
        ),
    );
    let dest = dest_from_attrs(dest_nest(ipvs(&msg)), Family::Inet).unwrap();
    assert_eq!(
        dest.key(),
        DestKey::new("198.51.100.11:80".parse().unwrap())
    );
    assert_eq!(dest.config.forward, Forward::Tunnel);
    assert_eq!((dest.active, dest.inactive, dest.persistent), (2, 5, 1));
    assert_eq!(dest.stats.conns, 7);
    assert_eq!(dest.stats.inbytes, 0x1_2345_6789);
    assert_eq!(dest.stats.outbytes, 0x2000);
    assert_eq!(dest.rates.cps, 3);
}

#[test]
fn service_dump_reply_prefers_64_bit_counters() {
    let mut s32 = zero32();
    s32[0] = Stats32Attr::Conns(9);
    s32[3] = Stats32Attr::Inbytes(0x1_2345_6789);
    s32[8] = Stats32Attr::Inbps(1000);
    let mut s64 = zero64();
    s64[0] = Stats64Attr::Conns(0x1_0000_0009);
    s64[3] = Stats64Attr::Inbytes(0x1_2345_6789);
    s64[8] = Stats64Attr::Inbps(1000);
    let attrs = vec![
        ServiceAttr::Af(2),
        ServiceAttr::Fwmark(7),
        ServiceAttr::SchedName("rr".into()),
        // The kernel adds IP_VS_SVC_F_HASHED and answers with mask ~0.
        ServiceAttr::Flags(IpVsFlags {
            flags: 0x3,
            mask: !0,
        }),
        ServiceAttr::Timeout(60),
        ServiceAttr::Netmask(0xffff_ff00),
        ServiceAttr::Stats(Nest::unflagged(s32)),
        ServiceAttr::Stats64(Nest::unflagged(s64)),
    ];
    let msg = check(
        SERVICE_REPLY,
        IpvsMessage::new(
            IpvsCmd::NewService,
            vec![IpvsAttr::Service(Nest::unflagged(attrs))],
        ),
    );
    let service = service_from_attrs(service_nest(ipvs(&msg))).unwrap();
    let mut expected = ServiceConfig::new(
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 7,
        },
        "rr",
    )
    .persistent(60);
    expected.netmask = 0xffff_ff00;
    assert_eq!(service.config, expected);
    assert_eq!(service.config.persistence_prefix(), 24);
    assert_eq!(service.stats.conns, 0x1_0000_0009);
    assert_eq!(service.stats.inbytes, 0x1_2345_6789);
    assert_eq!(service.rates.inbps, 1000);
}

#[test]
fn set_config_timeouts() {
    let timeouts = Timeouts {
        tcp: 1000,
        tcp_fin: 100,
        udp: 200,
    };
    let msg = check(
        SET_CONFIG,
        IpvsMessage::new(IpvsCmd::SetConfig, timeouts_attrs(&timeouts)),
    );
    assert_eq!(timeouts_from_attrs(&ipvs(&msg).attrs), timeouts);
}

#[test]
fn new_daemon_master() {
    let daemon = Daemon {
        state: DaemonState::Master,
        mcast_ifn: "lvsdummy0".into(),
        syncid: 5,
        sync_maxlen: 0,
        mcast_group: None,
        mcast_port: 0,
        mcast_ttl: 0,
    };
    let attrs = vec![
        DaemonAttr::State(1),
        DaemonAttr::McastIfn("lvsdummy0".into()),
        DaemonAttr::SyncId(5),
    ];
    let msg = check(
        NEW_DAEMON,
        IpvsMessage::new(
            IpvsCmd::NewDaemon,
            vec![IpvsAttr::Daemon(Nest::new(attrs.clone()))],
        ),
    );
    assert_eq!(daemon_attrs(&daemon), attrs);
    let IpvsAttr::Daemon(nest) = &ipvs(&msg).attrs[0] else {
        panic!("no daemon nest");
    };
    assert_eq!(daemon_from_attrs(&nest.attrs).unwrap(), daemon);
}

#[test]
fn unknown_attributes_survive_a_round_trip() {
    // A service nest with an attribute number from the future (99).
    let mut bytes = SERVICE_REPLY.to_vec();
    let extra = [0x08, 0x00, 0x63, 0x00, 0xde, 0xad, 0xbe, 0xef];
    bytes.extend_from_slice(&extra);
    let total = bytes.len() as u32;
    bytes[..4].copy_from_slice(&total.to_ne_bytes());
    let nest_len = u16::from_ne_bytes([bytes[20], bytes[21]]) + 8;
    bytes[20..22].copy_from_slice(&nest_len.to_ne_bytes());
    let (parsed, out) = reemit(&bytes);
    assert_eq!(out, bytes);
    assert!(format!("{:?}", ipvs(&parsed)).contains("Other(DefaultNla { kind: 99"));
}
