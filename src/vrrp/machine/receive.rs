//! The receive checks of RFC 3768 §7.1 / RFC 5798 §7.1, in keepalived's
//! order and with its log wording: each dropped advert is counted in
//! [`Stats`] and explained in one log line. Decides only whether an advert
//! is acceptable; what it means for the state is the instance's business.

use std::net::IpAddr;

use super::{InstanceConfig, Stats, VrrpAction};
use crate::vrrp::packet::ah::{self, AhError};
use crate::vrrp::packet::{Advertisement, Auth, PacketError, Version, VRRP_TTL};

/// One received message and what to check it against.
pub(super) struct Received<'a> {
    pub from: IpAddr,
    pub to: IpAddr,
    pub ttl: u8,
    pub payload: &'a [u8],
    /// The IPv4 header and Authentication Header in front of `payload`
    /// when the advert came in one (IP protocol 51).
    pub ah_prefix: Option<&'a [u8]>,
    /// Compare the advert's address list with ours (keepalived skips it
    /// for a known master under `vrrp_skip_check_adv_addr`).
    pub check_addresses: bool,
}

/// Returns the advert when every check passes; otherwise counts the
/// failure, pushes its log line and returns `None`. `ah_sequence` is the
/// instance's Authentication Header counter: an accepted AH advert
/// advances it to its own sequence number.
pub(super) fn check(
    config: &InstanceConfig,
    stats: &mut Stats,
    ah_sequence: &mut u32,
    received: &Received<'_>,
    out: &mut Vec<VrrpAction>,
) -> Option<Advertisement> {
    let name = &config.name;
    let reject = |counter: &mut u64, line: String, out: &mut Vec<VrrpAction>| {
        *counter += 1;
        out.push(VrrpAction::Log {
            line: format!("({name}) {line}"),
        });
    };
    // RFC 5798 §7.1: MUST verify the TTL / hop limit is 255 (keepalived:
    // not for unicast, where the peer's min_ttl/max_ttl apply below).
    if !config.is_unicast() && received.ttl != VRRP_TTL {
        let line = format!(
            "invalid TTL/HL. Received {} and expect {VRRP_TTL}",
            received.ttl
        );
        reject(&mut stats.ip_ttl_err, line, out);
        return None;
    }
    if let (Some(key), Some(prefix)) = (config.auth.ah_key(), received.ah_prefix) {
        if config.version == Version::V2 {
            if let Err(why) = check_ah(received.from, prefix, received.payload, key, ah_sequence) {
                reject(&mut stats.auth_failure, why.to_string(), out);
                return None;
            }
        }
    }
    let mine = config.version.number();
    let advert = match Advertisement::parse(received.from, received.to, received.payload) {
        Ok(advert) => advert,
        Err(error) => {
            let (counter, line) = match &error {
                PacketError::TooShort { actual, minimum } => (
                    &mut stats.packet_len_err,
                    format!("vrrp packet too short, length {actual} and expect {minimum}"),
                ),
                PacketError::LengthMismatch {
                    actual, expected, ..
                } => (
                    &mut stats.packet_len_err,
                    format!(
                        "vrrp packet too {}, length {actual} and expect {expected}",
                        if actual > expected { "long" } else { "short" }
                    ),
                ),
                PacketError::BadVersion(version) => (
                    &mut stats.version_err,
                    format!("wrong version. Received {version} and expect {mine}"),
                ),
                PacketError::BadType(kind) => (
                    &mut stats.invalid_type_rcvd,
                    format!("Invalid packet type. {kind} and expect 1"),
                ),
                PacketError::ChecksumMismatch { .. } => (
                    &mut stats.checksum_err,
                    format!("Invalid VRRPv{mine} checksum ({error})"),
                ),
                PacketError::UnknownAuthType(kind) => (
                    &mut stats.invalid_authtype,
                    format!("Invalid auth type: {kind}"),
                ),
                _ => (
                    &mut stats.other_err,
                    format!("dropping advert from {}: {error}", received.from),
                ),
            };
            reject(counter, line, out);
            return None;
        }
    };
    if advert.version != config.version {
        let line = format!(
            "wrong version. Received {} and expect {mine}",
            advert.version.number()
        );
        reject(&mut stats.version_err, line, out);
        return None;
    }
    if advert.vrid != config.vrid {
        let line = format!(
            "received VRID {} but ours is {}; dropping",
            advert.vrid, config.vrid
        );
        reject(&mut stats.vrid_err, line, out);
        return None;
    }
    if config.version == Version::V2 {
        // RFC 2338 §7.1: MUST perform the authentication of Auth Type.
        if advert.auth.type_code() != config.auth.type_code() {
            let line = format!(
                "received a {} auth, expecting {}!",
                advert.auth.type_code(),
                config.auth.type_code()
            );
            reject(&mut stats.authtype_mismatch, line, out);
            return None;
        }
        if let (Auth::Pass(theirs), Auth::Pass(ours)) = (advert.auth, config.auth) {
            if theirs != ours {
                reject(
                    &mut stats.auth_failure,
                    "received an invalid passwd!".into(),
                    out,
                );
                return None;
            }
        }
        // Auth type 2 without the header it names proves nothing.
        if matches!(config.auth, Auth::Ah(_)) && received.ah_prefix.is_none() {
            reject(
                &mut stats.auth_failure,
                "IPSEC-AH : advert without an Authentication Header".into(),
                out,
            );
            return None;
        }
        // RFC 3768 §7.1: MUST verify the Adver Interval matches ours;
        // keepalived drops to avoid two masters in one VRID.
        let ours = config.interval_field();
        if advert.interval != ours {
            let line = format!(
                "advertisement interval mismatch mine={ours} sec rcv'd={} sec",
                advert.interval
            );
            reject(&mut stats.advert_interval_err, line, out);
            return None;
        }
    }
    stats.advert_rcvd += 1;
    if received.check_addresses {
        // RFC 3768 §7.1: MAY verify the addresses; keepalived does.
        if advert.addresses.len() != config.vips.len() {
            let line = format!(
                "received an unexpected ip number count {}, expected {}!",
                advert.addresses.len(),
                config.vips.len()
            );
            reject(&mut stats.addr_list_err, line, out);
            return None;
        }
        if let Some(missing) = config
            .vips
            .iter()
            .find(|vip| !advert.addresses.contains(&vip.address))
        {
            let line = format!(
                "ip address associated with VRID {} not present in MASTER advert : {}",
                config.vrid, missing.address
            );
            reject(&mut stats.addr_list_err, line, out);
            return None;
        }
    }
    if config.is_unicast() {
        let Some(peer) = config
            .unicast_peers
            .iter()
            .find(|peer| peer.address == received.from)
        else {
            let line = format!(
                "unicast source address {} not a unicast peer",
                received.from
            );
            reject(&mut stats.unicast_src_err, line, out);
            return None;
        };
        if !(peer.min_ttl..=peer.max_ttl).contains(&received.ttl) {
            let line = format!(
                "TTL/HL {} not in range {} - {}",
                received.ttl, peer.min_ttl, peer.max_ttl
            );
            reject(&mut stats.ip_ttl_err, line, out);
            return None;
        }
    }
    if advert.priority == 0 {
        stats.pri_zero_rcvd += 1;
    }
    Some(advert)
}

/// Why an advert with an Authentication Header is dropped; each displays
/// as the line keepalived 2.2.7 logs for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum AhRejection {
    #[error("IPSEC-AH : {0}")]
    IcvMismatch(AhError),
    #[error("IPSEC-AH : dropping advert: {0}")]
    Malformed(AhError),
    /// Both words as a little-endian host reads them, as keepalived
    /// prints them.
    #[error("IPSEC AH : invalid IPSEC SPI value. {found} and expect {expected}")]
    Spi { found: u32, expected: u32 },
    #[error(
        "IPSEC-AH : sequence number {received} already processed. Packet dropped. Local({local})"
    )]
    Replayed { received: u32, local: u32 },
}

/// RFC 2402 §3.4, in keepalived 2.2.7's order (measured with crafted
/// packets): the ICV, then the SPI, which must be the sender's address,
/// then the sequence number, which must be above the last one sent or
/// accepted. keepalived's log wording is kept. On success the counter
/// moves to the advert's number.
fn check_ah(
    from: IpAddr,
    prefix: &[u8],
    payload: &[u8],
    key: &ah::AhKey,
    ah_sequence: &mut u32,
) -> Result<(), AhRejection> {
    let header = ah::verify(prefix, payload, key).map_err(|error| match error {
        AhError::IcvMismatch => AhRejection::IcvMismatch(error),
        other => AhRejection::Malformed(other),
    })?;
    let source = match from {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(_) => [0; 4],
    };
    if header.spi.to_be_bytes() != source {
        return Err(AhRejection::Spi {
            found: u32::from_le_bytes(source),
            expected: u32::from_le_bytes(header.spi.to_be_bytes()),
        });
    }
    if header.sequence <= *ah_sequence {
        return Err(AhRejection::Replayed {
            received: header.sequence,
            local: *ah_sequence,
        });
    }
    *ah_sequence = header.sequence;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::net::Ipv4Addr;
    use std::path::Path;

    use super::*;
    use crate::config::load::{load_str, Options};
    use crate::vrrp::transport::raw::ipv4_header::ah_prefix;

    const PEER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
    const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

    fn instance(auth_type: &str, version: u8) -> InstanceConfig {
        let text = format!(
            "vrrp_instance VI_1 {{\n state MASTER\n version {version}\n interface eth0\n \
             virtual_router_id 51\n priority 100\n authentication {{\n  auth_type {auth_type}\n  \
             auth_pass secret12\n }}\n virtual_ipaddress {{\n  198.51.100.100\n }}\n}}\n"
        );
        let config = load_str(Path::new("t.conf"), &text, &Options::default()).config;
        InstanceConfig::from_model(&config.vrrp.instances[0], &config.global).unwrap()
    }

    /// keepalived's advert (priority 150) sealed with `sequence` under `key`.
    fn sealed(sequence: u32, key: &[u8; 8]) -> (Vec<u8>, Vec<u8>) {
        let advert = Advertisement {
            version: Version::V2,
            vrid: 51,
            priority: 150,
            interval: 1,
            auth: Auth::Ah([0; 8]),
            addresses: vec!["198.51.100.100".parse().unwrap()],
        };
        let vrrp = advert.emit(PEER.into(), GROUP.into()).unwrap();
        let prefix = ah_prefix(PEER, GROUP, &vrrp, sequence, key).unwrap();
        (prefix, vrrp)
    }

    fn receive(
        config: &InstanceConfig,
        stats: &mut Stats,
        sequence: &mut u32,
        prefix: Option<&[u8]>,
        vrrp: &[u8],
    ) -> (Option<Advertisement>, Vec<VrrpAction>) {
        let received = Received {
            from: PEER.into(),
            to: GROUP.into(),
            ttl: 255,
            payload: vrrp,
            ah_prefix: prefix,
            check_addresses: true,
        };
        let mut out = Vec::new();
        let advert = check(config, stats, sequence, &received, &mut out);
        (advert, out)
    }

    fn logged(out: &[VrrpAction]) -> String {
        match out {
            [VrrpAction::Log { line }] => line.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ah_config_keys_hmac_with_auth_pass_and_starts_as_backup() {
        let config = instance("AH", 2);
        assert_eq!(config.auth, Auth::Ah(*b"secret12"));
        assert_eq!(
            config.initial_state,
            crate::config::model::vrrp::InitialState::Backup
        );
        assert_eq!(instance("AH", 3).auth, Auth::None, "VRRPv3 has no auth");
        let text = "vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n \
                    priority 255\n authentication {\n  auth_type AH\n  auth_pass x\n }\n \
                    virtual_ipaddress {\n  198.51.100.100\n }\n}\n";
        let config = load_str(Path::new("t.conf"), text, &Options::default()).config;
        let owner = InstanceConfig::from_model(&config.vrrp.instances[0], &config.global).unwrap();
        assert_eq!(
            owner.initial_state,
            crate::config::model::vrrp::InitialState::Master,
            "the address owner starts as MASTER with AH too"
        );
    }

    #[test]
    fn ah_advert_with_the_right_key_is_accepted_and_its_sequence_kept() {
        let config = instance("AH", 2);
        let (mut stats, mut sequence) = (Stats::default(), 0);
        let (prefix, vrrp) = sealed(7, b"secret12");
        let (advert, out) = receive(&config, &mut stats, &mut sequence, Some(&prefix), &vrrp);
        assert_eq!(advert.unwrap().priority, 150, "{out:?}");
        assert_eq!(sequence, 7);
        assert_eq!(stats.advert_rcvd, 1);
    }

    #[test]
    fn ah_advert_with_a_wrong_key_is_an_auth_failure_in_keepalived_words() {
        let config = instance("AH", 2);
        let (mut stats, mut sequence) = (Stats::default(), 0);
        let (prefix, vrrp) = sealed(7, b"secret13");
        let (advert, out) = receive(&config, &mut stats, &mut sequence, Some(&prefix), &vrrp);
        assert!(advert.is_none());
        assert_eq!(stats.auth_failure, 1);
        assert_eq!(sequence, 0, "a rejected advert does not move the counter");
        assert_eq!(
            logged(&out),
            "(VI_1) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"
        );
    }

    #[test]
    fn ah_sequence_must_grow_past_the_last_one_sent_or_accepted() {
        let config = instance("AH", 2);
        let (mut stats, mut sequence) = (Stats::default(), 10);
        for stale in [5, 10] {
            let (prefix, vrrp) = sealed(stale, b"secret12");
            let (advert, out) = receive(&config, &mut stats, &mut sequence, Some(&prefix), &vrrp);
            assert!(advert.is_none());
            assert_eq!(
                logged(&out),
                format!(
                    "(VI_1) IPSEC-AH : sequence number {stale} already processed. Packet dropped. Local(10)"
                )
            );
        }
        assert_eq!(stats.auth_failure, 2);
        let (prefix, vrrp) = sealed(11, b"secret12");
        let (advert, _) = receive(&config, &mut stats, &mut sequence, Some(&prefix), &vrrp);
        assert!(advert.is_some());
        assert_eq!(sequence, 11);
    }

    #[test]
    fn ah_spi_must_be_the_senders_address() {
        let config = instance("AH", 2);
        let (mut stats, mut sequence) = (Stats::default(), 0);
        let (prefix, vrrp) = sealed(3, b"secret12");
        let received = Received {
            from: "198.51.100.7".parse().unwrap(),
            to: GROUP.into(),
            ttl: 255,
            payload: &vrrp,
            ah_prefix: Some(&prefix),
            check_addresses: true,
        };
        let mut out = Vec::new();
        assert!(check(&config, &mut stats, &mut sequence, &received, &mut out).is_none());
        // keepalived 2.2.7 on x86: source 198.51.100.7, SPI 198.51.100.1.
        assert_eq!(
            logged(&out),
            "(VI_1) IPSEC AH : invalid IPSEC SPI value. 124007366 and expect 23344070"
        );
        assert_eq!((stats.auth_failure, sequence), (1, 0));
    }

    #[test]
    fn auth_type_2_without_its_header_or_into_a_pass_instance_is_refused() {
        let (prefix, vrrp) = sealed(1, b"secret12");
        let (mut stats, mut sequence) = (Stats::default(), 0);
        let (advert, _) = receive(&instance("AH", 2), &mut stats, &mut sequence, None, &vrrp);
        assert!(advert.is_none());
        assert_eq!(stats.auth_failure, 1);
        let mut stats = Stats::default();
        let (advert, out) = receive(
            &instance("PASS", 2),
            &mut stats,
            &mut sequence,
            Some(&prefix),
            &vrrp,
        );
        assert!(advert.is_none());
        assert_eq!(stats.authtype_mismatch, 1);
        assert_eq!(logged(&out), "(VI_1) received a 2 auth, expecting 1!");
    }
}
