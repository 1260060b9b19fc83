//! Real-kernel tier smoke test: Debian's kernel boots under virtme-ng, the
//! IPVS module loads, and `/proc/net/ip_vs` shows an empty table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

#[test]
fn debian_kernel_boots_and_loads_ipvs() {
    let Some(_group) =
        support::privileged_test(module_path!(), "debian_kernel_boots_and_loads_ipvs")
    else {
        return;
    };
    let out = support::vm::run("modprobe ip_vs && cat /proc/net/ip_vs", None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "VM run failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("IP Virtual Server version 1.2.1"),
        "no IPVS header in: {stdout}"
    );
    assert!(
        stdout.contains("Prot LocalAddress:Port Scheduler Flags"),
        "no table title in: {stdout}"
    );
}
