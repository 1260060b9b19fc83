//! The realserver state file: what `start` put in place and the sysctl
//! values it found before, so `stop` can undo exactly that. JSON, written
//! atomically, directory 0755 and file 0644 (it holds nothing secret).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RealserverError;

/// What `start` saved, so `stop` can undo it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Format version.
    pub version: u32,
    /// Device holding the VIPs.
    pub dev: String,
    /// VIPs put in place.
    pub vips: Vec<IpAddr>,
    /// Sysctl values before the first `start`, keyed `net.ipv4.conf.<if>.<key>`.
    pub saved: BTreeMap<String, i64>,
}

impl State {
    /// Loads the state file; `Ok(None)` when there is none.
    pub fn load(path: &Path) -> Result<Option<Self>, RealserverError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(state_error(path, format!("cannot read: {e}"))),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| state_error(path, format!("is not a valid lvstop state file: {e}")))
    }

    /// Writes the state file atomically (temp file + rename), creating the
    /// directory with mode 0755 and the file with 0644.
    pub fn save(&self, path: &Path) -> Result<(), RealserverError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)
                .map_err(|e| state_error(path, format!("cannot create {}: {e}", dir.display())))?;
        }
        let tmp = path.with_extension("json.tmp");
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| state_error(path, format!("cannot encode: {e}")))?;
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o644)
                .open(&tmp)?;
            file.write_all(json.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| state_error(path, format!("cannot write: {e}")))
    }
}

pub(super) fn state_error(path: &Path, message: String) -> RealserverError {
    RealserverError::State {
        path: path.to_path_buf(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_file_round_trips_with_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/lvstop/realserver.json");
        assert_eq!(State::load(&path).unwrap(), None);
        let mut state = State {
            version: 1,
            dev: "lo".into(),
            vips: vec!["198.51.100.88".parse().unwrap()],
            saved: BTreeMap::new(),
        };
        state.saved.insert("net.ipv4.conf.lo.arp_ignore".into(), 0);
        state.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), Some(state));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o644);
        assert_eq!(mode(path.parent().unwrap()), 0o755);
        std::fs::write(&path, "{").unwrap();
        assert!(State::load(&path)
            .unwrap_err()
            .to_string()
            .contains("not a valid"));
    }
}
