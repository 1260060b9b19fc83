//! Every console screen drawn from the fixture director at 80×24 and
//! 160×48 (insta snapshots of the text), the health cells checked
//! style-exact against the theme, and what must fit 80 columns without a
//! cut: the header's source label and alarm, every VIP, the whole help
//! (scrolled), and whole words on the hint bar.

use crate::ui_fixture;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

use std::sync::Arc;

use lvstop::engine::channel::Update;
use lvstop::engine::snapshot::Snapshot;
use lvstop::observe::report::Observation;
use lvstop::observe::wire::{Family, LiveMaster, RouterKey, WireAlarm, WireReport};
use lvstop::ui::action::View;
use lvstop::ui::render::draw;
use lvstop::ui::theme::scope;
use lvstop::ui::{App, ConsoleOptions};

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
    assert_eq!(Some(up.fg), theme.style(scope::RS_UP).fg);
    assert_eq!(Some(down.fg), theme.style(scope::RS_DOWN).fg);
    assert!(down.modifier.contains(ratatui::style::Modifier::BOLD));
    assert_eq!(Some(draining.fg), theme.style(scope::RS_DRAINING).fg);
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

/// The app after one more snapshot: the fixture's, changed by `change`.
fn app_seeing(options: &ConsoleOptions, change: impl FnOnce(&mut Snapshot)) -> App {
    let mut app = ui_fixture::app_with(options);
    let mut snapshot = ui_fixture::snapshot(5);
    change(&mut snapshot);
    app.on_update(Update::Snapshot(Arc::new(snapshot)));
    app
}

/// The first `count` lines of a screen.
fn head(screen: &str, count: usize) -> String {
    screen.lines().take(count).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_header_shortens_a_long_socket_path_from_the_left() {
    let mut options = ui_fixture::options();
    options.source =
        "lvstop daemon /var/lib/lvstop/directors/edge-director-01/run/control.sock".into();
    let app = ui_fixture::app_with(&options);
    let screen = text(&render(&app, 80, 24));
    insta::assert_snapshot!("header_long_socket_80x24", head(&screen, 3));
    let first = screen.lines().next().unwrap_or_default();
    assert!(first.chars().count() <= 80, "{first}");
    assert!(first.contains("alerts 0"), "{first}");
    assert!(first.contains("lvstop daemon …/"), "{first}");
    assert!(first.contains("/control.sock"), "{first}");
}

#[test]
fn the_observer_header_keeps_its_label_and_the_whole_alarm() {
    let alarm = WireAlarm::TwoMasters {
        router: RouterKey {
            interface: "eth0".into(),
            family: Family::Ipv4,
            vrid: 51,
        },
        instance: Some("VI_1".into()),
        masters: ["192.168.100.80", "192.168.100.81"]
            .iter()
            .map(|a| LiveMaster {
                source: a.parse().unwrap_or_else(|e| panic!("{e}")),
                priority: 100,
                own: a.ends_with(".80"),
                last_seen_ms_ago: 400,
            })
            .collect(),
    };
    let said = alarm.to_string();
    let app = app_seeing(&ui_fixture::options(), |s| {
        s.vrrp.instances.clear();
        s.observed = Some(Observation {
            label: "observing keepalived (pid 812)".into(),
            keepalived_pid: Some(812),
            wire: Some(WireReport {
                alarms: vec![alarm],
                ..WireReport::default()
            }),
            ..Observation::default()
        });
    });
    let screen = text(&render(&app, 80, 24));
    insta::assert_snapshot!("header_observer_alarm_80x24", head(&screen, 4));
    let header: Vec<&str> = screen.lines().take(3).collect();
    assert!(
        header[0].contains("observing keepalived (pid 812)"),
        "{screen}"
    );
    // The alarm takes two lines rather than losing its end.
    let alarm_text = header[1..].iter().map(|l| l.trim()).collect::<Vec<_>>();
    assert_eq!(alarm_text.join(" "), format!("ALARM {said}"), "{screen}");
}

#[test]
fn the_vrrp_screen_shows_every_vip() {
    let vips = [
        "192.168.100.88",
        "192.168.100.89",
        "192.168.100.90",
        "192.168.100.91",
        "192.168.100.92",
        "2001:db8:100::88",
    ];
    let app = |view_width: u16, view_height: u16| {
        let mut app = app_seeing(&ui_fixture::options(), |s| {
            let mut second = s.vrrp.instances[0].clone();
            s.vrrp.instances[0].vips = vips.iter().map(|v| v.parse().unwrap()).collect();
            second.name = "VI_2".into();
            second.vrid = 52;
            second.state = lvstop::vrrp::machine::State::Backup;
            second.vips = vec!["192.168.100.99".parse().unwrap_or_else(|e| panic!("{e}"))];
            s.vrrp.instances.push(second);
        });
        show(&mut app, View::Vrrp);
        text(&render(&app, view_width, view_height))
    };
    for (width, height) in [(80, 24), (160, 48)] {
        let screen = app(width, height);
        insta::assert_snapshot!(format!("vrrp_vips_{width}x{height}"), screen);
        for vip in vips.iter().chain(["192.168.100.99"].iter()) {
            assert!(screen.contains(vip), "{vip} missing at {width}:\n{screen}");
        }
        assert!(
            screen
                .lines()
                .all(|l| l.chars().count() <= usize::from(width)),
            "{screen}"
        );
    }
}

#[test]
fn the_help_scrolls_to_every_key_and_command() {
    let mut app = ui_fixture::app();
    app.handle_key(key('?'));
    // The box's content lines, without the borders.
    let inside = |screen: &str| -> Vec<String> {
        screen
            .lines()
            .filter_map(|l| {
                let l = l.trim_start_matches(['▲', '▼', '◐', ' ']);
                l.strip_prefix('│')
                    .and_then(|l| l.split('│').next())
                    .map(|l| l.trim_end().to_string())
            })
            .collect()
    };
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..60 {
        let page = inside(&text(&render(&app, 80, 24)));
        if page.first() == seen.last() && !seen.is_empty() {
            // Scrolling stopped: the last page is on screen.
            seen.extend(page.into_iter().skip(1));
            break;
        }
        seen.extend(page.first().cloned());
        app.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        assert_eq!(app.mode(), &lvstop::ui::app::Mode::Help, "Down scrolls");
    }
    let all = seen
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for desc in [
        "Set the weight of the selected real server",
        "Drain: weight 0, keep connections, watch them end",
        "Quit (asks first while this director is MASTER)",
        "Reload the configuration file (asks first)",
        ":failover NAME",
        ":q",
    ] {
        assert!(
            all.contains(desc),
            "'{desc}' not reachable:\n{}",
            seen.join("\n")
        );
    }
    assert!(seen.iter().all(|l| l.chars().count() <= 76), "{seen:?}");
    // Narrower, a description wraps at a word, continued under itself.
    let mut narrow = ui_fixture::app();
    narrow.handle_key(key('?'));
    let page = inside(&text(&render(&narrow, 50, 24)));
    let at = page
        .iter()
        .position(|l| l.starts_with("d          Drain:"))
        .unwrap_or_else(|| panic!("{page:?}"));
    assert_eq!(page[at], "d          Drain: weight 0, keep connections,");
    assert_eq!(page[at + 1], "           watch them end");
    // Any other key closes the help.
    app.handle_key(key('x'));
    assert_eq!(app.mode(), &lvstop::ui::app::Mode::Normal);
}

#[test]
fn the_hint_bar_drops_whole_hints_when_short() {
    let app = ui_fixture::app();
    let bar = |width: u16| -> Vec<String> {
        let screen = text(&render(&app, width, 24));
        screen
            .lines()
            .last()
            .unwrap_or_default()
            .split("  ")
            .map(str::to_string)
            .collect()
    };
    let wide = bar(200);
    assert_eq!(wide.last().map(String::as_str), Some("? help"), "{wide:?}");
    assert!(wide.iter().all(|h| !h.contains('_')), "{wide:?}");
    for width in [80, 60, 40, 20] {
        let short = bar(width);
        assert!(
            short.iter().all(|h| wide.contains(h)),
            "{width}: {short:?} not in {wide:?}"
        );
        assert!(short.contains(&"? help".to_string()), "{width}: {short:?}");
    }
    let at_80 = bar(80);
    for hint in ["w weight", "d drain", "/ filter", "q quit"] {
        assert!(at_80.contains(&hint.to_string()), "{at_80:?}");
    }
}

/// Observing a keepalived director, the connections screen starts with
/// the kernel's timeouts and sync daemons, as ipvsadm prints them.
#[test]
fn the_observed_kernels_timeouts_and_sync_daemons_head_the_connections_screen() {
    use lvstop::ipvs::model::{Daemon, DaemonState, Timeouts};
    let mut app = app_seeing(&ui_fixture::options(), |s| {
        s.observed = Some(Observation {
            label: "observing keepalived (pid 812)".into(),
            keepalived_pid: Some(812),
            timeouts: Some(Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            }),
            sync_daemons: vec![Daemon {
                state: DaemonState::Master,
                mcast_ifn: "eth0".into(),
                syncid: 51,
                sync_maxlen: 0,
                mcast_group: None,
                mcast_port: 0,
                mcast_ttl: 0,
            }],
            ..Observation::default()
        });
    });
    show(&mut app, View::Connections);
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("Timeout (tcp tcpfin udp): 900 120 300"),
        "{screen}"
    );
    assert!(
        screen.contains("master sync daemon (mcast=eth0, syncid=51)"),
        "{screen}"
    );
}

/// The services screen formats only the rows it shows: at every cursor
/// position, what a short terminal shows is an unbroken stretch of what a
/// tall one shows (reason lines included), and it holds the selected row.
#[test]
fn a_short_services_screen_shows_a_stretch_of_the_whole_table() {
    let mut app = ui_fixture::app();
    let body = |screen: &str| -> Vec<String> {
        let lines: Vec<&str> = screen.lines().collect();
        let titles = lines
            .iter()
            .position(|l| l.contains("RemoteAddress"))
            .unwrap_or_else(|| panic!("no column titles:\n{screen}"));
        lines[titles + 1..].iter().map(|l| l.to_string()).collect()
    };
    let whole = body(&text(&render(&app, 80, 200)));
    let whole = whole[..whole.iter().rposition(|l| l.contains("->")).unwrap_or(0) + 1].join("\n");
    let rows = whole
        .lines()
        .filter(|l| !l.trim_start().starts_with('└'))
        .count();
    let mut scrolled = false;
    for step in 0..rows {
        // The last two lines are the status and hint bars.
        let screen = text(&render(&app, 80, 11));
        let shown = body(&screen);
        let shown = shown[..shown.len().saturating_sub(2)].join("\n");
        let shown = shown.trim_end();
        assert!(
            !shown.is_empty() && whole.contains(shown),
            "step {step}: not a stretch of the whole table:\n{shown}\n--- whole:\n{whole}"
        );
        scrolled |= !whole.starts_with(shown);
        if let Some(lvstop::engine::overrides::Target::RealServer(_, server)) = app.selected() {
            assert!(
                shown.contains(&server.to_string()),
                "step {step}: the selected {server} is off screen:\n{shown}"
            );
        }
        app.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    }
    assert!(scrolled, "the screen never scrolled:\n{whole}");
}
