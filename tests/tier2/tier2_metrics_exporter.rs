//! Privileged tier: `lvstop exporter` on a keepalived director. Two real
//! keepalived 2.2.7 share a segment (A priority 150, B 100); the exporter
//! runs in A's namespace beside A's keepalived, as on a director an
//! operator did not move to lvstop. Its `/metrics` shows keepalived's own
//! view of VI_1 (MASTER, priorities, adverts) and, once nftables cuts
//! VRRP into B so that both advertise as master, the split-brain alarm of
//! the passive advert listener.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use harness::{eventually, vrrp_config, Director, Lan};
use support::netns::Netns;

const WAIT: Duration = Duration::from_secs(30);
const LISTEN: &str = "127.0.0.1:9469";

/// `lvstop exporter` in a namespace, stopped on drop.
struct Exporter {
    child: Child,
    ns: String,
    dir: tempfile::TempDir,
}

impl Exporter {
    fn start(ns: &Netns, config: &str) -> Exporter {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("keepalived.conf");
        std::fs::write(&conf, config).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_lvstop")])
            .args(["exporter", "--listen", LISTEN, "--refresh", "1", "-f"])
            .arg(&conf)
            .env("LVSTOP_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Exporter {
            child,
            ns: ns.name.clone(),
            dir,
        }
    }

    /// One scrape as Prometheus asks for it (OpenMetrics).
    fn scrape(&self) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "curl", "-sf", "--max-time", "5"])
            .args([
                "-H",
                "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
            ])
            .arg(format!("http://{LISTEN}/metrics"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has(text: &str, sample: &str) -> bool {
    text.lines().any(|l| l == sample)
}

#[test]
fn the_exporter_shows_keepalived_instances_and_the_split_brain_alarm() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "the_exporter_shows_keepalived_instances_and_the_split_brain_alarm",
    ) else {
        return;
    };
    let lan = Lan::new();
    let a_conf = vrrp_config(&lan.a_if, 150, 2, "1", "");
    let a = Director::keepalived(&lan.a, &a_conf);
    let b = Director::keepalived(&lan.b, &vrrp_config(&lan.b_if, 100, 2, "1", ""));
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A never the only master\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    let exporter = Exporter::start(&lan.a, &a_conf);
    let report =
        |what: &str, text: &str| format!("{what}\nscrape:\n{text}\nexporter:\n{}", exporter.log());

    // keepalived's own view of VI_1, and a listener that hears no trouble.
    let mut text = String::new();
    let settled = eventually(WAIT, || {
        text = exporter.scrape();
        has(
            &text,
            r#"lvstop_vrrp_state{vrrp_instance="VI_1",state="MASTER"} 1"#,
        ) && has(
            &text,
            r#"lvstop_vrrp_state{vrrp_instance="VI_1",state="BACKUP"} 0"#,
        ) && has(
            &text,
            r#"lvstop_vrrp_effective_priority{vrrp_instance="VI_1"} 150"#,
        ) && has(
            &text,
            r#"lvstop_vrrp_base_priority{vrrp_instance="VI_1"} 150"#,
        ) && has(&text, "lvstop_keepalived_up 1")
            && has(&text, r#"lvstop_vrrp_split_brain_alarms{source="wire"} 0"#)
    });
    assert!(
        settled,
        "{}",
        report("keepalived's VI_1 never showed", &text)
    );
    assert!(
        text.ends_with("# EOF\n"),
        "{}",
        report("not OpenMetrics", &text)
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(r#"lvstop_vrrp_adverts_sent_total{vrrp_instance="VI_1"} "#)),
        "{}",
        report("no advert counter", &text)
    );
    assert!(
        text.contains(r#"lvstop_build_info{version=""#),
        "{}",
        report("no build info", &text)
    );

    // VRRP into B is cut: B advertises as master too.
    for rule in [
        "add table inet metrics_test",
        "add chain inet metrics_test input { type filter hook input priority 0 ; policy accept ; }",
        "add rule inet metrics_test input ip protocol vrrp drop",
    ] {
        lan.b.exec("nft", &rule.split(' ').collect::<Vec<_>>());
    }
    let split = format!(
        r#"lvstop_vrrp_split_brain{{interface="{}",vrid="51",vrrp_instance="VI_1"}} 2"#,
        lan.a_if
    );
    let raised = eventually(WAIT, || {
        text = exporter.scrape();
        has(&text, &split) && has(&text, r#"lvstop_vrrp_split_brain_alarms{source="wire"} 1"#)
    });
    assert!(raised, "{}", report("split brain never raised", &text));
    // The exporter only watched: keepalived A is still master, B's log
    // shows it took over on its own.
    assert!(
        has(
            &text,
            r#"lvstop_vrrp_state{vrrp_instance="VI_1",state="MASTER"} 1"#
        ),
        "{}",
        report("A's state changed", &text)
    );
    assert!(b.log().contains("Entering MASTER STATE"), "{}", b.log());
}
