//! Codec tests: hand-annotated golden messages, and every message captured
//! from ipvsadm on a real kernel (`tests/fixtures/genl/`).

mod captured;
mod golden;
#[cfg(target_endian = "little")]
mod golden_bytes;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::GenlMessage;

use super::IpvsMessage;

pub(super) type Message = NetlinkMessage<GenlMessage<IpvsMessage>>;

/// Parse one whole netlink message and emit it again.
pub(super) fn reemit(bytes: &[u8]) -> (Message, Vec<u8>) {
    let message = Message::deserialize(bytes).unwrap();
    let mut out = vec![0u8; message.buffer_len()];
    message.serialize(&mut out);
    (message, out)
}

/// The IPVS payload of a parsed message.
pub(super) fn ipvs(message: &Message) -> &IpvsMessage {
    match &message.payload {
        NetlinkPayload::InnerMessage(genl) => &genl.payload,
        other => panic!("not an IPVS message: {other:?}"),
    }
}
