//! Small drawing helpers every screen shares: fixed-width cells, text
//! wrapped or shortened to a width without cutting a word, numbers the
//! way top prints them, durations, text sparklines (with an ASCII set),
//! and scrolling a list so the selection stays in view.

use std::cell::Cell;

use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// `text` cut or padded to exactly `width` characters (left-aligned).
pub fn left(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count > width {
        text.chars().take(width).collect()
    } else {
        format!("{text}{}", " ".repeat(width - count))
    }
}

/// `text` cut or padded to exactly `width` characters (right-aligned).
pub fn right(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count > width {
        text.chars().take(width).collect()
    } else {
        format!("{}{text}", " ".repeat(width - count))
    }
}

/// `text` broken at spaces into lines of at most `width` characters; only
/// a word longer than a whole line is split. Never returns no line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split_whitespace() {
        let mut rest: Vec<char> = word.chars().collect();
        loop {
            let need = if used == 0 {
                rest.len()
            } else {
                used + 1 + rest.len()
            };
            if need <= width {
                if used > 0 {
                    line.push(' ');
                }
                line.extend(rest.iter());
                used = need;
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
                continue;
            }
            lines.push(rest[..width].iter().collect());
            rest.drain(..width);
        }
    }
    if used > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` wrapped to `width` behind `lead`, continuation lines indented
/// under the text (a hanging indent).
pub fn hang(lead: &str, text: &str, width: usize) -> Vec<String> {
    let indent = lead.chars().count();
    wrap(text, width.saturating_sub(indent))
        .into_iter()
        .enumerate()
        .map(|(index, line)| {
            if index == 0 {
                format!("{lead}{line}")
            } else {
                format!("{}{line}", " ".repeat(indent))
            }
        })
        .collect()
}

/// A label fitted to `width` characters without losing its end: a path
/// (the last word, starting with `/`) loses its leading directories
/// (`lvstop daemon …/run/lvstop.sock`); other text ends at a whole word
/// followed by `ellipsis`.
pub fn fit_label(label: &str, width: usize, ellipsis: &str) -> String {
    let count = label.chars().count();
    if count <= width {
        return label.to_string();
    }
    let mark = ellipsis.chars().count();
    if let Some(at) = label.rfind(" /") {
        let (prefix, path) = (&label[..=at], &label[at + 1..]);
        let room = width.saturating_sub(prefix.chars().count() + mark);
        if room >= 8 {
            let tail: String = path.chars().skip(path.chars().count() - room).collect();
            // Start at a directory boundary when one is in view.
            let tail = match tail.find('/') {
                Some(slash) if slash > 0 => tail[slash..].to_string(),
                _ => tail,
            };
            return format!("{prefix}{ellipsis}{tail}");
        }
    }
    let room = width.saturating_sub(mark);
    let mut out = String::new();
    for word in label.split(' ') {
        let next = if out.is_empty() {
            word.to_string()
        } else {
            format!("{out} {word}")
        };
        if next.chars().count() > room {
            break;
        }
        out = next;
    }
    // An aside cut open (`(pid`) says less than none.
    if let Some(open) = out.rfind('(').filter(|open| !out[*open..].contains(')')) {
        out.truncate(open);
    }
    if out.trim().is_empty() {
        out = label.chars().take(room).collect();
    }
    format!("{}{ellipsis}", out.trim_end_matches([' ', ',', ':', '(']))
}

/// `1234` → `1234`, `123456` → `123K`, and on through M, G, T.
pub fn number(value: u64) -> String {
    const UNITS: [&str; 5] = ["", "K", "M", "G", "T"];
    let mut value = value;
    let mut unit = 0;
    while value >= 10_000 && unit < UNITS.len() - 1 {
        value /= 1000;
        unit += 1;
    }
    format!("{value}{}", UNITS[unit])
}

/// `59s`, `4m05s`, `3h04m`, `2d03h`.
pub fn duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// The last `width` values as a one-line sparkline, scaled to the
/// largest; `ascii` uses `_.-=#` instead of block characters.
pub fn sparkline(values: &[u64], width: usize, ascii: bool) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    const ASCII: [char; 5] = ['_', '.', '-', '=', '#'];
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail.iter().copied().max().unwrap_or(0);
    let glyphs: &[char] = if ascii { &ASCII } else { &BLOCKS };
    let mut out: String = tail
        .iter()
        .map(|&v| {
            let top = glyphs.len() as u64 - 1;
            let level = (v.saturating_mul(top) + max / 2)
                .checked_div(max)
                .unwrap_or(0)
                .min(top);
            glyphs[level as usize]
        })
        .collect();
    while out.chars().count() < width {
        out.insert(0, ' ');
    }
    out
}

/// The first row to draw so that `selected` is inside a window of
/// `height` rows, moving the remembered offset only when needed.
pub fn scroll(offset: &Cell<usize>, selected: usize, height: usize, total: usize) -> usize {
    let height = height.max(1);
    let mut first = offset.get().min(total.saturating_sub(height));
    if selected < first {
        first = selected;
    } else if selected >= first + height {
        first = selected + 1 - height;
    }
    offset.set(first);
    first
}

/// A line of one style.
pub fn plain(text: impl Into<String>, style: Style) -> Line<'static> {
    Line::from(Span::styled(text.into(), style))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_durations_and_sparklines_read_like_top() {
        assert_eq!(number(9999), "9999");
        assert_eq!(number(123_456), "123K");
        assert_eq!(number(12_345_678_901), "12G");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(245), "4m05s");
        assert_eq!(duration(3 * 86_400 + 4 * 3600), "3d04h");
        assert_eq!(sparkline(&[0, 5, 10], 4, false), " ▁▅█");
        assert_eq!(sparkline(&[0, 5, 10], 3, true), "_-#");
        assert_eq!(sparkline(&[], 2, true), "  ");
    }

    #[test]
    fn wrapping_breaks_between_words() {
        assert_eq!(
            wrap("Set the weight of the selected real server", 20),
            ["Set the weight of", "the selected real", "server"]
        );
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("abcdefgh ij", 3), ["abc", "def", "gh", "ij"]);
        assert_eq!(hang("  VIPs ", "a b c", 10), ["  VIPs a b", "       c"]);
    }

    #[test]
    fn labels_keep_their_end_and_whole_words() {
        let daemon = "lvstop daemon /var/lib/lvstop/instances/edge-01/control.sock";
        assert_eq!(fit_label(daemon, 80, "…"), daemon);
        assert_eq!(
            fit_label(daemon, 40, "…"),
            "lvstop daemon …/edge-01/control.sock"
        );
        assert_eq!(
            fit_label(
                "embedded engine (userspace dataplane on loopback)",
                30,
                "..."
            ),
            "embedded engine..."
        );
    }

    #[test]
    fn the_list_scrolls_only_when_the_selection_leaves_it() {
        let offset = Cell::new(0);
        assert_eq!(scroll(&offset, 3, 5, 20), 0);
        assert_eq!(scroll(&offset, 7, 5, 20), 3);
        assert_eq!(scroll(&offset, 5, 5, 20), 3);
        assert_eq!(scroll(&offset, 1, 5, 20), 1);
    }
}
