#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The shipped Prometheus examples hold: the alert rules pass
//! `promtool check rules` and their unit tests (`promtool test rules`),
//! the Grafana dashboard is JSON whose every query is valid PromQL (run
//! through promtool as recording rules) over series lvstop exports.

use crate::ui_fixture;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use lvstop::metrics::{render, Format, RenderOptions};

const PROMTOOL: &str = "/usr/bin/promtool";

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prometheus")
}

fn promtool(args: &[&str], dir: &Path) -> Option<String> {
    if !Path::new(PROMTOOL).exists() {
        eprintln!("skipped: {PROMTOOL} missing (Debian's prometheus package; .ci/run installs it)");
        return None;
    }
    let out = Command::new(PROMTOOL)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    Some(text)
}

/// Every family name lvstop can export: a full scrape of the fixture
/// director, and the families only the exporter's advert listener and
/// keepalived view give (or that the fixture has no data for).
fn exported_names() -> BTreeSet<String> {
    let text = render(
        Arc::new(ui_fixture::snapshot(0)),
        Some(Default::default()),
        RenderOptions::default(),
        Format::PrometheusText,
    )
    .unwrap();
    let mut names: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect();
    for name in [
        "lvstop_vrrp_split_brain",
        "lvstop_vrrp_split_brain_alarms",
        "lvstop_vrrp_transitions_total",
        "lvstop_keepalived_up",
    ] {
        names.insert(name.to_string());
    }
    names
}

/// The `lvstop_…` names a PromQL expression uses.
fn names_in(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("lvstop_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

#[test]
fn alert_rules_pass_promtool_check_and_their_unit_tests() {
    let dir = examples();
    let Some(checked) = promtool(&["check", "rules", "lvstop-alerts.yml"], &dir) else {
        return;
    };
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = promtool(&["test", "rules", "lvstop-alerts.test.yml"], &dir).unwrap();
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn alert_rules_cover_split_brain_real_server_down_and_fault_on_exported_series() {
    let text = std::fs::read_to_string(examples().join("lvstop-alerts.yml")).unwrap();
    for alert in [
        "LvstopSplitBrain",
        "LvstopTwoMasters",
        "LvstopRealServerDown",
        "LvstopVrrpInstanceFault",
    ] {
        assert!(text.contains(&format!("alert: {alert}")), "{alert}");
    }
    let exported = exported_names();
    for line in text.lines().filter(|l| l.trim_start().starts_with("expr:")) {
        for name in names_in(line) {
            assert!(
                exported.contains(&name),
                "{name} in '{line}' is not exported"
            );
        }
    }
}

#[test]
fn the_grafana_dashboard_queries_exported_series_in_valid_promql() {
    let path = examples().join("grafana-dashboard.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(dashboard["uid"], "lvstop-directors");
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 8);
    let exported = exported_names();
    let mut exprs = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel '{title}' has no query");
        for target in targets {
            let expr = target["expr"].as_str().unwrap();
            let names = names_in(expr);
            assert!(!names.is_empty(), "'{title}': {expr}");
            for name in names {
                assert!(
                    exported.contains(&name),
                    "'{title}': {name} is not exported"
                );
            }
            exprs.push(expr.to_string());
        }
    }
    // Grafana's variables made concrete, then promtool parses every query.
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in exprs.iter().enumerate() {
        let concrete = expr
            .replace("$__rate_interval", "1m")
            .replace("$instance", ".*")
            .replace("$service", ".*")
            .replace("$vrrp_instance", ".*");
        rules.push_str(&format!(
            "      - record: dashboard:query{i}\n        expr: '{}'\n",
            concrete.replace('\'', "''")
        ));
    }
    std::fs::write(dir.path().join("dashboard.yml"), rules).unwrap();
    promtool(&["check", "rules", "dashboard.yml"], dir.path());
}
