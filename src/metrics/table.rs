//! The IPVS table's families: per virtual service, and per real server
//! unless the exporter was told to leave those out. Connections and
//! rates are gauges (they go down); packets, bytes and connections
//! handled are counters (the kernel's `ip_vs_stats`, which only grow
//! until the service is recreated).
//!
//! Labels: `service` (keepalived's name of the virtual service),
//! `real_server` (`address:port`), `direction` (`in` or `out`). A table of
//! S services and R real servers gives 9·S + 9·R series.

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use super::view::{real_server_label, service_label};
use super::write::{counters, gauges};
use crate::ipvs::model::{Dest, Rates, Service, Stats, Table};

/// The table with its label values formatted once per scrape.
#[derive(Debug)]
pub struct LabelledTable<'t> {
    rows: Vec<(&'t Service, String, Vec<String>)>,
}

impl<'t> LabelledTable<'t> {
    pub fn new(table: &'t Table, per_real_server: bool) -> Self {
        let rows = table
            .services
            .iter()
            .map(|s| {
                let servers = if per_real_server {
                    s.dests
                        .iter()
                        .map(|d| real_server_label(d.config.key))
                        .collect()
                } else {
                    Vec::new()
                };
                (s, service_label(s.config.key), servers)
            })
            .collect();
        LabelledTable { rows }
    }

    fn services(&self) -> impl Iterator<Item = (&'t Service, [(&str, &str); 1])> + '_ {
        self.rows
            .iter()
            .map(|(s, label, _)| (*s, [("service", label.as_str())]))
    }

    /// Every real server with its labels (none when per-real-server
    /// series are off).
    fn dests(&self) -> impl Iterator<Item = (&'t Dest, [(&str, &str); 2])> + '_ {
        self.rows.iter().flat_map(|(s, service, servers)| {
            s.dests.iter().zip(servers).map(move |(d, server)| {
                (
                    d,
                    [
                        ("service", service.as_str()),
                        ("real_server", server.as_str()),
                    ],
                )
            })
        })
    }

    pub fn encode(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        self.encode_services(encoder)?;
        self.encode_dests(encoder)
    }

    fn encode_services(&self, e: &mut DescriptorEncoder) -> fmt::Result {
        gauges(
            e,
            "service_active_connections",
            "Active connections of the virtual service (ipvsadm ActiveConn, summed over its real servers).",
            None,
            self.services()
                .map(|(s, l)| (l, s.dests.iter().map(|d| u64::from(d.active)).sum::<u64>())),
        )?;
        gauges(
            e,
            "service_inactive_connections",
            "Inactive connections of the virtual service (ipvsadm InActConn, summed over its real servers).",
            None,
            self.services()
                .map(|(s, l)| (l, s.dests.iter().map(|d| u64::from(d.inactive)).sum::<u64>())),
        )?;
        gauges(
            e,
            "service_real_servers",
            "Real servers of the virtual service in the dataplane's table.",
            None,
            self.services().map(|(s, l)| (l, s.dests.len() as u64)),
        )?;
        counters(
            e,
            "service_connections",
            "Connections the virtual service has handled.",
            None,
            self.services().map(|(s, l)| (l, s.stats.conns)),
        )?;
        stats_pair(e, "service", || self.services().map(|(s, l)| (l, &s.stats)))?;
        gauges(
            e,
            "service_connection_rate",
            "New connections per second of the virtual service (the kernel's estimator, ipvsadm CPS).",
            None,
            self.services().map(|(s, l)| (l, cps(&s.rates))),
        )
    }

    fn encode_dests(&self, e: &mut DescriptorEncoder) -> fmt::Result {
        gauges(
            e,
            "real_server_active_connections",
            "Active connections of the real server (ipvsadm ActiveConn).",
            None,
            self.dests().map(|(d, l)| (l, d.active)),
        )?;
        gauges(
            e,
            "real_server_inactive_connections",
            "Inactive connections of the real server (ipvsadm InActConn).",
            None,
            self.dests().map(|(d, l)| (l, d.inactive)),
        )?;
        gauges(
            e,
            "real_server_weight",
            "Weight of the real server in the dataplane now (0 while drained or inhibited).",
            None,
            self.dests().map(|(d, l)| (l, d.config.weight)),
        )?;
        counters(
            e,
            "real_server_connections",
            "Connections the real server has handled.",
            None,
            self.dests().map(|(d, l)| (l, d.stats.conns)),
        )?;
        stats_pair(e, "real_server", || {
            self.dests().map(|(d, l)| (l, &d.stats))
        })?;
        gauges(
            e,
            "real_server_connection_rate",
            "New connections per second to the real server (the kernel's estimator, ipvsadm CPS).",
            None,
            self.dests().map(|(d, l)| (l, cps(&d.rates))),
        )
    }
}

/// Packets and bytes, in and out, as two counters with a `direction`
/// label.
fn stats_pair<'a, const N: usize, I>(
    e: &mut DescriptorEncoder,
    of: &str,
    rows: impl Fn() -> I,
) -> fmt::Result
where
    I: Iterator<Item = ([(&'a str, &'a str); N], &'a Stats)>,
{
    let with = |labels: [(&'a str, &'a str); N], direction: &'a str| {
        let mut out: Vec<(&str, &str)> = labels.to_vec();
        out.push(("direction", direction));
        out
    };
    let packets = format!("{of}_packets");
    counters(
        e,
        &packets,
        "Packets through the director for this target, by direction (in: client to real server, out: back).",
        None,
        rows().flat_map(|(l, s)| {
            [(with(l, "in"), s.inpkts), (with(l, "out"), s.outpkts)]
        }),
    )?;
    counters(
        e,
        of,
        "Bytes through the director for this target, by direction (in: client to real server, out: back).",
        Some(&Unit::Bytes),
        rows().flat_map(|(l, s)| [(with(l, "in"), s.inbytes), (with(l, "out"), s.outbytes)]),
    )
}

fn cps(rates: &Rates) -> u64 {
    rates.cps
}
