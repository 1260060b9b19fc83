//! Synthetic configurations of a chosen size, for benchmarks and scale tests.
//! Only documentation address ranges are used (RFC 5737).

use std::fmt::Write;

/// A director configuration with `virtual_servers` virtual servers, each
/// with `real_servers` real servers checked by a TCP_CHECK, plus one VRRP
/// instance. 2,300 × 16 gives about 37k checkers.
pub fn director(virtual_servers: usize, real_servers: usize) -> String {
    let mut out = String::with_capacity(virtual_servers * real_servers * 200 + 1024);
    out.push_str(
        "global_defs {\n    router_id BENCH\n    notification_email {\n        ops@example.org\n    }\n    notification_email_from lvs@example.org\n    smtp_server 127.0.0.1\n}\n\n",
    );
    out.push_str(
        "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n    virtual_ipaddress {\n        198.51.100.250/24 dev eth0\n    }\n}\n\n",
    );
    for vs in 0..virtual_servers {
        let vip_host = vs % 250 + 1;
        let port = 10_000 + vs;
        let _ = write!(
            out,
            "virtual_server 198.51.100.{vip_host} {port} {{\n    delay_loop 6\n    lb_algo wrr\n    lb_kind DR\n    persistence_timeout 60\n    protocol TCP\n"
        );
        for rs in 0..real_servers {
            let rs_host = rs % 250 + 1;
            let _ = write!(
                out,
                "    real_server 203.0.113.{rs_host} {port} {{\n        weight {}\n        TCP_CHECK {{\n            connect_timeout 10\n            retry 3\n            delay_before_retry 3\n            connect_port {port}\n        }}\n    }}\n",
                rs % 5 + 1
            );
        }
        out.push_str("}\n\n");
    }
    out
}
