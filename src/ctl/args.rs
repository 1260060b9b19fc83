//! `lvstop ctl VERB …`: the command line, in ipvsadm's words for choosing
//! a service (`-t/-u/--sctp-service VIP:PORT`, `-f MARK`) and a real
//! server (`-r RIP[:PORT]`), turned into an engine [`Command`].
//!
//! Only the shape of the command line and its translation live here; the
//! round trip to the daemon is in the parent module.

use std::net::SocketAddr;

use clap::{Args, Subcommand};

use crate::engine::command::{Command, PriorityChange};
use crate::engine::overrides::Target;
use crate::ipvs::model::{DestKey, Family, Protocol, ServiceKey};

/// The verbs.
#[derive(Debug, Clone, Subcommand)]
pub enum Verb {
    /// Give a real server a weight until `restore`.
    Weight {
        #[command(flatten)]
        service: ServiceArgs,
        #[command(flatten)]
        server: ServerArgs,
        /// The new weight (0 stops new connections, keeps existing ones).
        #[arg(short = 'w', long)]
        weight: i32,
        /// Why, for the audit trail.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Weight 0, then wait until the real server has no active connections.
    Drain {
        #[command(flatten)]
        service: ServiceArgs,
        #[command(flatten)]
        server: ServerArgs,
        /// Give up waiting after this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        timeout: u64,
        /// Take the real server out of the table once drained.
        #[arg(long)]
        remove: bool,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Back to the configured weight.
    Restore {
        #[command(flatten)]
        service: ServiceArgs,
        #[command(flatten)]
        server: ServerArgs,
        /// Climb from 0 to the configured weight over this many seconds.
        #[arg(long, value_name = "SECONDS")]
        ramp: Option<u64>,
    },
    /// Take a virtual service (or one real server) out of the table.
    Disable {
        #[command(flatten)]
        service: ServiceArgs,
        #[command(flatten)]
        server: OptionalServerArgs,
        #[arg(long)]
        reason: String,
    },
    /// Clear a reason given to `disable` (all reasons without --reason).
    Enable {
        #[command(flatten)]
        service: ServiceArgs,
        #[command(flatten)]
        server: OptionalServerArgs,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Make a VRRP instance or sync group step down.
    Failover {
        /// The instance or sync group.
        name: String,
        /// Stay BACKUP this many seconds (default 60).
        #[arg(long, value_name = "SECONDS", conflicts_with = "priority")]
        hold: Option<u64>,
        /// Instead of stepping down: run at priority N (1-254) until
        /// `--priority configured`; VRRP's election moves the VIPs.
        #[arg(long, value_name = "N|configured", value_parser = str::parse::<PriorityChange>)]
        priority: Option<PriorityChange>,
    },
    /// Re-read the configuration file and apply it.
    Reload,
    /// Apply a configuration file.
    Apply {
        file: std::path::PathBuf,
        /// Print the operations without applying them.
        #[arg(long)]
        dry_run: bool,
        /// Roll back unless `lvstop ctl confirm` comes within this many seconds.
        #[arg(long, value_name = "SECONDS")]
        confirm_within: Option<u64>,
    },
    /// Keep an apply made with --confirm-within.
    Confirm,
    /// Zero the counters of one service, or of all.
    Zero {
        #[command(flatten)]
        service: ServiceArgs,
    },
}

/// A service, chosen as ipvsadm chooses it. Every verb but `zero`
/// needs one ([`ServiceArgs::key`]); `zero` without one zeroes all
/// ([`ServiceArgs::chosen`]).
#[derive(Debug, Clone, Args)]
#[group(required = false, multiple = true)]
pub struct ServiceArgs {
    /// TCP service.
    #[arg(short = 't', long = "tcp-service", value_name = "VIP:PORT")]
    pub tcp: Option<String>,
    /// UDP service.
    #[arg(short = 'u', long = "udp-service", value_name = "VIP:PORT")]
    pub udp: Option<String>,
    /// SCTP service.
    #[arg(long = "sctp-service", value_name = "VIP:PORT")]
    pub sctp: Option<String>,
    /// Firewall-mark service.
    #[arg(short = 'f', long = "fwmark-service", value_name = "MARK")]
    pub fwmark: Option<String>,
    /// The firewall mark is an IPv6 one (ipvsadm's -6).
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
}

/// A real server.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Real server address; the port defaults to the service's.
    #[arg(short = 'r', long = "real-server", value_name = "RIP[:PORT]")]
    pub real_server: String,
}

/// A real server, or the whole service when left out.
#[derive(Debug, Clone, Args)]
pub struct OptionalServerArgs {
    #[arg(short = 'r', long = "real-server", value_name = "RIP[:PORT]")]
    pub real_server: Option<String>,
}

/// A command line that names something that cannot be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl ServiceArgs {
    /// The service named; a usage error when none is.
    pub fn key(&self) -> Result<ServiceKey, UsageError> {
        self.chosen()?
            .ok_or_else(|| UsageError("name a service with -t, -u, --sctp-service or -f".into()))
    }

    /// The service named, or `None` when none is.
    pub fn chosen(&self) -> Result<Option<ServiceKey>, UsageError> {
        service_key(
            [
                (Protocol::Tcp, &self.tcp),
                (Protocol::Udp, &self.udp),
                (Protocol::Sctp, &self.sctp),
            ],
            &self.fwmark,
            self.ipv6,
        )
    }
}

fn service_key(
    addresses: [(Protocol, &Option<String>); 3],
    fwmark: &Option<String>,
    ipv6: bool,
) -> Result<Option<ServiceKey>, UsageError> {
    // `-6` qualifies `-f`; the service options themselves exclude each
    // other (clap's group cannot say both at once).
    let given =
        addresses.iter().filter(|(_, t)| t.is_some()).count() + usize::from(fwmark.is_some());
    if given > 1 {
        return Err(UsageError(
            "name one service: -t, -u, --sctp-service and -f exclude each other".into(),
        ));
    }
    for (protocol, text) in addresses {
        if let Some(text) = text {
            let addr = socket_addr(text, None)
                .map_err(|why| UsageError(format!("service '{text}': {why}")))?;
            return Ok(Some(ServiceKey::Inet {
                protocol,
                addr: addr.ip(),
                port: addr.port(),
            }));
        }
    }
    match fwmark {
        Some(text) => {
            let mark = parse_mark(text)
                .ok_or_else(|| UsageError(format!("'{text}' is not a firewall mark")))?;
            Ok(Some(ServiceKey::Fwmark {
                family: if ipv6 { Family::Inet6 } else { Family::Inet },
                mark,
            }))
        }
        None => Ok(None),
    }
}

/// `failover` without `--hold` keeps the instance BACKUP this long.
const DEFAULT_HOLD_S: u64 = 60;

/// ipvsadm reads marks in decimal, or hex with 0x.
fn parse_mark(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Why an address on the command line is not a socket address; the
/// caller names the option and quotes the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum AddrError {
    #[error("needs a port (VIP:PORT, or [VIP6]:PORT)")]
    NoPort,
    #[error("not a numeric address[:port]")]
    NotNumeric,
}

/// `a.b.c.d[:port]`, `[v6]:port` or a bare IPv6 address; without a port,
/// `default_port` (an error when there is none to default to).
fn socket_addr(text: &str, default_port: Option<u16>) -> Result<SocketAddr, AddrError> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    match (text.parse::<std::net::IpAddr>(), default_port) {
        (Ok(ip), Some(port)) => Ok(SocketAddr::new(ip, port)),
        (Ok(_), None) => Err(AddrError::NoPort),
        (Err(_), _) => Err(AddrError::NotNumeric),
    }
}

fn server_key(service: ServiceKey, text: &str) -> Result<DestKey, UsageError> {
    let port = match service {
        ServiceKey::Inet { port, .. } => port,
        ServiceKey::Fwmark { .. } => 0,
    };
    socket_addr(text, Some(port))
        .map(DestKey::new)
        .map_err(|why| UsageError(format!("real server '{text}': {why}")))
}

impl Verb {
    /// The engine command this command line asks for. `apply` reads its
    /// file here, so a missing file is a usage error before anything is
    /// sent.
    pub fn to_command(&self) -> Result<Command, UsageError> {
        Ok(match self {
            Verb::Weight {
                service,
                server,
                weight,
                reason,
            } => {
                let service = service.key()?;
                Command::SetWeight {
                    service,
                    server: server_key(service, &server.real_server)?,
                    weight: *weight,
                    reason: reason.clone(),
                }
            }
            Verb::Drain {
                service,
                server,
                timeout,
                remove,
                reason,
            } => {
                let service = service.key()?;
                Command::Drain {
                    service,
                    server: server_key(service, &server.real_server)?,
                    timeout_s: *timeout,
                    remove: *remove,
                    reason: reason.clone(),
                }
            }
            Verb::Restore {
                service,
                server,
                ramp,
            } => {
                let service = service.key()?;
                Command::Restore {
                    service,
                    server: server_key(service, &server.real_server)?,
                    ramp_s: *ramp,
                }
            }
            Verb::Disable {
                service,
                server,
                reason,
            } => Command::Disable {
                target: target(service, server)?,
                reason: reason.clone(),
            },
            Verb::Enable {
                service,
                server,
                reason,
            } => Command::Enable {
                target: target(service, server)?,
                reason: reason.clone(),
            },
            Verb::Failover {
                name,
                hold,
                priority,
            } => Command::Failover {
                name: name.clone(),
                hold_s: hold.unwrap_or(DEFAULT_HOLD_S),
                priority: *priority,
            },
            Verb::Reload => Command::Reload,
            Verb::Apply {
                file,
                dry_run,
                confirm_within,
            } => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| UsageError(format!("cannot read '{}': {e}", file.display())))?;
                Command::Apply {
                    text,
                    dry_run: *dry_run,
                    confirm_within_s: *confirm_within,
                }
            }
            Verb::Confirm => Command::Confirm,
            Verb::Zero { service } => Command::Zero {
                service: service.chosen()?,
            },
        })
    }
}

fn target(service: &ServiceArgs, server: &OptionalServerArgs) -> Result<Target, UsageError> {
    let key = service.key()?;
    Ok(match &server.real_server {
        Some(text) => Target::RealServer(key, server_key(key, text)?),
        None => Target::Service(key),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        verb: Verb,
    }

    fn command(args: &[&str]) -> Result<Command, String> {
        let cli = Cli::try_parse_from(std::iter::once("ctl").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.verb.to_command().map_err(|e| e.to_string())
    }

    fn vip() -> ServiceKey {
        ServiceKey::tcp("198.51.100.88:80".parse().unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn ipvsadm_style_selection_names_service_and_server() {
        assert_eq!(
            command(&[
                "weight",
                "-t",
                "198.51.100.88:80",
                "-r",
                "198.51.100.82",
                "-w",
                "5"
            ]),
            Ok(Command::SetWeight {
                service: vip(),
                server: DestKey::new("198.51.100.82:80".parse().unwrap_or_else(|e| panic!("{e}"))),
                weight: 5,
                reason: None,
            })
        );
        let drain = command(&[
            "drain",
            "-u",
            "[2001:db8::1]:53",
            "-r",
            "[2001:db8::2]:5353",
            "--timeout",
            "30",
            "--remove",
        ]);
        assert!(
            matches!(drain, Ok(Command::Drain { timeout_s: 30, remove: true, server, .. })
                if server.port == 5353),
            "{drain:?}"
        );
        assert_eq!(
            command(&["zero", "-f", "0x10", "-6"]),
            Ok(Command::Zero {
                service: Some(ServiceKey::Fwmark {
                    family: Family::Inet6,
                    mark: 16
                })
            })
        );
        assert_eq!(command(&["zero"]), Ok(Command::Zero { service: None }));
        assert_eq!(
            command(&[
                "disable",
                "-t",
                "198.51.100.88:80",
                "--reason",
                "maintenance"
            ]),
            Ok(Command::Disable {
                target: Target::Service(vip()),
                reason: "maintenance".into()
            })
        );
    }

    #[test]
    fn bad_selections_are_usage_errors_that_quote_the_value() {
        let error = command(&[
            "weight",
            "-t",
            "198.51.100.88",
            "-r",
            "198.51.100.82",
            "-w",
            "1",
        ])
        .unwrap_err();
        assert!(
            error.contains("'198.51.100.88'") && error.contains("port"),
            "{error}"
        );
        let error =
            command(&["weight", "-t", "198.51.100.88:80", "-r", "nope", "-w", "1"]).unwrap_err();
        assert!(error.contains("'nope'"), "{error}");
        assert!(command(&["weight", "-r", "198.51.100.82", "-w", "1"]).is_err());
        assert!(command(&["weight", "-r", "198.51.100.82", "-w", "1"])
            .unwrap_err()
            .contains("name a service"));
        assert_eq!(
            command(&["failover", "VI_1", "--priority", "50"]),
            Ok(Command::Failover {
                name: "VI_1".into(),
                hold_s: DEFAULT_HOLD_S,
                priority: Some(PriorityChange::Set(50)),
            })
        );
        assert!(command(&["failover", "VI_1", "--priority", "255"])
            .unwrap_err()
            .contains("not a VRRP priority"));
        assert!(command(&["failover", "VI_1", "--priority", "9", "--hold", "5"]).is_err());
        assert!(command(&[
            "weight",
            "-t",
            "198.51.100.88:80",
            "-u",
            "198.51.100.88:53",
            "-r",
            "198.51.100.82",
            "-w",
            "1"
        ])
        .is_err());
        let error = command(&["apply", "/nonexistent/keepalived.conf"]).unwrap_err();
        assert!(
            error.contains("cannot read '/nonexistent/keepalived.conf'"),
            "{error}"
        );
    }
}
