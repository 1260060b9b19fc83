//! Boots Debian's kernel (which ships the IPVS modules) with virtme-ng under
//! TCG and runs commands inside it (tier 3 of the test tiers in ARCHITECTURE.md).
//!
//! The guest sees the host's root file system read-only; `rwdir` gives it a
//! host directory to write results into.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The kernel to boot: `LVSTOP_VM_KERNEL`, else the newest `/boot/vmlinuz-*`
/// whose modules include IPVS.
pub fn kernel() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("LVSTOP_VM_KERNEL") {
        return Some(PathBuf::from(path));
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/boot")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let Some(version) = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("vmlinuz-"))
            else {
                return false;
            };
            Path::new("/lib/modules")
                .join(version)
                .join("kernel/net/netfilter/ipvs")
                .is_dir()
        })
        .collect();
    candidates.sort();
    candidates.pop()
}

/// Runs `script` (a shell command line of the test's own making, never
/// configuration data) as root inside a fresh VM. `rwdir` is writable from
/// the guest.
pub fn run(script: &str, rwdir: Option<&Path>) -> Output {
    let kernel =
        kernel().expect("no kernel with IPVS modules in /boot (apt-get install linux-image-amd64)");
    let mut command = Command::new("vng");
    command
        .arg("--run")
        .arg(&kernel)
        .args(["--disable-kvm", "--user", "root", "--memory", "1G"]);
    if let Some(dir) = rwdir {
        command.arg("--rwdir").arg(dir);
    }
    command.arg("--exec").arg(script).stdin(Stdio::null());
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run vng (pip install virtme-ng): {e}"))
}

/// [`run`], printing each line the guest appends to `progress` (a file
/// in `rwdir`) as it appears, so a long run shows its checks as they pass.
pub fn run_showing(script: &str, rwdir: &Path, progress: &Path) -> Output {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = Arc::clone(&done);
        let progress = progress.to_path_buf();
        std::thread::spawn(move || {
            let mut shown = 0;
            loop {
                let finished = done.load(Ordering::Relaxed);
                let text = std::fs::read_to_string(&progress).unwrap_or_default();
                // A read in the middle of a multi-byte character waits for
                // the next round.
                if let Some(new) = text.get(shown..).filter(|n| !n.is_empty()) {
                    eprint!("{new}");
                    shown = text.len();
                }
                if finished {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        })
    };
    let output = run(script, Some(rwdir));
    done.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    output
}
