//! `lvstop daemon` as a child process for end-to-end tests: started from a
//! config file with the userspace dataplane, asked with `--once` and
//! `ctl`, killed and reaped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const LVSTOP: &str = env!("CARGO_BIN_EXE_lvstop");

pub struct Daemon {
    child: Child,
    pub socket: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    /// Start on `config` with the userspace dataplane; waits for the socket.
    pub fn start(config: &Path, dir: &Path) -> Daemon {
        Daemon::start_with(config, dir, &[])
    }

    /// The same with more daemon options.
    pub fn start_with(config: &Path, dir: &Path, extra: &[&str]) -> Daemon {
        let socket = dir.join("lvstop.sock");
        let log = dir.join("daemon.log");
        let child = Command::new(LVSTOP)
            .args(["daemon", "--dataplane", "userspace", "-f"])
            .arg(config)
            .arg("--socket")
            .arg(&socket)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let daemon = Daemon { child, socket, log };
        daemon.wait_for("the control socket", || daemon.socket.exists());
        daemon
    }

    /// Polls `ready` for up to 30 s ([`super::eventually`]); on timeout fail with the
    /// daemon's log and its last `--once -n`.
    pub fn wait_for(&self, what: &str, ready: impl FnMut() -> bool) {
        if !super::eventually(Duration::from_secs(30), ready) {
            panic!(
                "timed out waiting for {what}; daemon log:\n{}\nlast --once -n:\n{}",
                self.log_text(),
                String::from_utf8_lossy(&self.once(&["-n"]).stdout)
            );
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `lvstop --once ARGS --socket …`.
    pub fn once(&self, args: &[&str]) -> Output {
        Command::new(LVSTOP)
            .arg("--once")
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .output()
            .unwrap()
    }

    /// `--once` output that must succeed.
    pub fn once_text(&self, args: &[&str]) -> String {
        let output = self.once(args);
        assert!(
            output.status.success(),
            "lvstop --once {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// `lvstop ctl --socket … ARGS`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        self.ctl_command(args).output().unwrap()
    }

    /// The `ctl` command, to spawn and wait on later (a drain).
    pub fn ctl_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(LVSTOP);
        command
            .arg("ctl")
            .arg("--socket")
            .arg(&self.socket)
            .args(args);
        command
    }

    /// Wait for the daemon to exit (after a signal).
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
