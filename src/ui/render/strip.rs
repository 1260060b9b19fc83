//! The strip under the header when the console watches several
//! directors: each director, whether it answers, and each VRRP instance's
//! role on it; the one the screens show is marked. Up to
//! [`FULL_ROWS`] directors get a line each; more fold into short tokens
//! (`lb4 M B`) over at most [`FOLDED_ROWS`] lines, then `+N more`.
//! Roles are words (or letters), never colour alone.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::header::state_scope;
use super::widgets::fit_label;
use crate::ui::app::directors::{DirectorView, Link};
use crate::ui::app::App;
use crate::ui::theme::scope;

/// Directors shown one per line.
pub const FULL_ROWS: usize = 3;
/// Lines the folded strip may take.
pub const FOLDED_ROWS: usize = 2;

/// The strip's lines for a frame `width` wide; none with one director.
pub fn lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let directors = app.directors();
    if !directors.several() {
        return Vec::new();
    }
    let width = usize::from(width);
    if directors.list.len() <= FULL_ROWS {
        let name_width = directors
            .list
            .iter()
            .map(|d| d.name.chars().count())
            .max()
            .unwrap_or(0)
            .min(12);
        directors
            .list
            .iter()
            .enumerate()
            .map(|(i, d)| full_line(app, d, i == directors.shown, name_width, width))
            .collect()
    } else {
        folded(app, width)
    }
}

fn marker(app: &App, shown: bool) -> &'static str {
    match (shown, app.ascii) {
        (true, true) => ">",
        (true, false) => "▶",
        (false, _) => " ",
    }
}

/// `▶ lb1  VI_1 MASTER  VI_2 BACKUP`, or why the director is not there.
fn full_line(
    app: &App,
    director: &DirectorView,
    shown: bool,
    name_width: usize,
    width: usize,
) -> Line<'static> {
    let theme = &app.theme;
    let ellipsis = if app.ascii { "..." } else { "…" };
    let name = fit_label(&director.name, name_width, ellipsis);
    let lead = format!(
        " {} {name:<name_width$} ",
        marker(app, shown),
        name_width = name_width
    );
    let name_style = if shown {
        theme.style(scope::UI_TABS_ACTIVE)
    } else {
        Style::default()
    };
    let mut spans = vec![Span::styled(lead.clone(), name_style)];
    let mut used = lead.chars().count();
    let room = width.saturating_sub(used + 1);
    match (&director.link, &director.latest) {
        (Link::Down(reason), _) => {
            let lead = "UNREACHABLE (retrying): ";
            let room = room.saturating_sub(lead.len());
            spans.push(Span::styled(
                format!(" {lead}{}", keep_end(reason, room, ellipsis)),
                theme.style(scope::UI_ERROR),
            ));
        }
        (Link::Connecting, _) | (Link::Up, None) => {
            spans.push(Span::styled(
                format!(
                    " {}",
                    fit_label(&format!("connecting{ellipsis}"), room, ellipsis)
                ),
                theme.style(scope::UI_DIM),
            ));
        }
        (Link::Up, Some(snapshot)) if snapshot.vrrp.instances.is_empty() => {
            spans.push(Span::styled(
                " no VRRP instance".to_string(),
                theme.style(scope::UI_DIM),
            ));
        }
        (Link::Up, Some(snapshot)) => {
            let instances = &snapshot.vrrp.instances;
            for (index, instance) in instances.iter().enumerate() {
                let name = format!(" {} ", instance.name);
                let state = instance.state.keyword();
                let need = name.chars().count() + state.len() + 1;
                let left = instances.len() - index;
                let more = if left > 1 {
                    format!(" +{} more", left - 1).len()
                } else {
                    0
                };
                if used + need + more > width {
                    spans.push(Span::styled(
                        format!(" +{left} more"),
                        theme.style(scope::UI_DIM),
                    ));
                    break;
                }
                used += need;
                spans.push(Span::raw(name));
                spans.push(Span::styled(
                    state.to_string(),
                    theme.style(state_scope(instance.state)),
                ));
                spans.push(Span::raw(" "));
            }
        }
    }
    Line::from(spans)
}

/// `text` in `width` characters; a cut one loses its start (an error's
/// cause is at its end).
fn keep_end(text: &str, width: usize, ellipsis: &str) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    let keep = width.saturating_sub(ellipsis.chars().count());
    let tail: String = text.chars().skip(count - keep).collect();
    format!("{ellipsis}{tail}")
}

/// `▶lb1 M B  lb2 B M  lb3 down …` over at most [`FOLDED_ROWS`] lines.
fn folded(app: &App, width: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let directors = app.directors();
    let (down, waiting) = if app.ascii {
        ("x down", " ...")
    } else {
        ("✕ down", " …")
    };
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0;
    let count = directors.list.len();
    for (index, director) in directors.list.iter().enumerate() {
        let shown = index == directors.shown;
        let mut token: Vec<(String, Style)> = vec![(
            format!(" {}{}", marker(app, shown).trim(), director.name),
            if shown {
                theme.style(scope::UI_TABS_ACTIVE)
            } else {
                Style::default()
            },
        )];
        match (&director.link, &director.latest) {
            (Link::Down(_), _) => token.push((format!(" {down}"), theme.style(scope::UI_ERROR))),
            (Link::Up, Some(snapshot)) => {
                for instance in &snapshot.vrrp.instances {
                    let letter = &instance.state.keyword()[..1];
                    token.push((
                        format!(" {letter}"),
                        theme.style(state_scope(instance.state)),
                    ));
                }
            }
            _ => token.push((waiting.to_string(), theme.style(scope::UI_DIM))),
        }
        token.push((" ".to_string(), Style::default()));
        let need: usize = token.iter().map(|(t, _)| t.chars().count()).sum();
        let last_line = lines.len() == FOLDED_ROWS;
        let more = format!(" +{} more", count - index);
        let reserve = if last_line && index + 1 < count {
            more.len()
        } else {
            0
        };
        if used + need + reserve > width {
            if last_line {
                if let Some(line) = lines.last_mut() {
                    line.push(Span::styled(more, theme.style(scope::UI_DIM)));
                }
                break;
            }
            lines.push(Vec::new());
            used = 0;
        }
        used += need;
        if let Some(line) = lines.last_mut() {
            line.extend(token.into_iter().map(|(t, s)| Span::styled(t, s)));
        }
    }
    lines.into_iter().map(Line::from).collect()
}
