//! Every generic-netlink message ipvsadm 1.31 exchanged with Debian's 6.1
//! kernel (captured on an nlmon device by `tests/fixtures/genl/capture.sh`)
//! parses and re-emits byte for byte; and for every change ipvsadm asked
//! for, lvstop's request builders produce the very same attributes.

use std::path::PathBuf;

use netlink_packet_core::NetlinkPayload;

use super::super::{
    dest_attrs, dest_from_attrs, service_attrs, service_from_attrs, IpvsAttr, IpvsCmd,
};
use super::{ipvs, reemit};
use crate::ipvs::model::Family;

/// `GENL_ID_CTRL`: nlctrl's messages (family resolution) are not ours.
const GENL_ID_CTRL: u16 = 0x10;

struct Capture {
    name: String,
    command: String,
    /// Every netlink message, in capture order.
    messages: Vec<Vec<u8>>,
}

fn fixtures() -> Vec<Capture> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/genl");
    let mut captures = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hex"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut command = String::new();
        let mut messages = Vec::new();
        for line in text.lines() {
            if let Some(c) = line.strip_prefix("# ipvsadm") {
                command = format!("ipvsadm{c}");
            }
            let Some((_, hex)) = line.split_once(' ').filter(|_| !line.starts_with('#')) else {
                continue;
            };
            let datagram = decode_hex(hex);
            // One datagram may hold several messages (dump batches).
            let mut offset = 0;
            while offset < datagram.len() {
                let len = u32::from_ne_bytes(datagram[offset..offset + 4].try_into().unwrap());
                let len = len as usize;
                messages.push(datagram[offset..offset + len].to_vec());
                offset += (len + 3) & !3;
            }
        }
        captures.push(Capture {
            name: path.file_stem().unwrap().to_string_lossy().into_owned(),
            command,
            messages,
        });
    }
    assert!(
        captures.len() >= 20,
        "fixtures missing in {}",
        dir.display()
    );
    captures
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn message_type(bytes: &[u8]) -> u16 {
    u16::from_ne_bytes([bytes[4], bytes[5]])
}

/// For an error/ack, the type of the request it answers.
fn answered_type(bytes: &[u8]) -> Option<u16> {
    (message_type(bytes) == netlink_packet_core::NLMSG_ERROR && bytes.len() >= 36)
        .then(|| u16::from_ne_bytes([bytes[24], bytes[25]]))
}

fn is_ipvs(bytes: &[u8]) -> bool {
    let kind = message_type(bytes);
    if kind == netlink_packet_core::NLMSG_ERROR {
        return answered_type(bytes) != Some(GENL_ID_CTRL);
    }
    kind != GENL_ID_CTRL
}

#[test]
fn every_captured_ipvs_message_reemits_identical_bytes() {
    let mut checked = 0;
    for capture in fixtures() {
        for bytes in capture.messages.iter().filter(|b| is_ipvs(b)) {
            let (message, out) = reemit(bytes);
            assert_eq!(
                out, *bytes,
                "{} ({}): re-emitted bytes differ for {message:?}",
                capture.name, capture.command
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} messages checked");
}

#[test]
fn captured_messages_carry_no_unknown_attributes() {
    for capture in fixtures() {
        for bytes in capture.messages.iter().filter(|b| is_ipvs(b)) {
            let (message, _) = reemit(bytes);
            if let NetlinkPayload::InnerMessage(_) = message.payload {
                let text = format!("{:?}", ipvs(&message));
                assert!(!text.contains("Other("), "{}: {text}", capture.name);
            }
        }
    }
}

#[test]
fn lvstop_builds_the_same_requests_as_ipvsadm() {
    let mut compared = 0;
    for capture in fixtures() {
        for bytes in capture.messages.iter().filter(|b| is_ipvs(b)) {
            let (message, _) = reemit(bytes);
            let NetlinkPayload::InnerMessage(_) = message.payload else {
                continue;
            };
            if message.header.flags & netlink_packet_core::NLM_F_REQUEST == 0 {
                continue;
            }
            let request = ipvs(&message);
            let full_service = matches!(request.cmd, IpvsCmd::NewService | IpvsCmd::SetService);
            let full_dest = matches!(request.cmd, IpvsCmd::NewDest | IpvsCmd::SetDest);
            if !(full_service || full_dest) {
                continue;
            }
            let mut family = Family::Inet;
            for attr in &request.attrs {
                match attr {
                    IpvsAttr::Service(nest) => {
                        let service = service_from_attrs(&nest.attrs).unwrap();
                        family = service.key().family();
                        if full_service {
                            assert_eq!(
                                service_attrs(&service.config),
                                nest.attrs,
                                "{}: {}",
                                capture.name,
                                capture.command
                            );
                            compared += 1;
                        }
                    }
                    IpvsAttr::Dest(nest) => {
                        let dest = dest_from_attrs(&nest.attrs, family).unwrap();
                        assert_eq!(
                            dest_attrs(&dest.config),
                            nest.attrs,
                            "{}: {}",
                            capture.name,
                            capture.command
                        );
                        compared += 1;
                    }
                    other => panic!("{}: unexpected {other:?}", capture.name),
                }
            }
        }
    }
    assert!(compared >= 10, "only {compared} requests compared");
}
