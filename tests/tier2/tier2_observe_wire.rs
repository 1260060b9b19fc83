//! Privileged tier: the observer's passive VRRP listener in a director's
//! network namespace, beside two real keepalived 2.2.7. It hears the other
//! director's adverts and its own host's outgoing ones, names the master
//! and its priority, sends nothing itself (a capture of the namespace's
//! outgoing VRRP stays empty while it listens alone), and raises split
//! brain when nftables cuts VRRP between the two directors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::fs::File;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::{eventually, vrrp_config, Director, Lan, A_ADDR, B_ADDR, VIP};
use lvstop::observe::wire::{Expected, RouterSeen, WireAlarm, WireError, WireReport, WireWatch};
use support::netns::Netns;

/// Generous bound for anything VRRP does here (a takeover is ~3.6 s).
const WAIT: Duration = Duration::from_secs(20);

/// The listener running in `ns`: a tokio runtime whose worker threads were
/// created inside the namespace, so the socket and the interface-name
/// lookups are the namespace's.
struct Listener {
    watch: Option<WireWatch>,
    _runtime: tokio::runtime::Runtime,
}

impl Listener {
    fn start(ns: &Netns, expected: Vec<Expected>) -> Self {
        let path = format!("/run/netns/{}", ns.name);
        std::thread::spawn(move || {
            let file = File::open(path).unwrap();
            nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let watch = {
                let _entered = runtime.enter();
                WireWatch::start(expected).unwrap()
            };
            Listener {
                watch: Some(watch),
                _runtime: runtime,
            }
        })
        .join()
        .unwrap()
    }

    fn report(&self) -> WireReport {
        self.watch.as_ref().unwrap().report()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Stop the task before its runtime goes.
        self.watch.take();
    }
}

/// `tcpdump` of the outgoing VRRP frames of `ns`, on every interface.
struct OutgoingCapture {
    child: Child,
    file: std::path::PathBuf,
}

impl OutgoingCapture {
    fn start(ns: &Netns, dir: &Path) -> Self {
        let file = dir.join("outgoing.pcap");
        let log = dir.join("tcpdump.log");
        let child = Command::new("ip")
            .args([
                "netns", "exec", &ns.name, "tcpdump", "-i", "any", "-Q", "out", "-U",
            ])
            .arg("-w")
            .arg(&file)
            .arg("ip proto 112 or ip6 proto 112")
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("tcpdump is installed");
        assert!(
            eventually(WAIT, || std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("listening on")),
            "tcpdump never started"
        );
        Self { child, file }
    }

    /// Stops the capture and returns what it recorded, one line a frame.
    fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let out = Command::new("tcpdump")
            .args(["-nn", "-r"])
            .arg(&self.file)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for OutgoingCapture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn vi_1<'a>(report: &'a WireReport, interface: &str) -> Option<&'a RouterSeen> {
    report
        .routers
        .iter()
        .find(|r| r.vrid == 51 && r.interface == interface)
}

fn two_masters(report: &WireReport) -> Option<Vec<IpAddr>> {
    report.alarms.iter().find_map(|alarm| match alarm {
        WireAlarm::TwoMasters { masters, .. } => Some(masters.iter().map(|m| m.source).collect()),
        _ => None,
    })
}

#[test]
fn the_listener_hears_keepalived_sends_nothing_and_raises_split_brain() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "the_listener_hears_keepalived_sends_nothing_and_raises_split_brain",
    ) else {
        return;
    };
    let lan = Lan::new();
    let dir = tempfile::tempdir().unwrap();
    let expected = vec![Expected {
        instance: "VI_1".to_string(),
        interface: Some(lan.a_if.clone()),
        vrid: 51,
        version: 2,
        interval_cs: 100,
        vips: vec![ip(VIP)],
        priority: 150,
    }];

    // The listener alone in A, B's keepalived the only VRRP speaker.
    let capture = OutgoingCapture::start(&lan.a, dir.path());
    let listener = Listener::start(&lan.a, expected);
    let b = Director::keepalived(&lan.b, &vrrp_config(&lan.b_if, 100, 2, "1", ""));
    assert!(
        eventually(WAIT, || vi_1(&listener.report(), &lan.a_if).is_some_and(
            |r| {
                r.master == Some(ip(B_ADDR))
                    && r.master_priority == Some(100)
                    && !r.master_is_self
                    && r.adverts >= 3
            }
        )),
        "never heard B as master: {:#?}\nB:\n{}",
        listener.report(),
        b.log()
    );
    let sent = capture.stop();
    assert!(
        sent.is_empty(),
        "the listener sent VRRP frames of its own: {sent:#?}"
    );

    // A's keepalived (priority 150) preempts: its own adverts are heard
    // as outgoing and name it master.
    let a = Director::keepalived(&lan.a, &vrrp_config(&lan.a_if, 150, 2, "1", ""));
    assert!(
        eventually(WAIT, || vi_1(&listener.report(), &lan.a_if).is_some_and(
            |r| {
                r.master == Some(ip(A_ADDR))
                    && r.master_priority == Some(150)
                    && r.master_is_self
                    && r.speakers
                        .iter()
                        .any(|s| s.source == ip(A_ADDR) && s.own && s.adverts >= 2)
            }
        )),
        "never heard A's own adverts as master: {:#?}\nA:\n{}",
        listener.report(),
        a.log()
    );
    let report = listener.report();
    let router = vi_1(&report, &lan.a_if).unwrap();
    assert_eq!(router.instance.as_deref(), Some("VI_1"));
    assert!(report.alarms.is_empty(), "{:#?}", report.alarms);
    assert_eq!(report.malformed, 0, "{:?}", report.last_error);

    // nftables in B drops every VRRP packet: B stops hearing A and takes
    // over too, while A stays master.
    let cut = Instant::now();
    for rule in [
        "add table inet wire_test",
        "add chain inet wire_test input { type filter hook input priority 0 ; policy accept ; }",
        "add rule inet wire_test input ip protocol vrrp drop",
    ] {
        lan.b.exec("nft", &rule.split(' ').collect::<Vec<_>>());
    }
    let b_adverts = |report: &WireReport| {
        vi_1(report, &lan.a_if)
            .and_then(|r| r.speakers.iter().find(|s| s.source == ip(B_ADDR)))
            .map_or(0, |s| s.adverts)
    };
    let before = b_adverts(&listener.report());
    assert!(
        eventually(WAIT, || b_adverts(&listener.report()) > before),
        "B never advertised again: {:#?}\nB:\n{}",
        listener.report(),
        b.log()
    );
    let b_master = cut.elapsed();
    assert!(
        eventually(WAIT, || two_masters(&listener.report())
            == Some(vec![ip(A_ADDR), ip(B_ADDR)])),
        "split brain never raised: {:#?}\nB:\n{}",
        listener.report(),
        b.log()
    );
    eprintln!(
        "VRRP cut: B advertised as master after {:.2} s, split brain raised after {:.2} s",
        b_master.as_secs_f64(),
        cut.elapsed().as_secs_f64()
    );
    let report = listener.report();
    assert_eq!(report.alarms.len(), 1, "{:#?}", report.alarms);
    assert!(
        b.log().matches("Entering MASTER STATE").count() >= 2,
        "{}",
        b.log()
    );
    assert_eq!(report.malformed, 0, "{:?}", report.last_error);
}

/// Set in the copy of this test binary that runs without capabilities.
const WITHOUT_CAPS: &str = "LVSTOP_TEST_WIRE_WITHOUT_CAPS";

#[test]
fn without_cap_net_raw_the_listener_says_what_it_needs() {
    let test = "without_cap_net_raw_the_listener_says_what_it_needs";
    let capable = nix::unistd::geteuid().is_root() && std::env::var_os(WITHOUT_CAPS).is_none();
    if !capable {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        let error = WireWatch::start(Vec::new()).unwrap_err();
        assert!(matches!(error, WireError::PermissionDenied(_)), "{error:?}");
        assert!(error.to_string().contains("needs CAP_NET_RAW"), "{error}");
        return;
    }
    let Some(_group) = support::privileged_test(module_path!(), test) else {
        return;
    };
    // As root: run this very test again with every capability dropped.
    let out = Command::new("setpriv")
        .args(["--bounding-set=-all", "--inh-caps=-all", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &support::test_path(module_path!(), test),
            "--nocapture",
        ])
        .env(WITHOUT_CAPS, "1")
        .output()
        .expect("setpriv (util-linux) is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

#[test]
fn the_listener_hears_vrrpv3_over_ipv6() {
    let Some(_group) =
        support::privileged_test(module_path!(), "the_listener_hears_vrrpv3_over_ipv6")
    else {
        return;
    };
    let lan = Lan::new();
    let listener = Listener::start(&lan.a, Vec::new());
    let config = format!(
        "global_defs {{\n  router_id test\n  vrrp_version 3\n}}\n\
         vrrp_instance VI_6 {{\n  state BACKUP\n  interface {}\n  virtual_router_id 51\n  \
         priority 120\n  advert_int 0.5\n  virtual_ipaddress {{\n    2001:db8::100/64\n  }}\n}}\n",
        lan.b_if
    );
    let b = Director::keepalived(&lan.b, &config);
    assert!(
        eventually(WAIT, || vi_1(&listener.report(), &lan.a_if).is_some_and(
            |r| {
                r.family == lvstop::observe::wire::Family::Ipv6
                    && r.version == 3
                    && r.interval_cs == 50
                    && r.master_priority == Some(120)
                    && r.master
                        .is_some_and(|m| matches!(m, IpAddr::V6(v6) if v6.segments()[0] == 0xfe80))
                    && r.speakers[0].addresses == [ip("2001:db8::100")]
                    && r.adverts >= 3
            }
        )),
        "never heard B's IPv6 adverts: {:#?}\nB:\n{}",
        listener.report(),
        b.log()
    );
    // Neighbour discovery and MLD share the link: the socket filter keeps
    // them out, so nothing undecodable reaches the listener.
    let report = listener.report();
    assert_eq!(report.malformed, 0, "{:?}", report.last_error);
}

#[test]
fn the_listener_hears_adverts_behind_an_authentication_header() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "the_listener_hears_adverts_behind_an_authentication_header",
    ) else {
        return;
    };
    let lan = Lan::new();
    let listener = Listener::start(&lan.a, Vec::new());
    let auth = "  authentication {\n    auth_type AH\n    auth_pass secret12\n  }";
    let b = Director::keepalived(&lan.b, &vrrp_config(&lan.b_if, 120, 2, "1", auth));
    assert!(
        eventually(WAIT, || vi_1(&listener.report(), &lan.a_if).is_some_and(
            |r| {
                r.master == Some(ip(B_ADDR)) && r.master_priority == Some(120) && r.adverts >= 2
            }
        )),
        "never heard B's AH adverts: {:#?}\nB:\n{}",
        listener.report(),
        b.log()
    );
    let report = listener.report();
    assert_eq!(report.malformed, 0, "{:?}", report.last_error);
}
