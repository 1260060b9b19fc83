//! The two header lines: who the director is, where the data comes from,
//! the dataplane, uptime and alerts; then each VRRP instance's role,
//! priority and master (or why the engine is gone).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::widgets::duration;
use crate::engine::event::EventKind;
use crate::ui::app::{App, LogLine};
use crate::vrrp::fsm::State;

/// The theme scope of a VRRP state.
pub fn state_scope(state: State) -> &'static str {
    match state {
        State::Master => "vrrp.master",
        State::Backup => "vrrp.backup",
        State::Fault => "vrrp.fault",
        State::Initialize => "vrrp.init",
    }
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let bar = theme.style("ui.header");
    let title = theme.style("ui.header.title");
    let alerts = app
        .log()
        .filter(|l| matches!(l, LogLine::Engine(e) if matches!(e.kind, EventKind::Alert { .. })))
        .count();
    // The observer's label follows keepalived as it starts and stops.
    let label = app
        .snapshot()
        .and_then(|s| s.observed.as_ref())
        .map_or(app.source.as_str(), |o| o.label.as_str());
    let source = if label.is_empty() {
        String::new()
    } else {
        format!("  {label}")
    };
    let first = match app.snapshot() {
        Some(s) => Line::from(vec![
            Span::styled(format!(" {} ", s.director.name), title),
            Span::styled(
                format!(
                    " alerts {alerts}  up {}  {} dataplane {source}  lvstop {}",
                    duration(s.uptime_s()),
                    s.director.dataplane.as_str(),
                    s.director.version
                ),
                bar,
            ),
        ]),
        None => Line::from(Span::styled(
            format!(" lvstop{source}  waiting for the engine…"),
            title,
        )),
    };
    let mut second = Vec::new();
    if let Some(lost) = &app.lost {
        second.push(Span::styled(
            format!(" ENGINE LOST: {lost} (showing the last state) "),
            theme.style("ui.error"),
        ));
    } else if let Some(alarm) = app
        .snapshot()
        .and_then(|s| s.observed.as_ref())
        .and_then(super::observed::header_alarm)
    {
        second.push(Span::styled(alarm, theme.style("ui.error")));
    } else if let Some(error) = app
        .snapshot()
        .and_then(|s| s.observed.as_ref())
        .and_then(|o| o.ipvs_error.as_ref())
    {
        second.push(Span::styled(
            format!(" the kernel's IPVS cannot be read: {error}"),
            theme.style("ui.error"),
        ));
    } else if let Some(s) = app.snapshot() {
        if s.vrrp.instances.is_empty() && s.observed.is_some() {
            second.push(Span::styled(
                " VRRP is keepalived's here: see the VRRP screen",
                theme.style("ui.dim"),
            ));
        } else if s.vrrp.instances.is_empty() {
            second.push(Span::styled(
                " no VRRP instance: standalone director",
                theme.style("ui.dim"),
            ));
        }
        for instance in &s.vrrp.instances {
            let master = match instance.master_address {
                Some(addr) => format!(" master {addr}"),
                None => String::new(),
            };
            second.push(Span::raw(format!(" {} ", instance.name)));
            second.push(Span::styled(
                instance.state.keyword().to_string(),
                theme.style(state_scope(instance.state)),
            ));
            second.push(Span::raw(format!(
                " prio {}{master} ",
                instance.effective_priority
            )));
        }
    }
    let lines = vec![first.style(bar), Line::from(second)];
    frame.render_widget(Paragraph::new(lines), area);
}
