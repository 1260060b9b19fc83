//! The VRRP screen while observing a keepalived director: keepalived's
//! own instances (fields its dumps leave out say "unknown", never a
//! guess), the routers heard on the wire with their masters, and the
//! alarms (two masters, a silent master, …). Failover is keepalived's
//! there; the last line says how.

use ratatui::text::Line;

use super::widgets::{hang, left, right};
use crate::northbound::Observation;
use crate::ui::app::App;
use crate::ui::theme::scope;

/// The observer's VRRP lines for a screen `width` wide; long lines wrap
/// under their first word rather than being cut.
pub fn vrrp_lines(app: &App, observed: &Observation, width: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let dim = theme.style(scope::UI_DIM);
    let unknown = || "unknown".to_string();
    let mut lines = Vec::new();
    lines.push(Line::styled("  keepalived's instances", dim));
    match &observed.keepalived {
        None if observed.keepalived_pid.is_none() => {
            lines.push(Line::raw("    no keepalived runs on this host"));
        }
        None => lines.push(Line::raw("    reading keepalived's state…")),
        Some(view) => {
            if let Some(error) = &view.instances_error {
                lines.extend(
                    hang(
                        "    ",
                        &format!("keepalived's state is unknown: {error}"),
                        width,
                    )
                    .into_iter()
                    .map(|l| Line::styled(l, theme.style(scope::UI_ERROR))),
                );
            }
            for i in &view.instances {
                let state = i.state.as_ref().map_or_else(unknown, ToString::to_string);
                let prio = match (i.base_priority, i.effective_priority) {
                    (Some(b), Some(e)) if b == e => b.to_string(),
                    (Some(b), Some(e)) => format!("{b}/{e}"),
                    _ => unknown(),
                };
                let master = i.master_address.map_or_else(unknown, |a| a.to_string());
                let vips: Vec<String> = i.vips.iter().map(|v| v.address.to_string()).collect();
                let row = format!(
                    "    {} {} prio {} master {} vrid {} {}",
                    left(&i.name, 12),
                    left(&state, 7),
                    right(&prio, 7),
                    left(&master, 15),
                    i.vrid.map_or_else(unknown, |v| v.to_string()),
                    i.interface.clone().unwrap_or_else(unknown),
                );
                let vips = vips.join(" ");
                // The VIPs follow on the row when they fit, else under it.
                if row.chars().count() + 1 + vips.chars().count() <= width {
                    lines.push(Line::raw(format!("{row} {vips}")));
                } else {
                    lines.push(Line::raw(row));
                    if !vips.is_empty() {
                        lines.extend(hang("      VIPs ", &vips, width).into_iter().map(Line::raw));
                    }
                }
            }
        }
    }
    lines.push(Line::default());
    lines.push(Line::styled("  On the wire (heard, never sent)", dim));
    if let Some(error) = &observed.wire_error {
        lines.extend(
            hang(
                "    ",
                &format!("the advert listener cannot run: {error}"),
                width,
            )
            .into_iter()
            .map(|l| Line::styled(l, theme.style(scope::UI_ERROR))),
        );
    }
    if let Some(wire) = &observed.wire {
        for alarm in &wire.alarms {
            let styled_as = if alarm.is_serious() {
                scope::UI_ERROR
            } else {
                scope::UI_DIM
            };
            lines.extend(
                hang("    ALARM ", &alarm.to_string(), width)
                    .into_iter()
                    .map(|l| Line::styled(l, theme.style(styled_as))),
            );
        }
        if wire.routers.is_empty() {
            lines.push(Line::raw("    no VRRP advert heard yet"));
        }
        for router in &wire.routers {
            let master = match (router.master, router.master_priority) {
                (Some(a), Some(p)) if router.master_is_self => format!("{a} prio {p} (here)"),
                (Some(a), Some(p)) => format!("{a} prio {p}"),
                _ => "none".to_string(),
            };
            let text = format!(
                "vrid {} v{} {} master {} every {} cs, {} adverts, {} s ago",
                router.vrid,
                router.version,
                router.instance.as_deref().unwrap_or("-"),
                master,
                router.interval_cs,
                router.adverts,
                router.last_seen_ms_ago / 1000
            );
            lines.extend(
                hang(&format!("    {} ", router.interface), &text, width)
                    .into_iter()
                    .map(Line::raw),
            );
        }
        if wire.malformed > 0 {
            lines.push(Line::styled(
                format!(
                    "    {} malformed adverts, last: {}",
                    wire.malformed,
                    wire.last_error.as_deref().unwrap_or("-")
                ),
                dim,
            ));
        }
    }
    lines
}

/// The header's alarm, when the wire shows one that matters.
pub fn header_alarm(observed: &Observation) -> Option<String> {
    let wire = observed.wire.as_ref()?;
    wire.alarms
        .iter()
        .find(|a| a.is_serious())
        .map(|a| format!(" ALARM {a} "))
}
