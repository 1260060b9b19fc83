#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real-kernel tier: `lvstop daemon --dataplane kernel` with TCP_CHECKs
//! programs IPVS; killing a real server's listener makes `ipvsadm -Ln`
//! drop it, starting it again brings it back, and `lvstop --once` says why
//! it was down. One VM boot (virtme-ng, Debian's kernel) runs a script of
//! the test's own making; results land in a host directory.

use crate::support;

use std::path::Path;

const LVSTOP: &str = env!("CARGO_BIN_EXE_lvstop");

const CONFIG: &str = "\
global_defs {
    router_id VM_TEST
}
virtual_server 198.51.100.70 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.71 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 198.51.100.72 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
";

fn script(out: &Path) -> String {
    let o = out.display();
    let listen = |ip: &str| format!("python3 -m http.server --bind {ip} 8080 > /dev/null 2>&1 &");
    // Polls (bounded) until `cond` holds, then records ipvsadm's table.
    let wait = |cond: &str, file: &str| {
        format!(
            "for i in $(seq 150); do {cond} && break; sleep 0.2; done; ipvsadm -Ln > {o}/{file}"
        )
    };
    let has_72 = "ipvsadm -Ln | grep -q '198.51.100.72:8080'";
    [
        "set -e".to_string(),
        "modprobe ip_vs".into(),
        "modprobe ip_vs_rr".into(),
        "ip link set lo up".into(),
        "ip addr add 198.51.100.70/32 dev lo".into(),
        "ip addr add 198.51.100.71/32 dev lo".into(),
        "ip addr add 198.51.100.72/32 dev lo".into(),
        listen("198.51.100.71"),
        listen("198.51.100.72"),
        "rs2=$!".into(),
        format!("cat > /tmp/k.conf <<'EOF'\n{CONFIG}EOF"),
        format!(
            "{LVSTOP} daemon -f /tmp/k.conf --dataplane kernel --socket /tmp/lvstop.sock > {o}/daemon.log 2>&1 &"
        ),
        "pid=$!".into(),
        "for i in $(seq 200); do [ -S /tmp/lvstop.sock ] && break; sleep 0.1; done".into(),
        // Both checked up (each checker's first verdict within the warmup).
        format!(
            "for i in $(seq 150); do [ $({LVSTOP} --once -n --socket /tmp/lvstop.sock | grep -c '  UP  TCP_CHECK') = 2 ] && break; sleep 0.2; done"
        ),
        format!("ipvsadm -Ln > {o}/up.ipvsadm"),
        "kill $rs2; wait $rs2 || true".into(),
        wait(&format!("! {has_72}"), "down.ipvsadm"),
        format!("{LVSTOP} --once -n --socket /tmp/lvstop.sock > {o}/down.once"),
        listen("198.51.100.72"),
        wait(has_72, "back.ipvsadm"),
        "kill -TERM $pid; wait $pid || true".into(),
        format!("ipvsadm -Ln > {o}/after-stop.ipvsadm"),
        format!("echo done > {o}/done"),
    ]
    .join("\n")
        + "\n"
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_kernel_table_follows_the_checks() {
    let Some(_group) =
        support::privileged_test(module_path!(), "the_kernel_table_follows_the_checks")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let script_path = out.join("guest.sh");
    std::fs::write(&script_path, script(out)).unwrap();
    let run = support::vm::run(&format!("sh {}", script_path.display()), Some(out));
    assert!(
        out.join("done").exists(),
        "the guest script did not finish: {}\n{}\ndaemon log:\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
        std::fs::read_to_string(out.join("daemon.log")).unwrap_or_default()
    );
    let log = read(out, "daemon.log");
    let row = |rs: &str| format!("  -> {rs}");
    let up = read(out, "up.ipvsadm");
    assert!(up.contains("TCP  198.51.100.70:80 rr"), "{up}");
    assert!(up.contains(&row("198.51.100.71:8080")), "{up}");
    assert!(up.contains(&row("198.51.100.72:8080")), "{up}");

    let down = read(out, "down.ipvsadm");
    assert!(down.contains(&row("198.51.100.71:8080")), "{down}\n{log}");
    assert!(
        !down.contains("198.51.100.72:8080"),
        "ipvsadm still lists the dead real server:\n{down}\n{log}"
    );
    assert!(
        log.contains("Removing service [198.51.100.72]:tcp:8080 from VS [198.51.100.70]:tcp:80")
    );
    let once = read(out, "down.once");
    assert!(
        once.contains("  -> 198.51.100.72:8080  DOWN  TCP_CHECK  connection refused  since "),
        "{once}"
    );

    let back = read(out, "back.ipvsadm");
    assert!(back.contains(&row("198.51.100.72:8080")), "{back}\n{log}");
    assert!(log.contains("Adding service [198.51.100.72]:tcp:8080 to VS [198.51.100.70]:tcp:80"));
    let after = read(out, "after-stop.ipvsadm");
    assert!(!after.contains("198.51.100.70:80"), "{after}");
}
