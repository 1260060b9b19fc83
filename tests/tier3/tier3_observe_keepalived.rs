#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real-kernel tier: the observer reads a real keepalived 2.2.7's checker
//! verdicts. In one VM boot keepalived runs the recorded fixture
//! configuration (persistent wrr DR service with TCP_CHECKs, one real
//! server listening and one not, plus a fwmark service); once IPVS shows
//! the dead real server removed, this same test binary runs inside the
//! guest (`IN_GUEST_OUT` set), finds keepalived by its default pid file and
//! writes what `read_state` returned. The host then checks it against the
//! guest's `ipvsadm -Ln`.

use crate::support;

use std::path::Path;

use lvstop::observe::keepalived::{self, FoundBy, KeepalivedService, KeepalivedState};

const TEST: &str = "keepalived_checker_verdicts_match_the_kernel_table";
/// Set inside the guest: where the in-guest half writes its result.
const IN_GUEST_OUT: &str = "LVSTOP_OBSERVE_IN_GUEST_OUT";
const CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/keepalived-dumps/checker-dr-wrr.conf"
);

fn guest_script(out: &Path) -> String {
    let o = out.display();
    let me = std::env::current_exe().unwrap();
    let has = |rs: &str| format!("ipvsadm -Ln | grep -q ' {rs} '");
    [
        "modprobe ip_vs; modprobe ip_vs_wrr; modprobe ip_vs_rr; modprobe veth".to_string(),
        "ip link set lo up".into(),
        "ip link add vkv0 type veth peer name vkv1".into(),
        "ip addr add 198.51.100.1/24 dev vkv0".into(),
        "ip link set vkv0 up; ip link set vkv1 up".into(),
        "ip addr add 198.51.100.71/32 dev lo".into(),
        "ip addr add 198.51.100.72/32 dev lo".into(),
        // The live real server listens before keepalived's first check.
        "python3 -m http.server --bind 198.51.100.71 80 > /dev/null 2>&1 &".into(),
        "for i in $(seq 100); do python3 -c 'import socket; socket.create_connection((\"198.51.100.71\", 80), 1)' 2>/dev/null && break; sleep 0.2; done".into(),
        format!("keepalived -n -l -D -f {CONFIG} > {o}/keepalived.log 2>&1 &"),
        format!(
            "for i in $(seq 150); do {} && ! {} && break; sleep 0.2; done",
            has("198.51.100.71:80"),
            has("198.51.100.72:80")
        ),
        format!("ipvsadm -Ln > {o}/ipvsadm.txt"),
        format!(
            "{IN_GUEST_OUT}={o} {} --exact {exact} --nocapture > {o}/guest-test.log 2>&1",
            me.display(),
        exact = support::test_path(module_path!(), TEST)
        ),
        "kill -TERM $(cat /run/keepalived.pid); sleep 1".into(),
        format!("echo done > {o}/done"),
    ]
    .join("\n")
        + "\n"
}

/// The in-guest half: find keepalived, read its state, write it out.
fn in_guest(out: &Path) {
    let process = keepalived::find().expect("keepalived runs in the guest");
    let state = keepalived::read_state(&process, keepalived::DEFAULT_DUMP_WAIT);
    std::fs::write(
        out.join("state.json"),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();
}

#[test]
fn keepalived_checker_verdicts_match_the_kernel_table() {
    if let Some(out) = std::env::var_os(IN_GUEST_OUT) {
        in_guest(Path::new(&out));
        return;
    }
    let Some(_group) = support::privileged_test(module_path!(), TEST) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let script = out.join("guest.sh");
    std::fs::write(&script, guest_script(out)).unwrap();
    let run = support::vm::run(&format!("sh {}", script.display()), Some(out));
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    assert!(
        out.join("done").exists() && out.join("state.json").exists(),
        "the guest did not finish: {}\n{}\nguest test:\n{}\nkeepalived:\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
        read("guest-test.log"),
        read("keepalived.log")
    );
    let state: KeepalivedState = serde_json::from_str(&read("state.json")).unwrap();
    let ipvsadm = read("ipvsadm.txt");
    let context = format!("{state:#?}\n{ipvsadm}");

    // Found by Debian's default pid file, with both children.
    assert_eq!(
        state.process.found_by,
        FoundBy::PidFile("/run/keepalived.pid".into()),
        "{context}"
    );
    assert!(state.process.vrrp_pid.is_some(), "{context}");
    assert!(state.process.checker_pid.is_some(), "{context}");
    let instances = state.instances.as_ref().expect("the JSON dump");
    assert_eq!(instances[0].name, "VI_1", "{context}");
    assert_eq!(instances[0].base_priority, Some(150), "{context}");

    // keepalived's verdicts agree with the kernel's table.
    let servers = state.virtual_servers.as_ref().expect("the checker dump");
    let web = servers
        .iter()
        .find(|s| s.service.to_string() == "198.51.100.100:80")
        .expect("the web service");
    assert_eq!(web.scheduler.as_deref(), Some("wrr"));
    assert_eq!(web.forwarding.as_deref(), Some("DR"));
    assert_eq!(web.persistence_timeout_secs, Some(60));
    for (rs, up) in [("198.51.100.71", true), ("198.51.100.72", false)] {
        let real = web
            .real_servers
            .iter()
            .find(|r| r.address.to_string() == rs)
            .unwrap_or_else(|| panic!("{rs} missing\n{context}"));
        assert_eq!(real.alive, Some(up), "{rs}\n{context}");
        assert_eq!(real.in_ipvs, Some(up), "{rs}\n{context}");
        assert_eq!(real.checkers.len(), 1, "{rs}\n{context}");
        assert_eq!(real.checkers[0].kind.as_deref(), Some("TCP_CHECK"));
        assert_eq!(real.checkers[0].up, Some(up), "{rs}\n{context}");
        assert_eq!(
            ipvsadm.contains(&format!("  -> {rs}:80 ")),
            up,
            "{rs}\n{context}"
        );
    }
    assert!(
        servers
            .iter()
            .any(|s| s.service == KeepalivedService::Fwmark(7)),
        "{context}"
    );
}
