//! Scripts as keepalived 2.2.7 judges them when testing a configuration.
//!
//! keepalived.conf(5), "SCRIPTS": without `enable_script_security`,
//! every script keepalived finds runs as root and the test fails with
//! "SECURITY VIOLATION" (exit 6). With it, scripts run as `script_user`
//! (by default the user `keepalived_script`, which must then exist). A
//! `vrrp_script` whose program is not found is disabled and counted as an
//! error; a MISC_CHECK or notify script that is not found is silently
//! skipped.

use std::collections::HashSet;

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::model::lvs::{CheckerKind, IpFamily, RealServer, ServiceAddress, VirtualServer};
use crate::config::model::vrrp::Notify;
use crate::config::model::{Config, Script};
use crate::config::source::Location;

use super::host::Host;

/// keepalived's default script user under `enable_script_security`.
const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// How keepalived treats a script whose program is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// `vrrp_script`: disabled, an error.
    Tracking,
    /// `MISC_CHECK`, notify scripts: skipped silently.
    Notify,
    /// `notify_fifo_script` and its VRRP and LVS variants in `global_defs`:
    /// skipped silently like notify scripts, but given their user as soon
    /// as they are read (see [`check`]).
    Fifo,
}

/// keepalived's process that looks at a script. Under `--config-test`
/// each process judges its own scripts and the test's exit code is the
/// worst of theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Process {
    Vrrp,
    Checker,
}

/// The scripts that would run as root without `enable_script_security`,
/// per keepalived process, by where each is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Insecure {
    /// In the VRRP process (`vrrp_script`, instance and group notify
    /// scripts, the VRRP and general fifo scripts).
    pub vrrp: Vec<Location>,
    /// In the checker process (MISC_CHECK, real server notify, quorum
    /// scripts, the LVS and general fifo scripts).
    pub checker: Vec<Location>,
}

impl Insecure {
    pub fn any(&self) -> bool {
        !self.vrrp.is_empty() || !self.checker.is_empty()
    }

    /// Whether a script keepalived reads (one outside `unread`) makes
    /// each process insecure: (VRRP, checker).
    pub fn read(&self, unread: &HashSet<Location>) -> (bool, bool) {
        let any_read = |scripts: &[Location]| scripts.iter().any(|at| !unread.contains(at));
        (any_read(&self.vrrp), any_read(&self.checker))
    }
}

struct Found<'c> {
    script: &'c Script,
    role: Role,
    process: Process,
    /// The user (and group) the script runs as when one is given, on its
    /// line or, for a `vrrp_script`, by its `user` keyword.
    user: Option<(&'c str, Option<&'c str>)>,
}

fn push<'c>(script: Option<&'c Script>, role: Role, process: Process, out: &mut Vec<Found<'c>>) {
    if let Some(script) = script {
        let user = script
            .user
            .as_deref()
            .map(|user| (user, script.group.as_deref()));
        out.push(Found {
            script,
            role,
            process,
            user,
        });
    }
}

/// The notify scripts of an instance or sync group.
fn notify_scripts(n: &Notify) -> [Option<&Script>; 7] {
    [
        n.master.as_ref(),
        n.backup.as_ref(),
        n.fault.as_ref(),
        n.stop.as_ref(),
        n.any.as_ref(),
        n.master_rx_lower_pri.as_ref(),
        n.deleted.as_ref().and_then(Option::as_ref),
    ]
}

/// The scripts of a real server: its notify scripts and MISC_CHECK paths.
fn real_server_scripts(rs: &RealServer) -> impl Iterator<Item = Option<&Script>> {
    let misc = rs
        .checkers
        .iter()
        .filter_map(|checker| match &checker.kind.value {
            CheckerKind::Misc(misc) => Some(misc.path.as_ref()),
            _ => None,
        });
    [rs.notify_up.as_ref(), rs.notify_down.as_ref()]
        .into_iter()
        .chain(misc)
}

/// The scripts keepalived would look at, with their role and process.
/// keepalived runs its VRRP process only for a configuration with a
/// `vrrp_instance`, and its checker process only with a `virtual_server`:
/// the scripts of a process that does not run are never looked at.
fn scripts(config: &Config) -> Vec<Found<'_>> {
    let mut out = Vec::new();
    let global = &config.global;
    let vrrp = !config.vrrp.instances.is_empty();
    let checker = !config.lvs.virtual_servers.is_empty();
    if vrrp {
        use Process::Vrrp;
        push(
            global.notify_fifo.script.as_ref(),
            Role::Fifo,
            Vrrp,
            &mut out,
        );
        push(
            global.vrrp_notify_fifo.script.as_ref(),
            Role::Fifo,
            Vrrp,
            &mut out,
        );
        for tracker in &config.vrrp.scripts {
            push(tracker.script.as_ref(), Role::Tracking, Vrrp, &mut out);
            // A vrrp_script's own `user` keyword runs it as that user.
            if let (Some(found), Some(user)) = (out.last_mut(), &tracker.user) {
                if tracker.script.is_some() {
                    found.user = Some((user.value.as_str(), tracker.group.as_deref()));
                }
            }
        }
        let groups = config.vrrp.sync_groups.iter().map(|g| &g.notify);
        let instances = config.vrrp.instances.iter().map(|i| &i.notify);
        for n in groups.chain(instances) {
            for script in notify_scripts(n) {
                push(script, Role::Notify, Vrrp, &mut out);
            }
        }
    }
    if checker {
        use Process::Checker;
        push(
            global.notify_fifo.script.as_ref(),
            Role::Fifo,
            Checker,
            &mut out,
        );
        push(
            global.lvs_notify_fifo.script.as_ref(),
            Role::Fifo,
            Checker,
            &mut out,
        );
        for vs in config
            .lvs
            .virtual_servers
            .iter()
            .filter(|vs| kept(config, vs))
        {
            push(vs.quorum_up.as_ref(), Role::Notify, Checker, &mut out);
            push(vs.quorum_down.as_ref(), Role::Notify, Checker, &mut out);
            for rs in vs.real_servers.iter().filter(|rs| family_matches(vs, rs)) {
                for script in real_server_scripts(rs) {
                    push(script, Role::Notify, Checker, &mut out);
                }
            }
        }
    }
    out
}

/// Whether keepalived's checker process keeps `vs` once the configuration
/// is read: it silently drops a virtual server naming a group that is not
/// defined, and drops with an error one left without real servers (its
/// quorum scripts go with it).
fn kept(config: &Config, vs: &VirtualServer) -> bool {
    !super::dropped::silently(config, vs) && vs.real_servers.iter().any(|rs| family_matches(vs, rs))
}

/// keepalived skips a real server whose address family differs from its
/// virtual server's.
fn family_matches(vs: &VirtualServer, rs: &RealServer) -> bool {
    match &vs.service.value {
        ServiceAddress::Address { ip, .. } => ip.is_ipv4() == rs.endpoint.value.ip.is_ipv4(),
        ServiceAddress::Fwmark(_) => vs
            .fwmark_family()
            .is_none_or(|family| family == IpFamily::of(rs.endpoint.value.ip)),
        ServiceAddress::Group(_) => true,
    }
}

/// A script given its own user other than root does not run as root.
fn runs_as_root(found: &Found<'_>) -> bool {
    found.user.is_none_or(|(user, _)| user == "root")
}

/// keepalived removes a script whose own user or group does not exist
/// ("Unable to set uid/gid for script"): a configuration error.
fn own_user_missing(found: &Found<'_>, host: &dyn Host) -> Option<String> {
    let (user, group) = found.user?;
    if !host.user_exists(user) {
        return Some(format!("user '{user}'"));
    }
    group
        .filter(|group| !host.group_exists(group))
        .map(|group| format!("group '{group}'"))
}

/// Whether `at` comes before `than` in the order keepalived reads the
/// configuration (files are numbered as they are opened).
fn read_before(at: Location, than: Location) -> bool {
    at < than
}

/// Adds host findings about scripts and returns, per keepalived process,
/// whether keepalived would fail the test for script security. Without a
/// host (`--offline`) every script and user counts as found.
///
/// When `script_user` names a user or group the host lacks, keepalived
/// reports it and removes every script that needed that default user, so
/// none of them counts; a fifo script read before the `script_user` line
/// already had root as its user and still counts (measured on 2.2.7).
pub fn check(config: &Config, host: Option<&dyn Host>, diagnostics: &mut Diagnostics) -> Insecure {
    let global = &config.global;
    let mut unknown_script_user = None;
    if let (Some(user), Some(host)) = (&global.script_user, host) {
        if !host.user_exists(&user.value) {
            unknown_script_user = Some(user.at);
            diagnostics.push(
                Diagnostic::warning(
                    super::HOST_USER,
                    format!(
                        "script_user '{}' does not exist on this host: keepalived removes the scripts that would run as that user",
                        user.value
                    ),
                )
                .at(user.at),
            );
        }
        if let Some(group) = &global.script_group {
            if !host.group_exists(group) {
                unknown_script_user = Some(user.at);
                diagnostics.push(
                    Diagnostic::warning(
                        super::HOST_USER,
                        format!(
                            "script group '{group}' does not exist on this host: keepalived removes the scripts that would run as that group"
                        ),
                    )
                    .at(user.at),
                );
            }
        }
    }
    let mut insecure = Insecure::default();
    for found in scripts(config) {
        let script = found.script;
        let program = script.argv.first().map_or("", String::as_str);
        if let Some(user_at) = unknown_script_user {
            let has_root_already = found.role == Role::Fifo && read_before(script.at, user_at);
            if found.user.is_none() && !has_root_already {
                continue;
            }
        }
        if let Some(missing) = host.and_then(|h| own_user_missing(&found, h)) {
            // A vrrp_script's `user` keyword is checked as it is read (an
            // error); a user on a notify or check script's line makes
            // keepalived drop the script without a word (measured on 2.2.7).
            let message = format!(
                "script '{program}' runs as {missing}, which does not exist on this host: keepalived removes the script"
            );
            let diagnostic = if found.role == Role::Tracking {
                super::host_problem(message)
            } else {
                Diagnostic::note(super::HOST, message)
            };
            diagnostics.push(diagnostic.at(script.at));
            continue;
        }
        // A script without its own user runs as `script_user`, wherever
        // that line stands (measured on 2.2.7), except a FIFO script read
        // before it, which already had root.
        let default_user = global
            .script_user
            .as_ref()
            .filter(|user| !(found.role == Role::Fifo && read_before(script.at, user.at)));
        let default_is_root = default_user.is_none_or(|user| user.value == "root");
        let present = host.is_none_or(|h| h.find_program(program).is_some());
        if present {
            if runs_as_root(&found) && (found.user.is_some() || default_is_root) {
                match found.process {
                    Process::Vrrp => insecure.vrrp.push(script.at),
                    Process::Checker => insecure.checker.push(script.at),
                }
            }
        } else if found.role == Role::Tracking {
            diagnostics.push(
                super::host_problem(format!(
                    "script '{program}' is not found on this host: keepalived disables it"
                ))
                .at(script.at),
            );
        }
    }
    if global.enable_script_security {
        default_user_lookup(config, host, diagnostics);
        return Insecure::default();
    }
    insecure
}

/// Every place keepalived gives a script or FIFO its default user while
/// reading the file: each script without its own user (whether or not
/// the process that runs it starts: the whole file is read first) and
/// each notify FIFO without one.
fn default_user_reads(config: &Config) -> Vec<Location> {
    let global = &config.global;
    let mut at = Vec::new();
    let mut script = |script: Option<&Script>| {
        if let Some(script) = script.filter(|s| s.user.is_none()) {
            at.push(script.at);
        }
    };
    for fifo in [
        &global.notify_fifo,
        &global.vrrp_notify_fifo,
        &global.lvs_notify_fifo,
    ] {
        script(fifo.script.as_ref());
    }
    for tracker in config.vrrp.scripts.iter().filter(|t| t.user.is_none()) {
        script(tracker.script.as_ref());
    }
    let groups = config.vrrp.sync_groups.iter().map(|g| &g.notify);
    let instances = config.vrrp.instances.iter().map(|i| &i.notify);
    for n in groups.chain(instances) {
        notify_scripts(n).into_iter().for_each(&mut script);
    }
    for vs in &config.lvs.virtual_servers {
        script(vs.quorum_up.as_ref());
        script(vs.quorum_down.as_ref());
        for rs in &vs.real_servers {
            real_server_scripts(rs).for_each(&mut script);
        }
    }
    for fifo in [
        &global.notify_fifo,
        &global.vrrp_notify_fifo,
        &global.lvs_notify_fifo,
    ] {
        if let Some(fifo) = fifo.fifo.as_ref().filter(|f| f.user.is_none()) {
            at.push(fifo.path.at);
        }
    }
    at
}

/// Under `enable_script_security`, a script or FIFO read after it and
/// before any `script_user` gets the user `keepalived_script`; keepalived
/// reports an error where that user does not exist (measured on 2.2.7).
fn default_user_lookup(config: &Config, host: Option<&dyn Host>, diagnostics: &mut Diagnostics) {
    let Some(host) = host else { return };
    let global = &config.global;
    let Some(security_at) = global.script_security_at.map(|read| read.at) else {
        return;
    };
    let user_at = global.script_user.as_ref().map(|u| u.at);
    let first = default_user_reads(config)
        .into_iter()
        .filter(|at| read_before(security_at, *at))
        .filter(|at| user_at.is_none_or(|user_at| read_before(*at, user_at)))
        .min();
    if let Some(at) = first {
        if !host.user_exists(DEFAULT_SCRIPT_USER) {
            diagnostics.push(
                super::host_problem(format!(
                    "enable_script_security is set, no script_user is read before this, and the default user '{DEFAULT_SCRIPT_USER}' does not exist on this host: keepalived reports an error"
                ))
                .at(at),
            );
        }
    }
}
