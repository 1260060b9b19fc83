//! The events screen (the engine's timeline and the console's own results,
//! newest at the bottom) and the connections screen (`ipvsadm -c`).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::widgets::{left, scroll};
use crate::engine::event::EventKind;
use crate::ui::action::View;
use crate::ui::app::rows::kind_name;
use crate::ui::app::{App, LogLine};

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let mut lines = vec![Line::styled(
        format!("  {} {} What", left("Time", 8), left("Kind", 9)),
        theme.style("ui.dim"),
    )];
    if app.missed_events {
        lines.push(Line::styled(
            "  (older events fell out of the engine's ring before this console saw them)",
            theme.style("ui.dim"),
        ));
    }
    let rows = app.event_rows();
    let selected = app.cursor(View::Events);
    let mut body: Vec<Line<'static>> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let (at, kind, scope, text) = match row {
            LogLine::Engine(event) => {
                let scope = match &event.kind {
                    EventKind::Operator { .. } => "event.operator",
                    EventKind::Alert { .. } => "event.alert",
                    EventKind::Check { up: false, .. } => "check.down",
                    EventKind::Check { up: true, .. } => "check.up",
                    EventKind::Drift { .. } | EventKind::Dataplane { .. } => "ui.error",
                    _ => "event",
                };
                (
                    event.at_ms,
                    kind_name(&event.kind),
                    scope,
                    event.message.clone(),
                )
            }
            LogLine::Note { at_ms, text, error } => (
                *at_ms,
                "console",
                if *error { "ui.error" } else { "ui.success" },
                text.clone(),
            ),
        };
        let mut line = Line::from(vec![
            Span::styled(
                format!("  {} ", app.clock_text(at)),
                theme.style("event.time"),
            ),
            Span::styled(format!("{} ", left(kind, 9)), theme.style(scope)),
            Span::raw(text),
        ]);
        if index == selected {
            line = line.patch_style(theme.style("ui.selection"));
        }
        body.push(line);
    }
    if body.is_empty() {
        body.push(Line::styled("  no events yet", theme.style("ui.dim")));
    }
    let height = usize::from(area.height).saturating_sub(lines.len());
    let first = scroll(&app.scroll[3], selected, height, body.len());
    lines.extend(body.into_iter().skip(first).take(height));
    frame.render_widget(Paragraph::new(lines), area);
}

/// `ipvsadm -Lnc`'s columns: pro, expire, state, source, virtual,
/// destination.
/// The observed kernel's timeouts and sync daemons, as ipvsadm prints
/// them (`--timeout`, `--daemon`), above the connection table.
fn kernel_settings(app: &App) -> Vec<String> {
    let Some(observed) = app.snapshot().and_then(|s| s.observed.as_ref()) else {
        return Vec::new();
    };
    let mut text = String::new();
    if let Some(timeouts) = &observed.timeouts {
        crate::ipvs::format::timeouts(timeouts, &mut text);
    }
    if observed.sync_daemons.is_empty() {
        text.push_str("no connection sync daemon\n");
    } else {
        crate::ipvs::format::daemons(&observed.sync_daemons, &mut text);
    }
    text.lines().map(str::to_string).collect()
}

pub fn draw_connections(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let addr = if area.width >= 120 { 28 } else { 21 };
    let mut lines = kernel_settings(app)
        .into_iter()
        .map(|text| Line::styled(format!("  {text}"), theme.style("ui.dim")))
        .collect::<Vec<_>>();
    lines.push(Line::styled(
        format!(
            "  pro expire {} {} {} destination",
            left("state", 11),
            left("source", addr),
            left("virtual", addr)
        ),
        theme.style("ui.dim"),
    ));
    let Some(connections) = app.connections.as_ref() else {
        lines.push(Line::styled(
            "  the connection table is not available from this source",
            theme.style("ui.dim"),
        ));
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    let rows = app.connection_rows();
    let selected = app.cursor(View::Connections);
    let mut body: Vec<Line<'static>> = Vec::new();
    for (index, c) in rows.iter().enumerate() {
        let mut line = Line::raw(format!(
            "  {} {:02}:{:02}  {} {} {} {}",
            left(&c.protocol, 3),
            c.expires / 60,
            c.expires % 60,
            left(&c.state, 11),
            left(&c.client.to_string(), addr),
            left(&c.virtual_addr.to_string(), addr),
            c.dest
        ));
        if c.template {
            line = line.patch_style(theme.style("ui.dim"));
        }
        if index == selected {
            line = line.patch_style(theme.style("ui.selection"));
        }
        body.push(line);
    }
    if body.is_empty() {
        let text = if connections.is_empty() {
            "  no connections"
        } else {
            "  no connection matches the filter (Esc clears it)"
        };
        body.push(Line::styled(text, theme.style("ui.dim")));
    }
    let height = usize::from(area.height).saturating_sub(1);
    let first = scroll(&app.scroll[4], selected, height, body.len());
    lines.extend(body.into_iter().skip(first).take(height));
    frame.render_widget(Paragraph::new(lines), area);
}
