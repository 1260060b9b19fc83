//! The services screen: ipvsadm's columns (Prot, LocalAddress:Port,
//! Scheduler, Flags / RemoteAddress:Port, Forward, Weight, ActiveConn,
//! InActConn) plus CPS and BPS, a health glyph and word per row, and the
//! reasons a real server is not plainly up. At 80 columns reasons go on a
//! line of their own under the row; with room to spare, rate sparklines
//! and the reasons sit on the row itself.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::widgets::{left, number, right, scroll, sparkline};
use crate::northbound::Target;
use crate::ui::app::{App, Row};
use crate::ui::services::{service_label, Health, ServiceGroup};
use crate::ui::theme::{scope, ThemeScope};

/// Column widths for one frame width.
struct Columns {
    addr: usize,
    spark: usize,
    inline_reason: bool,
}

impl Columns {
    fn for_width(width: usize) -> Columns {
        if width >= 120 {
            Columns {
                addr: 28,
                spark: 12,
                inline_reason: true,
            }
        } else {
            Columns {
                addr: 18,
                spark: 0,
                inline_reason: false,
            }
        }
    }

    /// The numeric tail shared by both row kinds and the titles.
    fn numbers(&self, weight: &str, active: &str, inactive: &str, cps: &str, bps: &str) -> String {
        format!(
            " {} {} {} {} {}",
            right(weight, 6),
            right(active, 10),
            right(inactive, 9),
            right(cps, 5),
            right(bps, 6)
        )
    }
}

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let theme = &app.theme;
    let width = usize::from(area.width);
    let columns = Columns::for_width(width);
    let spark_titles = if columns.spark > 0 {
        format!(
            " {} {}",
            left("CPS trend", columns.spark),
            left("BPS trend", columns.spark)
        )
    } else {
        String::new()
    };
    let titles = vec![
        Line::from(Span::styled(
            format!(
                "  Prot {} Scheduler Flags",
                left("LocalAddress:Port", columns.addr)
            ),
            theme.style(scope::UI_DIM),
        )),
        Line::from(Span::styled(
            format!(
                "    -> {} {}{}{} State{}",
                left("RemoteAddress:Port", columns.addr),
                left("Forward", 7),
                columns.numbers("Weight", "ActiveConn", "InActConn", "CPS", "BPS"),
                spark_titles,
                if columns.inline_reason {
                    "  Reason"
                } else {
                    ""
                }
            ),
            theme.style(scope::UI_DIM),
        )),
    ];
    let rows = app.visible_rows();
    let selected = app.cursor(crate::ui::action::View::Services);
    // Each row takes one line, plus one per reason when they do not fit
    // inline. Only the rows on screen are formatted: a table may hold
    // 100,000 rows and this runs on every redraw.
    let mut first_line_of = Vec::with_capacity(rows.len());
    let mut total = 0;
    for row in &rows {
        first_line_of.push(total);
        total += line_count(&row_reasons(row, &columns), &columns);
    }
    let height = usize::from(area.height).saturating_sub(titles.len());
    let target_line = first_line_of.get(selected).copied().unwrap_or(0);
    let first = scroll(&app.scroll[0], target_line, height, total);
    let first_row = first_line_of
        .partition_point(|&line| line <= first)
        .saturating_sub(1);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut skip = first.saturating_sub(first_line_of.get(first_row).copied().unwrap_or(0));
    for (index, row) in rows.iter().enumerate().skip(first_row) {
        if lines.len() >= height {
            break;
        }
        let mut row_lines = row_lines(app, row, &columns, width);
        if index == selected && app.selected().is_some() {
            if let Some(first) = row_lines.first_mut() {
                *first = std::mem::take(first).patch_style(theme.style(scope::UI_SELECTION));
            }
        }
        let shown = row_lines.len().saturating_sub(skip);
        lines.extend(row_lines.into_iter().skip(skip).take(shown));
        skip = 0;
    }
    if rows.is_empty() {
        let text = if app.snapshot().is_none() {
            "waiting for the first snapshot…"
        } else if !app.filter(crate::ui::action::View::Services).is_empty() {
            "no service or real server matches the filter (Esc clears it)"
        } else {
            "no virtual service configured"
        };
        lines.push(Line::from(Span::styled(text, theme.style(scope::UI_DIM))));
    }
    let mut out = titles;
    out.extend(lines.into_iter().take(height));
    frame.render_widget(Paragraph::new(out), area);
}

fn row_lines(app: &App, row: &Row<'_>, columns: &Columns, width: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let history = app.rate_history(row.target());
    let sparks = if columns.spark > 0 {
        let cps: Vec<u64> = history.iter().map(|h| h.0).collect();
        let bps: Vec<u64> = history.iter().map(|h| h.1).collect();
        format!(
            " {} {}",
            sparkline(&cps, columns.spark, app.ascii),
            sparkline(&bps, columns.spark, app.ascii)
        )
    } else {
        String::new()
    };
    let group = row.group;
    let mut lines = Vec::new();
    let reasons = row_reasons(row, columns);
    let (glyph, word, styled_as, main) = match row.server {
        None => {
            let (prot, addr) = service_label(group.key);
            let health = service_health(group);
            let hidden = if app.collapsed.contains(&group.key) {
                format!(" [+{}]", group.servers.len())
            } else {
                String::new()
            };
            let mut label = format!("{addr} {} {}{hidden}", group.scheduler, group.flags);
            label = label.trim_end().to_string();
            let active = group.active.to_string();
            // A long label (a persistence timeout, several flags) may use
            // the blank lead of the right-aligned ActiveConn column, keeping
            // one space before the number, so "persistent 60" is not cut.
            let borrow = label
                .chars()
                .count()
                .saturating_sub(columns.addr + 16)
                .min(10usize.saturating_sub(active.len() + 1));
            let label_width = columns.addr + 16 + borrow;
            let rates = group.rates;
            let text = format!(
                "{} {}{} {} {} {}",
                left(&prot, 4),
                left(&label, label_width),
                right(&active, 10 - borrow),
                right(&group.inactive.to_string(), 9),
                right(&number(rates.cps), 5),
                right(&number(rates.inbps + rates.outbps), 6)
            );
            let styled_as = if health == Health::Disabled {
                scope::SVC_DISABLED
            } else {
                scope::SVC_NAME
            };
            (health.glyph(app.ascii), health.word(), styled_as, text)
        }
        Some(server) => {
            let rates = server.rates;
            let forward = server.forward.map_or("-", |f| f.ipvsadm_name());
            let weight = match (server.weight, server.configured_weight) {
                (Some(w), _) => w.to_string(),
                (None, Some(c)) => format!("({c})"),
                (None, None) => "-".to_string(),
            };
            let text = format!(
                "  -> {} {}{}",
                left(&server.key.to_string(), columns.addr),
                left(forward, 7),
                columns.numbers(
                    &weight,
                    &server.active.to_string(),
                    &server.inactive.to_string(),
                    &number(rates.cps),
                    &number(rates.inbps + rates.outbps)
                )
            );
            (
                server.health.glyph(app.ascii),
                server.health.word(),
                server.health.scope(),
                text,
            )
        }
    };
    let health_scope = match row.server {
        Some(server) => server.health.scope(),
        None if styled_as == scope::SVC_DISABLED => scope::RS_DISABLED,
        None => scope::RS_UP,
    };
    let mut spans = vec![
        Span::styled(format!("{glyph} "), theme.style(health_scope)),
        Span::styled(main, theme.style(scope_for_text(row, styled_as))),
        Span::styled(sparks, theme.style(scope::RATE_SPARKLINE)),
        Span::styled(format!(" {}", left(word, 5)), theme.style(health_scope)),
    ];
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    if columns.inline_reason && !reasons.is_empty() {
        let room = width.saturating_sub(used + 2);
        spans.push(Span::styled(
            format!("  {}", left(&reasons.join("; "), room)),
            theme.style(scope::RS_REASON),
        ));
        lines.push(Line::from(spans));
    } else {
        lines.push(Line::from(spans));
        let arrow = if app.ascii { "`-" } else { "└" };
        for reason in reasons {
            lines.push(Line::from(Span::styled(
                left(&format!("       {arrow} {reason}"), width),
                theme.style(scope::RS_REASON),
            )));
        }
    }
    lines
}

/// A service's health as its row shows it: disabled, its quorum down, or up.
fn service_health(group: &ServiceGroup) -> Health {
    if !group.disabled.is_empty() {
        Health::Disabled
    } else if group
        .quorum
        .as_deref()
        .is_some_and(|q| q.starts_with("quorum down"))
    {
        Health::Down
    } else {
        Health::Up
    }
}

/// Why a row is not plainly up, in the words its reason lines show.
fn row_reasons(row: &Row<'_>, columns: &Columns) -> Vec<String> {
    let group = row.group;
    match row.server {
        None => {
            let mut reasons = group.disabled.clone();
            if let Some(quorum) = &group.quorum {
                if service_health(group) == Health::Down || columns.inline_reason {
                    reasons.push(quorum.clone());
                }
            }
            if !group.in_table && group.disabled.is_empty() {
                reasons.push("not in the IPVS table".to_string());
            }
            reasons
        }
        Some(server) => {
            let mut reasons = server.reasons.clone();
            let said = reasons
                .iter()
                .any(|r| r.starts_with("not in the IPVS table"));
            if !server.in_table && server.health != Health::Disabled && !said {
                reasons.insert(0, "not in the IPVS table".to_string());
            }
            reasons
        }
    }
}

/// The lines a row takes: one, plus one per reason unless they fit inline.
fn line_count(reasons: &[String], columns: &Columns) -> usize {
    if columns.inline_reason || reasons.is_empty() {
        1
    } else {
        1 + reasons.len()
    }
}

/// Service rows read bold; real-server rows in the terminal's colour.
fn scope_for_text(row: &Row<'_>, styled_as: ThemeScope) -> ThemeScope {
    match (row.server, row.target()) {
        (None, Target::Service(_)) => styled_as,
        _ => scope::UI_TEXT,
    }
}
