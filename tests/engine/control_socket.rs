#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The control socket on a real Unix socket: framing, errors that keep the
//! connection usable, safe binding, file mode.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;

use lvstop::control::client::Client;
use lvstop::control::peer::Peer;
use lvstop::control::protocol::{ErrorKind, Hello, Request, Response};
use lvstop::control::server::{Backend, Server};
use lvstop::control::ControlError;
use lvstop::dataplane::DataplaneKind;
use lvstop::ipvs::model::Timeouts;
use tokio::sync::watch;

use crate::support;

/// Answers from fixed data: this test is about the socket, not the director.
struct Fixed;

impl Backend for Fixed {
    async fn handle(&self, _peer: &Peer, request: Request) -> Response {
        match request {
            Request::Hello => Response::Hello(Hello {
                protocol: 1,
                version: "test".into(),
                dataplane: DataplaneKind::Userspace,
                config_path: "/dev/null".into(),
                pid: std::process::id(),
            }),
            Request::Timeouts => Response::Timeouts(Timeouts::default()),
            _ => Response::error(ErrorKind::Failed, "not in this test"),
        }
    }
}

struct Running {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    stop: watch::Sender<bool>,
    runtime: tokio::runtime::Runtime,
}

fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run/lvstop.sock");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (stop, stopped) = watch::channel(false);
    let server = runtime.block_on(async { Server::bind(&path) }).unwrap();
    runtime.spawn(server.serve(Arc::new(Fixed), stopped));
    Running {
        _dir: dir,
        path,
        stop,
        runtime,
    }
}

fn raw_exchange(path: &Path, line: &str) -> String {
    let mut stream = UnixStream::connect(path).unwrap();
    stream.write_all(line.as_bytes()).unwrap();
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).unwrap();
    answer
}

#[test]
fn a_client_gets_answers_in_order() {
    let running = start();
    let mut client = Client::connect(&running.path).unwrap();
    assert!(
        matches!(client.request(Request::Hello).unwrap(), Response::Hello(h) if h.version == "test")
    );
    assert_eq!(
        client.request(Request::Timeouts).unwrap(),
        Response::Timeouts(Timeouts::default())
    );
    match client.request(Request::Table) {
        Err(ControlError::Refused(message)) => assert_eq!(message, "not in this test"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    running.stop.send(true).unwrap();
}

#[test]
fn malformed_lines_get_an_error_and_the_connection_stays_usable() {
    let running = start();
    let mut stream = UnixStream::connect(&running.path).unwrap();
    stream
        .write_all(
            b"{\"id\":4,\"method\":\"frobnicate\"}\nnot json\n{\"id\":5,\"method\":\"hello\"}\n",
        )
        .unwrap();
    let mut lines = BufReader::new(stream).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with(r#"{"id":4,"result":"error","data":{"kind":"bad_request","message":"invalid request: unknown variant `frobnicate`"#), "{first}");
    let second = lines.next().unwrap().unwrap();
    assert!(
        second.starts_with(r#"{"id":0,"result":"error""#),
        "{second}"
    );
    let third = lines.next().unwrap().unwrap();
    assert!(third.starts_with(r#"{"id":5,"result":"hello""#), "{third}");
}

#[test]
fn the_socket_is_not_world_accessible() {
    let running = start();
    let mode = std::fs::metadata(&running.path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);
    assert!(raw_exchange(&running.path, "{\"id\":1,\"method\":\"hello\"}\n").contains("hello"));
}

#[test]
fn a_second_daemon_on_the_same_socket_is_refused() {
    let running = start();
    let second = running
        .runtime
        .block_on(async { Server::bind(&running.path) });
    assert!(
        matches!(second, Err(ControlError::AlreadyRunning(_))),
        "{second:?}"
    );
}

#[test]
fn a_stale_socket_is_replaced_and_a_regular_file_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    // A child forked by a parallel test (before its exec closes the fd)
    // can keep the listener alive a moment: wait until it is really dead.
    for _ in 0..500 {
        if UnixStream::connect(&stale).is_err() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let server = runtime.block_on(async { Server::bind(&stale) });
    assert!(server.is_ok(), "{server:?}");
    drop(server);
    assert!(!stale.exists(), "the socket file goes away with the server");

    let file = dir.path().join("precious.txt");
    std::fs::write(&file, "keep me").unwrap();
    let refused = runtime.block_on(async { Server::bind(&file) });
    assert!(
        matches!(refused, Err(ControlError::NotASocket(_))),
        "{refused:?}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[test]
fn no_daemon_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Client::connect(&dir.path().join("none.sock")).unwrap_err();
    assert!(
        err.to_string().starts_with("no lvstop daemon at '"),
        "{err}"
    );
}

/// The credential check holds even when the socket's mode would let
/// anyone connect: another user may read, but a command that changes
/// something is refused before the daemon sees it.
#[test]
fn another_user_may_read_but_not_act() {
    let Some(_group) =
        support::privileged_test(module_path!(), "another_user_may_read_but_not_act")
    else {
        return;
    };
    let running = start();
    let dir = running.path.parent().unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(running._dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&running.path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let script = format!(
        "import socket; s = socket.socket(socket.AF_UNIX); s.connect({:?}); f = s.makefile('rw'); \
         f.write('{{\"id\":1,\"method\":\"hello\"}}\\n'); f.flush(); print(f.readline(), end=''); \
         f.write('{{\"id\":2,\"method\":\"command\",\"params\":{{\"command\":\"reload\"}}}}\\n'); f.flush(); \
         print(f.readline(), end='')",
        running.path.display().to_string()
    );
    let output = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            &script,
        ])
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = answer.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "stdout: {answer} stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(lines[0].contains(r#""id":1,"result":"hello""#), "{answer}");
    assert!(
        lines[1].contains(
            r#""id":2,"result":"error","data":{"kind":"permission_denied","message":"uid 65534 may read but not act: 'reload' needs root"#
        ),
        "{answer}"
    );
}
