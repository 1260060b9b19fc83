//! Per-interface IPv4 sysctls (ARP answering, reverse path, local
//! sources) under `/proc/sys/net/ipv4/conf/<if>/`, and IPv6's
//! `disable_ipv6`, read
//! and written as files (no `sysctl` binary).
//!
//! [`Sysctl`] owns path construction from a root directory, so tests can
//! point it at a temporary directory; interface names are validated before
//! they touch a path, so `../` cannot escape the `conf` directory. Which
//! values a DR real server needs is decided in `realserver`, not here.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::address::validate_ifname;

/// The real `/proc/sys` root.
pub const PROC_SYS: &str = "/proc/sys";

/// The per-interface IPv4 settings lvstop manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConfKey {
    /// `arp_ignore`: which ARP requests to answer.
    ArpIgnore,
    /// `arp_announce`: which source address to announce in ARP requests.
    ArpAnnounce,
    /// `arp_filter`: answer ARP only on the interface a reply would leave.
    ArpFilter,
    /// `accept_local`: accept packets with a local source address.
    AcceptLocal,
    /// `rp_filter`: reverse path filtering.
    RpFilter,
    /// `promote_secondaries`: keep the other addresses of a prefix when
    /// its primary one goes.
    PromoteSecondaries,
    /// `net.ipv6.conf.<if>.disable_ipv6`: the one IPv6 setting here.
    DisableIpv6,
}

impl ConfKey {
    /// The file name under `conf/<if>/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::ArpIgnore => "arp_ignore",
            Self::ArpAnnounce => "arp_announce",
            Self::ArpFilter => "arp_filter",
            Self::AcceptLocal => "accept_local",
            Self::RpFilter => "rp_filter",
            Self::PromoteSecondaries => "promote_secondaries",
            Self::DisableIpv6 => "disable_ipv6",
        }
    }

    /// The directory under the sysctl root: `net/ipv4/conf`, or
    /// `net/ipv6/conf` for [`ConfKey::DisableIpv6`].
    pub fn conf_dir(self) -> &'static str {
        match self {
            Self::DisableIpv6 => "net/ipv6/conf",
            _ => "net/ipv4/conf",
        }
    }
}

/// A setting of one interface (`all` and `default` count as interfaces).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfSetting {
    /// Interface name, `all` or `default`.
    pub ifname: String,
    /// Which setting.
    pub key: ConfKey,
}

impl fmt::Display for ConfSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = self.key.conf_dir().replace('/', ".");
        write!(f, "{prefix}.{}.{}", self.ifname, self.key.file_name())
    }
}

/// Errors reading or writing a sysctl, naming the setting and the file.
#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    /// The interface name could not be a `conf` directory.
    #[error("'{0}' is not a valid interface name for a sysctl")]
    InvalidInterface(String),
    /// No such interface (its `conf` directory is missing).
    #[error("no such interface '{ifname}' ({path} does not exist)")]
    NoSuchInterface {
        /// Interface name.
        ifname: String,
        /// The missing file.
        path: PathBuf,
    },
    /// Writing needs root.
    #[error("permission denied writing {setting} ({path}): needs root")]
    PermissionDenied {
        /// Setting.
        setting: String,
        /// File.
        path: PathBuf,
    },
    /// The file does not hold a number.
    #[error("{setting} ({path}) holds '{content}', not a number")]
    NotANumber {
        /// Setting.
        setting: String,
        /// File.
        path: PathBuf,
        /// What it held.
        content: String,
    },
    /// Any other I/O failure.
    #[error("cannot {op} {setting} ({path}): {source}")]
    Io {
        /// "read" or "write".
        op: &'static str,
        /// Setting.
        setting: String,
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

/// Access to `net.ipv4.conf.*` files under a root (normally `/proc/sys`).
#[derive(Debug, Clone)]
pub struct Sysctl {
    root: PathBuf,
}

impl Default for Sysctl {
    fn default() -> Self {
        Self::new(PROC_SYS)
    }
}

impl Sysctl {
    /// Sysctls under `root` (which stands for `/proc/sys`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root this instance reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a setting, after checking the interface name.
    pub fn path(&self, setting: &ConfSetting) -> Result<PathBuf, SysctlError> {
        validate_ifname(&setting.ifname)
            .map_err(|_| SysctlError::InvalidInterface(setting.ifname.clone()))?;
        Ok(self
            .root
            .join(setting.key.conf_dir())
            .join(&setting.ifname)
            .join(setting.key.file_name()))
    }

    /// Reads a setting's integer value.
    pub fn read(&self, setting: &ConfSetting) -> Result<i64, SysctlError> {
        let path = self.path(setting)?;
        let content =
            std::fs::read_to_string(&path).map_err(|e| self.io_error("read", setting, &path, e))?;
        content.trim().parse().map_err(|_| SysctlError::NotANumber {
            setting: setting.to_string(),
            path,
            content: content.trim().to_string(),
        })
    }

    /// Writes a setting's integer value.
    pub fn write(&self, setting: &ConfSetting, value: i64) -> Result<(), SysctlError> {
        let path = self.path(setting)?;
        // Open without create/truncate semantics surprises: /proc files exist
        // or the interface does not.
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| self.io_error("write", setting, &path, e))?;
        file.write_all(format!("{value}\n").as_bytes())
            .map_err(|e| self.io_error("write", setting, &path, e))
    }

    fn io_error(
        &self,
        op: &'static str,
        setting: &ConfSetting,
        path: &Path,
        e: io::Error,
    ) -> SysctlError {
        match e.kind() {
            io::ErrorKind::NotFound => SysctlError::NoSuchInterface {
                ifname: setting.ifname.clone(),
                path: path.to_path_buf(),
            },
            io::ErrorKind::PermissionDenied => SysctlError::PermissionDenied {
                setting: setting.to_string(),
                path: path.to_path_buf(),
            },
            _ => SysctlError::Io {
                op,
                setting: setting.to_string(),
                path: path.to_path_buf(),
                source: e,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_root(ifs: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for i in ifs {
            let conf = dir.path().join("net/ipv4/conf").join(i);
            std::fs::create_dir_all(&conf).unwrap();
            std::fs::write(conf.join("arp_ignore"), "0\n").unwrap();
            std::fs::write(conf.join("arp_announce"), "0\n").unwrap();
        }
        dir
    }

    fn setting(ifname: &str, key: ConfKey) -> ConfSetting {
        ConfSetting {
            ifname: ifname.into(),
            key,
        }
    }

    #[test]
    fn reads_and_writes_under_the_root() {
        let dir = fake_root(&["lo", "all"]);
        let sysctl = Sysctl::new(dir.path());
        let s = setting("lo", ConfKey::ArpAnnounce);
        assert_eq!(sysctl.read(&s).unwrap(), 0);
        sysctl.write(&s, 2).unwrap();
        assert_eq!(sysctl.read(&s).unwrap(), 2);
        assert_eq!(s.to_string(), "net.ipv4.conf.lo.arp_announce");
    }

    #[test]
    fn traversal_in_interface_names_is_refused() {
        let dir = fake_root(&["lo"]);
        let sysctl = Sysctl::new(dir.path());
        for bad in ["..", "../../x", "lo/..", ""] {
            let err = sysctl.read(&setting(bad, ConfKey::ArpIgnore)).unwrap_err();
            assert!(
                matches!(err, SysctlError::InvalidInterface(_)),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn missing_interface_says_so() {
        let dir = fake_root(&["lo"]);
        let sysctl = Sysctl::new(dir.path());
        let err = sysctl
            .read(&setting("eth9", ConfKey::ArpIgnore))
            .unwrap_err();
        assert!(
            err.to_string().starts_with("no such interface 'eth9'"),
            "{err}"
        );
        assert!(sysctl
            .write(&setting("eth9", ConfKey::ArpIgnore), 1)
            .is_err());
    }

    #[test]
    fn garbage_is_not_a_number() {
        let dir = fake_root(&["lo"]);
        let sysctl = Sysctl::new(dir.path());
        let s = setting("lo", ConfKey::ArpIgnore);
        std::fs::write(sysctl.path(&s).unwrap(), "x\n").unwrap();
        assert!(matches!(
            sysctl.read(&s),
            Err(SysctlError::NotANumber { .. })
        ));
    }
}
