#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `lvstop daemon --dataplane userspace` and `lvstop --once` as an operator
//! runs them: real processes, a keepalived.conf, real TCP backends and
//! clients on loopback, the table printed in ipvsadm's layout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support;

use support::backends::ReplyBackend;
use support::daemon::{Daemon, LVSTOP};
use support::loopback_address as address;

fn ask(vip: SocketAddr) -> String {
    let mut stream = TcpStream::connect_timeout(&vip, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(b"hi").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn config_text(vip: SocketAddr, a: SocketAddr, b: SocketAddr, weight_b: u32) -> String {
    format!(
        "virtual_server {} {} {{\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n\
         \x20   real_server {} {} {{\n        weight 2\n    }}\n\
         \x20   real_server {} {} {{\n        weight {weight_b}\n    }}\n}}\n",
        vip.ip(),
        vip.port(),
        a.ip(),
        a.port(),
        b.ip(),
        b.port()
    )
}

#[test]
fn the_daemon_serves_the_config_and_once_prints_it_like_ipvsadm() {
    let dir = tempfile::tempdir().unwrap();
    let backend_a = ReplyBackend::tcp(address(1, 1), "A");
    let backend_b = ReplyBackend::tcp(address(1, 2), "B");
    let (a, b) = (backend_a.addr, backend_b.addr);
    let vip = support::free_addr(address(2, 1));
    let config = dir.path().join("keepalived.conf");
    std::fs::write(&config, config_text(vip, a, b, 1)).unwrap();
    let daemon = Daemon::start(&config, dir.path());

    // wrr 2:1 over real connections (exact sequences are the golden
    // scheduler tests' job): both serve, A about twice as often.
    let answers: Vec<String> = (0..6).map(|_| ask(vip)).collect();
    let count = |name: &str| answers.iter().filter(|a| *a == name).count();
    assert!(count("A") >= 3 && count("B") >= 1, "{answers:?}");
    assert_eq!(count("A") + count("B"), 6, "{answers:?}");

    let listing = daemon.once_text(&["-n"]);
    let mut lines = listing.lines();
    let header = lines.next().unwrap();
    assert!(
        header.contains("userspace"),
        "the header names the dataplane: {header}"
    );
    let rest: Vec<&str> = lines.collect();
    let vip_text = format!("{vip}");
    assert_eq!(rest[0], "Prot LocalAddress:Port Scheduler Flags");
    assert_eq!(
        rest[1],
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
    );
    assert_eq!(rest[2], format!("TCP  {vip_text} wrr"));
    // Closed connections linger as InActConn (TIME_WAIT emulation).
    let mut dests = vec![
        format!(
            "  -> {:<28} {:<7} {:<6} {:<10} {:<10}",
            a.to_string(),
            "Masq",
            2,
            0,
            count("A")
        ),
        format!(
            "  -> {:<28} {:<7} {:<6} {:<10} {:<10}",
            b.to_string(),
            "Masq",
            1,
            0,
            count("B")
        ),
    ];
    dests.sort();
    let mut shown: Vec<String> = rest[3..].iter().map(|s| s.to_string()).collect();
    shown.sort();
    assert_eq!(shown, dests, "full listing:\n{listing}");

    let stats = daemon.once_text(&["-n", "--stats"]);
    assert!(
        stats
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("Prot LocalAddress:Port"),
        "{stats}"
    );
    let service_line = stats.lines().find(|l| l.starts_with("TCP")).unwrap();
    assert!(
        service_line.split_whitespace().nth(2) == Some("6"),
        "six connections counted: {service_line}"
    );

    let save = daemon.once_text(&["-S", "-n"]);
    assert!(save.contains(&format!("-A -t {vip_text} -s wrr")), "{save}");
    assert!(
        save.contains(&format!("-a -t {vip_text} -r {a} -m -w 2")),
        "{save}"
    );

    let json = daemon.once_text(&["--json"]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["source"]["daemon"]["dataplane"], "userspace");
    assert_eq!(
        value["table"]["services"][0]["dests"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(value["timeouts"]["tcp_fin"], 120);
}

#[test]
fn sighup_reloads_and_a_broken_file_keeps_the_running_table() {
    let dir = tempfile::tempdir().unwrap();
    let backend_a = ReplyBackend::tcp(address(3, 1), "A");
    let backend_b = ReplyBackend::tcp(address(3, 2), "B");
    let (a, b) = (backend_a.addr, backend_b.addr);
    let vip = support::free_addr(address(4, 1));
    let config = dir.path().join("keepalived.conf");
    std::fs::write(&config, config_text(vip, a, b, 1)).unwrap();
    let daemon = Daemon::start(&config, dir.path());
    let weight_of_b = |d: &Daemon| {
        let listing = d.once_text(&["-n"]);
        listing
            .lines()
            .find(|l| l.contains(&b.to_string()))
            .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
            .unwrap()
    };
    assert_eq!(weight_of_b(&daemon), "1");

    // Weight 0 quiesces B: every new connection goes to A.
    std::fs::write(&config, config_text(vip, a, b, 0)).unwrap();
    daemon.signal("HUP");
    daemon.wait_for("the reload to set weight 0", || weight_of_b(&daemon) == "0");
    assert!((0..4).all(|_| ask(vip) == "A"));

    // A broken file is refused; the director keeps what it had.
    std::fs::write(
        &config,
        "virtual_server 10.0.0.1 80 {\n lb_kind FULLNAT\n}\n",
    )
    .unwrap();
    daemon.signal("HUP");
    daemon.wait_for("the refusal in the log", || {
        daemon.log_text().contains("reload refused")
    });
    assert_eq!(weight_of_b(&daemon), "0");
    assert_eq!(ask(vip), "A");
}

#[test]
fn sigterm_stops_cleanly_and_removes_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let backend_a = ReplyBackend::tcp(address(5, 1), "A");
    let backend_b = ReplyBackend::tcp(address(5, 2), "B");
    let (a, b) = (backend_a.addr, backend_b.addr);
    let vip = support::free_addr(address(6, 1));
    let config = dir.path().join("keepalived.conf");
    std::fs::write(&config, config_text(vip, a, b, 1)).unwrap();
    let mut daemon = Daemon::start(&config, dir.path());
    daemon.signal("TERM");
    let status = daemon.wait();
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        daemon.log_text()
    );
    assert!(!daemon.socket.exists());
    assert!(TcpStream::connect_timeout(&vip, Duration::from_secs(1)).is_err());
}

#[test]
fn an_invalid_config_stops_the_daemon_with_its_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keepalived.conf");
    std::fs::write(
        &config,
        "virtual_server 10.0.0.1 80 {\n    protocol TCP\n    lb_kind FULLNAT\n}\n",
    )
    .unwrap();
    let output = Command::new(LVSTOP)
        .args(["daemon", "--dataplane", "userspace", "-f"])
        .arg(&config)
        .arg("--socket")
        .arg(dir.path().join("s.sock"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("keepalived.conf:3:13: error: lb_kind 'FULLNAT'"),
        "{stderr}"
    );
    assert!(stderr.contains("not starting"), "{stderr}");
}

#[test]
fn once_without_a_daemon_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(LVSTOP)
        .args(["--once", "-n", "--socket"])
        .arg(dir.path().join("absent.sock"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no lvstop daemon at '"), "{stderr}");
    assert!(stderr.contains("absent.sock"), "{stderr}");
}

/// `--pid-file`: written with the daemon's pid, a second daemon on the
/// same file is refused while the first lives, removed on a clean stop.
#[test]
fn the_pid_file_guards_against_a_second_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let backend_a = ReplyBackend::tcp(address(7, 1), "A");
    let backend_b = ReplyBackend::tcp(address(7, 2), "B");
    let (a, b) = (backend_a.addr, backend_b.addr);
    let vip = support::free_addr(address(8, 1));
    let config = dir.path().join("keepalived.conf");
    std::fs::write(&config, config_text(vip, a, b, 1)).unwrap();
    let pid_file = dir.path().join("run/lvstop.pid");
    let mut daemon = Daemon::start_with(
        &config,
        dir.path(),
        &["--pid-file", pid_file.to_str().unwrap()],
    );
    daemon.wait_for("the pid file", || pid_file.exists());
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        format!("{}\n", daemon.pid())
    );
    let second = Command::new(LVSTOP)
        .args(["daemon", "--dataplane", "userspace", "-f"])
        .arg(&config)
        .arg("--socket")
        .arg(dir.path().join("other.sock"))
        .arg("--pid-file")
        .arg(&pid_file)
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains(&format!(
            "names lvstop process {}, which is still running",
            daemon.pid()
        )),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    daemon.signal("TERM");
    assert!(daemon.wait().success());
    assert!(!pid_file.exists());

    let unknown_group = Command::new(LVSTOP)
        .args(["daemon", "--dataplane", "userspace", "-f"])
        .arg(&config)
        .arg("--socket")
        .arg(dir.path().join("third.sock"))
        .args(["--admin-group", "no-such-group-lvstop"])
        .output()
        .unwrap();
    assert!(!unknown_group.status.success());
    assert!(String::from_utf8_lossy(&unknown_group.stderr)
        .contains("--admin-group: no group 'no-such-group-lvstop'"));
}

/// Send a line, half-close, read the answer to its end.
fn ask_and_half_close(vip: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&vip, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"hi")?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// Out of file descriptors, the daemon stops accepting for a moment
/// instead of failing or spinning, and serves again once connections
/// close; the control socket answers throughout the recovery.
/// How many of `clients` get their one-byte answer: polled until some
/// have and no other has for a second (a loaded machine may take a while
/// to proxy the first), or ten seconds have passed.
fn count_answered(clients: &mut [TcpStream]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answered = vec![false; clients.len()];
    let mut last_answer = Instant::now();
    while Instant::now() < deadline {
        for (client, done) in clients.iter_mut().zip(answered.iter_mut()) {
            let mut byte = [0u8; 1];
            if !*done && matches!(client.read(&mut byte), Ok(1)) {
                *done = true;
                last_answer = Instant::now();
            }
        }
        let count = answered.iter().filter(|done| **done).count();
        if count > 0 && last_answer.elapsed() > Duration::from_secs(1) {
            return count;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    answered.iter().filter(|done| **done).count()
}

#[test]
fn running_out_of_file_descriptors_pauses_accepting_and_recovers() {
    // A backend that answers with its name, then waits for the client's
    // end of stream before it closes: every proxied connection holds two
    // of the daemon's descriptors until its client goes.
    let listener = TcpListener::bind((address(9, 1), 0)).unwrap();
    let backend = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.write_all(b"A");
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest);
            });
        }
    });
    let vip = support::free_addr(address(10, 1));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keepalived.conf");
    std::fs::write(
        &config,
        format!(
            "virtual_server {} {} {{\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
             \x20   real_server {} {} {{\n        weight 1\n    }}\n}}\n",
            vip.ip(),
            vip.port(),
            backend.ip(),
            backend.port()
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&config, dir.path());
    assert_eq!(ask_and_half_close(vip).unwrap(), "A");

    // Room for about ten more proxied connections.
    let open = std::fs::read_dir(format!("/proc/{}/fd", daemon.pid()))
        .unwrap()
        .count();
    let limit = format!("--nofile={}", open + 20);
    let status = Command::new("prlimit")
        .args(["--pid", &daemon.pid().to_string(), &limit])
        .status()
        .unwrap();
    assert!(status.success(), "prlimit failed");

    // Thirty clients: the first ten or so are proxied and answered, the
    // rest wait in the listen queue (or are reset if a descriptor ran out
    // between accept and connect).
    let mut clients = Vec::new();
    for _ in 0..30 {
        let stream = TcpStream::connect_timeout(&vip, Duration::from_secs(5)).unwrap();
        stream.set_nonblocking(true).unwrap();
        clients.push(stream);
    }
    let answered = count_answered(&mut clients);
    assert!(
        (1..30).contains(&answered),
        "{answered} of 30 clients answered under a limit of {limit}"
    );
    daemon.wait_for("the failing accept in the log", || {
        daemon.log_text().contains("Too many open files")
    });

    // Let them all go: the daemon frees their descriptors, takes up the
    // listener again and serves as before.
    drop(clients);
    daemon.wait_for("a new client to be served", || {
        ask_and_half_close(vip).is_ok_and(|answer| answer == "A")
    });
    assert!(daemon.once_text(&["-n"]).contains(&format!("{vip}")));
}
