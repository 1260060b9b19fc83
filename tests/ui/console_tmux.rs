#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `lvstop demo` in a real terminal: tmux at 80×24, keys sent with
//! send-keys, the screen read with capture-pane. The VIP row and both
//! real servers appear; a drain sets the weight to 0 and the active count
//! falls to 0; a forced failover swaps the roles; a stopped real server
//! turns ▼ with its reason and comes back; quitting while MASTER asks,
//! and the terminal is given back.

use crate::support;

use std::net::TcpListener;
use std::time::Duration;

use support::daemon::LVSTOP;
use support::tmux::{field, Tmux};

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

/// `lvstop` with no daemon answering never becomes a director: it
/// observes. The configuration's virtual service is not served (no engine
/// bound its port), the header says what the console is attached to, and
/// a forced failover is refused with the keepalived way to do it.
#[test]
fn the_console_without_a_daemon_observes_and_starts_no_engine() {
    let dir = tempfile::tempdir().unwrap();
    let vip = support::free_addr(std::net::Ipv4Addr::new(127, 0, 61, 88));
    let real = support::free_addr(std::net::Ipv4Addr::new(127, 0, 61, 82));
    let config = dir.path().join("keepalived.conf");
    std::fs::write(
        &config,
        format!(
            "virtual_server {} {} {{\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    \
             real_server {} {} {{\n        weight 1\n    }}\n}}\n",
            vip.ip(),
            vip.port(),
            real.ip(),
            real.port()
        ),
    )
    .unwrap();
    let Some(tmux) = Tmux::start(&format!(
        "{LVSTOP} --socket {}/none.sock -f {}",
        dir.path().display(),
        config.display()
    )) else {
        return;
    };
    let screen = tmux.until("the observer's header", 30, |s| s.contains("observing"));
    assert!(
        screen.contains("observing the kernel") || screen.contains("observing keepalived"),
        "{screen}"
    );
    assert!(!screen.contains("embedded"), "{screen}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        std::net::TcpStream::connect_timeout(&vip, Duration::from_millis(500)).is_err(),
        "something serves the virtual service {vip}: an engine started"
    );
    tmux.keys(&[":", "failover VI_1", "Enter"]);
    let screen = tmux.until("the refusal", 10, |s| s.contains("keepalived"));
    assert!(!screen.contains("EXITED="), "{screen}");
    tmux.keys(&["q"]);
    tmux.until("lvstop to exit", 10, |s| s.contains("EXITED=0"));
}
