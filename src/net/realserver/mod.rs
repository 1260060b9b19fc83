//! `lvstop realserver start|stop|status`: prepares a host to be a
//! direct-routing (DR) real server, replacing the reference deployment's
//! `realserver` shell script.
//!
//! `start` puts each VIP as a host address (/32, IPv6 /128) on the device
//! (default `lo`) — IPv4 VIPs all with the one label `<dev>:0`, like the
//! reference deployment's `lo:0` — with scope host on `lo` and global
//! elsewhere, and sets `arp_ignore=1`, `arp_announce=2` on the device and
//! on `all` so the host neither answers ARP for the VIP nor announces it. IPv6 needs no such
//! settings (neighbour discovery does not answer for addresses on `lo`), so
//! with only IPv6 VIPs no sysctl is touched. Before changing a sysctl the
//! previous value is saved in a state file; `stop` removes the VIPs and puts
//! those values back (or the kernel default 0 when none was saved).
//!
//! This module owns the DR policy, the state file and the operator-facing
//! wording; addresses and sysctls go through [`super::address`] and
//! [`super::sysctl`].

use std::collections::btree_map::Entry;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::net::address::{
    validate_ifname, AddOutcome, AddressError, AddressSpec, Addresses, RemoveOutcome, Scope,
};
use crate::net::sysctl::{ConfKey, ConfSetting, Sysctl, SysctlError};

mod state;
use state::state_error;
pub use state::State;

/// Default state file.
pub const DEFAULT_STATE_FILE: &str = "/run/lvstop/realserver.json";

/// Exit status of `status` when something is not in place for DR.
pub const EXIT_NOT_IN_PLACE: u8 = 3;

/// The values DR needs, on the device and on `all`.
const DR_VALUES: [(ConfKey, i64); 2] = [(ConfKey::ArpIgnore, 1), (ConfKey::ArpAnnounce, 2)];

/// Errors of the realserver command.
#[derive(Debug, thiserror::Error)]
pub enum RealserverError {
    /// Bad command line.
    #[error("{0}")]
    Usage(String),
    /// Address operation failed.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// Sysctl operation failed.
    #[error(transparent)]
    Sysctl(#[from] SysctlError),
    /// The state file could not be read or written.
    #[error("state file {path}: {message}")]
    State {
        /// File.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// No runtime.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl RealserverError {
    fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Usage(_) => 2,
            _ => 1,
        })
    }
}

/// What the command was asked to do; clap parses it from the command
/// line (`start`, `stop`, `status`) and rejects anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RealServerAction {
    /// Put VIPs and sysctls in place.
    Start,
    /// Remove VIPs and restore sysctls.
    Stop,
    /// Report what is in place.
    Status,
}

/// clap's parser for [`RealServerAction`]: the help lists the three words, and any
/// other word is refused with lvstop's own message (a usage error, exit 2).
#[derive(Debug, Clone, Copy, Default)]
pub struct ActionParser;

impl clap::builder::TypedValueParser for ActionParser {
    type Value = RealServerAction;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<RealServerAction, clap::Error> {
        clap::builder::EnumValueParser::<RealServerAction>::new()
            .parse_ref(cmd, arg, value)
            .map_err(|_| {
                clap::Error::raw(
                    clap::error::ErrorKind::InvalidValue,
                    format!(
                        "unknown action '{}': use start, stop or status\n",
                        value.to_string_lossy()
                    ),
                )
                .with_cmd(cmd)
            })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        use clap::ValueEnum;
        Some(Box::new(
            RealServerAction::value_variants()
                .iter()
                .filter_map(RealServerAction::to_possible_value),
        ))
    }
}

impl RealServerAction {
    /// The word on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Status => "status",
        }
    }
}

/// Parses `--vip IP[,IP...]` strictly: every item must be an IP address;
/// duplicates are dropped, order kept.
pub fn parse_vips(text: &str) -> Result<Vec<IpAddr>, RealserverError> {
    let mut out: Vec<IpAddr> = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(RealserverError::Usage(format!(
                "--vip '{text}' has an empty item: give IP[,IP...]"
            )));
        }
        let ip: IpAddr = item.parse().map_err(|_| {
            let hint = if item.contains('/') {
                " (give the address without a prefix; lvstop uses /32 or /128)"
            } else {
                ""
            };
            RealserverError::Usage(format!("'{item}' is not an IP address{hint}"))
        })?;
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
}

/// The label IPv4 VIPs get on `dev`: `<dev>:0`, cut to 15 bytes.
pub fn vip_label(dev: &str) -> String {
    let mut label = format!("{dev}:0");
    if label.len() > 15 {
        label = format!("{}:0", &dev[..dev.len().min(13)]);
    }
    label
}

/// The address spec of one VIP on `dev`.
pub fn vip_spec(dev: &str, vip: IpAddr) -> AddressSpec {
    let mut spec = AddressSpec::host(dev, vip);
    spec.scope = if dev == "lo" {
        Scope::Host
    } else {
        Scope::Global
    };
    if vip.is_ipv4() {
        spec.label = Some(vip_label(dev));
    }
    spec
}

/// The sysctls DR needs for `dev` (none when there is no IPv4 VIP).
pub fn dr_settings(dev: &str, vips: &[IpAddr]) -> Vec<(ConfSetting, i64)> {
    if !vips.iter().any(IpAddr::is_ipv4) {
        return Vec::new();
    }
    let mut ifs = vec![dev.to_string()];
    if dev != "all" {
        ifs.push("all".to_string());
    }
    ifs.iter()
        .flat_map(|ifname| {
            DR_VALUES.iter().map(move |(key, value)| {
                (
                    ConfSetting {
                        ifname: ifname.clone(),
                        key: *key,
                    },
                    *value,
                )
            })
        })
        .collect()
}

/// Everything the command needs, resolved from the command line.
#[derive(Debug, Clone)]
pub struct Request {
    /// start, stop or status.
    pub action: RealServerAction,
    /// `--vip`, parsed; `None` when not given.
    pub vips: Option<Vec<IpAddr>>,
    /// `--dev`.
    pub dev: String,
    /// State file path.
    pub state_file: PathBuf,
    /// Sysctl access (the real `/proc/sys` outside tests).
    pub sysctl: Sysctl,
}

/// Runs the command from raw CLI values, printing to stdout/stderr, and
/// returns the exit status: 0 done / all in place, 1 operation failed,
/// 2 bad command line, 3 (`status`) something not in place.
pub fn run(action: RealServerAction, vip: Option<&str>, dev: &str, state_file: &Path) -> ExitCode {
    let request = match build_request(action, vip, dev, state_file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lvstop realserver: {e}");
            return e.exit_code();
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = RealserverError::Runtime(e);
            eprintln!("lvstop realserver: {e}");
            return e.exit_code();
        }
    };
    let mut out = std::io::stdout().lock();
    match runtime.block_on(execute(&request, &mut out)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_NOT_IN_PLACE),
        Err(e) => {
            let _ = out.flush();
            eprintln!("lvstop realserver {}: {e}", action.name());
            e.exit_code()
        }
    }
}

/// Validates the command line into a [`Request`].
pub fn build_request(
    action: RealServerAction,
    vip: Option<&str>,
    dev: &str,
    state_file: &Path,
) -> Result<Request, RealserverError> {
    validate_ifname(dev).map_err(|e| RealserverError::Usage(format!("--dev: {e}")))?;
    let vips = vip.map(parse_vips).transpose()?;
    if action == RealServerAction::Start && vips.is_none() {
        return Err(RealserverError::Usage(
            "start needs --vip IP[,IP...] (the virtual IP addresses of the DR service)".into(),
        ));
    }
    Ok(Request {
        action,
        vips,
        dev: dev.to_string(),
        state_file: state_file.to_path_buf(),
        sysctl: Sysctl::default(),
    })
}

/// Performs the request, writing the report to `out`. Returns whether
/// everything is in place (always true for start/stop that succeed).
pub async fn execute(request: &Request, out: &mut dyn Write) -> Result<bool, RealserverError> {
    let state = State::load(&request.state_file)?;
    match request.action {
        RealServerAction::Start => start(request, state, out).await.map(|()| true),
        RealServerAction::Stop => stop(request, state, out).await.map(|()| true),
        RealServerAction::Status => status(request, state, out).await,
    }
}

fn say(out: &mut dyn Write, line: impl std::fmt::Display) {
    // A closed stdout must not stop the network work half-way.
    let _ = writeln!(out, "{line}");
}

async fn start(
    request: &Request,
    state: Option<State>,
    out: &mut dyn Write,
) -> Result<(), RealserverError> {
    let vips = request.vips.clone().unwrap_or_default();
    let mut state = match state {
        Some(s) if s.dev != request.dev && !s.vips.is_empty() => {
            return Err(RealserverError::Usage(format!(
                "already started on '{}' (state file {}); run `lvstop realserver stop --dev {}` first",
                s.dev,
                request.state_file.display(),
                s.dev
            )))
        }
        Some(s) => s,
        None => State {
            version: 1,
            dev: request.dev.clone(),
            ..State::default()
        },
    };
    state.dev = request.dev.clone();
    let addresses = Addresses::connect()?;
    // Fail on a missing device before saving anything.
    addresses.ifindex(&request.dev).await?;

    // Save the values before the first change, and only those: a second
    // start must not record our own 1/2 as "previous".
    let settings = dr_settings(&request.dev, &vips);
    for (setting, _) in &settings {
        if let Entry::Vacant(slot) = state.saved.entry(setting.to_string()) {
            slot.insert(request.sysctl.read(setting)?);
        }
    }
    for vip in &vips {
        if !state.vips.contains(vip) {
            state.vips.push(*vip);
        }
    }
    state.save(&request.state_file)?;

    let mut changed = false;
    for vip in &vips {
        let spec = vip_spec(&request.dev, *vip);
        match addresses.add(&spec).await? {
            AddOutcome::Added => {
                changed = true;
                say(out, format_args!("VIP {spec}: added"));
            }
            AddOutcome::AlreadyPresent => say(out, format_args!("VIP {spec}: already in place")),
        }
    }
    for (setting, want) in &settings {
        let have = request.sysctl.read(setting)?;
        if have == *want {
            say(out, format_args!("{setting} = {want}: already in place"));
        } else {
            request.sysctl.write(setting, *want)?;
            changed = true;
            say(out, format_args!("{setting} = {want} (was {have})"));
        }
    }
    if settings.is_empty() {
        say(
            out,
            "only IPv6 VIPs: no ARP sysctl needed (neighbour discovery does not answer for them)",
        );
    }
    if changed {
        say(
            out,
            format_args!(
                "real server ready for DR; previous values saved in {}",
                request.state_file.display()
            ),
        );
    } else {
        say(out, "real server already in place for DR: nothing changed");
    }
    Ok(())
}

async fn stop(
    request: &Request,
    state: Option<State>,
    out: &mut dyn Write,
) -> Result<(), RealserverError> {
    let (dev, mut vips) = match &state {
        Some(s) => (s.dev.clone(), s.vips.clone()),
        None => (request.dev.clone(), Vec::new()),
    };
    if state.is_none() {
        say(
            out,
            format_args!(
                "no state file {}: nothing saved by start",
                request.state_file.display()
            ),
        );
    }
    for vip in request.vips.iter().flatten() {
        if !vips.contains(vip) {
            vips.push(*vip);
        }
    }
    if vips.is_empty() {
        return Err(RealserverError::Usage(format!(
            "nothing to stop: no --vip given and no state file {}",
            request.state_file.display()
        )));
    }
    let addresses = Addresses::connect()?;
    for vip in &vips {
        let spec = vip_spec(&dev, *vip);
        match addresses.remove(&spec).await? {
            RemoveOutcome::Removed => say(out, format_args!("VIP {spec}: removed")),
            RemoveOutcome::Absent => say(out, format_args!("VIP {spec}: already absent")),
        }
    }
    let saved = state.as_ref().map(|s| s.saved.clone()).unwrap_or_default();
    for (setting, _) in dr_settings(&dev, &vips) {
        let key = setting.to_string();
        let (value, why) = match saved.get(&key) {
            Some(v) => (*v, "restored"),
            None => (0, "no saved value: kernel default"),
        };
        let have = request.sysctl.read(&setting)?;
        if have != value {
            request.sysctl.write(&setting, value)?;
        }
        say(out, format_args!("{setting} = {value} ({why})"));
    }
    if state.is_some() {
        std::fs::remove_file(&request.state_file).map_err(|e| {
            state_error(
                &request.state_file,
                format!("cannot remove after stop: {e}"),
            )
        })?;
    }
    say(out, "real server stopped");
    Ok(())
}

async fn status(
    request: &Request,
    state: Option<State>,
    out: &mut dyn Write,
) -> Result<bool, RealserverError> {
    let (dev, vips) = match (&request.vips, &state) {
        (Some(v), _) => (request.dev.clone(), v.clone()),
        (None, Some(s)) => (s.dev.clone(), s.vips.clone()),
        (None, None) => {
            return Err(RealserverError::Usage(format!(
                "status needs --vip IP[,IP...] (no state file {} from a start)",
                request.state_file.display()
            )))
        }
    };
    let addresses = Addresses::connect()?;
    let present = addresses.list(&dev).await?;
    let mut ok = true;
    for vip in &vips {
        let spec = vip_spec(&dev, *vip);
        let found = present
            .iter()
            .find(|a| a.addr == *vip && a.prefix_len == spec.prefix_len);
        match found {
            Some(a) if vip.is_ipv4() && a.label != spec.label => say(
                out,
                format_args!(
                    "VIP {spec}: present (label {}; DR works, `stop` then `start` to relabel)",
                    a.label.as_deref().unwrap_or("none")
                ),
            ),
            Some(_) => say(out, format_args!("VIP {spec}: present")),
            None => {
                ok = false;
                say(
                    out,
                    format_args!("VIP {spec}: missing: run `lvstop realserver start`"),
                );
            }
        }
    }
    for (setting, want) in dr_settings(&dev, &vips) {
        let have = request.sysctl.read(&setting)?;
        if have == want {
            say(out, format_args!("{setting} = {have}: ok"));
        } else {
            ok = false;
            say(
                out,
                format_args!("{setting} = {have}: should be {want} for DR"),
            );
        }
    }
    say(
        out,
        if ok {
            "in place for DR"
        } else {
            "NOT in place for DR"
        },
    );
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vips_parse_strictly() {
        let v = parse_vips("198.51.100.88, 2001:db8::8,198.51.100.88").unwrap();
        assert_eq!(v.len(), 2);
        let err = parse_vips("300.1.1.1").unwrap_err().to_string();
        assert_eq!(err, "'300.1.1.1' is not an IP address");
        assert!(parse_vips("198.51.100.1,")
            .unwrap_err()
            .to_string()
            .contains("empty item"));
        assert!(parse_vips("198.51.100.1/32")
            .unwrap_err()
            .to_string()
            .contains("without a prefix"));
    }

    #[test]
    fn a_missing_vip_or_a_bad_device_is_a_usage_error() {
        let p = Path::new("/nonexistent/state.json");
        let err = build_request(RealServerAction::Start, None, "lo", p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("start needs --vip"), "{err}");
        assert!(build_request(RealServerAction::Stop, None, "lo", p).is_ok());
        assert!(matches!(
            build_request(RealServerAction::Start, Some("198.51.100.1"), "../x", p),
            Err(RealserverError::Usage(_))
        ));
    }

    #[test]
    fn the_command_line_takes_the_three_actions_and_nothing_else() {
        use clap::ValueEnum;
        let names: Vec<_> = RealServerAction::value_variants()
            .iter()
            .map(|a| a.name())
            .collect();
        assert_eq!(names, ["start", "stop", "status"]);
        for action in RealServerAction::value_variants() {
            assert_eq!(
                RealServerAction::from_str(action.name(), false),
                Ok(*action)
            );
        }
        assert!(RealServerAction::from_str("restart", false).is_err());
    }

    #[test]
    fn ipv4_vips_get_the_dev_label_and_host_scope_on_lo() {
        let spec = vip_spec("lo", "198.51.100.88".parse().unwrap());
        assert_eq!(spec.prefix_len, 32);
        assert_eq!(spec.label.as_deref(), Some("lo:0"));
        assert_eq!(spec.scope, Scope::Host);
        let v6 = vip_spec("eth0", "2001:db8::1".parse().unwrap());
        assert_eq!(
            (v6.prefix_len, v6.label.clone(), v6.scope),
            (128, None, Scope::Global)
        );
        assert_eq!(vip_label("averyveryverylong"), "averyveryvery:0");
    }

    #[test]
    fn sysctls_only_for_ipv4_on_dev_and_all() {
        let v6: Vec<IpAddr> = vec!["2001:db8::1".parse().unwrap()];
        assert!(dr_settings("lo", &v6).is_empty());
        let v4: Vec<IpAddr> = vec!["198.51.100.1".parse().unwrap()];
        let names: Vec<String> = dr_settings("lo", &v4)
            .iter()
            .map(|(s, v)| format!("{s}={v}"))
            .collect();
        assert_eq!(
            names,
            [
                "net.ipv4.conf.lo.arp_ignore=1",
                "net.ipv4.conf.lo.arp_announce=2",
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2"
            ]
        );
    }
}
