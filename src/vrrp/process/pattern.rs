//! Whether one process matches a `track_process`'s `process` line
//! (keepalived.conf(5) "VRRP track processes"). The match is exact, never
//! a regular expression ("equivalent to pgrep "^ssh$"").
//!
//! - `process NAME` alone is compared with the process name, the kernel's
//!   `comm` (`Name:` in `/proc/PID/status`), which the kernel cuts to 15
//!   bytes; so is the configured name.
//! - With parameters, `param_match` or `full_command`, the command line
//!   (`/proc/PID/cmdline`) is compared instead: its first word with NAME,
//!   then the parameters as `param_match` says.

use crate::config::model::vrrp::{ParamMatch, TrackProcess};

/// The kernel keeps `comm` in TASK_COMM_LEN (16) bytes with the NUL.
pub const COMM_LEN: usize = 15;

/// What the scanner read of one live (not zombie) process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcInfo {
    pub comm: String,
    /// The command line's words; empty when not read (or a kernel thread).
    pub argv: Vec<String>,
}

/// A compiled `process` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessPattern {
    name: String,
    params: Vec<String>,
    param_match: ParamMatch,
    /// `param_match` written: with no parameters it means "none allowed".
    param_match_set: bool,
    full_command: bool,
}

impl ProcessPattern {
    /// `None` when the block has no `process` line.
    pub fn from_model(model: &TrackProcess) -> Option<Self> {
        let (name, params) = model.command()?;
        let param_match = model.param_match.map(|m| m.value);
        Some(Self {
            name: name.to_string(),
            params: params.to_vec(),
            param_match: param_match.unwrap_or_default(),
            param_match_set: param_match.is_some(),
            full_command: model.full_command,
        })
    }

    /// Whether matching needs `/proc/PID/cmdline` (else `comm` does).
    pub fn needs_cmdline(&self) -> bool {
        self.full_command || self.param_match_set || !self.params.is_empty()
    }

    pub fn matches(&self, process: &ProcInfo) -> bool {
        if !self.needs_cmdline() {
            return process.comm.as_bytes() == truncate_comm(&self.name);
        }
        let Some((program, args)) = process.argv.split_first() else {
            return false;
        };
        if *program != self.name {
            return false;
        }
        let wanted = self.params.as_slice();
        match self.param_match {
            // `full_command` alone: the program decides, any parameters.
            ParamMatch::Unset if wanted.is_empty() && !self.param_match_set => true,
            ParamMatch::Unset => args == wanted,
            // With no parameters configured, `param_match` asks for none.
            _ if wanted.is_empty() => args.is_empty(),
            ParamMatch::Partial => args.starts_with(wanted),
            ParamMatch::Initial => {
                let last = wanted.len() - 1;
                args.len() >= wanted.len()
                    && args[..last] == wanted[..last]
                    && args[last].starts_with(wanted[last].as_str())
            }
        }
    }
}

/// The configured name as the kernel would store it in `comm`.
fn truncate_comm(name: &str) -> &[u8] {
    let bytes = name.as_bytes();
    &bytes[..bytes.len().min(COMM_LEN)]
}

/// How many of `processes` match `pattern`.
pub fn count(pattern: &ProcessPattern, processes: &[ProcInfo]) -> u32 {
    let n = processes.iter().filter(|p| pattern.matches(p)).count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::{Location, Spanned};

    fn pattern(words: &[&str], param_match: Option<ParamMatch>, full: bool) -> ProcessPattern {
        let at = Location::default();
        let model = TrackProcess {
            process: Some(Spanned::new(
                words.iter().map(|w| w.to_string()).collect(),
                at,
            )),
            param_match: param_match.map(|m| Spanned::new(m, at)),
            full_command: full,
            ..TrackProcess::default()
        };
        ProcessPattern::from_model(&model).unwrap()
    }

    fn proc(comm: &str, argv: &[&str]) -> ProcInfo {
        ProcInfo {
            comm: comm.into(),
            argv: argv.iter().map(|w| w.to_string()).collect(),
        }
    }

    #[test]
    fn a_bare_name_matches_the_process_name_exactly_not_as_a_pattern() {
        let p = pattern(&["ssh"], None, false);
        assert!(!p.needs_cmdline());
        assert!(p.matches(&proc("ssh", &[])));
        assert!(!p.matches(&proc("sshd", &["/usr/sbin/sshd"])));
        // The command line does not count without full_command.
        assert!(!p.matches(&proc("bash", &["ssh"])));
    }

    #[test]
    fn a_long_name_is_cut_like_the_kernels_comm() {
        let p = pattern(&["a-very-long-daemon-name"], None, false);
        assert!(p.matches(&proc("a-very-long-dae", &[])));
    }

    #[test]
    fn parameters_given_must_be_all_the_parameters() {
        let p = pattern(&["sleep", "1000"], None, false);
        assert!(p.needs_cmdline());
        assert!(p.matches(&proc("sleep", &["sleep", "1000"])));
        assert!(!p.matches(&proc("sleep", &["sleep", "1000", "x"])));
        assert!(!p.matches(&proc("sleep", &["sleep", "100"])));
        assert!(!p.matches(&proc("sleep", &["/bin/sleep", "1000"])));
    }

    #[test]
    fn partial_matches_the_first_parameters_and_initial_a_prefix_of_the_last() {
        let partial = pattern(&["haproxy", "-f"], Some(ParamMatch::Partial), false);
        assert!(partial.matches(&proc("haproxy", &["haproxy", "-f", "/etc/h.cfg"])));
        assert!(!partial.matches(&proc("haproxy", &["haproxy", "-fx"])));
        let initial = pattern(
            &["haproxy", "-f", "/etc/h"],
            Some(ParamMatch::Initial),
            false,
        );
        assert!(initial.matches(&proc("haproxy", &["haproxy", "-f", "/etc/h.cfg"])));
        assert!(initial.matches(&proc("haproxy", &["haproxy", "-f", "/etc/h", "-D"])));
        assert!(!initial.matches(&proc("haproxy", &["haproxy", "-d", "/etc/h.cfg"])));
        assert!(!initial.matches(&proc("haproxy", &["haproxy", "-f"])));
    }

    #[test]
    fn param_match_without_parameters_means_none_allowed() {
        let p = pattern(&["nginx"], Some(ParamMatch::Partial), false);
        assert!(p.matches(&proc("nginx", &["nginx"])));
        assert!(!p.matches(&proc("nginx", &["nginx", "-g", "daemon off;"])));
    }

    #[test]
    fn full_command_alone_compares_the_program_with_any_parameters() {
        let p = pattern(&["/usr/sbin/nginx"], None, true);
        assert!(p.matches(&proc("nginx", &["/usr/sbin/nginx", "-g", "x"])));
        assert!(!p.matches(&proc("nginx", &["nginx"])));
        // Kernel threads have no command line.
        assert!(!p.matches(&proc("kworker/0:1", &[])));
    }

    #[test]
    fn count_counts_every_match() {
        let p = pattern(&["sleep"], None, false);
        let table = [proc("sleep", &[]), proc("bash", &[]), proc("sleep", &[])];
        assert_eq!(count(&p, &table), 2);
    }
}
