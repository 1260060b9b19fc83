#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `lvstop demo` in a real terminal: tmux at 80×24, keys sent with
//! send-keys, the screen read with capture-pane. The VIP row and both
//! real servers appear; a drain sets the weight to 0 and the active count
//! falls to 0; a forced failover swaps the roles; a stopped real server
//! turns ▼ with its reason and comes back; quitting while MASTER asks,
//! and the terminal is given back.

mod support;

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use support::daemon::LVSTOP;

struct Tmux {
    socket: String,
    _home: tempfile::TempDir,
}

impl Tmux {
    fn start(command: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("skipped: tmux is not installed (.ci/run installs it)");
            return None;
        }
        let home = tempfile::tempdir().unwrap();
        let socket = support::unique_name("lvstop-tmux");
        let status = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-x", "80", "-y", "24"])
            .arg(format!(
                "env HOME={h} XDG_STATE_HOME={h}/state XDG_CONFIG_HOME={h}/config TERM=xterm-256color {command}; echo EXITED=$?; sleep 60",
                h = home.path().display()
            ))
            .status()
            .unwrap();
        assert!(status.success());
        Some(Tmux {
            socket,
            _home: home,
        })
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "0", key])
                .status()
                .unwrap();
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn screen(&self) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Wait up to `seconds` for `check` on the screen.
    fn until(&self, what: &str, seconds: u64, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The fields of the real server row `addr` (`▲ -> ADDR Forward Weight
/// ActiveConn InActConn CPS BPS State`).
fn row(screen: &str, addr: &str) -> Option<Vec<String>> {
    screen
        .lines()
        .find(|l| l.contains(&format!("-> {addr} ")))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
}

fn field(screen: &str, addr: &str, index: usize) -> Option<String> {
    row(screen, addr).and_then(|r| r.get(index).cloned())
}

#[test]
fn the_demo_in_a_real_terminal_runs_the_seeds_checks() {
    let port = TcpListener::bind("127.0.68.88:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let vip = format!("127.0.68.88:{port}");
    let Some(tmux) = Tmux::start(&format!(
        "{LVSTOP} demo --vip 127.0.68.88 --port {port} --rate 30"
    )) else {
        return;
    };
    let rs1 = "127.0.0.82:8080";
    let rs2 = "127.0.0.83:8080";

    // The VIP row and both real servers, up.
    let screen = tmux.until("the VIP and both real servers up", 30, |s| {
        s.contains(&format!("TCP  {vip}"))
            && s.contains("VI_1 MASTER prio 150")
            && field(s, rs1, 3).as_deref() == Some("Masq")
            && field(s, rs1, 0).as_deref() == Some("▲")
            && field(s, rs2, 0).as_deref() == Some("▲")
    });
    assert!(screen.starts_with(" lvs-master"), "{screen}");
    tmux.until("active connections on rs1", 30, |s| {
        field(s, rs1, 5).and_then(|a| a.parse::<u32>().ok()) > Some(0)
    });

    // Drain rs1: weight 0, then its active connections end.
    tmux.keys(&["j", "d"]);
    tmux.until("the drain dialog", 5, |s| {
        s.contains("Drain 127.0.0.82:8080?")
    });
    tmux.keys(&["y"]);
    tmux.until("rs1 draining at weight 0", 10, |s| {
        field(s, rs1, 0).as_deref() == Some("◐") && field(s, rs1, 4).as_deref() == Some("0")
    });
    tmux.until("rs1's active connections falling to 0", 90, |s| {
        field(s, rs1, 5).as_deref() == Some("0")
    });
    tmux.keys(&["r"]);
    tmux.until("rs1 restored to weight 3", 10, |s| {
        field(s, rs1, 4).as_deref() == Some("3") && field(s, rs1, 0).as_deref() == Some("▲")
    });

    // A forced failover: the backup becomes MASTER and the console
    // follows it.
    tmux.keys(&["2", "F"]);
    tmux.until("the failover dialog", 5, |s| {
        s.contains("Force failover of VI_1?")
    });
    tmux.keys(&["y"]);
    let screen = tmux.until("the backup director as MASTER", 20, |s| {
        s.starts_with(" lvs-backup") && s.contains("VI_1 MASTER prio 100")
    });
    assert!(screen.contains("master 127.0.0.81"), "{screen}");

    // A stopped real server turns ▼ with the reason, and comes back.
    tmux.keys(&["1", ":demo stop rs1", "Enter"]);
    let screen = tmux.until("rs1 down with a reason", 20, |s| {
        field(s, rs1, 0).as_deref() == Some("▼")
    });
    assert!(screen.contains("HTTP_GET connection refused"), "{screen}");
    tmux.keys(&[":demo start rs1", "Enter"]);
    tmux.until("rs1 back up", 20, |s| {
        field(s, rs1, 0).as_deref() == Some("▲")
    });

    // Quitting while MASTER asks first; then the terminal is given back.
    tmux.keys(&["q"]);
    tmux.until("the quit question", 5, |s| s.contains("MASTER"));
    tmux.keys(&["y"]);
    let screen = tmux.until("lvstop to exit", 30, |s| s.contains("EXITED="));
    assert!(screen.contains("EXITED=0"), "{screen}");
}
