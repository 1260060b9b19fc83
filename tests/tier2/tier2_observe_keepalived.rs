//! Privileged tier: the observer reads a real keepalived 2.2.7's own view.
//! keepalived A runs in a network namespace with a private `/tmp` (as
//! under systemd's `PrivateTmp`); keepalived B, a higher-priority peer for
//! one of A's two instances, joins once A is master of both. lvstop finds A by its pid file and
//! in the process table, and its dumps show what an operator would check:
//! which instance is master, who the other master is, and the effective
//! priority dropping when a tracked interface goes down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lvstop::observe::keepalived::{
    self, process, FoundBy, KeepalivedInstance, KeepalivedState, KeepalivedVrrpState,
};
use support::netns::{link, Netns};

/// A keepalived child, stopped (TERM, then reaped) when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn config_a(vrrp_if: &str, tracked_if: &str) -> String {
    format!(
        "global_defs {{\n    router_id OBSERVED_A\n}}\n\
vrrp_instance VI_1 {{\n    state BACKUP\n    interface {vrrp_if}\n    virtual_router_id 61\n    priority 150\n    advert_int 1\n\
    track_interface {{\n        {tracked_if} weight -30\n    }}\n\
    virtual_ipaddress {{\n        198.51.100.100/32\n    }}\n}}\n\
vrrp_instance VI_2 {{\n    state BACKUP\n    interface {vrrp_if}\n    virtual_router_id 62\n    priority 100\n    advert_int 1\n\
    virtual_ipaddress {{\n        198.51.100.101/32\n    }}\n}}\n"
    )
}

fn config_b(vrrp_if: &str) -> String {
    format!(
        "global_defs {{\n    router_id OBSERVED_B\n}}\n\
vrrp_instance VI_1 {{\n    state BACKUP\n    interface {vrrp_if}\n    virtual_router_id 61\n    priority 200\n    advert_int 1\n\
    virtual_ipaddress {{\n        198.51.100.100/32\n    }}\n}}\n"
    )
}

/// Starts keepalived in `ns` with a tmpfs of its own on `/tmp` (its dumps
/// are then reachable only through `/proc/PID/root`). The command line is
/// the test's own; the exec chain keeps keepalived's pid the child's.
fn spawn_private_tmp(ns: &Netns, dir: &Path, config: &str) -> Running {
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, config).unwrap();
    let log = std::fs::File::create(dir.join("log")).unwrap();
    let p = |name: &str| dir.join(name).display().to_string();
    let script = format!(
        "mount -t tmpfs lvstop-test /tmp && exec keepalived -n -l -D -P -f {} -p {} -r {} -c {}",
        conf.display(),
        p("k.pid"),
        p("v.pid"),
        p("c.pid")
    );
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "unshare",
            "-m",
            "--propagation",
            "private",
        ])
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("ip netns exec, unshare and keepalived are installed");
    Running(child)
}

fn instance<'a>(state: &'a KeepalivedState, name: &str) -> Option<&'a KeepalivedInstance> {
    state
        .instances
        .as_ref()
        .ok()?
        .iter()
        .find(|i| i.name == name)
}

/// Reads A's state until `wanted` holds (bounded); returns the last read.
fn read_until(
    process: &process::KeepalivedProcess,
    what: &str,
    log: &Path,
    wanted: impl Fn(&KeepalivedState) -> bool,
) -> KeepalivedState {
    let mut last = None;
    for _ in 0..40 {
        let state = keepalived::read_state(process, keepalived::DEFAULT_DUMP_WAIT);
        if wanted(&state) {
            return state;
        }
        last = Some(state);
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "never saw {what}; last read: {last:#?}\nlog:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

#[test]
fn the_observer_reads_keepalived_own_view() {
    let Some(_group) =
        support::privileged_test(module_path!(), "the_observer_reads_keepalived_own_view")
    else {
        return;
    };
    let a = Netns::new(&support::unique_name("oka"));
    let b = Netns::new(&support::unique_name("okb"));
    let (a_if, b_if) = link(&a, "198.51.100.1/24", &b, "198.51.100.2/24");
    let (a_tracked, _) = link(&a, "198.51.100.201/32", &b, "198.51.100.202/32");
    let dir_a = support::dir_outside_tmp();
    let dir_b = tempfile::tempdir().unwrap();
    let observed = spawn_private_tmp(&a, dir_a.path(), &config_a(&a_if, &a_tracked));
    let pid = observed.0.id();
    let log = dir_a.path().join("log");

    // By its pid file, with its VRRP child and configuration.
    let pid_file = dir_a.path().join("k.pid");
    let mut found = None;
    for _ in 0..100 {
        found = process::from_pid_file(&pid_file).filter(|p| p.vrrp_pid.is_some());
        if found.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let found = found.unwrap_or_else(|| {
        panic!(
            "no live keepalived behind {}\n{}",
            pid_file.display(),
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    assert_eq!(found.pid, pid);
    assert_eq!(found.found_by, FoundBy::PidFile(pid_file.clone()));
    let vrrp_pid: u32 = std::fs::read_to_string(dir_a.path().join("v.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(found.vrrp_pid, Some(vrrp_pid));
    assert_eq!(found.checker_pid, None, "-P runs no checker");
    assert_eq!(found.children, Some(vec![vrrp_pid]));
    assert!(found.may_run_vrrp() && !found.may_run_checker());
    assert_eq!(
        found.config_file.as_deref(),
        Some(dir_a.path().join("keepalived.conf").as_path())
    );
    assert_eq!(found.same_net_namespace, Some(false));
    assert_eq!(
        found.root,
        Path::new("/proc").join(pid.to_string()).join("root")
    );

    // In the process table, as the parent and never as its child.
    let table = process::find_all();
    let listed = table
        .iter()
        .find(|p| p.pid == pid)
        .expect("A in the process table");
    assert_eq!(listed.found_by, FoundBy::ProcessTable);
    assert_eq!(
        listed.vrrp_pid,
        Some(vrrp_pid),
        "the child that blocks the JSON signal"
    );
    assert!(!listed.may_run_checker());
    assert_eq!(listed.config_file, found.config_file);
    assert!(
        table.iter().all(|p| p.pid != vrrp_pid),
        "a child listed as a keepalived: {table:?}"
    );

    // Alone, A becomes master of both.
    let alone = read_until(&found, "A MASTER of VI_1 and VI_2", &log, |s| {
        ["VI_1", "VI_2"].iter().all(|name| {
            instance(s, name).is_some_and(|i| i.state == Some(KeepalivedVrrpState::Master))
        })
    });
    assert_eq!(instance(&alone, "VI_1").unwrap().master_address, None);

    // B (200) starts and takes VI_1; A keeps VI_2 alone.
    let _peer = Running(support::keepalived::spawn(
        &b,
        &config_b(&b_if),
        dir_b.path(),
    ));
    // B (200) is master of VI_1, A of VI_2 alone.
    let settled = read_until(&found, "VI_1 BACKUP under B and VI_2 MASTER", &log, |s| {
        instance(s, "VI_1").is_some_and(|i| {
            i.state == Some(KeepalivedVrrpState::Backup) && i.master_address.is_some()
        }) && instance(s, "VI_2").is_some_and(|i| i.state == Some(KeepalivedVrrpState::Master))
    });
    assert_eq!(
        settled.virtual_servers,
        Ok(Vec::new()),
        "no checker, no virtual servers"
    );
    let vi1 = instance(&settled, "VI_1").unwrap();
    assert_eq!(vi1.vrid, Some(61));
    assert_eq!(vi1.interface.as_deref(), Some(a_if.as_str()));
    assert_eq!(
        (vi1.base_priority, vi1.effective_priority),
        (Some(150), Some(150))
    );
    assert_eq!(vi1.master_priority, Some(200));
    assert_eq!(
        vi1.master_address,
        Some("198.51.100.2".parse::<IpAddr>().unwrap()),
        "{}",
        std::fs::read_to_string(found.tmp_file(keepalived::VRRP_DATA_FILE)).unwrap_or_default()
    );
    assert!(!vi1.vips[0].installed, "{vi1:?}");
    let vi2 = instance(&settled, "VI_2").unwrap();
    assert_eq!(vi2.vips[0].address, "198.51.100.101");
    assert!(vi2.vips[0].installed, "{vi2:?}");
    // Read through A's own /tmp, not this host's.
    assert!(found.tmp_file(keepalived::JSON_FILE).exists());

    // The tracked interface goes down: VI_1's effective priority drops by 30.
    a.exec("ip", &["link", "set", &a_tracked, "down"]);
    let dropped = read_until(&found, "VI_1 at effective priority 120", &log, |s| {
        instance(s, "VI_1").is_some_and(|i| i.effective_priority == Some(120))
    });
    assert_eq!(instance(&dropped, "VI_1").unwrap().base_priority, Some(150));

    // The reads never disturbed it.
    assert!(
        process::from_pid_file(&pid_file).is_some(),
        "A is gone:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    drop(observed);
}
