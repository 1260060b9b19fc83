//! Boxes over the screen: help (generated from the keymap's
//! descriptions, wrapped to its width and scrolled) and the confirmation
//! of a dangerous action.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::widgets::{left, wrap};
use crate::ui::action::Action;
use crate::ui::app::{App, Dialog};
use crate::ui::keymap::Scope;
use crate::ui::theme::{scope, ThemeScope};

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn block(app: &App, title: String, styled_as: ThemeScope) -> Block<'static> {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .style(app.theme.style(styled_as));
    if app.ascii {
        block.border_set(ratatui::symbols::border::Set {
            top_left: "+",
            top_right: "+",
            bottom_left: "+",
            bottom_right: "+",
            vertical_left: "|",
            vertical_right: "|",
            horizontal_top: "-",
            horizontal_bottom: "-",
        })
    } else {
        block
    }
}

/// The command line's verbs, listed under the keys.
const COMMANDS: &[&str] = &[
    ":weight [VIP:PORT] RIP:PORT N",
    ":drain",
    ":restore",
    ":disable … REASON",
    ":enable",
    ":failover NAME",
    ":priority NAME N",
    ":reload",
    ":apply",
    ":confirm",
    ":zero",
    ":q",
];

/// Width of the key column.
const KEYS: usize = 10;

/// The help: one entry per description (`<Up>/k  Up`), this screen's keys
/// first, descriptions wrapped at word boundaries with continuation lines
/// under the description column, then the command line's verbs. Longer
/// than the screen, it scrolls with the moving keys.
pub fn help(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let rect = centered(area, 78, area.height);
    let inner = usize::from(rect.width.saturating_sub(2));
    let desc_width = inner.saturating_sub(KEYS + 2).max(10);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let screens = [
        (
            Scope::View(app.view()),
            format!("On this screen ({})", app.view().name()),
        ),
        (Scope::Global, "On every screen".to_string()),
    ];
    for (scope, heading) in screens {
        // One entry per description: the keys that share it go together.
        let mut entries: Vec<(Vec<String>, String)> = Vec::new();
        for binding in app.keymap.bindings(scope) {
            match entries.iter_mut().find(|(_, desc)| *desc == binding.desc) {
                Some((keys, _)) => keys.push(binding.key.to_string()),
                None => entries.push((vec![binding.key.to_string()], binding.desc.clone())),
            }
        }
        if entries.is_empty() {
            continue;
        }
        lines.push(Line::styled(heading, theme.style(scope::UI_DIM)));
        for (keys, desc) in entries {
            let keys = keys.join("/");
            // Keys wider than their column push the description down a line.
            let mut wrapped = wrap(&desc, desc_width).into_iter();
            if keys.chars().count() > KEYS {
                lines.push(Line::styled(keys, theme.style(scope::UI_HINT_KEY)));
            } else {
                lines.push(Line::from(vec![
                    Span::styled(left(&keys, KEYS), theme.style(scope::UI_HINT_KEY)),
                    Span::raw(format!(" {}", wrapped.next().unwrap_or_default())),
                ]));
            }
            for more in wrapped {
                lines.push(Line::raw(format!("{} {more}", " ".repeat(KEYS))));
            }
        }
    }
    lines.push(Line::styled("Command line", theme.style(scope::UI_DIM)));
    let mut row = String::new();
    for command in COMMANDS {
        if !row.is_empty() && row.chars().count() + 2 + command.chars().count() > inner {
            lines.push(Line::raw(std::mem::take(&mut row)));
        }
        if !row.is_empty() {
            row.push_str("  ");
        }
        row.push_str(command);
    }
    lines.push(Line::raw(row));

    let height = usize::from(rect.height.saturating_sub(2)).max(1);
    let total = lines.len();
    let first = app.help_first.get().min(total.saturating_sub(height));
    app.help_first.set(first);
    let scrolls = total > height;
    let title = if scrolls {
        let down = app.keymap.key_for(app.view(), Action::Down);
        let up = app.keymap.key_for(app.view(), Action::Up);
        match (up, down) {
            (Some(up), Some(down)) => format!(
                " Help: {}  {}/{} scroll, other keys close ",
                app.view().name(),
                up.label(),
                down.label()
            ),
            _ => format!(" Help: {} (any key closes) ", app.view().name()),
        }
    } else {
        format!(" Help: {} (any key closes) ", app.view().name())
    };
    let mut block = block(app, title, scope::UI_DIALOG);
    if scrolls {
        let last = (first + height).min(total);
        let more = if last < total { ", more below" } else { "" };
        block = block.title_bottom(
            Line::from(format!(" {}-{last} of {total}{more} ", first + 1)).right_aligned(),
        );
    }
    let shown: Vec<Line<'static>> = lines.into_iter().skip(first).take(height).collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(shown).block(block), rect);
}

pub fn dialog(frame: &mut Frame<'_>, area: Rect, app: &App, dialog: &Dialog) {
    let theme = &app.theme;
    let mut lines: Vec<Line<'static>> = dialog.lines.iter().map(|l| Line::raw(l.clone())).collect();
    lines.push(Line::default());
    // One entry per answer: `[y/<Enter>] Yes, do it  [n/<Esc>] No`.
    let mut answers: Vec<(Vec<String>, String)> = Vec::new();
    for binding in app.keymap.bindings(Scope::Dialog) {
        match answers.iter_mut().find(|(_, desc)| *desc == binding.desc) {
            Some((keys, _)) => keys.push(binding.key.to_string()),
            None => answers.push((vec![binding.key.to_string()], binding.desc.clone())),
        }
    }
    let mut keys = Vec::new();
    for (bound, desc) in answers {
        keys.push(Span::styled(
            format!("[{}]", bound.join("/")),
            theme.style(scope::UI_HINT_KEY),
        ));
        keys.push(Span::raw(format!(" {desc}  ")));
    }
    lines.push(Line::from(keys));
    let width = dialog
        .lines
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(dialog.title.chars().count() + 4)
        .max(40) as u16
        + 4;
    let height = lines.len() as u16 + 2;
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(
                app,
                format!(" {} ", dialog.title),
                scope::UI_DIALOG_DANGER,
            )),
        rect,
    );
}
