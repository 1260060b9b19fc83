//! The real keepalived as a peer in a test's network namespace: its
//! configuration, pid files and log in a directory of its own.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::netns::Netns;

/// Starts `keepalived` in `ns` on `config` (foreground, logging to the
/// console, VRRP-only or not as the configuration says), writing into
/// `dir`: `keepalived.conf`, the pid files, and `log` (stdout and stderr).
pub fn spawn(ns: &Netns, config: &str, dir: &Path) -> Child {
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, config).unwrap();
    let log = File::create(log_path(dir)).unwrap();
    let p = |name: &str| dir.join(name).to_string_lossy().into_owned();
    Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
        ])
        .arg(&conf)
        .args(["-p", &p("k.pid"), "-r", &p("v.pid"), "-c", &p("c.pid")])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("keepalived is installed (apt-get install keepalived)")
}

/// Where [`spawn`] writes keepalived's log.
pub fn log_path(dir: &Path) -> PathBuf {
    dir.join("log")
}
