//! A real terminal for console tests: tmux at 80×24 on a server of its
//! own, keys sent with send-keys, the screen read with capture-pane; the
//! server is killed on drop.

use std::process::Command;
use std::time::Duration;

pub struct Tmux {
    socket: String,
    _home: tempfile::TempDir,
}

impl Tmux {
    pub fn start(command: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("skipped: tmux is not installed (.ci/run installs it)");
            return None;
        }
        let home = tempfile::tempdir().unwrap();
        let socket = super::unique_name("lvtm");
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

    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "0", key])
                .status()
                .unwrap();
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn screen(&self) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Wait up to `seconds` for `check` on the screen.
    pub fn until(&self, what: &str, seconds: u64, check: impl Fn(&str) -> bool) -> String {
        let mut screen = String::new();
        let seen = super::eventually(Duration::from_secs(seconds), || {
            screen = self.screen();
            check(&screen)
        });
        assert!(seen, "never saw {what}; the screen:\n{screen}");
        screen
    }
}

impl Tmux {
    /// Quits the console (answering yes if it asks) and checks it gave
    /// the terminal back cleanly.
    pub fn quit(&self) {
        self.keys(&["q"]);
        std::thread::sleep(Duration::from_secs(1));
        if !self.screen().contains("EXITED=") {
            self.keys(&["y"]);
        }
        let screen = self.until("the console to exit", 20, |s| s.contains("EXITED="));
        assert!(screen.contains("EXITED=0"), "{screen}");
    }
}

/// The fields of the real server row `addr` on a services screen
/// (`glyph -> ADDR Forward Weight ActiveConn InActConn CPS BPS State`).
pub fn row(screen: &str, addr: &str) -> Option<Vec<String>> {
    screen
        .lines()
        .find(|l| l.contains(&format!("-> {addr} ")))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
}

/// Field `index` of the row of `addr`.
pub fn field(screen: &str, addr: &str, index: usize) -> Option<String> {
    row(screen, addr).and_then(|r| r.get(index).cloned())
}

/// Field `index` of the row of `addr`, as a number.
pub fn count(screen: &str, addr: &str, index: usize) -> Option<u64> {
    field(screen, addr, index)?.parse().ok()
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}
