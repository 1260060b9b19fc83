//! The configuration generator behind the differential test: seeded, so a
//! file is rewritten identically from its seed and index.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod grammar;
pub mod mutate;
pub mod preprocess;
pub mod rng;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rng::Rng;

/// Script files with the permissions keepalived's script checks tell
/// apart, written once per run beside the generated configurations.
pub struct Fixtures {
    pub executable: String,
    pub world_writable: String,
    pub not_executable: String,
}

impl Fixtures {
    pub fn write(dir: &Path) -> Self {
        let scripts = dir.join("scripts");
        std::fs::create_dir_all(&scripts).unwrap();
        std::fs::set_permissions(&scripts, std::fs::Permissions::from_mode(0o755)).unwrap();
        let make = |name: &str, mode: u32| {
            let path = scripts.join(name);
            std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path.to_str().unwrap().to_string()
        };
        Self {
            executable: make("check.sh", 0o755),
            world_writable: make("writable.sh", 0o777),
            not_executable: make("plain.sh", 0o644),
        }
    }
}

/// The samples the mutations start from.
pub fn samples(dir: &Path) -> Vec<String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("keepalived.conf"))
                })
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

/// Writes configuration number `index` of the run seeded `seed` into
/// `dir` and returns its path (an included file sits beside it).
pub fn write_case(
    dir: &Path,
    seed: u64,
    index: usize,
    fx: &Fixtures,
    samples: &[String],
) -> PathBuf {
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let main = dir.join(format!("case-{index:06}.conf"));
    let include = dir.join(format!("case-{index:06}.inc"));
    let include_text = include.to_str().unwrap().to_string();
    let (text, included) = if !samples.is_empty() && rng.chance(35) {
        let sample = rng.pick(samples).clone();
        (mutate::mutate(&mut rng, &sample), None)
    } else {
        grammar::compose(&mut rng, fx, &include_text)
    };
    std::fs::write(&main, text).unwrap();
    if let Some(other) = included {
        std::fs::write(&include, other).unwrap();
    }
    main
}
