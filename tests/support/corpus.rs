//! keepalived's own sample configurations, as Debian's `keepalived`
//! package installs them (`.ci/run` installs it): the corpus the parser
//! tests read. The one place that knows where the samples are.
//!
//! `LVSTOP_KEEPALIVED_SAMPLES` names another folder. When the samples are
//! missing, a privileged run (`LVSTOP_TEST_PRIVILEGED=1`, as in CI) fails
//! with the reason; a plain `cargo test` prints that the test was skipped.
//!
//! Shared by the integration tests (`mod support`) and the library's unit
//! tests (included with `#[path]`), so it uses nothing but `std`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's package puts the samples.
const DEBIAN_SAMPLES: &str = "/usr/share/doc/keepalived/samples";
/// The variable that points the tests at another folder of samples.
pub const SAMPLES_VAR: &str = "LVSTOP_KEEPALIVED_SAMPLES";
/// keepalived's syntax synopsis; Debian ships it one folder up.
const SYNOPSIS: &str = "keepalived.conf.SYNOPSIS";

/// One sample configuration.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The file name without a `.gz` suffix (`keepalived.conf.vrrp`).
    pub name: String,
    pub path: PathBuf,
    pub text: String,
}

impl Sample {
    /// The path to load the text under: the file's own, without `.gz`.
    pub fn load_path(&self) -> PathBuf {
        self.path.with_file_name(&self.name)
    }
}

/// The folder the samples are read from.
pub fn samples_dir() -> PathBuf {
    std::env::var_os(SAMPLES_VAR).map_or_else(|| PathBuf::from(DEBIAN_SAMPLES), PathBuf::from)
}

/// Every `keepalived.conf*` sample (gzipped ones decompressed), sorted by
/// name; `None` after printing a skip line when they are missing outside
/// CI. Panics in a privileged run, where a missing corpus is a broken
/// test machine.
pub fn keepalived_samples(test: &str) -> Option<Vec<Sample>> {
    let dir = samples_dir();
    match read_samples(&dir) {
        Ok(samples) if !samples.is_empty() => Some(samples),
        outcome => {
            let why = match outcome {
                Err(e) => format!("cannot read {}: {e}", dir.display()),
                Ok(_) => format!("no keepalived.conf* files in {}", dir.display()),
            };
            let privileged = std::env::var("LVSTOP_TEST_PRIVILEGED").is_ok_and(|v| v == "1");
            if privileged {
                panic!(
                    "{test}: keepalived's sample configurations are missing ({why}); \
                     install Debian's keepalived package or set {SAMPLES_VAR}"
                );
            }
            eprintln!(
                "skipped {test}: keepalived's sample configurations are missing ({why}); \
                 install Debian's keepalived package or set {SAMPLES_VAR}"
            );
            None
        }
    }
}

fn read_samples(dir: &Path) -> std::io::Result<Vec<Sample>> {
    let mut samples = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if let Some(sample) = read_sample(&path)? {
            samples.push(sample);
        }
    }
    if !samples.iter().any(|s| s.name == SYNOPSIS) {
        if let Some(parent) = dir.parent() {
            for candidate in [parent.join(SYNOPSIS), parent.join(format!("{SYNOPSIS}.gz"))] {
                if candidate.exists() {
                    samples.extend(read_sample(&candidate)?);
                    break;
                }
            }
        }
    }
    samples.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(samples)
}

fn read_sample(path: &Path) -> std::io::Result<Option<Sample>> {
    let Some(file_name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Ok(None);
    };
    if !file_name.starts_with("keepalived.conf") {
        return Ok(None);
    }
    let (name, text) = match file_name.strip_suffix(".gz") {
        Some(name) => (name.to_string(), gunzip(path)?),
        None => (file_name, std::fs::read_to_string(path)?),
    };
    Ok(Some(Sample {
        name,
        path: path.to_path_buf(),
        text,
    }))
}

/// Debian compresses some documentation; `gzip -dc` reads it.
fn gunzip(path: &Path) -> std::io::Result<String> {
    let output = Command::new("gzip").arg("-dc").arg(path).output()?;
    if !output.status.success() {
        return Err(std::io::Error::other(format!(
            "gzip -dc {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    String::from_utf8(output.stdout).map_err(std::io::Error::other)
}
