//! The real Prometheus server (Debian's `prometheus`) inside a test's
//! network namespace: a temporary configuration and data directory, one
//! scrape job at a 1 s interval, killed on drop. Queries go through its
//! HTTP API (`/api/v1/query`) with curl inside the same namespace.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::netns::Netns;

pub const PROMETHEUS: &str = "/usr/bin/prometheus";

/// A running Prometheus server, stopped on drop.
pub struct Prometheus {
    ns: String,
    listen: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

/// One series of an instant query's answer.
#[derive(Debug, Clone)]
pub struct Sample {
    pub labels: serde_json::Map<String, serde_json::Value>,
    pub value: f64,
}

impl Prometheus {
    /// Start Prometheus in `ns`, listening on `listen` (ADDR:PORT) and
    /// scraping `target` (ADDR:PORT) every second.
    pub fn start(ns: &Netns, listen: &str, target: &str) -> Prometheus {
        assert!(
            Path::new(PROMETHEUS).exists(),
            "{PROMETHEUS} is missing: install Debian's prometheus package (.ci/run does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: lvstop\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, PROMETHEUS])
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Prometheus {
            ns: ns.name.clone(),
            listen: listen.to_string(),
            child: Some(child),
            dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The scrape targets as Prometheus reports them (health, last error).
    pub fn targets(&self) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "curl", "-s", "--max-time", "5"])
            .arg(format!("http://{}/api/v1/targets", self.listen))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// An instant query; `None` while Prometheus does not answer.
    pub fn query(&self, promql: &str) -> Option<Vec<Sample>> {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns,
                "curl",
                "-sf",
                "--max-time",
                "5",
                "--get",
            ])
            .arg("--data-urlencode")
            .arg(format!("query={promql}"))
            .arg(format!("http://{}/api/v1/query", self.listen))
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let result = answer["data"]["result"].as_array()?;
        Some(
            result
                .iter()
                .filter_map(|r| {
                    Some(Sample {
                        labels: r["metric"].as_object()?.clone(),
                        value: r["value"][1].as_str()?.parse().ok()?,
                    })
                })
                .collect(),
        )
    }

    /// The value of a query that yields one series, if it does.
    pub fn value(&self, promql: &str) -> Option<f64> {
        let samples = self.query(promql)?;
        match samples.as_slice() {
            [one] => Some(one.value),
            _ => None,
        }
    }

    /// Waits (up to `limit`) until `promql` yields one series whose value
    /// satisfies `ok`; the last value seen otherwise.
    pub fn wait_for(
        &self,
        promql: &str,
        limit: Duration,
        ok: impl Fn(f64) -> bool,
    ) -> Result<f64, Option<f64>> {
        let mut last = None;
        let seen = super::eventually(limit, || {
            last = self.value(promql);
            last.is_some_and(&ok)
        });
        match last {
            Some(v) if seen => Ok(v),
            _ => Err(last),
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
