//! UDP_CHECK (keepalived.conf(5), "UDP healthchecker"): send `payload` (a
//! random one when unset) on a connected UDP socket and wait
//! `connect_timeout`.
//!
//! - An ICMP port unreachable (the socket reports ECONNREFUSED) fails the
//!   check: "connection refused".
//! - Without `require_reply`, silence for the whole timeout passes (only an
//!   ICMP error fails), as in keepalived.
//! - With `require_reply`, a reply must arrive, its length must lie within
//!   `min_reply_length`..=`max_reply_length` (defaults 0 and 255), and when
//!   a hex string is given the reply must equal it over the shorter of the
//!   two lengths, `X`/`x` nibbles matching anything.

use super::{connect, down, ProbeSpec};
use crate::config::model::lvs::UdpCheck;
use crate::health::outcome::{Reason, Verdict};

/// keepalived's `max_reply_length` default.
const DEFAULT_MAX_REPLY: u32 = 255;

/// A hex pattern: bytes plus a mask whose set bits are "don't care".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HexPattern {
    pub bytes: Vec<u8>,
    pub ignore: Vec<u8>,
}

/// Reads keepalived's free-form hex: each space-separated group is read two
/// digits per byte from its start, an odd last digit making a byte of its
/// own (`Ab12f 3` is AB 12 0F 03). `X`/`x` is a wildcard nibble. Returns
/// `None` for anything else.
pub(crate) fn parse_hex(text: &str) -> Option<HexPattern> {
    let mut pattern = HexPattern {
        bytes: Vec::new(),
        ignore: Vec::new(),
    };
    for group in text.split_whitespace() {
        let digits: Vec<(u8, u8)> = group
            .chars()
            .map(|c| match c {
                'x' | 'X' => Some((0, 0xf)),
                _ => c.to_digit(16).map(|d| (d as u8, 0)),
            })
            .collect::<Option<_>>()?;
        for pair in digits.chunks(2) {
            let (byte, ignore) = match pair {
                [(high, high_ignore), (low, low_ignore)] => {
                    ((high << 4) | low, (high_ignore << 4) | low_ignore)
                }
                [(low, low_ignore)] => (*low, *low_ignore),
                _ => continue,
            };
            pattern.bytes.push(byte);
            pattern.ignore.push(ignore);
        }
    }
    Some(pattern)
}

/// Whether `reply` matches `pattern` over their common length.
fn matches(reply: &[u8], pattern: &HexPattern) -> bool {
    reply
        .iter()
        .zip(pattern.bytes.iter().zip(&pattern.ignore))
        .all(|(got, (want, ignore))| (got ^ want) & !ignore == 0)
}

fn random_payload() -> Vec<u8> {
    super::random_u64().to_be_bytes().to_vec()
}

pub(super) async fn probe(spec: &ProbeSpec, udp: &UdpCheck) -> Verdict {
    let payload = match &udp.payload {
        Some(text) => match parse_hex(&text.value) {
            Some(p) => p.bytes,
            None => {
                return down(Reason::Protocol {
                    detail: format!("payload '{}' is not hex", text.value),
                })
            }
        },
        None => random_payload(),
    };
    let required = match &udp.require_reply {
        None => None,
        Some(r) => match r.value.as_deref().map(parse_hex) {
            None => Some(None),
            Some(Some(pattern)) => Some(Some(pattern)),
            Some(None) => {
                return down(Reason::Protocol {
                    detail: "require_reply is not hex".into(),
                })
            }
        },
    };
    let socket = match connect::udp(spec, spec.destination).await {
        Ok(socket) => socket,
        Err(reason) => return down(reason),
    };
    if let Err(e) = socket.send(&payload).await {
        return down(connect::reason_for(&e));
    }
    let max = udp.max_reply_length.map_or(DEFAULT_MAX_REPLY, |m| m.value);
    let min = udp.min_reply_length.map_or(0, |m| m.value);
    // One byte more than allowed, to tell "too long" from "just fits".
    let mut buffer = vec![0u8; max as usize + 1];
    let received = tokio::time::timeout(spec.connect_timeout, socket.recv(&mut buffer)).await;
    match (received, required) {
        (Ok(Err(e)), _) => down(connect::reason_for(&e)),
        (Err(_), None) => Verdict::Up,
        (Err(_), Some(_)) => down(Reason::Timeout {
            after: spec.connect_timeout,
        }),
        (Ok(Ok(_)), None) => Verdict::Up,
        (Ok(Ok(length)), Some(pattern)) => {
            if (length as u64) < u64::from(min) || (length as u64) > u64::from(max) {
                return down(Reason::Protocol {
                    detail: format!(
                        "UDP reply of {}{length} bytes, expected {min}-{max}",
                        if length > max as usize { "over " } else { "" }
                    ),
                });
            }
            let reply = buffer.get(..length).unwrap_or_default();
            match pattern {
                Some(pattern) if !matches(reply, &pattern) => down(Reason::Protocol {
                    detail: "UDP reply does not match require_reply".into(),
                }),
                _ => Verdict::Up,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_groups_read_like_keepalived_documents() {
        // keepalived.conf(5): "Ab12f 3 456 546443123" is
        // AB 12 0F 03 45 06 54 64 43 12 03.
        let pattern = parse_hex("Ab12f 3 456 546443123").unwrap();
        assert_eq!(
            pattern.bytes,
            [0xAB, 0x12, 0x0F, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03]
        );
        assert!(pattern.ignore.iter().all(|&m| m == 0));
    }

    #[test]
    fn x_nibbles_match_anything_and_comparison_stops_at_the_shorter() {
        let pattern = parse_hex("4xx2 ff").unwrap();
        assert!(matches(&[0x4a, 0xb2, 0xff], &pattern));
        assert!(matches(&[0x47, 0x02], &pattern));
        assert!(!matches(&[0x5a, 0xb2], &pattern));
        assert!(!matches(&[0x4a, 0xb3], &pattern));
    }
}
