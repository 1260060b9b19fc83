//! One console over several directors, drawn at 80×24 (insta snapshots):
//! the strip under the header with each director's VRRP roles, the alarm
//! when two directors are MASTER of one instance (or none is), an
//! unreachable director shown as such, a fleet folded into two lines, and
//! switching the director the screens show (confirmations name it).

use crate::ui_fixture;

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

use lvstop::engine::channel::Update;
use lvstop::engine::snapshot::Snapshot;
use lvstop::fleet::DirectorSpec;
use lvstop::ui::app::Mode;
use lvstop::ui::render::draw;
use lvstop::ui::App;
use lvstop::vrrp::machine::State;

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

/// The fixture director named `name`, with instances VI_1 and VI_2 in
/// these states.
fn director_snapshot(name: &str, vi_1: State, vi_2: State) -> Arc<Snapshot> {
    pair_member(name, 0, vi_1, vi_2)
}

/// A member of pair number `pair` of a fleet: its VRIDs are the pair's.
fn pair_member(name: &str, pair: u8, vi_1: State, vi_2: State) -> Arc<Snapshot> {
    let mut snapshot = ui_fixture::snapshot(5);
    snapshot.vrrp.instances[0].vrid += 2 * pair;
    snapshot.director.name = name.to_string();
    let mut second = snapshot.vrrp.instances[0].clone();
    second.name = "VI_2".into();
    second.vrid = snapshot.vrrp.instances[0].vrid + 1;
    snapshot.vrrp.instances[0].state = vi_1;
    second.state = vi_2;
    snapshot.vrrp.instances.push(second);
    Arc::new(snapshot)
}

/// A console over `names`, the first one shown.
fn fleet(names: &[&str]) -> App {
    let mut options = ui_fixture::options();
    options.directors = names
        .iter()
        .map(|name| DirectorSpec {
            name: name.to_string(),
            socket: PathBuf::from(format!("/run/lvstop/{name}.sock")),
        })
        .collect();
    options.source = format!("director {} /run/lvstop/{}.sock", names[0], names[0]);
    App::new(&options)
}

fn see(app: &mut App, index: usize, snapshot: Arc<Snapshot>) {
    app.on_director_attached(index);
    app.on_director_update(index, Update::Snapshot(snapshot));
}

fn pair(lb1: (State, State), lb2: (State, State)) -> App {
    let mut app = fleet(&["lb1", "lb2"]);
    see(&mut app, 0, director_snapshot("lb1", lb1.0, lb1.1));
    see(&mut app, 1, director_snapshot("lb2", lb2.0, lb2.1));
    app
}

#[test]
fn a_pair_shows_each_directors_roles_under_the_header() {
    let app = pair(
        (State::Master, State::Backup),
        (State::Backup, State::Master),
    );
    let screen = text(&render(&app, 80, 24));
    insta::assert_snapshot!("directors_pair_80x24", screen);
    let strip: Vec<&str> = screen.lines().skip(2).take(2).collect();
    assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
    assert!(
        strip[0].contains("▶ lb1") && strip[0].contains("VI_1 MASTER"),
        "{screen}"
    );
    assert!(
        strip[1].contains("lb2") && strip[1].contains("VI_2 MASTER"),
        "{screen}"
    );
    assert!(!screen.contains("SPLIT BRAIN") && !screen.contains("NO MASTER"));
}

#[test]
fn two_masters_for_one_instance_is_an_alarm_in_the_header() {
    let app = pair(
        (State::Master, State::Backup),
        (State::Master, State::Master),
    );
    let screen = text(&render(&app, 80, 24));
    insta::assert_snapshot!("directors_split_brain_80x24", screen);
    assert!(screen
        .lines()
        .take(3)
        .any(|l| l.contains("SPLIT BRAIN: VI_1 is MASTER on lb1 and lb2")));
}

#[test]
fn no_master_for_an_instance_is_an_alarm_too() {
    let app = pair(
        (State::Backup, State::Master),
        (State::Backup, State::Backup),
    );
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("NO MASTER: VI_1 is MASTER on no director"),
        "{screen}"
    );
}

#[test]
fn an_unreachable_director_is_shown_as_such_and_raises_no_alarm() {
    let mut app = fleet(&["lb1", "lb2"]);
    see(
        &mut app,
        0,
        director_snapshot("lb1", State::Master, State::Master),
    );
    app.on_director_unreachable(
        1,
        "no lvstop daemon answers on '/run/lvstop/lb2.sock': connection refused".into(),
    );
    let screen = text(&render(&app, 80, 24));
    insta::assert_snapshot!("directors_unreachable_80x24", screen);
    assert!(screen.contains("lb2  UNREACHABLE (retrying)"), "{screen}");
    assert!(!screen.contains("SPLIT BRAIN") && !screen.contains("NO MASTER"));
}

#[test]
fn a_fleet_folds_into_two_lines() {
    let names = [
        "lb1", "lb2", "lb3", "lb4", "edge-a", "edge-b", "edge-c", "edge-d", "dmz-1", "dmz-2",
        "dmz-3", "dmz-4", "lab-a", "lab-b", "lab-c", "lab-d", "lab-e", "lab-f",
    ];
    let mut app = fleet(&names);
    for (index, name) in names.iter().enumerate() {
        let (a, b) = if index % 2 == 0 {
            (State::Master, State::Backup)
        } else {
            (State::Backup, State::Master)
        };
        if index == 3 {
            app.on_director_unreachable(index, "connection refused".into());
        } else {
            let pair = u8::try_from(index / 2).unwrap_or(0);
            see(&mut app, index, pair_member(name, pair, a, b));
        }
    }
    let screen = text(&render(&app, 80, 24));
    insta::assert_snapshot!("directors_fleet_80x24", screen);
    for line in screen.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
    assert!(screen.contains("lb4 ✕ down"), "{screen}");
    assert!(screen.contains(" more"), "{screen}");
    assert!(!screen.contains("SPLIT BRAIN"), "{screen}");
}

#[test]
fn a_key_switches_the_director_shown_and_confirmations_name_it() {
    let mut app = pair(
        (State::Master, State::Backup),
        (State::Backup, State::Master),
    );
    assert_eq!(app.shown_director(), 0);
    app.on_director_update(
        1,
        Update::Events {
            events: ui_fixture::events(),
            missed: false,
        },
    );
    assert_eq!(app.log().count(), 0, "lb2's events on lb1's screen");
    app.handle_key(key('>'));
    assert_eq!(app.shown_director(), 1);
    assert_eq!(app.log().count(), ui_fixture::events().len());
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("▶ lb2"), "{screen}");
    assert!(
        screen.lines().next().is_some_and(|l| l.contains("lb2")),
        "{screen}"
    );
    app.handle_key(key('j'));
    app.handle_key(key('d'));
    match app.mode() {
        Mode::Confirm(dialog) => assert!(dialog.title.starts_with("lb2: "), "{}", dialog.title),
        other => panic!("expected a confirmation, got {other:?}"),
    }
    app.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    app.handle_key(key('w'));
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.lines().any(|l| l.starts_with("lb2: Weight of ")),
        "{screen}"
    );
    app.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    app.handle_key(KeyEvent::new(KeyCode::Char('<'), KeyModifiers::NONE));
    assert_eq!(app.shown_director(), 0);
}

#[test]
fn the_shown_director_going_away_says_so_once() {
    let mut app = pair(
        (State::Master, State::Backup),
        (State::Backup, State::Master),
    );
    for _ in 0..3 {
        app.on_director_unreachable(0, "connection refused".into());
    }
    let lost_notes = app
        .log()
        .filter(|l| format!("{l:?}").contains("engine lost"))
        .count();
    assert_eq!(lost_notes, 1);
}

#[test]
fn the_strip_in_ascii_mode_draws_no_unicode_glyphs() {
    let names = ["lb1", "lb2", "lb3", "lb4"];
    let mut options = ui_fixture::options();
    options.ascii = true;
    options.directors = names
        .iter()
        .map(|name| DirectorSpec {
            name: name.to_string(),
            socket: PathBuf::from(format!("/run/lvstop/{name}.sock")),
        })
        .collect();
    let mut app = App::new(&options);
    see(
        &mut app,
        0,
        director_snapshot("lb1", State::Master, State::Backup),
    );
    app.on_director_unreachable(1, "connection refused".into());
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains(">lb1 M B") && screen.contains("lb2 x down"),
        "{screen}"
    );
    for glyph in ["▶", "✕", "…"] {
        assert!(!screen.contains(glyph), "shows {glyph}:\n{screen}");
    }
}
