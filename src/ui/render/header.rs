//! The header: who the director is, where the data comes from, the
//! dataplane, uptime and alerts; then each VRRP instance's role, priority
//! and master (or why the engine is gone, or the alarm). Everything fits
//! the width: what matters least goes first, a path loses its start, and
//! an alarm takes more lines rather than being cut.

use ratatui::text::{Line, Span};

use super::widgets::{duration, fit_label, wrap};
use crate::northbound::{EventKind, VrrpState};
use crate::ui::app::{App, LogLine};
use crate::ui::theme::{scope, ThemeScope};

/// The theme scope of a VRRP state.
pub fn state_scope(state: VrrpState) -> ThemeScope {
    match state {
        VrrpState::Master => scope::VRRP_MASTER,
        VrrpState::Backup => scope::VRRP_BACKUP,
        VrrpState::Fault => scope::VRRP_FAULT,
        VrrpState::Initialize => scope::VRRP_INIT,
    }
}

/// The header's lines for a frame `width` wide: the summary line, then
/// the VRRP line, or the alarm (wrapped over as many lines as it needs:
/// an alarm is never cut).
pub fn lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let theme = &app.theme;
    let bar = theme.style(scope::UI_HEADER);
    let mut lines = vec![summary(app, width).style(bar)];
    // Several directors: their VRRP disagreement comes first.
    for alarm in app.directors().alarms() {
        lines.extend(
            wrap(&alarm.to_string(), width.saturating_sub(2))
                .into_iter()
                .map(|l| Line::styled(format!(" {l} "), theme.style(scope::UI_ERROR))),
        );
    }
    let alarm = if let Some(lost) = &app.lost {
        Some(format!("ENGINE LOST: {lost} (showing the last state)"))
    } else if let Some(alarm) = app
        .snapshot()
        .and_then(|s| s.observed.as_ref())
        .and_then(super::observed::header_alarm)
    {
        Some(alarm.trim().to_string())
    } else {
        app.snapshot()
            .and_then(|s| s.observed.as_ref())
            .and_then(|o| o.ipvs_error.as_ref())
            .map(|error| format!("the kernel's IPVS cannot be read: {error}"))
    };
    match alarm {
        Some(alarm) => lines.extend(
            wrap(&alarm, width.saturating_sub(2))
                .into_iter()
                .map(|l| Line::styled(format!(" {l} "), theme.style(scope::UI_ERROR))),
        ),
        None => lines.push(vrrp_line(app, width)),
    }
    lines
}

/// ` NAME  alerts N  up T  SOURCE  DATAPLANE dataplane  lvstop VERSION`,
/// losing the version, then the word "dataplane", then room in the
/// source label (its end kept), then the uptime, when the width is short.
/// The alert count always stays.
fn summary(app: &App, width: usize) -> Line<'static> {
    let theme = &app.theme;
    let title = theme.style(scope::UI_HEADER_TITLE);
    let ellipsis = if app.ascii { "..." } else { "…" };
    // The observer's label follows keepalived as it starts and stops.
    let label = app
        .snapshot()
        .and_then(|s| s.observed.as_ref())
        .map_or(app.source.as_str(), |o| o.label.as_str());
    let Some(s) = app.snapshot() else {
        let waiting = "  waiting for the engine…";
        let room = width.saturating_sub(" lvstop  ".len() + waiting.chars().count());
        let source = if label.is_empty() || room < 8 {
            String::new()
        } else {
            format!("  {}", fit_label(label, room, ellipsis))
        };
        return Line::from(Span::styled(format!(" lvstop{source}{waiting}"), title));
    };
    let alerts = app
        .log()
        .filter(|l| matches!(l, LogLine::Engine(e) if matches!(e.kind, EventKind::Alert { .. })))
        .count();
    let name = format!(" {} ", s.director.name);
    let alerts = format!(" alerts {alerts}");
    let up = format!("  up {}", duration(s.uptime_s()));
    let dataplane = s.director.dataplane.as_str();
    let long_dataplane = format!("  {dataplane} dataplane");
    let short_dataplane = format!("  {dataplane}");
    let version = format!("  lvstop {}", s.director.version);
    let source = |room: usize| -> String {
        if label.is_empty() || room < 10 {
            String::new()
        } else {
            format!("  {}", fit_label(label, room - 2, ellipsis))
        }
    };
    let label_width = if label.is_empty() {
        0
    } else {
        label.chars().count() + 2
    };
    let fixed = name.chars().count() + alerts.chars().count();
    let mut rest = None;
    for (dataplane, version) in [
        (&long_dataplane, version.as_str()),
        (&long_dataplane, ""),
        (&short_dataplane, ""),
    ] {
        let used = fixed + up.len() + dataplane.len() + version.len();
        if used + label_width <= width {
            rest = Some(format!("{up}{}{dataplane}{version}", source(label_width)));
            break;
        }
    }
    let rest = rest.unwrap_or_else(|| {
        let used = fixed + up.len() + short_dataplane.len();
        if width >= used + 20 {
            format!("{up}{}{short_dataplane}", source(width - used))
        } else {
            let used = fixed + short_dataplane.len();
            format!("{}{short_dataplane}", source(width.saturating_sub(used)))
        }
    });
    Line::from(vec![
        Span::styled(name, title),
        Span::raw(format!("{alerts}{rest}")),
    ])
}

/// Each VRRP instance's role, priority and master, as many as fit, then
/// `+N more` (the VRRP screen lists them all).
fn vrrp_line(app: &App, width: usize) -> Line<'static> {
    let theme = &app.theme;
    let mut spans = Vec::new();
    let Some(s) = app.snapshot() else {
        return Line::default();
    };
    if s.vrrp.instances.is_empty() && s.observed.is_some() {
        spans.push(Span::styled(
            " VRRP is keepalived's here: see the VRRP screen",
            theme.style(scope::UI_DIM),
        ));
    } else if s.vrrp.instances.is_empty() {
        spans.push(Span::styled(
            " no VRRP instance: standalone director",
            theme.style(scope::UI_DIM),
        ));
    }
    let mut used = 0;
    let count = s.vrrp.instances.len();
    for (index, instance) in s.vrrp.instances.iter().enumerate() {
        let master = match instance.master_address {
            Some(addr) => format!(" master {addr}"),
            None => String::new(),
        };
        let name = format!(" {} ", instance.name);
        let state = instance.state.keyword().to_string();
        let tail = format!(" prio {}{master} ", instance.effective_priority);
        let need = name.chars().count() + state.len() + tail.chars().count();
        let more = if index + 1 < count {
            format!(" +{} more", count - index - 1).len()
        } else {
            0
        };
        if used + need + more > width {
            spans.push(Span::styled(
                format!(" +{} more", count - index),
                theme.style(scope::UI_DIM),
            ));
            break;
        }
        used += need;
        spans.push(Span::raw(name));
        spans.push(Span::styled(
            state,
            theme.style(state_scope(instance.state)),
        ));
        spans.push(Span::raw(tail));
    }
    Line::from(spans)
}
