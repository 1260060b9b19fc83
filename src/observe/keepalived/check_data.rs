//! Parsing keepalived's checker data dump (`/tmp/keepalived_check.data`,
//! written by the checker process on SIGUSR1) into
//! [`KeepalivedVirtualServer`]s.
//!
//! The dump is debugging text whose format keepalived does not promise.
//! Its sections (`------< LVS Topology >------`, `------< Health
//! checkers >------`) hold `key = value` lines; this parser reads the keys
//! it knows, skips every other line, and turns a missing key into `None`.
//! Only a line that names something it cannot be (a virtual server whose
//! address does not parse, a real server outside any virtual server) is an
//! error, naming the line.
//!
//! keepalived 2.2.7's dump says whether each checker is up, not why it
//! failed; no failure reason is exposed because none is there.

use std::net::IpAddr;
use std::path::Path;

use super::error::DumpError;
use super::types::{
    KeepalivedChecker, KeepalivedRealServer, KeepalivedService, KeepalivedVirtualServer,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    Other,
    Topology,
    Checkers,
}

/// What the `key = value` lines apply to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Nothing,
    VirtualServer,
    RealServer,
    /// (virtual server index, real server index)
    Checker(usize, usize),
}

/// Parses the whole dump; `path` only names it in errors.
pub fn parse_virtual_servers(
    text: &str,
    path: &Path,
) -> Result<Vec<KeepalivedVirtualServer>, DumpError> {
    let mut servers: Vec<KeepalivedVirtualServer> = Vec::new();
    let mut section = Section::Other;
    let mut target = Target::Nothing;
    let mut seen_topology = false;
    for (index, raw) in text.lines().enumerate() {
        let malformed = |reason: &str| DumpError::Malformed {
            path: path.to_path_buf(),
            line: index + 1,
            reason: reason.to_string(),
            text: raw.trim().to_string(),
        };
        let line = raw.trim();
        if let Some(name) = section_name(line) {
            match name {
                "LVS Topology" => {
                    section = Section::Topology;
                    seen_topology = true;
                }
                "Health checkers" => section = Section::Checkers,
                "Virtual server" | "Real server" if section == Section::Topology => {}
                _ => section = Section::Other,
            }
            target = Target::Nothing;
            continue;
        }
        match section {
            Section::Other => {}
            Section::Topology => {
                if let Some(header) = line.strip_prefix("VS ") {
                    let service = virtual_service(header)
                        .ok_or_else(|| malformed("a virtual server that does not parse"))?;
                    servers.push(KeepalivedVirtualServer {
                        service,
                        protocol: None,
                        scheduler: None,
                        forwarding: None,
                        persistence_timeout_secs: None,
                        quorum: None,
                        quorum_up: None,
                        alive: None,
                        real_servers: Vec::new(),
                    });
                    target = Target::VirtualServer;
                } else if line.starts_with("RIP = ") {
                    let server = servers
                        .last_mut()
                        .ok_or_else(|| malformed("a real server outside any virtual server"))?;
                    let real = real_server(line)
                        .ok_or_else(|| malformed("a real server that does not parse"))?;
                    server.real_servers.push(real);
                    target = Target::RealServer;
                } else if let Some((key, value)) = line.split_once(" = ") {
                    apply_topology(&mut servers, target, key, value);
                } else if let Some(value) = line.strip_prefix("Inhibit on failure is ") {
                    if target == Target::RealServer {
                        if let Some(real) =
                            servers.last_mut().and_then(|s| s.real_servers.last_mut())
                        {
                            real.inhibit_on_failure = on_off(value);
                        }
                    }
                }
            }
            Section::Checkers => {
                if let Some((service, real)) = line.split_once(" -> ") {
                    target = attach_checker(&mut servers, service, real).unwrap_or(Target::Nothing);
                } else if let (Target::Checker(v, r), Some((key, value))) =
                    (target, line.split_once(" = "))
                {
                    if let Some(checker) = servers
                        .get_mut(v)
                        .and_then(|s| s.real_servers.get_mut(r))
                        .and_then(|rs| rs.checkers.last_mut())
                    {
                        apply_checker(checker, key, value);
                    }
                }
            }
        }
    }
    if !seen_topology {
        return Err(DumpError::Malformed {
            path: path.to_path_buf(),
            line: text.lines().count(),
            reason: "no LVS Topology section (a truncated or foreign dump)".into(),
            text: text.lines().last().unwrap_or_default().trim().to_string(),
        });
    }
    Ok(servers)
}

/// `------< Name >------` → `Name`.
fn section_name(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("------<")?.strip_suffix(">------")?;
    Some(inner.trim())
}

/// `VIP = 198.51.100.100, VPORT = 80`, `FWMARK = 7` or `GROUP = name`.
fn virtual_service(header: &str) -> Option<KeepalivedService> {
    if let Some(mark) = header.strip_prefix("FWMARK = ") {
        return mark.trim().parse().ok().map(KeepalivedService::Fwmark);
    }
    if let Some(name) = header.strip_prefix("GROUP = ") {
        return Some(KeepalivedService::Group(name.trim().to_string()));
    }
    let (vip, vport) = header.split_once(", ")?;
    Some(KeepalivedService::Address {
        address: vip.strip_prefix("VIP = ")?.trim().parse().ok()?,
        port: vport.strip_prefix("VPORT = ")?.trim().parse().ok()?,
    })
}

/// `RIP = 198.51.100.71, RPORT = 80, WEIGHT = 3 EFF WEIGHT = 3`.
fn real_server(line: &str) -> Option<KeepalivedRealServer> {
    let mut parts = line.split(", ");
    let address: IpAddr = parts.next()?.strip_prefix("RIP = ")?.trim().parse().ok()?;
    let port: u16 = parts
        .next()?
        .strip_prefix("RPORT = ")?
        .trim()
        .parse()
        .ok()?;
    // The weights have lines of their own too; these are the fallback.
    let weights = parts.next().unwrap_or_default();
    let weight = weights
        .strip_prefix("WEIGHT = ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|w| w.parse().ok());
    let effective_weight = weights
        .split_once("EFF WEIGHT = ")
        .and_then(|(_, w)| w.trim().parse().ok());
    Some(KeepalivedRealServer {
        address,
        port,
        weight,
        effective_weight,
        forwarding: None,
        alive: None,
        failed_checkers: None,
        in_ipvs: None,
        inhibit_on_failure: None,
        checkers: Vec::new(),
    })
}

fn apply_topology(servers: &mut [KeepalivedVirtualServer], target: Target, key: &str, value: &str) {
    let Some(server) = servers.last_mut() else {
        return;
    };
    let value = value.trim();
    match target {
        Target::VirtualServer => match key {
            "lvs_sched" => server.scheduler = Some(value.to_string()),
            "protocol" => server.protocol = Some(value.to_string()).filter(|p| p != "none"),
            "default forwarding method" => server.forwarding = Some(value.to_string()),
            "persistence timeout" => server.persistence_timeout_secs = value.parse().ok(),
            "quorum" => {
                // `quorum = 1, hysteresis = 0`
                server.quorum = value.split(',').next().and_then(|q| q.trim().parse().ok());
            }
            "quorum_state_up" => server.quorum_up = truth(value),
            "alive" => server.alive = truth(value),
            _ => {}
        },
        Target::RealServer => {
            let Some(real) = server.real_servers.last_mut() else {
                return;
            };
            match key {
                "forwarding method" => real.forwarding = Some(value.to_string()),
                "initial weight" => real.weight = value.parse().ok().or(real.weight),
                "effective weight" => {
                    real.effective_weight = value.parse().ok().or(real.effective_weight)
                }
                "alive" => real.alive = truth(value),
                "num failed checkers" => real.failed_checkers = value.parse().ok(),
                "RS set" => real.in_ipvs = truth(value),
                _ => {}
            }
        }
        Target::Nothing | Target::Checker(..) => {}
    }
}

/// Finds the real server a checker header (`[VIP]:tcp:80 ->
/// [RIP]:tcp:80` or `FWM 7 -> [RIP]:none:0`) names and gives it a new
/// checker; `None` when the header names no real server of the topology.
fn attach_checker(
    servers: &mut [KeepalivedVirtualServer],
    service: &str,
    real: &str,
) -> Option<Target> {
    let service = service.trim();
    let wanted = match service.strip_prefix("FWM ") {
        Some(mark) => KeepalivedService::Fwmark(mark.trim().parse().ok()?),
        None => {
            let (address, port) = endpoint(service)?;
            KeepalivedService::Address { address, port }
        }
    };
    let (address, port) = endpoint(real.trim())?;
    let v = servers.iter().position(|s| s.service == wanted)?;
    let r = servers[v]
        .real_servers
        .iter()
        .position(|rs| rs.address == address && rs.port == port)?;
    servers[v].real_servers[r].checkers.push(KeepalivedChecker {
        kind: None,
        up: None,
        enabled: None,
        has_run: None,
        target: None,
        retries: None,
    });
    Some(Target::Checker(v, r))
}

/// `[198.51.100.71]:tcp:80` → (address, port).
fn endpoint(text: &str) -> Option<(IpAddr, u16)> {
    let (address, rest) = text.strip_prefix('[')?.split_once("]:")?;
    let port = rest.rsplit(':').next()?.parse().ok()?;
    Some((address.parse().ok()?, port))
}

fn apply_checker(checker: &mut KeepalivedChecker, key: &str, value: &str) {
    let value = value.trim();
    match key {
        "Keepalive method" => checker.kind = Some(value.to_string()),
        "Enabled" => checker.enabled = truth(value),
        "Up" => checker.up = truth(value),
        "Has run" => checker.has_run = truth(value),
        "Retries" => checker.retries = value.parse().ok(),
        "Dest" => checker.target = Some(value.to_string()),
        _ => {}
    }
}

fn truth(value: &str) -> Option<bool> {
    match value.trim() {
        "1" | "yes" | "true" => Some(true),
        "0" | "no" | "false" => Some(false),
        _ => None,
    }
}

fn on_off(value: &str) -> Option<bool> {
    match value.trim() {
        "ON" => Some(true),
        "OFF" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keepalived-dumps"
    );

    fn fixture_text() -> String {
        std::fs::read_to_string(format!("{FIXTURES}/checker-dr-wrr.check.data")).unwrap()
    }

    fn parse(text: &str) -> Result<Vec<KeepalivedVirtualServer>, DumpError> {
        parse_virtual_servers(text, Path::new("/tmp/keepalived_check.data"))
    }

    #[test]
    fn one_real_server_up_and_one_down_behind_a_persistent_dr_service() {
        let servers = parse(&fixture_text()).unwrap();
        assert_eq!(servers.len(), 2);
        let web = &servers[0];
        assert_eq!(web.service.to_string(), "198.51.100.100:80");
        assert_eq!(web.protocol.as_deref(), Some("TCP"));
        assert_eq!(web.scheduler.as_deref(), Some("wrr"));
        assert_eq!(web.forwarding.as_deref(), Some("DR"));
        assert_eq!(web.persistence_timeout_secs, Some(60));
        assert_eq!(
            (web.quorum, web.quorum_up, web.alive),
            (Some(1), Some(true), Some(true))
        );
        let rows: Vec<_> = web
            .real_servers
            .iter()
            .map(|rs| {
                (
                    rs.address.to_string(),
                    rs.port,
                    rs.weight,
                    rs.alive,
                    rs.in_ipvs,
                    rs.failed_checkers,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "198.51.100.71".to_string(),
                    80,
                    Some(3),
                    Some(true),
                    Some(true),
                    Some(0)
                ),
                (
                    "198.51.100.72".to_string(),
                    80,
                    Some(1),
                    Some(false),
                    Some(false),
                    Some(1)
                ),
            ]
        );
        let down = &web.real_servers[1];
        assert_eq!(down.inhibit_on_failure, Some(false));
        assert_eq!(down.checkers.len(), 1);
        let checker = &down.checkers[0];
        assert_eq!(checker.kind.as_deref(), Some("TCP_CHECK"));
        assert_eq!(
            (checker.up, checker.enabled, checker.has_run),
            (Some(false), Some(true), Some(true))
        );
        assert_eq!(checker.target.as_deref(), Some("[198.51.100.72]:80"));
        assert_eq!(checker.retries, Some(1));
        assert_eq!(web.real_servers[0].checkers[0].up, Some(true));

        let marked = &servers[1];
        assert_eq!(marked.service, KeepalivedService::Fwmark(7));
        assert_eq!(
            marked.protocol, None,
            "keepalived writes 'none' for a fwmark service"
        );
        assert_eq!(marked.persistence_timeout_secs, None);
        assert_eq!(marked.real_servers[0].port, 0);
        assert_eq!(marked.real_servers[0].checkers[0].up, Some(true));
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let text = fixture_text()
            .lines()
            .flat_map(|line| [line, "%%% garbage = ??? ", "", "\u{7f}binary\u{1}"])
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse(&text).unwrap(), parse(&fixture_text()).unwrap());
    }

    #[test]
    fn missing_lines_leave_fields_unknown() {
        let text: String = fixture_text()
            .lines()
            .filter(|l| !l.contains("lvs_sched") && !l.contains("alive =") && !l.contains("Up ="))
            .map(|l| format!("{l}\n"))
            .collect();
        let servers = parse(&text).unwrap();
        assert_eq!(servers[0].scheduler, None);
        assert_eq!(servers[0].real_servers[1].alive, None);
        assert_eq!(servers[0].real_servers[1].checkers[0].up, None);
        assert_eq!(
            servers[0].real_servers[1].checkers[0].kind.as_deref(),
            Some("TCP_CHECK")
        );
    }

    #[test]
    fn a_malformed_dump_names_the_line_and_why() {
        let text = fixture_text().replace("RIP = 198.51.100.72,", "RIP = 198.51.100.x72,");
        let err = parse(&text).unwrap_err();
        match &err {
            DumpError::Malformed { line, reason, .. } => {
                assert_eq!(*line, 115);
                assert!(reason.contains("real server"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("line 115"), "{err}");

        let orphan = "------< LVS Topology >------\n   RIP = 198.51.100.71, RPORT = 80\n";
        let err = parse(orphan).unwrap_err();
        assert!(
            err.to_string().contains("outside any virtual server"),
            "{err}"
        );

        let truncated: String = fixture_text()
            .lines()
            .take(40)
            .map(|l| format!("{l}\n"))
            .collect();
        let err = parse(&truncated).unwrap_err();
        assert!(err.to_string().contains("no LVS Topology section"), "{err}");
    }

    #[test]
    fn a_vrrp_only_data_dump_is_not_a_checker_dump() {
        let text =
            std::fs::read_to_string(format!("{FIXTURES}/vrrp-backup-and-master.data")).unwrap();
        assert!(matches!(parse(&text), Err(DumpError::Malformed { .. })));
    }
}
