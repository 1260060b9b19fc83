//! The rows each screen lists after sort and filter, and moving the
//! selection over them. Screens draw exactly these rows, so what the
//! cursor points at is what the operator sees.

use std::cmp::Ordering;

use super::{App, LogLine};
use crate::northbound::{
    CheckerView, Connection, EventKind, InstanceStatus, RealServerView, Target, VirtualServerView,
};
use crate::ui::action::View;
use crate::ui::services::{ServerRow, ServiceGroup};

/// The services screen's sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Address,
    Weight,
    ActiveConn,
    InActConn,
    Cps,
    Bps,
    Health,
}

impl SortBy {
    pub fn next(self) -> SortBy {
        match self {
            SortBy::Address => SortBy::Weight,
            SortBy::Weight => SortBy::ActiveConn,
            SortBy::ActiveConn => SortBy::InActConn,
            SortBy::InActConn => SortBy::Cps,
            SortBy::Cps => SortBy::Bps,
            SortBy::Bps => SortBy::Health,
            SortBy::Health => SortBy::Address,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SortBy::Address => "address",
            SortBy::Weight => "weight",
            SortBy::ActiveConn => "ActiveConn",
            SortBy::InActConn => "InActConn",
            SortBy::Cps => "CPS",
            SortBy::Bps => "BPS",
            SortBy::Health => "health",
        }
    }
}

/// One line of the services screen: a service, or one of its real servers.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub group: &'a ServiceGroup,
    pub server: Option<&'a ServerRow>,
}

impl Row<'_> {
    pub fn target(&self) -> Target {
        match self.server {
            Some(server) => Target::RealServer(self.group.key, server.key),
            None => Target::Service(self.group.key),
        }
    }
}

/// One line of the checks screen: a checker of a real server (or the real
/// server alone when it has none).
#[derive(Debug, Clone, Copy)]
pub struct CheckRow<'a> {
    pub vs: &'a VirtualServerView,
    pub rs: &'a RealServerView,
    pub checker: Option<&'a CheckerView>,
}

fn contains(haystack: &str, needle: &str) -> bool {
    needle.is_empty() || haystack.to_lowercase().contains(&needle.to_lowercase())
}

fn server_text(server: &ServerRow) -> String {
    format!(
        "{} {} {}",
        server.key,
        server.health.word(),
        server.reasons.join(" ")
    )
}

fn group_text(group: &ServiceGroup) -> String {
    let (prot, addr) = group.label();
    format!(
        "{prot} {addr} {} {} {}",
        group.scheduler,
        group.flags,
        group.disabled.join(" ")
    )
}

impl App {
    fn order_servers(&self, a: &ServerRow, b: &ServerRow) -> Ordering {
        let order = match self.sort {
            SortBy::Address => a.key.cmp(&b.key),
            SortBy::Weight => a.weight.cmp(&b.weight),
            SortBy::ActiveConn => a.active.cmp(&b.active),
            SortBy::InActConn => a.inactive.cmp(&b.inactive),
            SortBy::Cps => a.rates.cps.cmp(&b.rates.cps),
            SortBy::Bps => (a.rates.inbps + a.rates.outbps).cmp(&(b.rates.inbps + b.rates.outbps)),
            SortBy::Health => b.health.cmp(&a.health),
        };
        let order = if self.sort == SortBy::Address {
            order
        } else {
            // Numbers read best largest first.
            order.reverse().then(a.key.cmp(&b.key))
        };
        if self.reverse {
            order.reverse()
        } else {
            order
        }
    }

    fn order_groups(&self, a: &ServiceGroup, b: &ServiceGroup) -> Ordering {
        let order = match self.sort {
            SortBy::Address | SortBy::Weight | SortBy::Health => a.key.cmp(&b.key),
            SortBy::ActiveConn => b.active.cmp(&a.active),
            SortBy::InActConn => b.inactive.cmp(&a.inactive),
            SortBy::Cps => b.rates.cps.cmp(&a.rates.cps),
            SortBy::Bps => (b.rates.inbps + b.rates.outbps).cmp(&(a.rates.inbps + a.rates.outbps)),
        }
        .then(a.key.cmp(&b.key));
        if self.reverse {
            order.reverse()
        } else {
            order
        }
    }

    /// The services screen's rows: sorted, filtered, collapsed services
    /// without their real servers.
    pub fn visible_rows(&self) -> Vec<Row<'_>> {
        let filter = self.filter(View::Services);
        let mut groups: Vec<&ServiceGroup> = self.groups.iter().collect();
        groups.sort_by(|a, b| self.order_groups(a, b));
        let mut rows = Vec::new();
        for group in groups {
            // No filter: nothing to format (tables of 100,000 rows are
            // walked here on every redraw).
            let group_matches = filter.is_empty() || contains(&group_text(group), filter);
            let mut servers: Vec<&ServerRow> = group
                .servers
                .iter()
                .filter(|s| group_matches || contains(&server_text(s), filter))
                .collect();
            if servers.is_empty() && !group_matches {
                continue;
            }
            servers.sort_by(|a, b| self.order_servers(a, b));
            rows.push(Row {
                group,
                server: None,
            });
            if !self.collapsed.contains(&group.key) {
                rows.extend(servers.into_iter().map(|server| Row {
                    group,
                    server: Some(server),
                }));
            }
        }
        rows
    }

    /// The VRRP screen's instances.
    pub fn vrrp_rows(&self) -> Vec<&InstanceStatus> {
        let filter = self.filter(View::Vrrp);
        self.snapshot
            .as_ref()
            .map(|s| {
                s.vrrp
                    .instances
                    .iter()
                    .filter(|i| {
                        contains(
                            &format!(
                                "{} {} {}",
                                i.name,
                                i.state.keyword(),
                                i.sync_group.as_deref().unwrap_or("")
                            ),
                            filter,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The checks screen's lines.
    pub fn check_rows(&self) -> Vec<CheckRow<'_>> {
        let filter = self.filter(View::Checks);
        let mut out = Vec::new();
        let Some(snapshot) = self.snapshot.as_ref() else {
            return out;
        };
        for vs in &snapshot.checks.snapshot.virtual_servers {
            for rs in &vs.real_servers {
                let base = format!("{} {} {}", vs.name, rs.address, rs.name);
                if rs.checkers.is_empty() {
                    if contains(&base, filter) {
                        out.push(CheckRow {
                            vs,
                            rs,
                            checker: None,
                        });
                    }
                    continue;
                }
                for checker in &rs.checkers {
                    let text = format!(
                        "{base} {} {} {}",
                        checker.kind,
                        if checker.up { "up" } else { "down" },
                        checker.reason.as_deref().unwrap_or("")
                    );
                    if contains(&text, filter) {
                        out.push(CheckRow {
                            vs,
                            rs,
                            checker: Some(checker),
                        });
                    }
                }
            }
        }
        out
    }

    /// The events screen's lines, oldest first.
    pub fn event_rows(&self) -> Vec<&LogLine> {
        let filter = self.filter(View::Events);
        self.log
            .iter()
            .filter(|line| match line {
                LogLine::Engine(event) => contains(
                    &format!("{} {}", kind_name(&event.kind), event.message),
                    filter,
                ),
                LogLine::Note { text, .. } => contains(&format!("console {text}"), filter),
            })
            .collect()
    }

    /// The connections screen's lines.
    pub fn connection_rows(&self) -> Vec<&Connection> {
        let filter = self.filter(View::Connections);
        self.connections
            .as_ref()
            .map(|list| {
                list.iter()
                    .filter(|c| {
                        contains(
                            &format!(
                                "{} {} {} {} {}",
                                c.protocol, c.client, c.virtual_addr, c.dest, c.state
                            ),
                            filter,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many selectable rows the current screen has.
    pub(crate) fn row_count(&self, view: View) -> usize {
        match view {
            View::Services => self.visible_rows().len(),
            View::Vrrp => self.vrrp_rows().len(),
            View::Checks => self.check_rows().len(),
            View::Events => self.event_rows().len(),
            View::Connections => self.connection_rows().len(),
            View::Config => self.editor.textarea.lines().len(),
        }
    }

    /// The selected row index of a screen (services: of the selected
    /// target, if still listed).
    pub fn cursor(&self, view: View) -> usize {
        if view == View::Services {
            let rows = self.visible_rows();
            return self
                .selected
                .and_then(|t| rows.iter().position(|r| r.target() == t))
                .unwrap_or(0);
        }
        let count = self.row_count(view);
        // The events screen follows the newest until the operator moves.
        let default = if view == View::Events {
            count.saturating_sub(1)
        } else {
            0
        };
        self.cursor
            .get(&view)
            .copied()
            .unwrap_or(default)
            .min(count.saturating_sub(1))
    }

    /// Move the selection by `delta` rows (clamped).
    pub(crate) fn move_cursor(&mut self, delta: isize) {
        let view = self.view;
        let count = self.row_count(view);
        if count == 0 {
            return;
        }
        let current = self.cursor(view) as isize;
        let next = (current + delta).clamp(0, count as isize - 1) as usize;
        if view == View::Services {
            self.selected = self.visible_rows().get(next).map(Row::target);
        } else {
            self.cursor.insert(view, next);
        }
    }

    /// The selected service row.
    pub fn selected_row(&self) -> Option<Row<'_>> {
        let target = self.selected?;
        self.visible_rows()
            .into_iter()
            .find(|r| r.target() == target)
    }
}

/// The event kind's word, for filters and the events screen.
pub fn kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Vrrp { .. } => "vrrp",
        EventKind::Check { .. } => "check",
        EventKind::Alert { .. } => "alert",
        EventKind::Operator { .. } => "operator",
        EventKind::Config { .. } => "config",
        EventKind::Drift { .. } => "drift",
        EventKind::Dataplane { .. } => "dataplane",
    }
}
