//! Privileged tier: `lvstop realserver` and the rtnetlink address API inside
//! fresh network namespaces, checked with `ip` and `/proc/sys`.
//!
//! The binary runs under `ip netns exec`, which also gives it the
//! namespace's `/proc/sys/net`. The address API runs on a thread that
//! joined the namespace with setns(2). Addresses come from 198.51.100.0/24
//! and 2001:db8::/32 only; no traffic is sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::net::IpAddr;
use std::path::Path;
use std::process::Output;

use lvstop::net::address::{AddOutcome, AddressSpec, Addresses, RemoveOutcome, Scope};
use support::netns::Netns;

const LVSTOP: &str = env!("CARGO_BIN_EXE_lvstop");

fn lvstop(ns: &Netns, state: &Path, args: &[&str]) -> Output {
    let mut full = vec!["realserver"];
    full.extend_from_slice(args);
    let state = format!("--state-file={}", state.display());
    full.push(&state);
    ns.try_exec(LVSTOP, &full)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn lo_addrs(ns: &Netns) -> String {
    String::from_utf8_lossy(&ns.exec("ip", &["-o", "addr", "show", "dev", "lo"]).stdout)
        .into_owned()
}

fn sysctl(ns: &Netns, name: &str) -> String {
    let out = ns.exec("cat", &[&format!("/proc/sys/net/ipv4/conf/{name}")]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn set_sysctl(ns: &Netns, name: &str, value: &str) {
    ns.exec(
        "sysctl",
        &["-q", "-w", &format!("net.ipv4.conf.{name}={value}")],
    );
}

#[test]
fn realserver_start_status_stop_round_trip() {
    let Some(_group) =
        support::privileged_test(module_path!(), "realserver_start_status_stop_round_trip")
    else {
        return;
    };
    let ns = Netns::new(&support::unique_name("lvsRS"));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("run/realserver.json");
    // Non-default values, to prove stop restores rather than zeroes.
    set_sysctl(&ns, "all.arp_ignore", "2");
    set_sysctl(&ns, "lo.arp_announce", "1");

    let out = lvstop(&ns, &state, &["start", "--vip", "198.51.100.88"]);
    assert!(out.status.success(), "{}", text(&out));
    let addrs = lo_addrs(&ns);
    assert!(
        addrs.contains("inet 198.51.100.88/32 scope host lo:0"),
        "{addrs}"
    );
    for (name, want) in [
        ("lo/arp_ignore", "1"),
        ("lo/arp_announce", "2"),
        ("all/arp_ignore", "1"),
        ("all/arp_announce", "2"),
    ] {
        assert_eq!(sysctl(&ns, name), want, "{name}");
    }
    assert!(state.exists());

    let again = lvstop(&ns, &state, &["start", "--vip", "198.51.100.88"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("already in place"),
        "{}",
        text(&again)
    );
    assert_eq!(lo_addrs(&ns), addrs, "second start changed addresses");

    let status = lvstop(&ns, &state, &["status"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    assert!(
        text(&status).contains("VIP 198.51.100.88/32 on lo (label lo:0): present"),
        "{}",
        text(&status)
    );

    set_sysctl(&ns, "all.arp_ignore", "0");
    let status = lvstop(&ns, &state, &["status", "--vip", "198.51.100.88"]);
    assert_eq!(status.status.code(), Some(3), "{}", text(&status));
    assert!(
        text(&status).contains("net.ipv4.conf.all.arp_ignore = 0: should be 1 for DR"),
        "{}",
        text(&status)
    );

    let stop = lvstop(&ns, &state, &["stop"]);
    assert!(stop.status.success(), "{}", text(&stop));
    assert!(
        !lo_addrs(&ns).contains("198.51.100.88"),
        "{}",
        lo_addrs(&ns)
    );
    for (name, want) in [
        ("lo/arp_ignore", "0"),
        ("lo/arp_announce", "1"),
        ("all/arp_ignore", "2"),
        ("all/arp_announce", "0"),
    ] {
        assert_eq!(sysctl(&ns, name), want, "{name} not restored");
    }
    assert!(!state.exists(), "stop left the state file behind");

    let status = lvstop(&ns, &state, &["status", "--vip", "198.51.100.88"]);
    assert_eq!(status.status.code(), Some(3), "{}", text(&status));
    assert!(text(&status).contains("missing"), "{}", text(&status));
}

#[test]
fn realserver_refuses_bad_command_lines_without_changing_anything() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "realserver_refuses_bad_command_lines_without_changing_anything",
    ) else {
        return;
    };
    let ns = Netns::new(&support::unique_name("lvsRE"));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("realserver.json");
    let cases: [(&[&str], i32, &str); 4] = [
        (&["start"], 2, "start needs --vip"),
        (
            &["start", "--vip", "300.1.1.1"],
            2,
            "'300.1.1.1' is not an IP address",
        ),
        (
            &["start", "--vip", "198.51.100.88", "--dev", "eth9"],
            1,
            "no such interface 'eth9'",
        ),
        (
            &["reload", "--vip", "198.51.100.88"],
            2,
            "unknown action 'reload'",
        ),
    ];
    for (args, code, message) in cases {
        let out = lvstop(&ns, &state, args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(message), "{args:?}: {}", text(&out));
    }
    assert!(!state.exists(), "a failed start saved state");
    assert_eq!(sysctl(&ns, "all/arp_ignore"), "0");
}

/// Runs `f` on a thread inside the namespace, with its own runtime.
fn in_netns<F, Fut>(ns: &Netns, f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let path = format!("/var/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f());
    })
    .join()
    .unwrap();
}

#[test]
fn address_api_adds_lists_and_removes_idempotently() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "address_api_adds_lists_and_removes_idempotently",
    ) else {
        return;
    };
    let ns = Netns::new(&support::unique_name("lvsRA"));
    // A veth pair inside the namespace: the dummy module may be missing.
    let dummy = support::unique_name("va");
    let peer = support::unique_name("vb");
    ns.exec(
        "ip",
        &["link", "add", &dummy, "type", "veth", "peer", "name", &peer],
    );
    ns.exec("ip", &["link", "set", &dummy, "up"]);
    let ifname = dummy.clone();
    in_netns(&ns, move || async move {
        let addrs = Addresses::connect().unwrap();
        let mut spec = AddressSpec::host(&ifname, "198.51.100.10".parse().unwrap());
        spec.prefix_len = 24;
        spec.broadcast = Some("198.51.100.255".parse().unwrap());
        spec.scope = Scope::Link;
        spec.label = Some(format!("{ifname}:7"));
        assert_eq!(addrs.add(&spec).await.unwrap(), AddOutcome::Added);
        assert_eq!(addrs.add(&spec).await.unwrap(), AddOutcome::AlreadyPresent);
        let found = addrs.find(&spec).await.unwrap().unwrap();
        assert_eq!(found.scope, Some(Scope::Link));
        assert_eq!(found.label.as_deref(), Some(format!("{ifname}:7").as_str()));
        assert_eq!(found.broadcast, spec.broadcast);

        let v6 = AddressSpec::host(&ifname, "2001:db8::10".parse().unwrap());
        assert_eq!(addrs.add(&v6).await.unwrap(), AddOutcome::Added);
        let listed: Vec<IpAddr> = addrs
            .list(&ifname)
            .await
            .unwrap()
            .iter()
            .map(|a| a.addr)
            .collect();
        assert!(
            listed.contains(&v6.addr) && listed.contains(&spec.addr),
            "{listed:?}"
        );

        assert_eq!(addrs.remove(&spec).await.unwrap(), RemoveOutcome::Removed);
        assert_eq!(addrs.remove(&spec).await.unwrap(), RemoveOutcome::Absent);
        assert_eq!(addrs.remove(&v6).await.unwrap(), RemoveOutcome::Removed);
        assert!(addrs.find(&spec).await.unwrap().is_none());

        let missing = AddressSpec::host("eth9", "198.51.100.11".parse().unwrap());
        let err = addrs.add(&missing).await.unwrap_err().to_string();
        assert_eq!(err, "no such interface 'eth9'");
        let mut bad = spec.clone();
        bad.label = Some("eth0:0".into());
        let err = addrs.add(&bad).await.unwrap_err().to_string();
        assert!(err.contains("must start with the interface name"), "{err}");
    });
    // Checked from outside, through ip: nothing is left behind.
    let shown =
        String::from_utf8_lossy(&ns.exec("ip", &["-o", "addr", "show", "dev", &dummy]).stdout)
            .into_owned();
    assert!(!shown.contains("198.51.100.10"), "{shown}");
}

#[test]
fn realserver_without_cap_net_admin_says_what_it_needs() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "realserver_without_cap_net_admin_says_what_it_needs",
    ) else {
        return;
    };
    let ns = Netns::new(&support::unique_name("lvsRP"));
    let dir = tempfile::tempdir().unwrap();
    // nobody must be able to write the state file, so the refusal comes from
    // the kernel and not from the file system.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let state = format!("--state-file={}", dir.path().join("rs.json").display());
    let as_nobody = |args: &[&str]| {
        let mut full = vec![
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            LVSTOP,
            "realserver",
        ];
        full.extend_from_slice(args);
        full.push(&state);
        ns.try_exec(full[0], &full[1..])
    };
    let out = as_nobody(&["start", "--vip", "198.51.100.88"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("permission denied changing addresses on 'lo': needs CAP_NET_ADMIN"),
        "{}",
        text(&out)
    );
    // Reading needs no privilege: status works and reports the gap.
    let out = as_nobody(&["status", "--vip", "198.51.100.88"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(!lo_addrs(&ns).contains("198.51.100.88"));
}
