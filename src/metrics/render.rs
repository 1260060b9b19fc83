//! One scrape: a registry built from a snapshot, encoded in the format the
//! scraper asked for. Prometheus asks for OpenMetrics in its `Accept`
//! header and gets it (`application/openmetrics-text; version=1.0.0`,
//! ending in `# EOF`); anything else (curl, older scrapers) gets the
//! Prometheus text format 0.0.4.
//!
//! OpenMetrics §"Overall structure" and the content negotiation
//! section: <https://github.com/OpenObservability/OpenMetrics/blob/main/specification/OpenMetrics.md#protocol-negotiation>

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Registry;

use super::counters::EngineTotals;
use super::state;
use super::table::LabelledTable;
use super::view::View;
use crate::engine::snapshot::Snapshot;

/// The prefix of every family.
pub const PREFIX: &str = "lvstop";

/// The content type of an OpenMetrics answer.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of a Prometheus text answer.
pub const TEXT_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// What a scrape exports beyond the snapshot itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Series per real server and per checker (off for very large tables).
    pub per_real_server: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            per_real_server: true,
        }
    }
}

/// The exposition formats lvstop speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    PrometheusText,
}

impl Format {
    /// The format an `Accept` header asks for.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(accept)
                if accept.split(',').any(|item| {
                    item.trim_start()
                        .starts_with("application/openmetrics-text")
                }) =>
            {
                Format::OpenMetrics
            }
            _ => Format::PrometheusText,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::PrometheusText => TEXT_CONTENT_TYPE,
        }
    }
}

/// A scrape could not be written (a formatter error; never expected).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode the metrics: {0}")]
pub struct RenderError(#[from] std::fmt::Error);

/// The families of one snapshot, as one collector.
#[derive(Debug)]
struct SnapshotCollector {
    snapshot: Arc<Snapshot>,
    totals: Option<EngineTotals>,
    options: RenderOptions,
    format: Format,
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = &self.snapshot;
        let view = View::of(snapshot);
        LabelledTable::new(&snapshot.table, self.options.per_real_server).encode(&mut encoder)?;
        state::encode_health(&mut encoder, &view, self.options.per_real_server)?;
        state::encode_vrrp(&mut encoder, &view, self.format)?;
        state::encode_engine(
            &mut encoder,
            &snapshot.director,
            self.totals,
            view.keepalived_up,
            self.format,
        )
    }
}

/// The registry of one scrape, for `format`.
pub fn registry(
    snapshot: Arc<Snapshot>,
    totals: Option<EngineTotals>,
    options: RenderOptions,
    format: Format,
) -> Registry {
    let mut registry = Registry::with_prefix(PREFIX);
    registry.register_collector(Box::new(SnapshotCollector {
        snapshot,
        totals,
        options,
        format,
    }));
    registry
}

/// The body of one scrape.
pub fn render(
    snapshot: Arc<Snapshot>,
    totals: Option<EngineTotals>,
    options: RenderOptions,
    format: Format,
) -> Result<String, RenderError> {
    let registry = registry(snapshot, totals, options, format);
    let mut body = String::with_capacity(64 * 1024);
    match format {
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut body, &registry)?,
        Format::PrometheusText => {
            prometheus_client::encoding::prometheus_text::encode(&mut body, &registry)?
        }
    }
    Ok(body)
}
