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
    let mut lines = Vec::new();
    for scope in [Scope::View(app.view()), Scope::Global] {
        let bindings = app.keymap.bindings(scope);
        if bindings.is_empty() {
            continue;
        }
        lines.push(Line::styled(
            format!("{} keys", scope.name()),
            theme.style("ui.header.title"),
        ));
        for binding in bindings {
            lines.push(Line::from(vec![
                Span::styled(
                    left(&binding.key.to_string(), 10),
                    theme.style("ui.hint.key"),
                ),
                Span::raw(binding.desc.clone()),
            ]));
        }
    }
    lines.push(Line::styled(
        ":weight [VIP:PORT] RIP:PORT N  :drain  :restore  :disable … REASON  :enable  :failover NAME  :reload  :apply  :confirm  :zero  :q",
        theme.style("ui.dim"),
    ));
    let rect = centered(area, 78, area.height);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(app, " Help (any key closes) ".to_string(), "ui.dialog")),
        rect,
    );
}

pub fn dialog(frame: &mut Frame<'_>, area: Rect, app: &App, dialog: &Dialog) {
    let theme = &app.theme;
    let mut lines: Vec<Line<'static>> = dialog.lines.iter().map(|l| Line::raw(l.clone())).collect();
    lines.push(Line::default());
    let mut keys = Vec::new();
    for binding in app.keymap.bindings(Scope::Dialog) {
        keys.push(Span::styled(
            format!("[{}]", binding.key),
            theme.style("ui.hint.key"),
        ));
        keys.push(Span::raw(format!(" {}  ", binding.desc)));
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
            .block(block(app, format!(" {} ", dialog.title), "ui.dialog.danger")),
        rect,
    );
}
