//! The runner's eyes on the host, each a task that turns what it sees
//! into node inputs: adverts from a transport, link states of the
//! interfaces the configuration names (polled over rtnetlink),
//! `track_file` values (polled) and `track_process` counts (the process
//! table, polled). They only report changes; the state
//! machine decides what a change means.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::TryStreamExt;
use rtnetlink::packet_route::link::LinkAttribute;
use tokio::sync::mpsc;

use super::io::Link;
use super::node_task::Msg;
use super::setup::{link_is_up, VridFilter};
use crate::vrrp::machine::Input;
use crate::vrrp::process::{pattern, scan, ProcessPattern};

/// How often link states are read. keepalived hears netlink at once; a
/// quarter second keeps the FAULT reaction well under one advert interval
/// of the default 1 s, for one cheap link dump.
pub const LINK_POLL: Duration = Duration::from_millis(250);

/// How often `track_file`s are read (keepalived uses inotify).
pub const FILE_POLL: Duration = Duration::from_millis(500);

/// How often the process table is scanned for `track_process`
/// (keepalived hears the kernel's proc connector at once). One scan of
/// 500 processes costs about 2 ms of CPU on a 2-core test machine, 3.5 ms
/// with command lines (`benches/process_scan.rs`, README), so a quarter
/// second reacts within one default advert interval for about 1 % of one
/// core.
pub const PROCESS_POLL: Duration = Duration::from_millis(250);

/// Where the process table is read.
const PROC_ROOT: &str = "/proc";

/// Counts the processes matching each pattern, reading the command lines
/// only when a pattern needs them. Blocking: run it off the runtime.
pub fn count_processes(trackers: &[(String, ProcessPattern)]) -> std::io::Result<Vec<u32>> {
    let with_cmdline = trackers.iter().any(|(_, p)| p.needs_cmdline());
    let table = scan::scan(std::path::Path::new(PROC_ROOT), with_cmdline)?;
    Ok(trackers
        .iter()
        .map(|(_, p)| pattern::count(p, &table))
        .collect())
}

/// Reports the count of each `track_process` (name, pattern) when it
/// changes; `last` holds the counts already reported.
pub async fn processes(
    trackers: Vec<(String, ProcessPattern)>,
    mut last: HashMap<String, u32>,
    inbox: mpsc::Sender<Msg>,
) {
    let trackers = Arc::new(trackers);
    let mut failing = false;
    let mut tick = tokio::time::interval(PROCESS_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let scan_of = Arc::clone(&trackers);
        let counts = match tokio::task::spawn_blocking(move || count_processes(&scan_of)).await {
            Ok(Ok(counts)) => {
                failing = false;
                counts
            }
            Ok(Err(e)) => {
                if !failing {
                    tracing::warn!("cannot read {PROC_ROOT} for track_process: {e}");
                    failing = true;
                }
                continue;
            }
            Err(_) => return,
        };
        for ((name, _), count) in trackers.iter().zip(counts) {
            if last.get(name) != Some(&count) {
                last.insert(name.clone(), count);
                let input = Input::ProcessCount {
                    process: name.clone(),
                    count,
                };
                if inbox.send(Msg::Input(input)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Hands every advert `link` receives that `vrids` admits to the engine,
/// as arriving on `interface`.
pub async fn receive(
    interface: String,
    link: Arc<Link>,
    vrids: VridFilter,
    inbox: mpsc::Sender<Msg>,
) {
    let mut failing = false;
    loop {
        match link.recv().await {
            Ok(datagram) => {
                failing = false;
                if !vrids.admits(&datagram.payload) {
                    continue;
                }
                let input = Input::Received {
                    interface: Some(interface.clone()),
                    from: datagram.source,
                    to: datagram.destination,
                    ttl: datagram.ttl,
                    payload: datagram.payload,
                    ah_prefix: datagram.ah_prefix,
                };
                if inbox.send(Msg::Input(input)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!("receiving VRRP adverts on {interface}: {e}");
                    failing = true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reports every change of the named interfaces' link state (up and
/// running, as keepalived reads it). `known` is what the node was built
/// with.
pub async fn links(known: BTreeMap<String, bool>, inbox: mpsc::Sender<Msg>) {
    let Ok((connection, handle, _)) = rtnetlink::new_connection() else {
        tracing::error!(
            "cannot open rtnetlink: link states of tracked interfaces are not followed"
        );
        return;
    };
    let connection = tokio::spawn(connection);
    let mut last = known;
    let mut tick = tokio::time::interval(LINK_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let mut now: HashMap<String, bool> = HashMap::new();
        let mut dump = handle.link().get().execute();
        loop {
            match dump.try_next().await {
                Ok(Some(link)) => {
                    let name = link.attributes.iter().find_map(|a| match a {
                        LinkAttribute::IfName(name) => Some(name.clone()),
                        _ => None,
                    });
                    if let Some(name) = name {
                        now.insert(name, link_is_up(link.header.flags));
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!("link dump failed: {e}");
                    break;
                }
            }
        }
        for (name, was_up) in last.iter_mut() {
            // A vanished interface is down.
            let up = now.get(name).copied().unwrap_or(false);
            if up != *was_up {
                *was_up = up;
                let interface = name.clone();
                let input = if up {
                    Input::InterfaceUp { interface }
                } else {
                    Input::InterfaceDown { interface }
                };
                if inbox.send(Msg::Input(input)).await.is_err() {
                    connection.abort();
                    return;
                }
            }
        }
    }
}

/// Reports the value of each `track_file` (name, path) when it changes.
/// A missing file or one that does not start with a number reads as 0.
pub async fn files(files: Vec<(String, String)>, inbox: mpsc::Sender<Msg>) {
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut tick = tokio::time::interval(FILE_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (name, path) in &files {
            let value = tokio::fs::read_to_string(path)
                .await
                .map_or(0, |text| parse_value(&text));
            if last.get(name) != Some(&value) {
                last.insert(name.clone(), value);
                let input = Input::TrackFileValue {
                    file: name.clone(),
                    value,
                };
                if inbox.send(Msg::Input(input)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The leading integer of a track file (keepalived reads it with
/// `strtol`: leading white space, a sign, digits; anything else is 0).
pub fn parse_value(text: &str) -> i64 {
    let text = text.trim_start();
    let end = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(text.len(), |(i, _)| i);
    text[..end].parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::parse_value;

    #[test]
    fn track_file_values_read_like_strtol() {
        assert_eq!(parse_value("  -20\n"), -20);
        assert_eq!(parse_value("15 points"), 15);
        assert_eq!(parse_value("+3"), 3);
        assert_eq!(parse_value("fault"), 0);
        assert_eq!(parse_value(""), 0);
    }
}
