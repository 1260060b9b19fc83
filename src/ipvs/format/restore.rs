//! ipvsadm's command syntax, read back: the lines `ipvsadm -S` writes and
//! `ipvsadm -R` reads (`-A -t 10.0.0.1:80 -s wrr -p 60`, `-a -t ... -r
//! 10.0.0.2:80 -g -w 1`, …), and the same words on an `ipvsadm` command
//! line. Parsing gives a [`RestoreCommand`]; [`Restored::apply`] plays commands on
//! a table the way the kernel would store them.
//!
//! Only numeric addresses and ports are accepted (no name lookups): this
//! module never does I/O.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use compact_str::CompactString;

use crate::ipvs::model::{
    Daemon, DaemonState, DestConfig, DestKey, Family, Forward, Info, Origin, Protocol, Service,
    ServiceConfig, ServiceFlags, ServiceKey, Table, Timeouts, TunnelConfig, TunnelType,
};

/// `-p` without a value: ipvsadm's default persistence timeout.
pub const DEFAULT_PERSISTENCE_TIMEOUT: u32 = 360;

/// What a line of ipvsadm syntax asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreCommand {
    /// `-A`
    AddService(ServiceConfig),
    /// `-E`
    EditService(ServiceConfig),
    /// `-D`
    DeleteService(ServiceKey),
    /// `-a`
    AddDest(ServiceKey, DestConfig),
    /// `-e`
    EditDest(ServiceKey, DestConfig),
    /// `-d`
    DeleteDest(ServiceKey, DestKey),
    /// `-C`
    Clear,
    /// `-Z`, for one service or all
    Zero(Option<ServiceKey>),
    /// `--set tcp tcpfin udp` (0 = leave unchanged)
    SetTimeouts(Timeouts),
    /// `--start-daemon master|backup` with its options as given (zeros
    /// and `None` are left for the kernel to fill in).
    StartDaemon(Daemon),
    /// `--stop-daemon master|backup`
    StopDaemon(DaemonState),
}

/// A line that is not valid ipvsadm syntax, or a command the table refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("line {line}: {source}")]
    Syntax { line: usize, source: SyntaxError },
    #[error("line {line}: {source}")]
    Apply { line: usize, source: TableError },
}

/// Why one line is not valid ipvsadm syntax; the word at fault is quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("option '{0}' needs a value")]
    MissingValue(String),
    #[error("'{0}' is not master or backup")]
    NotADaemonState(String),
    #[error("unknown tunnel type '{0}'")]
    UnknownTunnelType(String),
    #[error("'{0}' is not a multicast group address")]
    BadMulticastGroup(String),
    #[error("unknown option '{0}'")]
    UnknownOption(String),
    #[error("more than one command on the line")]
    TwoCommands,
    #[error("'{value}' is not a valid value for '{option}'")]
    BadValue { value: String, option: String },
    #[error("invalid fwmark value '{0}'")]
    BadFwmark(String),
    #[error("fwmark must be greater than zero")]
    ZeroFwmark,
    #[error("no command (-A, -a, -E, -e, -D, -d, …)")]
    NoCommand,
    #[error("--set needs tcp tcpfin udp")]
    SetNeedsThree,
    #[error("a service needs exactly one of -t, -u, --sctp-service, -f")]
    NoService,
    #[error("'{0}' is not an IPv4 netmask")]
    BadNetmask(String),
    #[error("'{0}' is not an IPv6 prefix length")]
    BadPrefixLength(String),
    #[error("invalid scheduler flag '{0}'")]
    UnknownSchedFlag(String),
    #[error("incompatible scheduler flag '{0}'")]
    IncompatibleSchedFlag(String),
    #[error("a real server needs -r")]
    NoRealServer,
    #[error("tunnel options conflict with forward method")]
    TunnelOptions,
    #[error("different address family is allowed only for tunneling servers")]
    FamilyMismatch,
    #[error("'{0}' is not a numeric address[:port]")]
    BadAddress(String),
}

/// Why the table refuses a command, in the kernel's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("service already exists")]
    ServiceExists,
    #[error("no such service")]
    NoSuchService,
    #[error("destination already exists")]
    DestExists,
    #[error("no such destination")]
    NoSuchDest,
    #[error("daemon has already run")]
    DaemonRunning,
    #[error("no daemon is running")]
    NoDaemon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    AddService,
    EditService,
    DeleteService,
    AddDest,
    EditDest,
    DeleteDest,
    Clear,
    Zero,
    Set,
    StartDaemon(DaemonState),
    StopDaemon(DaemonState),
}

/// Everything one line may say, before it is checked against its verb.
#[derive(Debug, Default)]
struct Words {
    verb: Option<Verb>,
    service: Option<(Option<Protocol>, String)>,
    fwmark: Option<u32>,
    ipv6: bool,
    scheduler: Option<String>,
    persistent: Option<u32>,
    netmask: Option<String>,
    pe: Option<String>,
    sched_flags: Option<String>,
    ops: bool,
    real_server: Option<String>,
    forward: Option<Forward>,
    weight: Option<i32>,
    upper: Option<u32>,
    lower: Option<u32>,
    tun_type: Option<TunnelType>,
    tun_port: Option<u16>,
    tun_flags: Option<u16>,
    timeouts: Vec<u32>,
    mcast_ifn: Option<String>,
    syncid: Option<u32>,
    sync_maxlen: Option<u16>,
    mcast_group: Option<IpAddr>,
    mcast_port: Option<u16>,
    mcast_ttl: Option<u8>,
}

/// Parse a whole restore file; blank lines and `#` comments are skipped.
pub fn parse(text: &str) -> Result<Vec<RestoreCommand>, RestoreError> {
    let mut commands = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        match parse_line(line) {
            Ok(Some(cmd)) => commands.push(cmd),
            Ok(None) => {}
            Err(source) => {
                return Err(RestoreError::Syntax {
                    line: number,
                    source,
                })
            }
        }
    }
    Ok(commands)
}

/// Parse one line. A leading `ipvsadm` word is allowed; blank lines and
/// comments give `None`.
pub fn parse_line(line: &str) -> Result<Option<RestoreCommand>, SyntaxError> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let mut tokens: Vec<&str> = line.split_whitespace().collect();
    if tokens.first().is_some_and(|t| t.ends_with("ipvsadm")) {
        tokens.remove(0);
    }
    let words = read_words(&tokens)?;
    build(words).map(Some)
}

fn read_words(tokens: &[&str]) -> Result<Words, SyntaxError> {
    let mut w = Words::default();
    let mut i = 0;
    let arg = |i: &mut usize, opt: &str| -> Result<String, SyntaxError> {
        *i += 1;
        tokens
            .get(*i)
            .map(|s| s.to_string())
            .ok_or_else(|| SyntaxError::MissingValue(opt.to_string()))
    };
    while i < tokens.len() {
        let tok = tokens[i];
        match tok {
            "-A" | "--add-service" => set_verb(&mut w, Verb::AddService)?,
            "-E" | "--edit-service" => set_verb(&mut w, Verb::EditService)?,
            "-D" | "--delete-service" => set_verb(&mut w, Verb::DeleteService)?,
            "-a" | "--add-server" => set_verb(&mut w, Verb::AddDest)?,
            "-e" | "--edit-server" => set_verb(&mut w, Verb::EditDest)?,
            "-d" | "--delete-server" => set_verb(&mut w, Verb::DeleteDest)?,
            "-C" | "--clear" => set_verb(&mut w, Verb::Clear)?,
            "-Z" | "--zero" => set_verb(&mut w, Verb::Zero)?,
            "--set" => {
                set_verb(&mut w, Verb::Set)?;
                for _ in 0..3 {
                    let v = arg(&mut i, tok)?;
                    w.timeouts.push(number(&v, tok)?);
                }
            }
            "--start-daemon" | "--stop-daemon" => {
                let state = match arg(&mut i, tok)?.as_str() {
                    "master" => DaemonState::Master,
                    "backup" => DaemonState::Backup,
                    other => return Err(SyntaxError::NotADaemonState(other.to_string())),
                };
                let verb = if tok == "--start-daemon" {
                    Verb::StartDaemon(state)
                } else {
                    Verb::StopDaemon(state)
                };
                set_verb(&mut w, verb)?;
            }
            "-t" | "--tcp-service" => w.service = Some((Some(Protocol::Tcp), arg(&mut i, tok)?)),
            "-u" | "--udp-service" => w.service = Some((Some(Protocol::Udp), arg(&mut i, tok)?)),
            "--sctp-service" => w.service = Some((Some(Protocol::Sctp), arg(&mut i, tok)?)),
            "-f" | "--fwmark-service" => w.fwmark = Some(fwmark(&arg(&mut i, tok)?)?),
            "-6" | "--ipv6" => w.ipv6 = true,
            "-s" | "--scheduler" => w.scheduler = Some(arg(&mut i, tok)?),
            "-p" | "--persistent" => {
                // The timeout is optional: take the next word only if it
                // is a number.
                match tokens.get(i + 1).and_then(|t| t.parse::<u32>().ok()) {
                    Some(t) => {
                        w.persistent = Some(t);
                        i += 1;
                    }
                    None => w.persistent = Some(DEFAULT_PERSISTENCE_TIMEOUT),
                }
            }
            "-M" | "--netmask" => w.netmask = Some(arg(&mut i, tok)?),
            "--pe" => w.pe = Some(arg(&mut i, tok)?),
            "-b" | "--sched-flags" => {
                // `-S` writes `-b ` with an empty list for flags that have
                // no name under the scheduler: accept a missing value.
                match tokens.get(i + 1) {
                    Some(next) if !next.starts_with('-') => {
                        w.sched_flags = Some(next.to_string());
                        i += 1;
                    }
                    _ => w.sched_flags = Some(String::new()),
                }
            }
            "-o" | "--ops" => w.ops = true,
            "-r" | "--real-server" => w.real_server = Some(arg(&mut i, tok)?),
            "-g" | "--gatewaying" => w.forward = Some(Forward::Route),
            "-i" | "--ipip" => w.forward = Some(Forward::Tunnel),
            "-m" | "--masquerading" => w.forward = Some(Forward::Masq),
            "-w" | "--weight" => w.weight = Some(number(&arg(&mut i, tok)?, tok)?),
            "-x" | "--u-threshold" => w.upper = Some(number(&arg(&mut i, tok)?, tok)?),
            "-y" | "--l-threshold" => w.lower = Some(number(&arg(&mut i, tok)?, tok)?),
            "--tun-type" => {
                w.tun_type = Some(match arg(&mut i, tok)?.as_str() {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    other => return Err(SyntaxError::UnknownTunnelType(other.to_string())),
                })
            }
            "--tun-port" => w.tun_port = Some(number(&arg(&mut i, tok)?, tok)?),
            "--tun-nocsum" => w.tun_flags = Some(0),
            "--tun-csum" => w.tun_flags = Some(TunnelConfig::FLAG_CSUM),
            "--tun-remcsum" => w.tun_flags = Some(TunnelConfig::FLAG_REMCSUM),
            "--mcast-interface" => w.mcast_ifn = Some(arg(&mut i, tok)?),
            "--syncid" => w.syncid = Some(number(&arg(&mut i, tok)?, tok)?),
            "--sync-maxlen" => w.sync_maxlen = Some(number(&arg(&mut i, tok)?, tok)?),
            "--mcast-group" => {
                let v = arg(&mut i, tok)?;
                w.mcast_group = Some(
                    v.parse()
                        .map_err(|_| SyntaxError::BadMulticastGroup(v.clone()))?,
                );
            }
            "--mcast-port" => w.mcast_port = Some(number(&arg(&mut i, tok)?, tok)?),
            "--mcast-ttl" => w.mcast_ttl = Some(number(&arg(&mut i, tok)?, tok)?),
            "-n" | "--numeric" => {}
            other => return Err(SyntaxError::UnknownOption(other.to_string())),
        }
        i += 1;
    }
    Ok(w)
}

fn set_verb(w: &mut Words, verb: Verb) -> Result<(), SyntaxError> {
    if w.verb.is_some() {
        return Err(SyntaxError::TwoCommands);
    }
    w.verb = Some(verb);
    Ok(())
}

fn number<T: std::str::FromStr>(text: &str, opt: &str) -> Result<T, SyntaxError> {
    text.parse().map_err(|_| SyntaxError::BadValue {
        value: text.to_string(),
        option: opt.to_string(),
    })
}

/// A firewall mark. `ipvsadm -S` prints marks with `%d`, so marks of 2^31
/// and more come out negative; accept those as the 32-bit value they
/// stand for, so that lvstop restores what ipvsadm saves.
fn fwmark(text: &str) -> Result<u32, SyntaxError> {
    let mark = match text.parse::<u32>() {
        Ok(m) => m,
        Err(_) => text
            .parse::<i32>()
            .map(|m| m as u32)
            .map_err(|_| SyntaxError::BadFwmark(text.to_string()))?,
    };
    if mark == 0 {
        return Err(SyntaxError::ZeroFwmark);
    }
    Ok(mark)
}

fn build(w: Words) -> Result<RestoreCommand, SyntaxError> {
    let verb = w.verb.ok_or(SyntaxError::NoCommand)?;
    Ok(match verb {
        Verb::AddService => RestoreCommand::AddService(service_config(&w)?),
        Verb::EditService => RestoreCommand::EditService(service_config(&w)?),
        Verb::DeleteService => RestoreCommand::DeleteService(service_key(&w)?),
        Verb::AddDest => RestoreCommand::AddDest(service_key(&w)?, dest_config(&w)?),
        Verb::EditDest => RestoreCommand::EditDest(service_key(&w)?, dest_config(&w)?),
        Verb::DeleteDest => RestoreCommand::DeleteDest(service_key(&w)?, dest_config(&w)?.key),
        Verb::Clear => RestoreCommand::Clear,
        Verb::Zero => RestoreCommand::Zero(if w.service.is_some() || w.fwmark.is_some() {
            Some(service_key(&w)?)
        } else {
            None
        }),
        Verb::Set => match w.timeouts[..] {
            [tcp, tcp_fin, udp] => RestoreCommand::SetTimeouts(Timeouts { tcp, tcp_fin, udp }),
            _ => return Err(SyntaxError::SetNeedsThree),
        },
        Verb::StartDaemon(state) => RestoreCommand::StartDaemon(Daemon {
            state,
            mcast_ifn: CompactString::from(w.mcast_ifn.as_deref().unwrap_or("eth0")),
            syncid: w.syncid.unwrap_or(0),
            sync_maxlen: w.sync_maxlen.unwrap_or(0),
            mcast_group: w.mcast_group,
            mcast_port: w.mcast_port.unwrap_or(0),
            mcast_ttl: w.mcast_ttl.unwrap_or(0),
        }),
        Verb::StopDaemon(state) => RestoreCommand::StopDaemon(state),
    })
}

fn service_key(w: &Words) -> Result<ServiceKey, SyntaxError> {
    match (&w.service, w.fwmark) {
        (Some((Some(protocol), text)), None) => {
            let addr = parse_addr_port(text, 0)?;
            Ok(ServiceKey::Inet {
                protocol: *protocol,
                addr: addr.ip(),
                port: addr.port(),
            })
        }
        (None, Some(mark)) => Ok(ServiceKey::Fwmark {
            family: if w.ipv6 { Family::Inet6 } else { Family::Inet },
            mark,
        }),
        _ => Err(SyntaxError::NoService),
    }
}

fn service_config(w: &Words) -> Result<ServiceConfig, SyntaxError> {
    let key = service_key(w)?;
    let scheduler = w.scheduler.as_deref().unwrap_or("wlc");
    let mut cfg = ServiceConfig::new(key, scheduler);
    if let Some(timeout) = w.persistent {
        cfg = cfg.persistent(timeout);
    }
    if let Some(mask) = &w.netmask {
        cfg.netmask = match key.family() {
            Family::Inet => u32::from(
                mask.parse::<Ipv4Addr>()
                    .map_err(|_| SyntaxError::BadNetmask(mask.clone()))?,
            ),
            Family::Inet6 => match mask.parse::<u32>() {
                Ok(prefix) if (1..=128).contains(&prefix) => prefix,
                _ => return Err(SyntaxError::BadPrefixLength(mask.clone())),
            },
        };
    }
    cfg.pe_name = w.pe.as_deref().map(CompactString::from);
    if let Some(flags) = &w.sched_flags {
        cfg.flags = ServiceFlags(cfg.flags.0 | sched_flags(scheduler, flags)?);
    }
    if w.ops {
        cfg.flags = cfg.flags.with(ServiceFlags::ONEPACKET, true);
    }
    Ok(cfg)
}

/// `-b` names to flag bits: `sh-*` only under sh, `mh-*` only under mh,
/// `flag-N` under any scheduler.
fn sched_flags(scheduler: &str, list: &str) -> Result<u32, SyntaxError> {
    let mut bits = 0;
    for name in list.split(',').filter(|n| !n.is_empty()) {
        let (bit, only) = match name {
            "flag-1" => (ServiceFlags::SCHED1, None),
            "flag-2" => (ServiceFlags::SCHED2, None),
            "flag-3" => (ServiceFlags::SCHED3, None),
            "sh-fallback" => (ServiceFlags::SCHED1, Some("sh")),
            "sh-port" => (ServiceFlags::SCHED2, Some("sh")),
            "mh-fallback" => (ServiceFlags::SCHED1, Some("mh")),
            "mh-port" => (ServiceFlags::SCHED2, Some("mh")),
            other => return Err(SyntaxError::UnknownSchedFlag(other.to_string())),
        };
        if only.is_some_and(|s| s != scheduler) {
            return Err(SyntaxError::IncompatibleSchedFlag(name.to_string()));
        }
        bits |= bit;
    }
    Ok(bits)
}

fn dest_config(w: &Words) -> Result<DestConfig, SyntaxError> {
    let key = service_key(w)?;
    let svc_port = match key {
        ServiceKey::Inet { port, .. } => port,
        ServiceKey::Fwmark { .. } => 0,
    };
    let text = w.real_server.as_deref().ok_or(SyntaxError::NoRealServer)?;
    let mut addr = parse_addr_port(text, svc_port)?;
    let forward = w.forward.unwrap_or(Forward::Route);
    // Direct routing and tunnels cannot change the port: ipvsadm forces
    // the service's (except for firewall-mark services).
    if matches!(key, ServiceKey::Inet { .. }) && matches!(forward, Forward::Route | Forward::Tunnel)
    {
        addr.set_port(svc_port);
    }
    if forward != Forward::Tunnel
        && (w.tun_type.is_some() || w.tun_port.is_some() || w.tun_flags.is_some())
    {
        return Err(SyntaxError::TunnelOptions);
    }
    if forward != Forward::Tunnel && Family::of(addr.ip()) != key.family() {
        return Err(SyntaxError::FamilyMismatch);
    }
    let mut cfg = DestConfig::new(addr, forward, w.weight.unwrap_or(1));
    cfg.upper_threshold = w.upper.unwrap_or(0);
    cfg.lower_threshold = w.lower.unwrap_or(0);
    cfg.tunnel = TunnelConfig {
        kind: w.tun_type.unwrap_or_default(),
        port: w.tun_port.unwrap_or(0),
        flags: w.tun_flags.unwrap_or(0),
    };
    Ok(cfg)
}

/// `a.b.c.d[:port]`, `[v6]:port` or a bare IPv6 address; a missing port
/// is `default_port`.
fn parse_addr_port(text: &str, default_port: u16) -> Result<SocketAddr, SyntaxError> {
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, default_port));
    }
    Err(SyntaxError::BadAddress(text.to_string()))
}

/// A table with the kernel's connection settings, rebuilt by replaying
/// commands: what `ipvsadm -R` leaves behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub table: Table,
    pub timeouts: Timeouts,
    pub daemons: Vec<Daemon>,
}

impl Default for Restored {
    fn default() -> Self {
        Restored {
            table: Table {
                origin: Origin::Kernel,
                info: Info::KERNEL_DEFAULT,
                services: Vec::new(),
            },
            timeouts: Timeouts::default(),
            daemons: Vec::new(),
        }
    }
}

impl Restored {
    /// Replay a whole restore text.
    pub fn from_text(text: &str) -> Result<Self, RestoreError> {
        let mut restored = Restored::default();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let cmd = parse_line(line).map_err(|source| RestoreError::Syntax {
                line: line_no,
                source,
            })?;
            if let Some(cmd) = cmd {
                restored.apply(&cmd).map_err(|source| RestoreError::Apply {
                    line: line_no,
                    source,
                })?;
            }
        }
        Ok(restored)
    }

    /// Play one command as the kernel would.
    pub fn apply(&mut self, cmd: &RestoreCommand) -> Result<(), TableError> {
        let services = &mut self.table.services;
        match cmd {
            RestoreCommand::AddService(cfg) => {
                if services.iter().any(|s| s.key() == cfg.key) {
                    return Err(TableError::ServiceExists);
                }
                services.push(Service::new(cfg.clone()));
            }
            RestoreCommand::EditService(cfg) => {
                find_service(services, cfg.key)?.config = cfg.clone()
            }
            RestoreCommand::DeleteService(key) => {
                find_service(services, *key)?;
                services.retain(|s| s.key() != *key);
            }
            RestoreCommand::AddDest(key, cfg) => {
                let svc = find_service(services, *key)?;
                if svc.dest(cfg.key).is_some() {
                    return Err(TableError::DestExists);
                }
                // The kernel links new destinations at the head.
                svc.dests.insert(0, crate::ipvs::model::Dest::new(*cfg));
            }
            RestoreCommand::EditDest(key, cfg) => {
                let svc = find_service(services, *key)?;
                let dest = svc
                    .dests
                    .iter_mut()
                    .find(|d| d.key() == cfg.key)
                    .ok_or(TableError::NoSuchDest)?;
                dest.config = *cfg;
            }
            RestoreCommand::DeleteDest(key, dest) => {
                let svc = find_service(services, *key)?;
                if svc.dest(*dest).is_none() {
                    return Err(TableError::NoSuchDest);
                }
                svc.dests.retain(|d| d.key() != *dest);
            }
            RestoreCommand::Clear => services.clear(),
            RestoreCommand::Zero(_) => {}
            RestoreCommand::SetTimeouts(t) => {
                let cur = &mut self.timeouts;
                for (slot, value) in [
                    (&mut cur.tcp, t.tcp),
                    (&mut cur.tcp_fin, t.tcp_fin),
                    (&mut cur.udp, t.udp),
                ] {
                    if value != 0 {
                        *slot = value;
                    }
                }
            }
            RestoreCommand::StartDaemon(d) => {
                if self.daemons.iter().any(|x| x.state == d.state) {
                    return Err(TableError::DaemonRunning);
                }
                self.daemons.push(d.clone());
            }
            RestoreCommand::StopDaemon(state) => {
                if !self.daemons.iter().any(|x| x.state == *state) {
                    return Err(TableError::NoDaemon);
                }
                self.daemons.retain(|x| x.state != *state);
            }
        }
        Ok(())
    }
}

fn find_service(services: &mut [Service], key: ServiceKey) -> Result<&mut Service, TableError> {
    services
        .iter_mut()
        .find(|s| s.key() == key)
        .ok_or(TableError::NoSuchService)
}

#[cfg(test)]
mod tests;
