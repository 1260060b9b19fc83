//! Small drawing helpers every screen shares: fixed-width cells, numbers
//! the way top prints them, durations, text sparklines (with an ASCII
//! set), and scrolling a list so the selection stays in view.

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
    fn the_list_scrolls_only_when_the_selection_leaves_it() {
        let offset = Cell::new(0);
        assert_eq!(scroll(&offset, 3, 5, 20), 0);
        assert_eq!(scroll(&offset, 7, 5, 20), 3);
        assert_eq!(scroll(&offset, 5, 5, 20), 3);
        assert_eq!(scroll(&offset, 1, 5, 20), 1);
    }
}
