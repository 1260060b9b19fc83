//! The receive checks of RFC 3768 §7.1 / RFC 5798 §7.1, in keepalived's
//! order and with its log wording: each dropped advert is counted in
//! [`Stats`] and explained in one log line. Decides only whether an advert
//! is acceptable; what it means for the state is the instance's business.

use std::net::IpAddr;

use super::{Action, InstanceConfig, Stats};
use crate::vrrp::packet::{Advertisement, Auth, PacketError, Version, VRRP_TTL};

/// One received message and what to check it against.
pub(super) struct Received<'a> {
    pub from: IpAddr,
    pub to: IpAddr,
    pub ttl: u8,
    pub payload: &'a [u8],
    /// Compare the advert's address list with ours (keepalived skips it
    /// for a known master under `vrrp_skip_check_adv_addr`).
    pub check_addresses: bool,
}

/// Returns the advert when every check passes; otherwise counts the
/// failure, pushes its log line and returns `None`.
pub(super) fn check(
    config: &InstanceConfig,
    stats: &mut Stats,
    received: &Received<'_>,
    out: &mut Vec<Action>,
) -> Option<Advertisement> {
    let name = &config.name;
    let reject = |counter: &mut u64, line: String, out: &mut Vec<Action>| {
        *counter += 1;
        out.push(Action::Log {
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
                PacketError::AhNotSupported => (
                    &mut stats.invalid_authtype,
                    format!("Invalid auth type: 2 ({error})"),
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
