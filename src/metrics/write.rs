//! Writing one metric family through prometheus-client's encoder: the
//! descriptor (`# HELP`, `# TYPE`, `# UNIT`), then one sample per label
//! set. A family without samples is left out altogether, so a director
//! without VRRP, or a scrape without per-real-server series, shows no
//! empty headers.
//!
//! Types follow OpenMetrics §4 (metric types): counters only ever grow
//! and are named `…_total`; gauges go up and down; an info family is a
//! constant 1 whose labels carry the facts.
//! <https://github.com/OpenObservability/OpenMetrics/blob/main/specification/OpenMetrics.md#metric-types>

use std::fmt;

use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, EncodeLabelSet, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use super::render::Format;

/// A family of gauges.
pub fn gauges<L, V>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    rows: impl IntoIterator<Item = (L, V)>,
) -> fmt::Result
where
    L: EncodeLabelSet,
    V: EncodeGaugeValue,
{
    let mut rows = rows.into_iter().peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    let mut metric = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (labels, value) in rows {
        metric.encode_family(&labels)?.encode_gauge(&value)?;
    }
    Ok(())
}

/// A family of counters; the encoder appends `_total` to `name`.
pub fn counters<L, V>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    rows: impl IntoIterator<Item = (L, V)>,
) -> fmt::Result
where
    L: EncodeLabelSet,
    V: EncodeCounterValue,
{
    let mut rows = rows.into_iter().peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    let mut metric = encoder.encode_descriptor(name, help, unit, MetricType::Counter)?;
    for (labels, value) in rows {
        metric
            .encode_family(&labels)?
            .encode_counter::<NoLabelSet, _, u64>(&value, None)?;
    }
    Ok(())
}

/// An info family: one sample of value 1 per label set, named
/// `NAME_info`. The Prometheus text format has no info type: there it is
/// the gauge `NAME_info` of value 1, which is what Prometheus stores for
/// an OpenMetrics info family too.
pub fn info<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    format: Format,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = L>,
) -> fmt::Result {
    let mut rows = rows.into_iter().peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    match format {
        Format::OpenMetrics => {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Info)?;
            for labels in rows {
                metric.encode_info(&labels)?;
            }
            Ok(())
        }
        Format::PrometheusText => gauges(
            encoder,
            &format!("{name}_info"),
            help,
            None,
            rows.map(|labels| (labels, 1i64)),
        ),
    }
}

/// 1 for true, 0 for false: how OpenMetrics spells a boolean gauge.
pub fn flag(value: bool) -> i64 {
    i64::from(value)
}
