//! The events screen (the engine's timeline and the console's own results,
//! newest at the bottom) and the connections screen (`ipvsadm -c`).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::widgets::{left, scroll};
use crate::northbound::EventKind;
use crate::ui::action::View;
use crate::ui::app::rows::kind_name;
use crate::ui::app::{App, LogLine};
use crate::ui::theme::scope;

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let mut lines = vec![Line::styled(
        format!("  {} {} What", left("Time", 8), left("Kind", 9)),
        theme.style(scope::UI_DIM),
    )];
    if app.missed_events {
        lines.push(Line::styled(
            "  (older events fell out of the engine's ring before this console saw them)",
            theme.style(scope::UI_DIM),
        ));
    }
    let rows = app.event_rows();
    let selected = app.cursor(View::Events);
    let mut body: Vec<Line<'static>> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let (at, kind, styled_as, text) = match row {
            LogLine::Engine(event) => {
                let styled_as = match &event.kind {
                    EventKind::Operator { .. } => scope::EVENT_OPERATOR,
                    EventKind::Alert { .. } => scope::EVENT_ALERT,
                    EventKind::Check { up: false, .. } => scope::CHECK_DOWN,
                    EventKind::Check { up: true, .. } => scope::CHECK_UP,
                    EventKind::Drift { .. } | EventKind::Dataplane { .. } => scope::UI_ERROR,
                    _ => scope::EVENT,
                };
                (
                    event.at_ms,
                    kind_name(&event.kind),
                    styled_as,
                    event.message.clone(),
                )
            }
            LogLine::Note { at_ms, text, error } => (
                *at_ms,
                "console",
                if *error {
                    scope::UI_ERROR
                } else {
                    scope::UI_SUCCESS
                },
                text.clone(),
            ),
        };
        let mut line = Line::from(vec![
            Span::styled(
                format!("  {} ", app.clock_text(at)),
                theme.style(scope::EVENT_TIME),
            ),
            Span::styled(format!("{} ", left(kind, 9)), theme.style(styled_as)),
            Span::raw(text),
        ]);
        if index == selected {
            line = line.patch_style(theme.style(scope::UI_SELECTION));
        }
        body.push(line);
    }
    if body.is_empty() {
        body.push(Line::styled("  no events yet", theme.style(scope::UI_DIM)));
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
        crate::northbound::ipvsadm_text::timeouts(timeouts, &mut text);
    }
    if observed.sync_daemons.is_empty() {
        text.push_str("no connection sync daemon\n");
    } else {
        crate::northbound::ipvsadm_text::daemons(&observed.sync_daemons, &mut text);
    }
    text.lines().map(str::to_string).collect()
}

pub fn draw_connections(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let addr = if area.width >= 120 { 28 } else { 21 };
    let mut lines = kernel_settings(app)
        .into_iter()
        .map(|text| Line::styled(format!("  {text}"), theme.style(scope::UI_DIM)))
        .collect::<Vec<_>>();
    lines.push(Line::styled(
        format!(
            "  pro expire {} {} {} destination",
            left("state", 11),
            left("source", addr),
            left("virtual", addr)
        ),
        theme.style(scope::UI_DIM),
    ));
    let Some(connections) = app.connections.as_ref() else {
        lines.push(Line::styled(
            "  the connection table is not available from this source",
            theme.style(scope::UI_DIM),
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
            line = line.patch_style(theme.style(scope::UI_DIM));
        }
        if index == selected {
            line = line.patch_style(theme.style(scope::UI_SELECTION));
        }
        body.push(line);
    }
    if body.is_empty() {
        let text = if connections.is_empty() {
            "  no connections"
        } else {
            "  no connection matches the filter (Esc clears it)"
        };
        body.push(Line::styled(text, theme.style(scope::UI_DIM)));
    }
    let height = usize::from(area.height).saturating_sub(1);
    let first = scroll(&app.scroll[4], selected, height, body.len());
    lines.extend(body.into_iter().skip(first).take(height));
    frame.render_widget(Paragraph::new(lines), area);
}
