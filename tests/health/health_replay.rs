//! Replay tests of the checker runner: each folder under
//! `tests/fixtures/health/replay/` holds a configuration, a timeline of
//! what the real servers answer (`input.jsonl`) and every action the
//! runner took, with its time (`expected.jsonl`; `LVSTOP_BLESS=1`
//! rewrites it). The runner's clock is simulated: nothing sleeps.
//!
//! input.jsonl lines:
//! - `{"at_ms":T,"checker":N,"verdict":"up"|"down"|"timeout","reason":"refused"|"exit 1","weight":W,"latency_ms":L}`:
//!   from T on, probes of checker N answer this (default: up after 1 ms;
//!   "timeout" answers after the checker's timeout);
//! - `{"at_ms":T,"shutdown":true}`; `{"at_ms":T,"end":true}` (required, last).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use lvstop::config::load::{load_str, Options};
use lvstop::health::machine::{CheckAction, CheckOptions, CheckerId, HealthMachine, ProbeFinished};
use lvstop::health::outcome::{ProbeReport, Reason, Verdict};
use serde_json::Value;

#[derive(Clone)]
struct Answer {
    verdict: String,
    reason: String,
    weight: u32,
    latency: Duration,
}

impl Default for Answer {
    fn default() -> Self {
        Answer {
            verdict: "up".into(),
            reason: String::new(),
            weight: 0,
            latency: Duration::from_millis(1),
        }
    }
}

enum Input {
    World(u32, Answer),
    Shutdown,
    End,
}

fn parse_input(text: &str) -> Vec<(Duration, Input)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let at = Duration::from_millis(v["at_ms"].as_u64().expect("at_ms"));
            let input = if v["shutdown"].as_bool() == Some(true) {
                Input::Shutdown
            } else if v["end"].as_bool() == Some(true) {
                Input::End
            } else {
                Input::World(
                    v["checker"].as_u64().expect("checker") as u32,
                    Answer {
                        verdict: v["verdict"].as_str().unwrap_or("up").into(),
                        reason: v["reason"].as_str().unwrap_or("refused").into(),
                        weight: v["weight"].as_u64().unwrap_or(0) as u32,
                        latency: Duration::from_millis(v["latency_ms"].as_u64().unwrap_or(1)),
                    },
                )
            };
            (at, input)
        })
        .collect()
}

fn report(answer: &Answer, timeout: Duration) -> (Duration, ProbeReport) {
    let down = |reason| Verdict::Down { reason };
    let (latency, verdict) = match answer.verdict.as_str() {
        "up" if answer.weight > 0 => (
            answer.latency,
            Verdict::UpWithWeight {
                weight: answer.weight,
            },
        ),
        "up" => (answer.latency, Verdict::Up),
        "timeout" => (timeout, down(Reason::Timeout { after: timeout })),
        "down" => {
            let reason = if let Some(code) = answer.reason.strip_prefix("exit ") {
                Reason::Exit {
                    code: code.parse().unwrap(),
                    stderr_first_line: String::new(),
                }
            } else if let Some(code) = answer.reason.strip_prefix("http ") {
                Reason::HttpStatus {
                    code: code.parse().unwrap(),
                }
            } else {
                Reason::ConnectionRefused
            };
            (answer.latency, down(reason))
        }
        other => panic!("unknown verdict {other}"),
    };
    (latency, ProbeReport { verdict, latency })
}

/// Runs one case and returns the actions with their times.
fn replay(case: &str) -> Vec<(Duration, CheckAction)> {
    let dir = Path::new("tests/fixtures/health/replay").join(case);
    let text = std::fs::read_to_string(dir.join("config.conf")).unwrap();
    let loaded = load_str(&dir.join("config.conf"), &text, &Options::default());
    assert!(!loaded.has_errors(), "{case}: config has errors");
    let mut runner = HealthMachine::new(
        &loaded.config,
        CheckOptions {
            seed: 7,
            hostname: "director".into(),
        },
    )
    .unwrap();
    let inputs = parse_input(&std::fs::read_to_string(dir.join("input.jsonl")).unwrap());
    let mut world: HashMap<u32, Answer> = HashMap::new();
    let mut pending: Vec<(Duration, CheckerId, ProbeReport)> = Vec::new();
    let mut log = Vec::new();
    let record =
        |at: Duration, actions: Vec<CheckAction>, log: &mut Vec<(Duration, CheckAction)>| {
            log.extend(actions.into_iter().map(|a| (at, a)));
        };
    let out = runner.start(Duration::ZERO);
    record(Duration::ZERO, out, &mut log);
    let mut next_input = 0;
    loop {
        let candidates = [
            runner.next_deadline(),
            pending.iter().map(|p| p.0).min(),
            inputs.get(next_input).map(|i| i.0),
        ];
        let now = candidates
            .into_iter()
            .flatten()
            .min()
            .expect("an end input");
        while next_input < inputs.len() && inputs[next_input].0 <= now {
            match &inputs[next_input].1 {
                Input::World(checker, answer) => {
                    world.insert(*checker, answer.clone());
                }
                Input::Shutdown => {
                    let out = runner.shutdown(now);
                    record(now, out, &mut log);
                }
                Input::End => return log,
            }
            next_input += 1;
        }
        pending.sort_by_key(|p| p.0);
        while pending.first().is_some_and(|p| p.0 <= now) {
            let (_, checker, report) = pending.remove(0);
            let out = runner.probe_finished(now, ProbeFinished { checker, report });
            record(now, out, &mut log);
        }
        let out = runner.poll(now);
        for action in &out {
            if let CheckAction::StartProbe {
                checker, timeout, ..
            } = action
            {
                let answer = world.get(&checker.0).cloned().unwrap_or_default();
                let (after, report) = report(&answer, *timeout);
                pending.push((now + after, *checker, report));
            }
        }
        record(now, out, &mut log);
    }
}

fn render(log: &[(Duration, CheckAction)]) -> String {
    let mut text = String::new();
    for (at, action) in log {
        let mut value = serde_json::to_value(action).unwrap();
        let object = value.as_object_mut().unwrap();
        let mut line = serde_json::Map::new();
        line.insert("at_ms".into(), (at.as_millis() as u64).into());
        line.extend(std::mem::take(object));
        text.push_str(&serde_json::to_string(&line).unwrap());
        text.push('\n');
    }
    text
}

/// Replays a case, checks it against expected.jsonl, and returns the log
/// for the case's own assertions.
fn case(name: &str) -> Vec<(Duration, CheckAction)> {
    let log = replay(name);
    let expected = Path::new("tests/fixtures/health/replay")
        .join(name)
        .join("expected.jsonl");
    if let Err(diff) = support::golden::check(&expected, &render(&log)) {
        panic!("{diff}");
    }
    log
}

fn lines(log: &[(Duration, CheckAction)]) -> Vec<(u64, String)> {
    log.iter()
        .filter_map(|(at, a)| match a {
            CheckAction::Log { line, .. } => Some((at.as_millis() as u64, line.clone())),
            _ => None,
        })
        .collect()
}

fn first_line_containing(log: &[(Duration, CheckAction)], needle: &str) -> Option<u64> {
    lines(log)
        .into_iter()
        .find(|(_, l)| l.contains(needle))
        .map(|(at, _)| at)
}

fn starts_of(log: &[(Duration, CheckAction)], id: u32) -> Vec<u64> {
    log.iter()
        .filter_map(|(at, a)| match a {
            CheckAction::StartProbe { checker, .. } if checker.0 == id => {
                Some(at.as_millis() as u64)
            }
            _ => None,
        })
        .collect()
}

fn alerts(log: &[(Duration, CheckAction)]) -> Vec<(String, String)> {
    log.iter()
        .filter_map(|(_, a)| match a {
            CheckAction::SendAlert { subject, body } => Some((subject.clone(), body.clone())),
            _ => None,
        })
        .collect()
}

fn scripts(log: &[(Duration, CheckAction)]) -> Vec<(u64, String)> {
    log.iter()
        .filter_map(|(at, a)| match a {
            CheckAction::RunScript { script } => {
                Some((at.as_millis() as u64, script.argv.join(" ")))
            }
            _ => None,
        })
        .collect()
}

fn dest_weights(log: &[(Duration, CheckAction)]) -> Vec<(u64, String, Option<i32>)> {
    log.iter()
        .filter_map(|(at, a)| match a {
            CheckAction::SetDest { dest, .. } => Some((
                at.as_millis() as u64,
                dest.key.to_string(),
                Some(dest.weight),
            )),
            CheckAction::RemoveDest { dest, .. } => {
                Some((at.as_millis() as u64, dest.to_string(), None))
            }
            _ => None,
        })
        .collect()
}

const RS1: &str = "[10.2.0.1]:tcp:80";
const VS: &str = "[10.1.0.1]:tcp:80";

#[test]
fn retry_exhaustion() {
    let log = case("retry_exhaustion");
    // Up at 15 s; attempts at 20.002, 23.003 and 26.004 s fail: the third
    // failure (retry 2) takes it out, not before.
    assert_eq!(&starts_of(&log, 0)[..5], [0, 10001, 20002, 23003, 26004]);
    let removed = first_line_containing(&log, &format!("Removing service {RS1} from VS {VS}"));
    assert_eq!(removed, Some(26005));
    assert!(lines(&log)
        .iter()
        .any(|(_, l)| l == &format!("TCP_CHECK on service {RS1} failed after 2 retries.")));
    assert_eq!(
        dest_weights(&log).last().unwrap(),
        &(26005, "10.2.0.1:80".into(), None)
    );
}

#[test]
fn delay_before_retry_spacing() {
    let log = case("delay_before_retry_spacing");
    // Each timed-out attempt takes connect_timeout (5 s); retries follow
    // 2 s after the end of the previous one; after the verdict, the delay
    // loop (20 s) applies again.
    assert_eq!(
        &starts_of(&log, 0)[..6],
        [0, 20001, 27001, 34001, 41001, 66001]
    );
    assert_eq!(first_line_containing(&log, "Removing service"), Some(46001));
}

#[test]
fn recovery() {
    let log = case("recovery");
    let changes = dest_weights(&log);
    let rs1: Vec<_> = changes.iter().filter(|c| c.1 == "10.2.0.1:80").collect();
    assert_eq!(rs1.len(), 3, "{rs1:?}");
    assert_eq!(rs1[1].2, None);
    assert_eq!(rs1[2].2, Some(4), "comes back with its configured weight");
    assert!(rs1[2].0 >= 16000);
    assert!(first_line_containing(&log, &format!("Adding service {RS1} to VS {VS}")).is_some());
}

#[test]
fn alpha_start() {
    let log = case("alpha_start");
    // Nothing in the table at start; 10.2.0.1 joins after its first
    // success; 10.2.0.2, failing, never joins.
    let changes = dest_weights(&log);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].1, "10.2.0.1:80");
    assert!(changes[0].0 > 0 && changes[0].0 <= 2001);
}

#[test]
fn inhibit_on_failure() {
    let log = case("inhibit_on_failure");
    let rs1: Vec<_> = dest_weights(&log)
        .into_iter()
        .filter(|c| c.1 == "10.2.0.1:80")
        .map(|c| c.2)
        .collect();
    assert_eq!(rs1, [Some(3), Some(0), Some(3)], "weight 0, never removed");
    assert!(first_line_containing(&log, &format!("Disabling service {RS1} of VS {VS}")).is_some());
    assert!(first_line_containing(&log, &format!("Enabling service {RS1} of VS {VS}")).is_some());
}

#[test]
fn quorum_sorry_hysteresis() {
    let log = case("quorum_sorry_hysteresis");
    let lost = first_line_containing(&log, "Lost quorum 3-1=2 > 1").unwrap();
    let gained = first_line_containing(&log, "Gained quorum 3+1=4 <= 4").unwrap();
    // Lost only at the third failure (live weight 1 < 2), regained only
    // with all four back (4 >= 4), not at 2 or 3.
    assert!(first_line_containing(&log, "Removing service [10.2.0.3]").unwrap() == lost);
    assert!(first_line_containing(&log, "Adding service [10.2.0.3]").unwrap() == gained);
    let sorry: Vec<_> = dest_weights(&log)
        .into_iter()
        .filter(|c| c.1 == "10.9.0.1:8080")
        .collect();
    assert_eq!(
        sorry,
        [
            (lost, "10.9.0.1:8080".into(), Some(1)),
            (gained, "10.9.0.1:8080".into(), None)
        ]
    );
}

#[test]
fn quorum_scripts() {
    let log = case("quorum_scripts");
    let runs = scripts(&log);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].1, "/usr/local/bin/quorum.sh down");
    assert_eq!(runs[1].1, "/usr/local/bin/quorum.sh up");
    assert!(alerts(&log).contains(&(
        format!("[DIRECTOR_A] Virtualserver {VS} - DOWN"),
        "=> Lost quorum 2+0=2 <= 1 <=".into()
    )));
}

#[test]
fn two_checkers() {
    let log = case("two_checkers");
    let changes = dest_weights(&log);
    // Out when the first checker fails; back only when both are up again.
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(changes[1].2, None);
    assert_eq!(changes[2].2, Some(1));
    assert!(changes[2].0 >= 18000);
}

#[test]
fn misc_dynamic() {
    let log = case("misc_dynamic");
    let weights: Vec<_> = dest_weights(&log).into_iter().map(|c| c.2).collect();
    assert_eq!(weights, [Some(10), Some(7), None, Some(10)]);
    assert!(first_line_containing(
        &log,
        &format!("Changing weight from 10 to 7 for active service {RS1} of VS {VS}")
    )
    .is_some());
}

#[test]
fn warmup_seed() {
    let log = case("warmup_seed");
    // First attempts spread inside the 8 s warmup, reproducibly.
    let firsts: Vec<u64> = (0..3).map(|id| starts_of(&log, id)[0]).collect();
    assert!(firsts.iter().all(|&t| t <= 8000), "{firsts:?}");
    assert_ne!(firsts[0], firsts[1]);
    assert_eq!(case("warmup_seed"), log);
}

#[test]
fn notify_up_down() {
    let log = case("notify_up_down");
    let runs = scripts(&log);
    assert_eq!(
        runs.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        [
            "/usr/local/bin/rs.sh down 10.2.0.1",
            "/usr/local/bin/rs.sh up 10.2.0.1"
        ]
    );
}

#[test]
fn smtp_alert_texts() {
    let log = case("smtp_alert_texts");
    let mails = alerts(&log);
    let rs = |n: u8, state: &str| {
        format!("[LVS_TEST] Realserver [10.2.0.{n}]:tcp:80 of virtual server {VS} - {state}")
    };
    assert!(mails.contains(&(rs(1, "DOWN"), "=> TCP CHECK failed on service <=".into())));
    assert!(mails.contains(&(rs(1, "UP"), "=> TCP CHECK succeed on service <=".into())));
    assert!(mails.contains(&(
        rs(2, "DOWN"),
        "=> CHECK failed on service : HTTP 503 <=".into()
    )));
    assert!(mails.contains(&(rs(2, "UP"), "=> CHECK succeed on service <=".into())));
    assert!(
        !mails.iter().any(|m| m.0.contains("10.2.0.3")),
        "smtp_alert off silences that real server"
    );
}

#[test]
fn omega_shutdown() {
    let log = case("omega_shutdown");
    assert_eq!(
        scripts(&log)
            .iter()
            .map(|r| r.1.as_str())
            .collect::<Vec<_>>(),
        [
            "/usr/local/bin/rs.sh down 10.2.0.1",
            "/usr/local/bin/quorum.sh down"
        ]
    );
    assert!(alerts(&log).contains(&(
        format!("[DIRECTOR_A] Virtualserver {VS} - DOWN"),
        "=> Shutting down <=".into()
    )));
    assert_eq!(dest_weights(&log).last().unwrap().2, None);
}

#[test]
fn seed() {
    let log = case("seed");
    // nb_get_retry is not a TCP_CHECK keyword: retry stays 1, so the
    // second failed attempt (3 s after the first) removes .82.
    let mails = alerts(&log);
    assert_eq!(
        mails[0],
        (
            "[LVS_DEVEL] Realserver [192.168.100.82]:tcp:80 of virtual server [192.168.100.88]:tcp:80 - DOWN".into(),
            "=> TCP CHECK failed on service <=".into()
        )
    );
    let starts = starts_of(&log, 0);
    let removed = first_line_containing(
        &log,
        "Removing service [192.168.100.82]:tcp:80 from VS [192.168.100.88]:tcp:80",
    )
    .unwrap();
    let failing: Vec<_> = starts
        .iter()
        .filter(|&&t| t >= 20000 && t < removed)
        .collect();
    assert_eq!(failing.len(), 2, "{starts:?}");
    assert_eq!(failing[1] - failing[0], 3001);
}
