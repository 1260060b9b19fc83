//! The checks screen: every checker under its virtual server, with its
//! target, type, state, latency, consecutive failures, since when, and
//! the reason of the last failure.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::widgets::{left, right, scroll};
use crate::ui::action::View;
use crate::ui::app::App;
use crate::ui::theme::scope;

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let wide = area.width >= 120;
    let addr_width = if wide { 28 } else { 21 };
    let mut lines = vec![Line::styled(
        format!(
            "  {} {} {} {} {} {} Reason",
            left("Real server", addr_width),
            left("Checker", 10),
            left("State", 5),
            right("Latency", 7),
            right("Fails", 5),
            left("Since", 8),
        ),
        theme.style(scope::UI_DIM),
    )];
    let Some(snapshot) = app.snapshot() else {
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    let epoch = snapshot.checks.epoch_unix_ms;
    let selected = app.cursor(View::Checks);
    let mut body: Vec<(usize, Line<'static>)> = Vec::new();
    let mut last_vs = String::new();
    for (index, row) in app.check_rows().into_iter().enumerate() {
        if row.vs.name != last_vs {
            last_vs.clone_from(&row.vs.name);
            let quorum = format!(
                "  quorum {} ({}/{})",
                if row.vs.quorum_up { "up" } else { "down" },
                row.vs.weight_sum,
                row.vs.quorum
            );
            body.push((
                usize::MAX,
                Line::from(vec![
                    Span::styled(row.vs.name.clone(), theme.style(scope::SVC_NAME)),
                    Span::styled(quorum, theme.style(scope::UI_DIM)),
                ]),
            ));
        }
        let (kind, state, styled_as, latency, fails, since, reason) = match row.checker {
            Some(c) => {
                let (state, styled_as) = match (c.checked, c.up) {
                    (false, _) => ("UP?", scope::UI_DIM),
                    (true, true) => ("UP", scope::CHECK_UP),
                    (true, false) => ("DOWN", scope::CHECK_DOWN),
                };
                (
                    c.kind.to_string(),
                    state,
                    styled_as,
                    c.latency
                        .map(|l| format!("{}ms", l.as_millis()))
                        .unwrap_or_else(|| "-".to_string()),
                    c.consecutive_failures.to_string(),
                    app.clock_text(epoch + u64::try_from(c.since.as_millis()).unwrap_or(0)),
                    c.reason.clone().unwrap_or_default(),
                )
            }
            None => (
                "none".to_string(),
                if row.rs.up { "UP" } else { "DOWN" },
                if row.rs.up {
                    scope::CHECK_UP
                } else {
                    scope::CHECK_DOWN
                },
                "-".to_string(),
                "-".to_string(),
                "-".to_string(),
                "no checker".to_string(),
            ),
        };
        let mut line = Line::from(vec![
            Span::raw(format!(
                "  {} {} ",
                left(&row.rs.address, addr_width),
                left(&kind, 10)
            )),
            Span::styled(left(state, 5), theme.style(styled_as)),
            Span::raw(format!(
                " {} {} {} ",
                right(&latency, 7),
                right(&fails, 5),
                left(&since, 8)
            )),
            Span::styled(reason, theme.style(scope::RS_REASON)),
        ]);
        if index == selected {
            line = line.patch_style(theme.style(scope::UI_SELECTION));
        }
        body.push((index, line));
    }
    if body.is_empty() {
        body.push((
            0,
            Line::styled("  no health checker configured", theme.style(scope::UI_DIM)),
        ));
    }
    let height = usize::from(area.height).saturating_sub(1);
    let target = body.iter().position(|(i, _)| *i == selected).unwrap_or(0);
    let first = scroll(&app.scroll[2], target, height, body.len());
    lines.extend(body.into_iter().skip(first).take(height).map(|(_, l)| l));
    frame.render_widget(Paragraph::new(lines), area);
}
