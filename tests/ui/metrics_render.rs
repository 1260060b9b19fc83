#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What `/metrics` says about a director: family names, label sets,
//! counters against gauges, the VRRP state-set, and what
//! `--metrics-no-real-servers` leaves out; in both exposition formats.
//! The snapshot is the console tests' director of the reference deployment (two services, a
//! drained real server, VI_1 MASTER).

use crate::ui_fixture;

use std::sync::Arc;

use lvstop::metrics::counters::EngineTotals;
use lvstop::metrics::{render, Format, RenderOptions};

fn scrape(format: Format, per_real_server: bool) -> String {
    let totals = EngineTotals {
        applies_ok: 2,
        applies_refused: 1,
        drift: 3,
        dataplane_refusals: 0,
        missed: 0,
    };
    render(
        Arc::new(ui_fixture::snapshot(0)),
        Some(totals),
        RenderOptions { per_real_server },
        format,
    )
    .unwrap()
}

/// The `# TYPE` of every family.
fn types(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let (name, kind) = l.split_once(' ').unwrap();
            (name.to_string(), kind.to_string())
        })
        .collect()
}

fn has_sample(text: &str, sample: &str) -> bool {
    text.lines().any(|l| l == sample)
}

#[test]
fn openmetrics_scrape_types_each_family_and_ends_with_eof() {
    let text = scrape(Format::OpenMetrics, true);
    assert!(text.ends_with("# EOF\n"), "{text}");
    let types = types(&text);
    let kind = |name: &str| {
        types
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| k.as_str())
            .unwrap_or_else(|| panic!("no family {name} in\n{text}"))
    };
    for gauge in [
        "lvstop_service_active_connections",
        "lvstop_service_inactive_connections",
        "lvstop_service_connection_rate",
        "lvstop_real_server_active_connections",
        "lvstop_real_server_inactive_connections",
        "lvstop_real_server_weight",
        "lvstop_real_server_configured_weight",
        "lvstop_real_server_up",
        "lvstop_real_server_operator_override",
        "lvstop_checker_up",
        "lvstop_checker_consecutive_failures",
        "lvstop_checker_latency_seconds",
        "lvstop_vrrp_state",
        "lvstop_vrrp_base_priority",
        "lvstop_vrrp_effective_priority",
        "lvstop_service_quorum_up",
    ] {
        assert_eq!(kind(gauge), "gauge", "{gauge}");
    }
    for counter in [
        "lvstop_service_connections",
        "lvstop_service_packets",
        "lvstop_service_bytes",
        "lvstop_real_server_connections",
        "lvstop_real_server_packets",
        "lvstop_real_server_bytes",
        "lvstop_checker_flaps",
        "lvstop_vrrp_adverts_sent",
        "lvstop_vrrp_adverts_received",
        "lvstop_config_applies",
        "lvstop_drift_detected",
        "lvstop_dataplane_refusals",
    ] {
        assert_eq!(kind(counter), "counter", "{counter}");
        let total = format!("{counter}_total");
        assert!(
            text.lines().any(|l| l.starts_with(&total)),
            "no {total} sample"
        );
    }
    assert_eq!(kind("lvstop_build"), "info");
    assert!(
        text.contains("# UNIT lvstop_real_server_bytes bytes\n"),
        "{text}"
    );
    // Every sample line is NAME{labels} VALUE with a numeric value.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

#[test]
fn the_seed_director_reads_as_an_operator_expects() {
    let text = scrape(Format::OpenMetrics, true);
    // VI_1 is MASTER: the state-set has exactly that state at 1.
    assert!(has_sample(
        &text,
        r#"lvstop_vrrp_state{vrrp_instance="VI_1",state="MASTER"} 1"#
    ));
    assert!(has_sample(
        &text,
        r#"lvstop_vrrp_state{vrrp_instance="VI_1",state="BACKUP"} 0"#
    ));
    assert!(has_sample(
        &text,
        r#"lvstop_vrrp_adverts_sent_total{vrrp_instance="VI_1"} 3600"#
    ));
    // Real servers are labelled with keepalived's service name and the
    // real server's address:port; .83 is down by its TCP_CHECK.
    assert!(
        has_sample(
            &text,
            r#"lvstop_real_server_up{service="[192.168.100.88]:tcp:80",real_server="192.168.100.83:80"} 0"#
        ),
        "{text}"
    );
    assert!(has_sample(
        &text,
        r#"lvstop_checker_up{service="[192.168.100.88]:tcp:80",real_server="192.168.100.83:80",checker="TCP_CHECK"} 0"#
    ));
    assert!(has_sample(
        &text,
        r#"lvstop_checker_consecutive_failures{service="[192.168.100.88]:tcp:80",real_server="192.168.100.83:80",checker="TCP_CHECK"} 3"#
    ));
    // The drained real server carries a weight override.
    assert!(
        text.lines()
            .any(|l| l.starts_with("lvstop_real_server_operator_override{")
                && l.contains(r#"real_server="192.168.100.84:80""#)
                && l.contains(r#"kind="weight""#)
                && l.ends_with(" 1")),
        "{text}"
    );
    assert!(has_sample(
        &text,
        r#"lvstop_config_applies_total{result="refused"} 1"#
    ));
    assert!(text.contains(&format!(
        r#"lvstop_build_info{{version="{}",dataplane="userspace"}} 1"#,
        env!("CARGO_PKG_VERSION")
    )));
    // Directions of traffic are a label, not separate families.
    assert!(text
        .lines()
        .any(|l| l.starts_with("lvstop_real_server_bytes_total{")
            && l.contains(r#"direction="out""#)));
}

#[test]
fn no_real_servers_keeps_services_and_drops_every_per_server_series() {
    let text = scrape(Format::OpenMetrics, false);
    assert!(!text.contains("real_server="), "{text}");
    assert!(!text.contains("lvstop_checker_"), "{text}");
    assert!(text.contains("lvstop_service_active_connections{"));
    assert!(text.contains("lvstop_vrrp_state{"));
}

#[test]
fn prometheus_text_format_has_no_eof_and_the_same_samples() {
    let text = scrape(Format::PrometheusText, true);
    assert!(!text.contains("# EOF"));
    assert!(has_sample(
        &text,
        r#"lvstop_vrrp_state{vrrp_instance="VI_1",state="MASTER"} 1"#
    ));
    assert!(
        text.contains("# TYPE lvstop_service_connections_total counter"),
        "{text}"
    );
    // No info type in this format: a gauge named …_info.
    assert!(text.contains("# TYPE lvstop_build_info gauge"), "{text}");
    assert!(!text.contains(" info\n"), "{text}");
}

#[test]
fn the_accept_header_chooses_the_format() {
    let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
    assert_eq!(Format::negotiate(Some("*/*")), Format::PrometheusText);
    assert_eq!(Format::negotiate(None), Format::PrometheusText);
    assert_eq!(
        Format::OpenMetrics.content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
}

#[test]
#[ignore = "prints a scrape for a reader"]
fn print_a_scrape() {
    print!("{}", scrape(Format::OpenMetrics, true));
}

#[test]
fn no_label_clashes_with_the_labels_prometheus_adds_to_a_target() {
    for format in [Format::OpenMetrics, Format::PrometheusText] {
        let text = scrape(format, true);
        for reserved in ["{instance=", ",instance=", "{job=", ",job="] {
            assert!(!text.contains(reserved), "{reserved} in\n{text}");
        }
    }
}

#[test]
fn promtool_accepts_the_scrape() {
    let promtool = std::path::Path::new("/usr/bin/promtool");
    if !promtool.exists() {
        eprintln!("skipped promtool_accepts_the_scrape: /usr/bin/promtool missing (Debian's prometheus package)");
        return;
    }
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape(Format::PrometheusText, true).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One HTTP/1.1 exchange on `stream`: the response head and body.
async fn exchange(stream: &mut tokio::net::TcpStream, request: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut data = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(
            n > 0,
            "connection closed early: {}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .unwrap()
                .parse()
                .unwrap();
            let expected = if request.starts_with("HEAD") {
                0
            } else {
                length
            };
            if body.len() >= expected {
                return (head.to_string(), body.to_string());
            }
        }
    }
}

#[tokio::test]
async fn the_http_server_answers_scrapes_on_one_connection_and_refuses_the_rest() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_latest_tx, latest) = tokio::sync::watch::channel(Some(Arc::new(ui_fixture::snapshot(0))));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(lvstop::metrics::http::serve(
        listener,
        Arc::new(lvstop::metrics::LatestSource::new(latest)),
        RenderOptions::default(),
        stopped,
    ));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (head, body) = exchange(
        &mut stream,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.contains("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{head}"
    );
    assert!(body.ends_with("# EOF\n"));
    // Same connection (keep-alive), the text format this time.
    let (head, body) = exchange(&mut stream, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    assert!(body.contains("lvstop_vrrp_state{"));
    let (head, body) = exchange(&mut stream, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        head.starts_with("HTTP/1.1 200 OK") && body.is_empty(),
        "{head}"
    );
    let (head, _) = exchange(&mut stream, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = exchange(
        &mut stream,
        "DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
    stop.send(true).unwrap();
    server.await.unwrap();
}
