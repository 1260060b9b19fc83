//! What each action does: view changes at once, safe commands straight to
//! the engine, dangerous ones (drain, disable, failover, reload, apply,
//! zero, weight 0) through a confirmation that says exactly what will
//! change. `--read-only` refuses every action that changes the director.

use super::{target_text, App, Dialog, Effect, Mode, Prompt, PromptKind, Row};
use crate::northbound::{Command, DestKey, PriorityChange, ServiceKey, Target, VrrpState};
use crate::ui::action::{Action, View};
use crate::ui::cmdline::Request;
use crate::ui::services::{resolve_server, resolve_service, ResolveError, ServerRow};

impl App {
    /// Carry out one keymap action.
    pub(crate) fn dispatch(&mut self, action: Action) -> Vec<Effect> {
        if action.mutates() && self.read_only {
            self.say(
                format!("read-only console: '{action}' is disabled (started with --read-only)"),
                true,
            );
            return Vec::new();
        }
        match action {
            Action::Quit => return self.quit(),
            Action::Help => {
                self.help_first.set(0);
                self.mode = Mode::Help;
            }
            Action::CommandLine => self.mode = Mode::CommandLine(String::new()),
            Action::Filter => self.mode = Mode::Filter(self.filter(self.view).to_string()),
            Action::Back => {
                if self.filters.remove(&self.view).is_none() {
                    self.message = None;
                }
            }
            Action::Show(view) => self.show(view),
            Action::NextView | Action::PrevView => {
                let at = View::ALL.iter().position(|v| *v == self.view).unwrap_or(0);
                let step = if action == Action::NextView {
                    1
                } else {
                    View::ALL.len() - 1
                };
                self.show(View::ALL[(at + step) % View::ALL.len()]);
            }
            Action::Up => self.move_cursor(-1),
            Action::Down => self.move_cursor(1),
            Action::PageUp => self.move_cursor(-(self.page.get().max(1) as isize)),
            Action::PageDown => self.move_cursor(self.page.get().max(1) as isize),
            Action::Top => self.move_cursor(isize::MIN / 2),
            Action::Bottom => self.move_cursor(isize::MAX / 2),
            Action::SortNext => {
                self.sort = self.sort.next();
                self.say(format!("sorted by {}", self.sort.name()), false);
            }
            Action::SortReverse => {
                self.reverse = !self.reverse;
                self.say(
                    format!(
                        "sorted by {}{}",
                        self.sort.name(),
                        if self.reverse { ", reversed" } else { "" }
                    ),
                    false,
                );
            }
            Action::ToggleExpand => self.toggle_expand(),
            Action::WeightSet => {
                if let Some((service, server, row)) = self.selected_server() {
                    self.mode = Mode::Prompt(Prompt {
                        kind: PromptKind::Weight { service, server },
                        input: row.weight.map(|w| w.to_string()).unwrap_or_default(),
                    });
                }
            }
            Action::WeightUp => return self.step_weight(1),
            Action::WeightDown => return self.step_weight(-1),
            Action::WeightUp10 => return self.step_weight(10),
            Action::WeightDown10 => return self.step_weight(-10),
            Action::Drain => {
                if let Some((service, server, _)) = self.selected_server() {
                    return self.confirm_drain(service, server);
                }
            }
            Action::Restore => {
                if let Some((service, server, _)) = self.selected_server() {
                    return self.send(Command::Restore {
                        service,
                        server,
                        ramp_s: None,
                    });
                }
            }
            Action::Disable => {
                if let Some(target) = self.selected_target() {
                    self.mode = Mode::Prompt(Prompt {
                        kind: PromptKind::DisableReason { target },
                        input: String::new(),
                    });
                }
            }
            Action::Enable => {
                if let Some(target) = self.selected_target() {
                    return self.send(Command::Enable {
                        target,
                        reason: None,
                    });
                }
            }
            Action::Zero => {
                let service = self.selected.map(|t| match t {
                    Target::Service(s) | Target::RealServer(s, _) => s,
                });
                return self.confirm_zero(service);
            }
            Action::Failover if self.observer => self.say(OBSERVER_FAILOVER, true),
            Action::Failover => {
                let name = if self.view == View::Vrrp {
                    self.vrrp_rows()
                        .get(self.cursor(View::Vrrp))
                        .map(|i| i.name.clone())
                } else {
                    None
                };
                match name {
                    Some(name) => return self.confirm_failover(name, None),
                    None => self.say("select a VRRP instance first (screen 2)", true),
                }
            }
            Action::Reload => return self.confirm_reload(),
            Action::Edit => {
                self.show(View::Config);
                if self.editor.running.is_none() && !self.editor.modified {
                    self.say(
                        "the running configuration is not loaded yet; editing an empty draft",
                        false,
                    );
                }
                self.mode = Mode::Editing;
            }
            Action::Validate => {
                self.editor.validate();
                let errors = self.editor.errors();
                let warnings = self
                    .editor
                    .count(crate::config::diagnostic::Severity::Warning);
                self.say(
                    format!("draft: {errors} errors, {warnings} warnings"),
                    errors > 0,
                );
            }
            Action::Diff => {
                let text = self.editor.text();
                self.say("asking the engine what an apply would do…", false);
                return self.send(Command::Apply {
                    text,
                    dry_run: true,
                    confirm_within_s: None,
                });
            }
            Action::Apply => return self.start_apply(None),
            Action::ApplyConfirmed => {
                if self.rollback_at_ms.is_some() {
                    self.confirm(Dialog {
                        title: "Keep the applied configuration?".to_string(),
                        lines: vec![
                            "The last apply rolls back unless confirmed.".to_string(),
                            "Yes keeps it for good.".to_string(),
                        ],
                        on_yes: vec![Effect::Command(Command::Confirm)],
                    });
                    return Vec::new();
                }
                return self.start_apply(Some(self.confirm_within_s));
            }
            Action::RevertDraft => {
                self.editor.revert();
                self.say("draft dropped: back to the running configuration", false);
                return vec![Effect::DeleteDraft];
            }
            Action::NextDirector => self.switch_director(true),
            Action::PrevDirector => self.switch_director(false),
            Action::Confirm | Action::Cancel => {}
        }
        Vec::new()
    }

    fn quit(&mut self) -> Vec<Effect> {
        if self.embedded && self.holds_master() {
            let masters: Vec<String> = self
                .snapshot
                .as_ref()
                .map(|s| {
                    s.vrrp
                        .instances
                        .iter()
                        .filter(|i| matches!(i.state, VrrpState::Master))
                        .map(|i| i.name.clone())
                        .collect()
                })
                .unwrap_or_default();
            self.confirm(Dialog {
                title: "Quit and stop this director?".to_string(),
                lines: vec![
                    format!("This director is MASTER of {}.", masters.join(", ")),
                    "The engine runs inside this console: quitting stops it,".to_string(),
                    "and the backup director takes over the VIPs.".to_string(),
                ],
                on_yes: vec![Effect::Quit],
            });
            return Vec::new();
        }
        vec![Effect::Quit]
    }

    fn toggle_expand(&mut self) {
        match self.view {
            View::Services => {
                let Some(target) = self.selected else {
                    return;
                };
                let service = match target {
                    Target::Service(s) | Target::RealServer(s, _) => s,
                };
                if !self.collapsed.remove(&service) {
                    self.collapsed.insert(service);
                    self.selected = Some(Target::Service(service));
                }
            }
            view => {
                let at = (view, self.cursor(view));
                if !self.expanded.remove(&at) {
                    self.expanded.insert(at);
                }
            }
        }
    }

    fn selected_target(&mut self) -> Option<Target> {
        if self.view != View::Services {
            self.say(
                "select a service or real server on the services screen (1)",
                true,
            );
            return None;
        }
        let target = self.selected_row().map(|r| r.target());
        if target.is_none() {
            self.say("nothing selected", true);
        }
        target
    }

    /// The selected real server, or a message saying one is needed.
    fn selected_server(&mut self) -> Option<(ServiceKey, DestKey, ServerRow)> {
        let found = if self.view == View::Services {
            self.selected_row()
                .and_then(|r: Row<'_>| Some((r.group.key, r.server?.clone())))
        } else {
            None
        };
        match found {
            Some((service, row)) => Some((service, row.key, row)),
            None => {
                self.say("select a real server first (services screen, j/k)", true);
                None
            }
        }
    }

    fn server_row(&self, service: ServiceKey, server: DestKey) -> Option<&ServerRow> {
        self.groups
            .iter()
            .find(|g| g.key == service)?
            .servers
            .iter()
            .find(|s| s.key == server)
    }

    fn step_weight(&mut self, delta: i32) -> Vec<Effect> {
        let Some((service, server, row)) = self.selected_server() else {
            return Vec::new();
        };
        let current = row
            .weight
            .or(row.configured_weight.map(|w| w as i32))
            .unwrap_or(0);
        let weight = (current + delta).clamp(0, 65535);
        if weight == current {
            self.say(format!("weight stays {current}"), false);
            return Vec::new();
        }
        self.set_weight(service, server, weight)
    }

    /// Weight 0 asks first (it stops new connections to the server).
    pub(crate) fn set_weight(
        &mut self,
        service: ServiceKey,
        server: DestKey,
        weight: i32,
    ) -> Vec<Effect> {
        let command = Command::SetWeight {
            service,
            server,
            weight,
            reason: None,
        };
        if weight != 0 {
            return self.send(command);
        }
        let row = self.server_row(service, server);
        let from = row
            .and_then(|r| r.weight)
            .map_or("?".to_string(), |w| w.to_string());
        let active = row.map_or(0, |r| r.active);
        self.ask(
            format!("Set {server} to weight 0?"),
            vec![
                format!("{server} in {service}: weight {from} -> 0."),
                "No new connections go there; its".to_string(),
                format!("{active} active connections continue until they end."),
                "Stays until restored (r).".to_string(),
            ],
            command,
        )
    }

    fn confirm_drain(&mut self, service: ServiceKey, server: DestKey) -> Vec<Effect> {
        let row = self.server_row(service, server);
        let from = row
            .and_then(|r| r.weight)
            .map_or("?".to_string(), |w| w.to_string());
        let (active, persistent) = row.map_or((0, 0), |r| (r.active, r.persistent));
        let mut lines = vec![
            format!("{server} in {service}: weight {from} -> 0,"),
            format!(
                "then wait until its {active} active connections end (at most {} s).",
                self.drain_timeout_s
            ),
        ];
        if persistent > 0 {
            lines.push(format!(
                "{persistent} persistence templates keep clients sticky until they expire."
            ));
        }
        lines.push("Restore (r) brings the configured weight back.".to_string());
        let command = Command::Drain {
            service,
            server,
            timeout_s: self.drain_timeout_s,
            remove: false,
            reason: None,
        };
        self.ask(format!("Drain {server}?"), lines, command)
    }

    pub(crate) fn confirm_disable(&mut self, target: Target, reason: String) -> Vec<Effect> {
        let what = match target {
            Target::Service(_) => "The virtual service and all its real servers leave",
            Target::RealServer(..) => "The real server leaves",
        };
        let lines = vec![
            format!("{}:", target_text(target)),
            format!("{what} the IPVS table until every reason is cleared (e)."),
            format!("Reason: {reason}"),
        ];
        let command = Command::Disable { target, reason };
        self.ask(format!("Disable {}?", target_text(target)), lines, command)
    }

    fn confirm_zero(&mut self, service: Option<ServiceKey>) -> Vec<Effect> {
        let what = service.map_or("every virtual service".to_string(), |s| s.to_string());
        self.ask(
            "Zero the counters?".to_string(),
            vec![format!(
                "The packet, byte and connection counters of {what} restart from 0."
            )],
            Command::Zero { service },
        )
    }

    fn confirm_failover(&mut self, name: String, hold_s: Option<u64>) -> Vec<Effect> {
        let hold_s = hold_s.unwrap_or(self.failover_hold_s);
        let instance = self
            .snapshot
            .as_ref()
            .and_then(|s| s.vrrp.instance(&name).cloned());
        let mut lines = Vec::new();
        match &instance {
            Some(i) => {
                lines.push(format!(
                    "{} is {} with priority {}.",
                    i.name,
                    i.state.keyword(),
                    i.effective_priority
                ));
                let vips: Vec<String> = i.vips.iter().map(ToString::to_string).collect();
                lines.push("It sends priority 0 and stays BACKUP".to_string());
                lines.push(format!(
                    "for {hold_s} s; the backup takes over {}.",
                    if vips.is_empty() {
                        "its VIPs".to_string()
                    } else {
                        vips.join(", ")
                    }
                ));
            }
            None => lines.push(format!(
                "'{name}' steps down and stays BACKUP for {hold_s} s."
            )),
        }
        self.ask(
            format!("Force failover of {name}?"),
            lines,
            Command::Failover {
                name,
                hold_s,
                priority: None,
            },
        )
    }

    fn confirm_priority(&mut self, name: String, priority: Option<u8>) -> Vec<Effect> {
        let current = self
            .snapshot
            .as_ref()
            .and_then(|s| s.vrrp.instance(&name).cloned());
        let mut lines = Vec::new();
        if let Some(i) = &current {
            lines.push(format!(
                "{} is {} with priority {}.",
                i.name,
                i.state.keyword(),
                i.effective_priority
            ));
        }
        lines.push(match priority {
            Some(p) => format!("It runs at priority {p} until set back;"),
            None => "It runs at its configured priority again;".to_string(),
        });
        lines.push("peers with preemption take over by election.".to_string());
        let change = priority.map_or(PriorityChange::Configured, PriorityChange::Set);
        self.ask(
            format!("Change the priority of {name}?"),
            lines,
            Command::Failover {
                name,
                hold_s: 0,
                priority: Some(change),
            },
        )
    }

    fn confirm_reload(&mut self) -> Vec<Effect> {
        let path = self
            .snapshot
            .as_ref()
            .map_or("the configuration file".to_string(), |s| {
                format!("'{}'", s.director.config_path)
            });
        self.ask(
            "Reload the configuration?".to_string(),
            vec![
                format!("Re-read {path} and apply what changed."),
                "Unchanged real servers keep their check state.".to_string(),
            ],
            Command::Reload,
        )
    }

    fn start_apply(&mut self, confirm_within_s: Option<u64>) -> Vec<Effect> {
        self.editor.validate();
        let errors = self.editor.errors();
        if errors > 0 {
            self.show(View::Config);
            self.say(
                format!("the draft has {errors} errors; nothing applied (see the diagnostics)"),
                true,
            );
            return Vec::new();
        }
        self.pending_apply = Some(confirm_within_s);
        self.say("asking the engine what the apply will do…", false);
        self.send(Command::Apply {
            text: self.editor.text(),
            dry_run: true,
            confirm_within_s: None,
        })
    }

    /// Open a confirmation for a command (or refuse it when read-only).
    /// Observing keepalived, a weight change says what keepalived will do
    /// next; other commands go straight to the observer, which refuses them
    /// with the keepalived way.
    fn ask(&mut self, title: String, mut lines: Vec<String>, command: Command) -> Vec<Effect> {
        if self.read_only {
            return self.send(command);
        }
        if self.observer {
            if !matches!(
                command,
                Command::SetWeight { .. } | Command::Drain { .. } | Command::Restore { .. }
            ) {
                // The observer refuses it with the keepalived way to do it.
                return self.send(command);
            }
            lines.extend(OBSERVER_WARNING.iter().map(|line| line.to_string()));
        }
        self.confirm(Dialog {
            title,
            lines,
            on_yes: vec![Effect::Command(command)],
        });
        Vec::new()
    }

    /// A `:` command, resolved against the snapshot.
    pub(crate) fn request(&mut self, request: Request) -> Result<Vec<Effect>, String> {
        let groups = &self.groups;
        Ok(match request {
            Request::Weight {
                service,
                server,
                weight,
            } => {
                let (service, server) =
                    resolve_server(groups, service, server).map_err(|e| e.to_string())?;
                self.set_weight(service, server, weight)
            }
            Request::Drain { service, server } => {
                let (service, server) =
                    resolve_server(groups, service, server).map_err(|e| e.to_string())?;
                self.confirm_drain(service, server)
            }
            Request::Restore { service, server } => {
                let (service, server) =
                    resolve_server(groups, service, server).map_err(|e| e.to_string())?;
                self.send(Command::Restore {
                    service,
                    server,
                    ramp_s: None,
                })
            }
            Request::Disable { addresses, reason } => {
                let target = self.resolve_target(&addresses).map_err(|e| e.to_string())?;
                self.confirm_disable(target, reason)
            }
            Request::Enable { addresses, reason } => {
                let target = self.resolve_target(&addresses).map_err(|e| e.to_string())?;
                self.send(Command::Enable { target, reason })
            }
            Request::Failover { name, hold_s } => self.confirm_failover(name, hold_s),
            Request::Priority { name, priority } => self.confirm_priority(name, priority),
            Request::Reload => self.confirm_reload(),
            Request::Apply => self.start_apply(None),
            Request::Confirm => self.send(Command::Confirm),
            Request::Zero { service } => {
                let service = match service {
                    Some(addr) => Some(resolve_service(groups, addr).map_err(|e| e.to_string())?),
                    None => None,
                };
                self.confirm_zero(service)
            }
            Request::Quit => self.quit(),
            Request::Extension { verb, args } => vec![Effect::Extension { verb, args }],
        })
    }

    /// One address: a virtual service if one has it, else a real server
    /// (of a single service); two: service and real server.
    fn resolve_target(&self, addresses: &[std::net::SocketAddr]) -> Result<Target, ResolveError> {
        match addresses {
            [one] => match resolve_service(&self.groups, *one) {
                Ok(service) => Ok(Target::Service(service)),
                Err(_) => {
                    resolve_server(&self.groups, None, *one).map(|(s, d)| Target::RealServer(s, d))
                }
            },
            [service, server] => resolve_server(&self.groups, Some(*service), *server)
                .map(|(s, d)| Target::RealServer(s, d)),
            _ => Err(ResolveError::NoTarget),
        }
    }
}

/// What a weight change from the observer means on a keepalived director.
const OBSERVER_WARNING: [&str; 3] = [
    "keepalived runs this director: this changes kernel IPVS directly.",
    "keepalived's checkers rewrite the weight at their next transition,",
    "and a keepalived reload rewrites every weight.",
];

/// Why the observer offers no failover, and the keepalived way.
pub(crate) const OBSERVER_FAILOVER: &str = "keepalived runs VRRP here: to fail over, lower this \
     director's priority in keepalived.conf and reload keepalived, or stop keepalived on the master";
