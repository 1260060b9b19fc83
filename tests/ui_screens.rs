//! Every console screen drawn from the fixture director at 80×24 and
//! 160×48 (insta snapshots of the text), and the health cells checked
//! style-exact against the theme.

mod ui_fixture;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

use lvstop::ui::action::View;
use lvstop::ui::render::draw;
use lvstop::ui::App;

fn render(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal =
        Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|frame| draw(frame, app))
        .unwrap_or_else(|e| panic!("{e}"));
    terminal.backend().buffer().clone()
}

fn text(buffer: &Buffer) -> String {
    let width = usize::from(buffer.area.width);
    buffer
        .content
        .chunks(width)
        .map(|row| {
            let line: String = row.iter().map(|c| c.symbol()).collect();
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn show(app: &mut App, view: View) {
    let digit = match view {
        View::Services => '1',
        View::Vrrp => '2',
        View::Checks => '3',
        View::Events => '4',
        View::Connections => '5',
        View::Config => '6',
    };
    app.handle_key(key(digit));
    assert_eq!(app.view(), view);
}

#[test]
fn every_screen_at_80x24_and_160x48() {
    for view in View::ALL {
        for (width, height) in [(80, 24), (160, 48)] {
            let mut app = ui_fixture::app();
            show(&mut app, view);
            let screen = text(&render(&app, width, height));
            insta::assert_snapshot!(format!("{}_{width}x{height}", view.name()), screen);
        }
    }
}

#[test]
fn the_services_screen_keeps_checked_out_servers_visible_with_the_reason() {
    let app = ui_fixture::app();
    let screen = text(&render(&app, 80, 24));
    let down = screen
        .lines()
        .find(|l| l.contains("192.168.100.83:80"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(down.starts_with("▼") && down.ends_with("down"), "{down}");
    assert!(
        screen.contains("TCP_CHECK connection refused (3 failures)"),
        "{screen}"
    );
    let draining = screen
        .lines()
        .find(|l| l.contains("192.168.100.84:80"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(
        draining.starts_with("◐") && draining.contains("drain"),
        "{draining}"
    );
    assert!(
        screen.contains("draining by alice: kernel upgrade"),
        "{screen}"
    );
}

#[test]
fn health_cells_use_the_theme_colours() {
    let app = ui_fixture::app();
    let buffer = render(&app, 80, 24);
    let theme = lvstop::ui::theme::Theme::load("default", &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let cell_of = |glyph: &str| {
        buffer
            .content
            .iter()
            .find(|c| c.symbol() == glyph)
            .unwrap_or_else(|| panic!("no {glyph} on screen"))
            .clone()
    };
    let up = cell_of("▲");
    let down = cell_of("▼");
    let draining = cell_of("◐");
    assert_eq!(Some(up.fg), theme.style("rs.up").fg);
    assert_eq!(Some(down.fg), theme.style("rs.down").fg);
    assert!(down.modifier.contains(ratatui::style::Modifier::BOLD));
    assert_eq!(Some(draining.fg), theme.style("rs.draining").fg);
    assert_ne!(up.fg, down.fg);
}

#[test]
fn ascii_mode_draws_no_unicode_glyphs() {
    let mut options = ui_fixture::options();
    options.ascii = true;
    for view in View::ALL {
        let mut app = ui_fixture::app_with(&options);
        show(&mut app, view);
        let screen = text(&render(&app, 160, 48));
        for glyph in ["▲", "▼", "◐", "✕", "▁", "█", "└"] {
            assert!(!screen.contains(glyph), "{view:?} shows {glyph}:\n{screen}");
        }
    }
    let app = ui_fixture::app_with(&options);
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("v   -> 192.168.100.83:80"), "{screen}");
}

#[test]
fn help_and_confirmation_overlays() {
    let mut app = ui_fixture::app();
    app.handle_key(key('?'));
    insta::assert_snapshot!("help_80x24", text(&render(&app, 80, 24)));
    let mut app = ui_fixture::app();
    app.handle_key(key('j'));
    app.handle_key(key('d'));
    insta::assert_snapshot!("drain_dialog_80x24", text(&render(&app, 80, 24)));
}

#[test]
fn no_color_draws_state_without_colour() {
    let mut options = ui_fixture::options();
    options.theme = options.theme.clone().without_colour();
    let app = ui_fixture::app_with(&options);
    let buffer = render(&app, 80, 24);
    assert!(buffer
        .content
        .iter()
        .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset));
    assert!(text(&buffer).contains("▼"));
}
