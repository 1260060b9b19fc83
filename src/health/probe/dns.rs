//! DNS_CHECK: one query over UDP for `name` (default `.`) of `type`
//! (default SOA), recursion desired. As keepalived does, datagrams that are
//! not a response to this query (other id, or not a response) are ignored
//! and the wait goes on; the first real response passes when its RCODE is
//! NOERROR (RFC 1035 §4.1.1). keepalived does not require answer records,
//! so an empty NOERROR answer passes too. Bounded by `connect_timeout`.

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::BinDecodable;

use super::{connect, down, within_timeout, ProbeSpec};
use crate::config::model::lvs::DnsCheck;
use crate::health::outcome::{Reason, Verdict};

pub(super) async fn probe(spec: &ProbeSpec, dns: &DnsCheck) -> Verdict {
    within_timeout(spec.connect_timeout, async {
        match query(spec, dns).await {
            Ok(()) => Verdict::Up,
            Err(reason) => down(reason),
        }
    })
    .await
}

fn record_type(dns: &DnsCheck) -> RecordType {
    match dns.query_type.as_ref().map(|t| t.value.as_str()) {
        Some("A") => RecordType::A,
        Some("NS") => RecordType::NS,
        Some("CNAME") => RecordType::CNAME,
        Some("MX") => RecordType::MX,
        Some("TXT") => RecordType::TXT,
        Some("AAAA") => RecordType::AAAA,
        _ => RecordType::SOA,
    }
}

async fn query(spec: &ProbeSpec, dns: &DnsCheck) -> Result<(), Reason> {
    let text = dns.name.as_ref().map_or(".", |n| n.value.as_str());
    let name = Name::from_ascii(text).map_err(|e| Reason::Protocol {
        detail: format!("DNS name '{text}': {e}"),
    })?;
    let id = (super::random_u64() & 0xffff) as u16;
    let mut request = Message::new();
    request
        .set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(name, record_type(dns)));
    let bytes = request.to_vec().map_err(|e| Reason::Protocol {
        detail: format!("DNS query: {e}"),
    })?;

    let socket = connect::udp(spec, spec.destination).await?;
    socket
        .send(&bytes)
        .await
        .map_err(|e| connect::reason_for(&e))?;
    let mut buffer = vec![0u8; 4096];
    loop {
        let length = socket
            .recv(&mut buffer)
            .await
            .map_err(|e| connect::reason_for(&e))?;
        let Ok(reply) = Message::from_bytes(buffer.get(..length).unwrap_or_default()) else {
            continue;
        };
        if reply.id() != id || reply.message_type() != MessageType::Response {
            continue;
        }
        return match reply.response_code() {
            ResponseCode::NoError => Ok(()),
            code => Err(Reason::Protocol {
                detail: format!("DNS rcode {} ({code})", u16::from(code)),
            }),
        };
    }
}
