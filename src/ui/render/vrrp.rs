//! The VRRP screen: each instance's state, base/effective priority,
//! master, VRID and interface, adverts sent/received, errors, time in
//! state and VIPs (on lines of their own under the row at 80 columns);
//! Enter shows its transitions, fault reasons and counters. Sync groups
//! follow.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::header::state_scope;
use super::widgets::{duration, hang, left, right, scroll};
use crate::ui::action::View;
use crate::ui::app::App;
use crate::ui::theme::scope;

/// Where the VIPs column starts on a wide screen (after VRID and
/// Interface).
const VIPS_AT: usize = 92;

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let width = usize::from(area.width);
    let wide = width >= 120;
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "  {} {} {} {} {} {} {} {}",
            left("Instance", 12),
            left("State", 7),
            right("Prio", 7),
            left("Master", 16),
            right("Adv tx/rx", 13),
            right("Err", 4),
            right("In state", 8),
            if wide { "VRID Interface  VIPs" } else { "" }
        ),
        theme.style(scope::UI_DIM),
    ))];
    let Some(snapshot) = app.snapshot() else {
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    if snapshot.observed.is_some() {
        // lvstop runs no instance here: keepalived's own columns follow.
        lines.clear();
    }
    let now_ms = snapshot.taken_unix_ms;
    let selected = app.cursor(View::Vrrp);
    let mut body: Vec<(usize, Line<'static>)> = Vec::new();
    for (index, i) in app.vrrp_rows().into_iter().enumerate() {
        let stat = |name: &str| i.stats.get(name).copied().unwrap_or(0);
        let errors = stat("auth_failure")
            + stat("packet_len_err")
            + stat("ip_ttl_err")
            + i.io_errors.advert_send
            + i.io_errors.vip
            + i.io_errors.announce;
        let vips: Vec<String> = i.vips.iter().map(ToString::to_string).collect();
        // Wide, the VIPs column wraps under itself; at 80 columns the VIPs
        // take lines of their own under the row. Every VIP stays in view.
        let mut vip_lines = if wide {
            hang(&" ".repeat(VIPS_AT), &vips.join(" "), width)
        } else if vips.is_empty() {
            Vec::new()
        } else {
            hang("       VIPs ", &vips.join(" "), width)
        };
        let inline_vips = if wide && !vip_lines.is_empty() {
            vip_lines.remove(0).trim_start().to_string()
        } else {
            String::new()
        };
        let prio = if i.base_priority == i.effective_priority {
            i.base_priority.to_string()
        } else {
            format!("{}/{}", i.base_priority, i.effective_priority)
        };
        let master = i
            .master_address
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".to_string());
        let place = if wide {
            format!(
                "{} {} ",
                right(&i.vrid.to_string(), 4),
                left(i.interface.as_deref().unwrap_or("-"), 10)
            )
        } else {
            String::new()
        };
        let mut line = Line::from(vec![
            Span::raw(format!("  {} ", left(&i.name, 12))),
            Span::styled(
                left(i.state.keyword(), 7),
                theme.style(state_scope(i.state)),
            ),
            Span::raw(format!(
                " {} {} {} {} {} {place}{}",
                right(&prio, 7),
                left(&master, 16),
                right(
                    &format!("{}/{}", stat("advert_sent"), stat("advert_rcvd")),
                    13
                ),
                right(&errors.to_string(), 4),
                right(&duration(now_ms.saturating_sub(i.since_unix_ms) / 1000), 8),
                inline_vips
            )),
        ]);
        if index == selected {
            line = line.patch_style(theme.style(scope::UI_SELECTION));
        }
        body.push((index, line));
        body.extend(vip_lines.into_iter().map(|l| (index, Line::raw(l))));
        if app.expanded.contains(&(View::Vrrp, index)) {
            let dim = theme.style(scope::UI_DIM);
            if let Some(group) = &i.sync_group {
                body.push((
                    index,
                    Line::styled(format!("      sync group {group}"), dim),
                ));
            }
            for reason in &i.fault_reasons {
                body.push((
                    index,
                    Line::styled(
                        format!("      fault: {reason}"),
                        theme.style(scope::VRRP_FAULT),
                    ),
                ));
            }
            for t in &i.transitions {
                body.push((
                    index,
                    Line::styled(
                        format!(
                            "      {} {} -> {}",
                            app.clock_text(t.at_unix_ms),
                            t.from.keyword(),
                            t.to.keyword()
                        ),
                        dim,
                    ),
                ));
            }
            let counters: Vec<String> = i
                .stats
                .iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            if !counters.is_empty() {
                body.push((
                    index,
                    Line::styled(format!("      {}", counters.join(", ")), dim),
                ));
            }
        }
    }
    if let Some(observed) = &snapshot.observed {
        body.extend(
            super::observed::vrrp_lines(app, observed, width)
                .into_iter()
                .map(|line| (usize::MAX, line)),
        );
        body.push((usize::MAX, Line::default()));
        body.push((
            usize::MAX,
            Line::styled(
                format!("  {}", crate::ui::app::actions::OBSERVER_FAILOVER),
                theme.style(scope::UI_DIM),
            ),
        ));
    }
    if !snapshot.vrrp.sync_groups.is_empty() {
        body.push((usize::MAX, Line::default()));
        body.push((
            usize::MAX,
            Line::styled("  Sync group   State   Members", theme.style(scope::UI_DIM)),
        ));
        for group in &snapshot.vrrp.sync_groups {
            body.push((
                usize::MAX,
                Line::from(vec![
                    Span::raw(format!("  {} ", left(&group.name, 12))),
                    Span::styled(
                        left(group.state.keyword(), 7),
                        theme.style(state_scope(group.state)),
                    ),
                    Span::raw(format!(" {}", group.members.join(", "))),
                ]),
            ));
        }
    }
    if body.is_empty() {
        body.push((
            0,
            Line::styled(
                "  no VRRP instance: this director serves its VIPs unconditionally",
                theme.style(scope::UI_DIM),
            ),
        ));
    }
    let height = usize::from(area.height).saturating_sub(1);
    let target = body.iter().position(|(i, _)| *i == selected).unwrap_or(0);
    let first = scroll(&app.scroll[1], target, height, body.len());
    lines.extend(body.into_iter().skip(first).take(height).map(|(_, l)| l));
    frame.render_widget(Paragraph::new(lines), area);
}
