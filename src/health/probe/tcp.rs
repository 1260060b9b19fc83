//! TCP_CHECK: the real server passes when a TCP connection to it completes
//! within `connect_timeout` (keepalived.conf(5), "TCP healthchecker"). The
//! connection is reset right away; nothing is sent.

use super::{connect, down, within_timeout, ProbeSpec};
use crate::health::outcome::Verdict;

pub(super) async fn probe(spec: &ProbeSpec) -> Verdict {
    within_timeout(spec.connect_timeout, async {
        match connect::tcp(spec, spec.destination).await {
            Ok(stream) => {
                connect::close_now(stream);
                Verdict::Up
            }
            Err(reason) => down(reason),
        }
    })
    .await
}
