//! Drawing the model: the frame's layout (header, tabs, the current
//! screen, the message or input line, the key hints) and the overlays
//! (help, confirmation). Reads the [`App`]; never changes what it shows
//! (only the remembered scroll offsets move).

mod checks;
mod config;
mod events;
mod header;
mod observed;
mod overlay;
mod services;
mod vrrp;
pub mod widgets;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::action::{Action, View};
use super::app::{App, Mode};
use super::keymap::Scope;

/// Draw the whole console into `frame`.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let [header, tabs, body, message, hints] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    header::draw(frame, header, app);
    draw_tabs(frame, tabs, app);
    app.page
        .set(usize::from(body.height).saturating_sub(3).max(1));
    match app.view() {
        View::Services => services::draw(frame, body, app),
        View::Vrrp => vrrp::draw(frame, body, app),
        View::Checks => checks::draw(frame, body, app),
        View::Events => events::draw(frame, body, app),
        View::Connections => events::draw_connections(frame, body, app),
        View::Config => config::draw(frame, body, app),
    }
    draw_message(frame, message, app);
    draw_hints(frame, hints, app);
    match app.mode() {
        Mode::Help => overlay::help(frame, body, app),
        Mode::Confirm(dialog) => overlay::dialog(frame, body, app, dialog),
        _ => {}
    }
}

fn view_title(view: View) -> &'static str {
    match view {
        View::Services => "Services",
        View::Vrrp => "VRRP",
        View::Checks => "Checks",
        View::Events => "Events",
        View::Connections => "Connections",
        View::Config => "Config",
    }
}

fn draw_tabs(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let mut spans = Vec::new();
    for view in View::ALL {
        let key = app
            .keymap
            .key_for(app.view(), Action::Show(view))
            .map(|k| format!("{k}:"))
            .unwrap_or_default();
        let style = if view == app.view() {
            theme.style("ui.tabs.active")
        } else {
            theme.style("ui.tabs")
        };
        spans.push(Span::styled(format!(" {key}{}", view_title(view)), style));
    }
    let mut right = Vec::new();
    if app.view() == View::Services {
        right.push(format!(
            "sort {}{}",
            app.sort.name(),
            if app.reverse { " rev" } else { "" }
        ));
    }
    let filter = app.filter(app.view());
    if !filter.is_empty() {
        right.push(format!("filter /{filter}"));
    }
    if app.read_only {
        right.push("READ-ONLY".to_string());
    }
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let right = right.join("  ");
    let gap = usize::from(area.width).saturating_sub(used + right.chars().count() + 1);
    if gap > 0 {
        spans.push(Span::raw(" ".repeat(gap)));
        spans.push(Span::styled(right, theme.style("ui.filter")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_message(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let cursor = if app.ascii { "_" } else { "█" };
    let line = match app.mode() {
        Mode::CommandLine(text) => Line::from(vec![
            Span::styled(":", theme.style("ui.hint.key")),
            Span::raw(format!("{text}{cursor}")),
        ]),
        Mode::Filter(text) => Line::from(vec![
            Span::styled("/", theme.style("ui.hint.key")),
            Span::styled(format!("{text}{cursor}"), theme.style("ui.filter")),
        ]),
        Mode::Prompt(prompt) => Line::from(vec![
            Span::styled(prompt.label(), theme.style("ui.hint.key")),
            Span::raw(format!("{}{cursor}", prompt.input)),
        ]),
        Mode::Editing => Line::from(Span::styled(
            "-- EDITING -- Esc leaves the editor (the draft is kept and autosaved)",
            theme.style("ui.hint"),
        )),
        _ => match app.message() {
            Some(message) => {
                let style = if message.error {
                    theme.style("ui.error")
                } else {
                    theme.style("ui.success")
                };
                Line::from(Span::styled(message.text.clone(), style))
            }
            None => Line::default(),
        },
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The hint bar: the current screen's keys, then the global ones, from
/// the keymap itself.
fn draw_hints(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let scopes: &[Scope] = match app.mode() {
        Mode::Confirm(_) => &[Scope::Dialog],
        _ => &[Scope::View(app.view()), Scope::Global],
    };
    let mut spans = Vec::new();
    let mut width = 0usize;
    let mut shown: Vec<Action> = Vec::new();
    for scope in scopes {
        for binding in app.keymap.bindings(*scope) {
            let skip = matches!(
                binding.action,
                Action::Up
                    | Action::Down
                    | Action::PageUp
                    | Action::PageDown
                    | Action::Top
                    | Action::Bottom
                    | Action::Show(_)
                    | Action::NextView
                    | Action::PrevView
            ) || shown.contains(&binding.action);
            if skip {
                continue;
            }
            let key = binding.key.to_string();
            let label = binding.action.to_string();
            let need = key.chars().count() + label.chars().count() + 2;
            if width + need > usize::from(area.width) {
                break;
            }
            width += need;
            shown.push(binding.action);
            spans.push(Span::styled(key, theme.style("ui.hint.key")));
            spans.push(Span::styled(format!(" {label} "), theme.style("ui.hint")));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
