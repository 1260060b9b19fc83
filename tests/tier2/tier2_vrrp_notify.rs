//! Privileged tier: two `lvstop daemon`s in network namespaces, each with
//! a real SMTP server (aiosmtpd) on its loopback, a reader on its
//! `vrrp_notify_fifo` and recording notify hooks, go through the
//! transitions keepalived 2.2.7 was recorded in
//! (tests/fixtures/notify/keepalived-vrrp): start, a track_file lowering
//! A's VI_2, B cut off the segment and joined again, A reloaded without
//! VI_2, A stopped, B stopped. Every FIFO line and mail matches the
//! recording. A sync group and a lone instance run in runners of their
//! own, so their lines interleave as timing has it: the order is compared
//! per unit (tests/vrrp/vrrp_alerts.rs checks the full order). The same runs
//! with keepalived as B, lvstop's A beside it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use harness::{eventually, Director, Lan};
use support::netns::Netns;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/notify/keepalived-vrrp"
);
const WAIT: Duration = Duration::from_secs(15);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(name)).unwrap()
}

/// aiosmtpd on the namespace's loopback, writing one JSON line per mail.
struct SmtpSink {
    child: Child,
    port: u16,
    output: PathBuf,
}

impl SmtpSink {
    fn start(ns: &Netns, dir: &Path) -> Self {
        let output = dir.join("mails.jsonl");
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "python3"])
            .arg(Path::new(FIXTURES).join("../smtp_sink.py"))
            .arg(&output)
            .args(["127.0.0.1", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("port ")
            .unwrap_or_else(|| panic!("smtp_sink.py said {line:?}"))
            .parse()
            .unwrap();
        Self {
            child,
            port,
            output,
        }
    }

    /// Each mail as the fixture keeps it: headers without `Date`, a blank
    /// line, the body.
    fn mails(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        text.lines()
            .map(|line| {
                let record: serde_json::Value = serde_json::from_str(line).unwrap();
                let data = record["data"].as_str().unwrap().replace("\r\n", "\n");
                data.lines()
                    .filter(|l| !l.starts_with("Date: "))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .trim_end()
                    .to_string()
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a FIFO without ever blocking (non-blocking read end, polled),
/// so it sees lines from every writer that comes and goes.
struct FifoReader {
    stop: Arc<AtomicBool>,
    text: Arc<Mutex<String>>,
    thread: Option<JoinHandle<()>>,
}

impl FifoReader {
    fn start(path: &Path) -> Self {
        nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let text = Arc::new(Mutex::new(String::new()));
        let thread = {
            let (stop, text) = (Arc::clone(&stop), Arc::clone(&text));
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    match file.read(&mut buf) {
                        Ok(n) if n > 0 => text
                            .lock()
                            .unwrap()
                            .push_str(&String::from_utf8_lossy(&buf[..n])),
                        _ => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Self {
            stop,
            text,
            thread: Some(thread),
        }
    }

    fn lines(&self) -> Vec<String> {
        self.text
            .lock()
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for FifoReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One director's files: configuration with its paths, hooks, FIFO, mail.
struct Side {
    dir: tempfile::TempDir,
    fifo: FifoReader,
    smtp: SmtpSink,
}

impl Side {
    fn new(ns: &Netns) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        // One write per line: the hooks run concurrently.
        let hook = "#!/bin/sh\nline=$(basename \"$0\" .sh)\n\
                    for a in \"$@\"; do line=\"$line [$a]\"; done\n\
                    echo \"$line\" >> \"$(dirname \"$0\")/hooks.log\"\n";
        for name in [
            "master", "backup", "fault", "stop", "deleted", "rxlow", "notify", "gmaster",
            "gbackup", "gfault", "gstop", "gnotify",
        ] {
            let script = path.join(format!("{name}.sh"));
            std::fs::write(&script, hook).unwrap();
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let reader = path.join("fifo-reader.sh");
        std::fs::write(
            &reader,
            "#!/bin/sh\necho \"args: $*\" >> \"$(dirname \"$0\")/fifo-script.log\"\n\
             while read -r line; do echo \"$line\" >> \"$(dirname \"$0\")/fifo-script.log\"; done < \"$1\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&reader, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(path.join("tf"), "0\n").unwrap();
        let fifo = FifoReader::start(&path.join("vrrp.fifo"));
        let smtp = SmtpSink::start(ns, path);
        Self { dir, fifo, smtp }
    }

    /// The recorded configuration with this side's paths, interface and
    /// SMTP port.
    fn config(&self, fixture_name: &str, interface: &str) -> String {
        fixture(fixture_name)
            .replace("DIR/", &format!("{}/", self.dir.path().display()))
            .replace("interface eth0", &format!("interface {interface}"))
            .replace(
                "smtp_server 127.0.0.1 2525",
                &format!("smtp_server 127.0.0.1 {}", self.smtp.port),
            )
    }

    fn hooks(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("hooks.log")).unwrap_or_default()
    }
}

/// The lines of `all` about the sync group G1 and its member VI_1, and
/// those about VI_2: each unit's own order.
fn per_unit(all: &[String]) -> (Vec<String>, Vec<String>) {
    let group: Vec<String> = all
        .iter()
        .filter(|l| {
            l.contains("\"G1\"")
                || l.contains("\"VI_1\"")
                || l.contains(" G1 ")
                || l.contains(" VI_1 ")
        })
        .cloned()
        .collect();
    let lone = all
        .iter()
        .filter(|l| l.contains("\"VI_2\"") || l.contains(" VI_2 "))
        .cloned()
        .collect();
    (group, lone)
}

fn mails_of(text: &str) -> Vec<String> {
    text.split("----\n")
        .map(|mail| mail.trim_end().to_string())
        .filter(|mail| !mail.is_empty())
        .collect()
}

#[test]
fn an_lvstop_pair_writes_keepalived_fifo_lines_mails_and_hooks() {
    pair(
        "an_lvstop_pair_writes_keepalived_fifo_lines_mails_and_hooks",
        false,
    );
}

/// lvstop as A beside keepalived as B: A's notices are lvstop's, B's are
/// keepalived's own, and both match the recording.
#[test]
fn lvstop_beside_keepalived_writes_the_same_notices() {
    pair("lvstop_beside_keepalived_writes_the_same_notices", true);
}

fn pair(test: &str, b_is_keepalived: bool) {
    let Some(_group) = support::privileged_test(module_path!(), test) else {
        return;
    };
    let lan = Lan::new();
    let (side_a, side_b) = (Side::new(&lan.a), Side::new(&lan.b));
    let mut a = Director::lvstop(&lan.a, &side_a.config("A.keepalived.conf", &lan.a_if));
    let b_conf = side_b.config("B.keepalived.conf", &lan.b_if);
    let mut b = if b_is_keepalived {
        Director::keepalived(&lan.b, &b_conf)
    } else {
        Director::lvstop(&lan.b, &b_conf)
    };
    let logs = |a: &Director, b: &Director| {
        format!(
            "A's FIFO: {:#?}\nB's FIFO: {:#?}\nA:\n{}\nB:\n{}",
            side_a.fifo.lines(),
            side_b.fifo.lines(),
            a.log(),
            b.log()
        )
    };
    let has = |side: &Side, line: &str| side.fifo.lines().iter().any(|l| l == line);

    // Start: A becomes MASTER of both.
    assert!(
        eventually(WAIT, || has(&side_a, "INSTANCE \"VI_2\" MASTER 150")
            && has(&side_a, "GROUP \"G1\" MASTER 0")),
        "A never became MASTER\n{}",
        logs(&a, &b)
    );
    // The track_file lowers A's VI_2 to 140.
    std::fs::write(side_a.dir.path().join("tf"), "-10\n").unwrap();
    assert!(
        eventually(WAIT, || has(
            &side_a,
            "INSTANCE \"VI_2\" MASTER_PRIORITY 140"
        )),
        "no priority line\n{}",
        logs(&a, &b)
    );
    // B cut off: it takes both; joined again: A hears its lower priority.
    let b_port = &lan.sw_ports[1];
    lan.sw.exec("ip", &["link", "set", b_port, "nomaster"]);
    assert!(
        eventually(WAIT, || has(&side_b, "INSTANCE \"VI_2\" MASTER 100")
            && has(&side_b, "GROUP \"G1\" MASTER 0")),
        "B never became MASTER when cut off\n{}",
        logs(&a, &b)
    );
    lan.sw.exec("ip", &["link", "set", b_port, "master", "br0"]);
    assert!(
        eventually(WAIT, || side_b.fifo.lines().len() >= 9),
        "B never went back to BACKUP\n{}",
        logs(&a, &b)
    );
    // Whether A hears one of B's adverts before B hears one of A's is a
    // race of their advert phases (keepalived's recording has A hear B's);
    // both outcomes are compared with the recording.
    std::thread::sleep(Duration::from_millis(500));
    let heard_lower = has(&side_a, "INSTANCE \"VI_2\" MASTER_RX_LOWER_PRI 140");
    // A reloads without VI_2: DELETED, and B takes VI_2.
    let without_vi2 = {
        let text = std::fs::read_to_string(a.config_path()).unwrap();
        let cut = text.find("vrrp_instance VI_2").unwrap();
        text[..cut].to_string()
    };
    std::fs::write(a.config_path(), without_vi2).unwrap();
    a.hup();
    assert!(
        eventually(WAIT, || has(&side_a, "INSTANCE \"VI_2\" DELETED 140")
            && side_b.fifo.lines().len() >= 10),
        "no DELETED line\n{}",
        logs(&a, &b)
    );
    // A stops; B takes VI_1 and the group; then B stops.
    // Every mail is out before a director stops: keepalived drops the
    // ones still being sent when it exits.
    let mail_count = |name: &str| mails_of(&fixture(&format!("{name}.mails"))).len();
    assert!(
        eventually(WAIT, || side_a.smtp.mails().len() >= mail_count("A")),
        "A's mails: {:#?}",
        side_a.smtp.mails()
    );
    a.stop();
    assert!(
        eventually(WAIT, || side_b.fifo.lines().len() >= 12),
        "B never took VI_1\n{}",
        logs(&a, &b)
    );
    assert!(
        eventually(WAIT, || side_b.smtp.mails().len() >= mail_count("B")),
        "B's mails: {:#?}",
        side_b.smtp.mails()
    );
    b.stop();
    assert!(eventually(WAIT, || side_b.fifo.lines().len() >= 15));

    for (name, side) in [("A", &side_a), ("B", &side_b)] {
        let want = per_unit(
            &fixture(&format!("{name}.vrrp_notify_fifo"))
                .lines()
                .filter(|l| heard_lower || !l.contains("MASTER_RX_LOWER_PRI"))
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
        assert_eq!(
            per_unit(&side.fifo.lines()),
            want,
            "{name}'s FIFO\n{}",
            logs(&a, &b)
        );
        let want = per_unit(&mails_of(&fixture(&format!("{name}.mails"))));
        assert!(
            eventually(WAIT, || per_unit(&side.smtp.mails()) == want),
            "{name}'s mails: {:?}\nwanted {want:?}",
            per_unit(&side.smtp.mails())
        );
        // notify_fifo_script read notify_fifo, started with its path.
        let script_log =
            std::fs::read_to_string(side.dir.path().join("fifo-script.log")).unwrap_or_default();
        assert!(
            script_log.starts_with("args: ") && script_log.contains("all.fifo"),
            "{name}: {script_log}"
        );
        assert!(
            script_log.contains("GROUP \"G1\" BACKUP 0"),
            "{name}: {script_log}"
        );
    }
    // The hooks got keepalived's arguments.
    let hooks = side_a.hooks();
    for line in [
        "notify [INSTANCE] [VI_2] [DELETED] [140]",
        "deleted",
        "gnotify [GROUP] [G1] [MASTER] [0]",
        "notify [INSTANCE] [VI_1] [STOP] [150]",
        "stop",
        "gstop",
    ] {
        assert!(
            hooks.lines().any(|l| l == line),
            "A's hooks lack '{line}':\n{hooks}"
        );
    }
    assert_eq!(
        hooks.lines().any(|l| l == "rxlow"),
        heard_lower,
        "notify_master_rx_lower_pri:\n{hooks}"
    );
    assert!(
        !hooks.contains("MASTER_PRIORITY") && !hooks.contains("MASTER_RX_LOWER_PRI"),
        "FIFO-only states reached a script:\n{hooks}"
    );
}
