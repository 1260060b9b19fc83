//! keepalived's notify FIFOs with real readers: each family gets the right
//! lines in keepalived's format, a missing FIFO is created with safe
//! permissions, writes never block without a reader, unsafe paths are
//! refused, and a `notify_fifo_script` reads the FIFO it is given.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use lvstop::config::load::{load_str, Options};
use lvstop::config::model::global::{Fifo, GlobalDefs};
use lvstop::config::model::lvs::Protocol;
use lvstop::config::source::{Location, Spanned};
use lvstop::notify::fifo::{FifoError, FifoWriter};
use lvstop::notify::user::RunAs;
use lvstop::notify::{
    FifoEvent, NotifyFifos, ScriptPolicy, ServiceName, VrrpStateWord, VrrpSubject,
};

fn global_from(text: &str) -> GlobalDefs {
    let outcome = load_str(Path::new("fifo.conf"), text, &Options::default());
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    outcome.config.global
}

fn policy() -> ScriptPolicy {
    ScriptPolicy {
        enable_script_security: true,
        default_run_as: RunAs::current(),
    }
}

/// A real reader on its own thread, forwarding each line.
fn reader(path: &Path) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let file = std::fs::File::open(path).unwrap();
        for line in BufReader::new(file).lines() {
            let Ok(line) = line else { return };
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

fn next_line(lines: &mpsc::Receiver<String>) -> String {
    lines
        .recv_timeout(Duration::from_secs(20))
        .expect("a line on the FIFO")
}

fn vrrp_master() -> FifoEvent {
    FifoEvent::Vrrp {
        subject: VrrpSubject::Instance,
        name: "VI_1".into(),
        state: VrrpStateWord::Master,
        priority: 100,
    }
}

fn seed_rs_down() -> FifoEvent {
    FifoEvent::RealServer {
        real_server: ServiceName::address([192, 168, 100, 82].into(), Protocol::Tcp, 80),
        virtual_server: ServiceName::address([192, 168, 100, 88].into(), Protocol::Tcp, 80),
        up: false,
    }
}

#[test]
fn each_fifo_family_gets_its_lines_in_keepalived_format() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("notify");
    let vrrp = dir.path().join("vrrp");
    let lvs = dir.path().join("lvs");
    let global = global_from(&format!(
        "global_defs {{\n notify_fifo {}\n vrrp_notify_fifo {}\n lvs_notify_fifo {}\n}}\n",
        all.display(),
        vrrp.display(),
        lvs.display()
    ));
    let fifos = NotifyFifos::open(&global, &policy()).unwrap();
    for path in [&all, &vrrp, &lvs] {
        let meta = std::fs::metadata(path).unwrap();
        assert!(meta.file_type().is_fifo(), "{} is a FIFO", path.display());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let (all_lines, vrrp_lines, lvs_lines) = (reader(&all), reader(&vrrp), reader(&lvs));

    fifos.write(&vrrp_master());
    fifos.write(&seed_rs_down());
    fifos.write(&FifoEvent::Vrrp {
        subject: VrrpSubject::Group,
        name: "G1".into(),
        state: VrrpStateWord::Backup,
        priority: 0,
    });

    let rs_line = "RS [192.168.100.82]:tcp:80 [192.168.100.88]:tcp:80 DOWN";
    assert_eq!(next_line(&all_lines), "INSTANCE \"VI_1\" MASTER 100");
    assert_eq!(next_line(&all_lines), rs_line);
    assert_eq!(next_line(&all_lines), "GROUP \"G1\" BACKUP 0");
    assert_eq!(next_line(&vrrp_lines), "INSTANCE \"VI_1\" MASTER 100");
    assert_eq!(next_line(&vrrp_lines), "GROUP \"G1\" BACKUP 0");
    assert_eq!(next_line(&lvs_lines), rs_line);
    let stats = fifos.stats();
    assert_eq!(stats.notify_fifo.unwrap().written, 3);
    assert_eq!(stats.vrrp_notify_fifo.unwrap().written, 2);
    assert_eq!(stats.lvs_notify_fifo.unwrap().written, 1);

    drop(fifos);
    assert!(!all.exists(), "a FIFO lvstop created is removed again");
}

#[test]
fn writes_never_block_without_a_reader_and_overflow_is_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nobody-reads");
    let fifo = Fifo {
        path: Spanned::new(path.display().to_string(), Location::default()),
        user: None,
        group: None,
    };
    let writer = FifoWriter::open(&fifo).unwrap();
    let total = 20_000;
    for n in 0..total {
        writer.write_line(&format!("INSTANCE \"VI_{n}\" BACKUP 100\n"));
    }
    let stats = writer.stats();
    assert_eq!(stats.written + stats.dropped, total);
    assert!(stats.dropped > 0, "the pipe filled up: {stats:?}");
    assert!(stats.written > 0, "lines wait in the pipe: {stats:?}");
    // A reader that comes later finds the oldest lines waiting, whole.
    let lines = reader(&path);
    assert_eq!(next_line(&lines), "INSTANCE \"VI_0\" BACKUP 100");
    assert_eq!(next_line(&lines), "INSTANCE \"VI_1\" BACKUP 100");
}

#[test]
fn a_path_that_is_not_a_fifo_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("regular");
    std::fs::write(&file, "keep me\n").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    for path in [&file, &link] {
        let fifo = Fifo {
            path: Spanned::new(path.display().to_string(), Location::default()),
            user: None,
            group: None,
        };
        let error = FifoWriter::open(&fifo).unwrap_err();
        assert!(matches!(error, FifoError::NotAFifo(_)), "{error}");
        assert_eq!(
            error.to_string(),
            format!("notify FIFO '{}' exists and is not a FIFO", path.display())
        );
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
}

#[tokio::test]
async fn the_fifo_script_reads_the_fifo_named_in_its_last_argument() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("reader.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nout=\"$1\"\nwhile read -r line; do echo \"$line\" >> \"$out\"; done < \"$2\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.path().join("seen");
    let fifo = dir.path().join("lvs");
    let global = global_from(&format!(
        "global_defs {{\n lvs_notify_fifo {}\n lvs_notify_fifo_script \"{} {}\"\n}}\n",
        fifo.display(),
        script.display(),
        out.display()
    ));
    let fifos = NotifyFifos::open(&global, &policy()).unwrap();
    fifos.write(&seed_rs_down());
    fifos.write(&vrrp_master()); // not an LVS event: not on lvs_notify_fifo
    fifos.write(&FifoEvent::VirtualServer {
        service: ServiceName::Fwmark(3),
        up: true,
    });
    let expected = "RS [192.168.100.82]:tcp:80 [192.168.100.88]:tcp:80 DOWN\nVS FWM 3 UP\n";
    for _ in 0..400 {
        if std::fs::read_to_string(&out).unwrap_or_default() == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the FIFO script saw {:?}",
        std::fs::read_to_string(&out).unwrap_or_default()
    );
}
