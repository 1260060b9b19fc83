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
mod strip;
mod vrrp;
pub mod widgets;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::action::{Action, Hint, View};
use super::app::{App, Mode};
use super::keymap::Scope;
use crate::ui::theme::scope;

/// Draw the whole console into `frame`.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let mut header_lines = header::lines(app, frame.area().width);
    header_lines.extend(strip::lines(app, frame.area().width));
    let [header, tabs, body, message, hints] = Layout::vertical([
        Constraint::Length(header_lines.len() as u16),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(header_lines), header);
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
            theme.style(scope::UI_TABS_ACTIVE)
        } else {
            theme.style(scope::UI_TABS)
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
        spans.push(Span::styled(right, theme.style(scope::UI_FILTER)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A prompt's question; with several directors it names the one the
/// answer goes to.
fn prompt_label(app: &App, prompt: &super::app::Prompt) -> String {
    match app.directors().shown() {
        Some(director) if app.directors().several() => {
            format!("{}: {}", director.name, prompt.label())
        }
        _ => prompt.label(),
    }
}

fn draw_message(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let cursor = if app.ascii { "_" } else { "█" };
    let line = match app.mode() {
        Mode::CommandLine(text) => Line::from(vec![
            Span::styled(":", theme.style(scope::UI_HINT_KEY)),
            Span::raw(format!("{text}{cursor}")),
        ]),
        Mode::Filter(text) => Line::from(vec![
            Span::styled("/", theme.style(scope::UI_HINT_KEY)),
            Span::styled(format!("{text}{cursor}"), theme.style(scope::UI_FILTER)),
        ]),
        Mode::Prompt(prompt) => Line::from(vec![
            Span::styled(prompt_label(app, prompt), theme.style(scope::UI_HINT_KEY)),
            Span::raw(format!("{}{cursor}", prompt.input)),
        ]),
        Mode::Editing => Line::from(Span::styled(
            "-- EDITING -- Esc leaves the editor (the draft is kept and autosaved)",
            theme.style(scope::UI_HINT),
        )),
        _ => match app.message() {
            Some(message) => {
                let style = if message.error {
                    theme.style(scope::UI_ERROR)
                } else {
                    theme.style(scope::UI_SUCCESS)
                };
                Line::from(Span::styled(message.text.clone(), style))
            }
            None => Line::default(),
        },
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The hint bar: `key word` pairs from the keymap and the action table,
/// this screen's keys first, then the global ones, those of rank 0 (help
/// and quit, yes and no) last, where operators look for them. When the width is short the
/// least needed pairs go; a word is never cut.
fn draw_hints(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let hints = hints(app, usize::from(area.width));
    let mut spans = Vec::new();
    for (index, (key, word)) in hints.into_iter().enumerate() {
        if index > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(key, theme.style(scope::UI_HINT_KEY)));
        spans.push(Span::styled(
            format!(" {word}"),
            theme.style(scope::UI_HINT),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The (key, word) pairs of the hint bar that fit in `width`.
pub fn hints(app: &App, width: usize) -> Vec<(String, &'static str)> {
    let (scopes, view): (&[Scope], _) = match app.mode() {
        Mode::Confirm(_) => (&[Scope::Dialog], None),
        _ => (&[Scope::View(app.view()), Scope::Global], Some(app.view())),
    };
    // (key, hint) per action, its first key only.
    let mut actions: Vec<Action> = Vec::new();
    let mut per_scope: Vec<Vec<(String, Hint)>> = Vec::new();
    for scope in scopes {
        let mut list = Vec::new();
        for binding in app.keymap.bindings(*scope) {
            let Some(hint) = binding.action.hint() else {
                continue;
            };
            let refused = app.read_only && binding.action.mutates();
            // Sorting orders the services screen only.
            let elsewhere = matches!(binding.action, Action::SortNext | Action::SortReverse)
                && view != Some(View::Services);
            if refused || elsewhere || actions.contains(&binding.action) {
                continue;
            }
            actions.push(binding.action);
            list.push((binding.key.label(), hint));
        }
        per_scope.push(list);
    }
    if let Some(global) = per_scope.get_mut(1) {
        global.sort_by_key(|(_, hint)| hint.rank == 0);
    }
    let mut pairs: Vec<(String, Hint)> = per_scope.into_iter().flatten().collect();
    let length = |pairs: &[(String, Hint)]| -> usize {
        pairs
            .iter()
            .map(|(key, hint)| key.chars().count() + 1 + hint.word.len() + 2)
            .sum::<usize>()
            .saturating_sub(2)
    };
    while length(&pairs) > width {
        // The least needed pair goes; of equals, the rightmost.
        let Some(drop) = pairs
            .iter()
            .enumerate()
            .max_by_key(|(index, (_, hint))| (hint.rank, *index))
            .map(|(index, _)| index)
        else {
            break;
        };
        pairs.remove(drop);
    }
    pairs
        .into_iter()
        .map(|(key, hint)| (key, hint.word))
        .collect()
}
