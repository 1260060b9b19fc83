//! The config screen: the draft in the editor, its live diagnostics, and
//! the plan the engine returned (what an apply would do, or did).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::config::diagnostic::Severity;
use crate::ui::app::{App, Mode};
use crate::ui::theme::scope;

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let editor = app.editor();
    let (edit_area, panel) = if area.width >= 120 {
        let [a, b] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
            .areas(area);
        (a, b)
    } else {
        let [a, b] = Layout::vertical([Constraint::Min(3), Constraint::Length(7)]).areas(area);
        (a, b)
    };
    let state = if editor.modified {
        "draft (modified)"
    } else {
        "running configuration"
    };
    let title = format!(" {} — {state} ", editor.path.display());
    let mut textarea = editor.textarea.clone();
    let editing = matches!(app.mode(), Mode::Editing);
    textarea.set_block(
        Block::default()
            .borders(Borders::TOP)
            .border_style(theme.style(scope::UI_BORDER))
            .title(title),
    );
    textarea.set_line_number_style(theme.style(scope::UI_DIM));
    textarea.set_cursor_line_style(Style::default());
    if !editing {
        textarea.set_cursor_style(Style::default());
    }
    frame.render_widget(&textarea, edit_area);

    let mut lines: Vec<Line<'static>> = Vec::new();
    let errors = editor.errors();
    let warnings = editor.count(Severity::Warning);
    lines.push(Line::styled(
        format!("{errors} errors, {warnings} warnings"),
        if errors > 0 {
            theme.style(scope::CONFIG_DIAGNOSTIC_ERROR)
        } else {
            theme.style(scope::UI_SUCCESS)
        },
    ));
    for d in &editor.diagnostics {
        let styled_as = match d.severity {
            Severity::Error => scope::CONFIG_DIAGNOSTIC_ERROR,
            Severity::Warning => scope::CONFIG_DIAGNOSTIC_WARNING,
            Severity::Note => scope::UI_DIM,
        };
        lines.push(Line::styled(d.text.clone(), theme.style(styled_as)));
    }
    match &editor.plan {
        Some((operations, applied)) => {
            lines.push(Line::styled(
                if *applied {
                    format!("applied ({} operations):", operations.len())
                } else {
                    format!("an apply would run {} operations:", operations.len())
                },
                theme.style(scope::UI_DIM),
            ));
            for op in operations {
                let styled_as = if op.starts_with('-') || op.to_lowercase().starts_with("del") {
                    scope::CONFIG_DIFF_REMOVE
                } else {
                    scope::CONFIG_DIFF_ADD
                };
                lines.push(Line::styled(format!("  {op}"), theme.style(styled_as)));
            }
        }
        None => lines.push(Line::styled(
            "D shows what an apply would change",
            theme.style(scope::UI_DIM),
        )),
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.style(scope::UI_BORDER))
        .title(" Diagnostics and plan ");
    frame.render_widget(Paragraph::new(lines).block(block), panel);
}
