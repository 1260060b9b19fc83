//! Boxes over the screen: help (generated from the keymap's
//! descriptions) and the confirmation of a dangerous action.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::widgets::left;
use crate::ui::app::{App, Dialog};
use crate::ui::keymap::Scope;

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

fn block(app: &App, title: String, scope: &str) -> Block<'static> {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .style(app.theme.style(scope));
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

pub fn help(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    // One entry per description: `<Up>/k  Up`; this screen's keys first.
    let mut entries: Vec<(Vec<String>, String)> = Vec::new();
    for scope in [Scope::View(app.view()), Scope::Global] {
        for binding in app.keymap.bindings(scope) {
            match entries.iter_mut().find(|(_, desc)| *desc == binding.desc) {
                Some((keys, _)) => keys.push(binding.key.to_string()),
                None => entries.push((vec![binding.key.to_string()], binding.desc.clone())),
            }
        }
    }
    let rect = centered(area, 78, area.height);
    let inner_height = usize::from(rect.height.saturating_sub(3)).max(1);
    let columns = if entries.len() > inner_height { 2 } else { 1 };
    let column_width = usize::from(rect.width.saturating_sub(2)) / columns;
    let cell = |(keys, desc): &(Vec<String>, String)| -> Vec<Span<'static>> {
        let keys = keys.join("/");
        vec![
            Span::styled(left(&keys, 10), theme.style("ui.hint.key")),
            Span::raw(left(&format!(" {desc}"), column_width.saturating_sub(11)) + " "),
        ]
    };
    let rows = entries.len().div_ceil(columns);
    let mut lines: Vec<Line<'static>> = (0..rows)
        .map(|row| {
            let mut spans = Vec::new();
            for column in 0..columns {
                if let Some(entry) = entries.get(column * rows + row) {
                    spans.extend(cell(entry));
                }
            }
            Line::from(spans)
        })
        .collect();
    lines.push(Line::styled(
        ":weight [VIP:PORT] RIP:PORT N  :drain  :restore  :disable … REASON  :enable  :failover NAME  :reload  :apply  :confirm  :zero  :q",
        theme.style("ui.dim"),
    ));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(
                app,
                format!(" Help: {} (any key closes) ", app.view().name()),
                "ui.dialog",
            )),
        rect,
    );
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
            theme.style("ui.hint.key"),
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
                "ui.dialog.danger",
            )),
        rect,
    );
}
