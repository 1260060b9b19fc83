#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Privileged tier: one console over a VRRP pair. Two `lvstop daemon`s in
//! network namespaces, the console in a real tmux at 80×24 attached to
//! both with `--director`. The strip under the header shows each side's
//! role; when VRRP between them is blocked (nftables drops IP protocol 112
//! on the backup) both become MASTER and the header raises the split-brain
//! alarm, which clears when adverts flow again; when the master stops, the
//! strip shows it unreachable and the other side MASTER, and the console
//! picks the master up again when it returns. `--once` with both prints
//! each under its heading, `--json` an array.

use crate::harness;
use crate::support;

use std::process::Command;
use std::time::Duration;

use harness::{eventually, vrrp_config, Director, Lan};
use support::daemon::LVSTOP;
use support::tmux::Tmux;

const WAIT: Duration = Duration::from_secs(20);

/// The strip line of director `name` (`▶ lb-a  VI_1 MASTER`).
fn strip_line(screen: &str, name: &str) -> String {
    screen
        .lines()
        .find(|l| l.len() > 3 && l[..l.len().min(12)].contains(&format!(" {name} ")))
        .unwrap_or_default()
        .to_string()
}

fn role(screen: &str, name: &str, state: &str) -> bool {
    strip_line(screen, name).contains(&format!("VI_1 {state}"))
}

/// Drop every VRRP advert arriving in `ns` (nftables, its own table).
fn block_vrrp(ns: &support::netns::Netns) {
    ns.exec("nft", &["add", "table", "ip", "lvstop_test"]);
    ns.exec(
        "nft",
        &["add chain ip lvstop_test input { type filter hook input priority 0 ; }"],
    );
    ns.exec(
        "nft",
        &[
            "add",
            "rule",
            "ip",
            "lvstop_test",
            "input",
            "ip",
            "protocol",
            "112",
            "drop",
        ],
    );
}

fn unblock_vrrp(ns: &support::netns::Netns) {
    ns.exec("nft", &["delete", "table", "ip", "lvstop_test"]);
}

#[test]
fn the_console_over_a_pair_sees_failover_from_both_sides_and_the_split_brain() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "the_console_over_a_pair_sees_failover_from_both_sides_and_the_split_brain",
    ) else {
        return;
    };
    let lan = Lan::new();
    let a_conf = vrrp_config(&lan.a_if, 150, 2, "1", "");
    let b_conf = vrrp_config(&lan.b_if, 100, 2, "1", "");
    let mut a = Director::lvstop(&lan.a, &a_conf);
    let b = Director::lvstop(&lan.b, &b_conf);
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A never became the only master\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    // The console reaches lb-a through a link, as through an ssh-forwarded
    // socket, so the restarted daemon (a socket of its own) is found there.
    let links = tempfile::tempdir().unwrap();
    let lb_a = links.path().join("lb-a.sock");
    std::os::unix::fs::symlink(a.socket(), &lb_a).unwrap();
    let directors = format!(
        "--director lb-a={} --director lb-b={}",
        lb_a.display(),
        b.socket().display()
    );

    // --once: each director under its heading; --json an array.
    let once = Command::new("sh")
        .arg("-c")
        .arg(format!("{LVSTOP} --once -n {directors}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&once.stdout);
    assert!(
        once.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&once.stderr)
    );
    let heading_a = text.find("==> director lb-a (").expect(&text);
    let heading_b = text.find("==> director lb-b (").expect(&text);
    assert!(heading_a < heading_b, "{text}");
    assert!(text[heading_a..heading_b].contains("VI_1"), "{text}");
    let json = Command::new("sh")
        .arg("-c")
        .arg(format!("{LVSTOP} --once --json {directors}"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let list = json.as_array().expect("an array");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["director"], "lb-a");
    assert_eq!(list[0]["vrrp"]["instances"][0]["state"], "MASTER");
    assert_eq!(list[1]["director"], "lb-b");
    assert_eq!(list[1]["vrrp"]["instances"][0]["state"], "BACKUP");

    // The console attached to both.
    let Some(tmux) = Tmux::start(&format!("{LVSTOP} {directors}")) else {
        return;
    };
    let screen = tmux.until("lb-a MASTER and lb-b BACKUP on the strip", 30, |s| {
        role(s, "lb-a", "MASTER") && role(s, "lb-b", "BACKUP")
    });
    assert!(!screen.contains("SPLIT BRAIN"), "{screen}");
    assert!(strip_line(&screen, "lb-a").contains('▶'), "{screen}");

    // VRRP blocked on the backup: it hears no master and takes the VIP
    // too; the header raises the alarm.
    block_vrrp(&lan.b);
    let screen = tmux.until("the split-brain alarm", 30, |s| {
        s.contains("SPLIT BRAIN: VI_1 is MASTER on lb-a and lb-b")
    });
    assert!(
        role(&screen, "lb-a", "MASTER") && role(&screen, "lb-b", "MASTER"),
        "{screen}"
    );
    assert!(
        screen.lines().take(3).any(|l| l.contains("SPLIT BRAIN")),
        "the alarm is not in the header:\n{screen}"
    );
    unblock_vrrp(&lan.b);
    tmux.until("the alarm clearing once adverts flow", 30, |s| {
        !s.contains("SPLIT BRAIN") && role(s, "lb-a", "MASTER") && role(s, "lb-b", "BACKUP")
    });

    // The master stops: the strip shows it unreachable and the other side
    // MASTER.
    a.stop();
    let screen = tmux.until("lb-b MASTER with lb-a unreachable", 30, |s| {
        role(s, "lb-b", "MASTER") && strip_line(s, "lb-a").contains("UNREACHABLE")
    });
    assert!(!screen.contains("SPLIT BRAIN"), "{screen}");

    // Switch the screens to lb-b: its VRRP line shows it MASTER.
    tmux.keys(&[">"]);
    tmux.until("lb-b shown", 10, |s| {
        strip_line(s, "lb-b").contains('▶') && s.contains("showing director lb-b")
    });

    // The master comes back, is attached again, and preempts.
    let a = Director::lvstop(&lan.a, &a_conf);
    std::fs::remove_file(&lb_a).unwrap();
    std::os::unix::fs::symlink(a.socket(), &lb_a).unwrap();
    tmux.until("lb-a MASTER again, lb-b BACKUP", 40, |s| {
        role(s, "lb-a", "MASTER") && role(s, "lb-b", "BACKUP")
    });
    tmux.keys(&["q"]);
    tmux.until("the console exits", 10, |s| s.contains("EXITED=0"));
}
