//! Key sequences an operator types, and the exact engine commands they
//! produce (or the refusal they get): keys → actions → commands.

use crate::ui_fixture;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use lvstop::engine::command::{Command, CommandError, Outcome, PriorityChange};
use lvstop::engine::overrides::Target;
use lvstop::ui::action::View;
use lvstop::ui::app::Mode;
use lvstop::ui::{App, Effect};
use ui_fixture::{rs, second_vip, vip};

fn press(app: &mut App, keys: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\u{1b}' => KeyCode::Esc,
            '\t' => KeyCode::Tab,
            '\u{8}' => KeyCode::Backspace,
            other => KeyCode::Char(other),
        };
        effects.extend(app.handle_key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
    effects
}

fn message(app: &App) -> String {
    app.message().map(|m| m.text.clone()).unwrap_or_default()
}

#[test]
fn weight_zero_on_a_selected_real_server_asks_then_sends_set_weight() {
    let mut app = ui_fixture::app();
    assert_eq!(app.selected(), Some(Target::Service(vip())));
    assert!(press(&mut app, "jw").is_empty());
    match app.mode() {
        Mode::Prompt(prompt) => assert_eq!(prompt.input, "1", "prefilled with the weight"),
        other => panic!("{other:?}"),
    }
    assert!(
        press(&mut app, "\u{8}0\n").is_empty(),
        "weight 0 asks first"
    );
    assert!(matches!(app.mode(), Mode::Confirm(_)));
    assert_eq!(
        press(&mut app, "y"),
        [Effect::Command(Command::SetWeight {
            service: vip(),
            server: rs("192.168.100.82:80"),
            weight: 0,
            reason: None,
        })]
    );
}

#[test]
fn a_non_zero_weight_and_plus_go_straight_to_the_engine() {
    let mut app = ui_fixture::app();
    assert_eq!(
        press(&mut app, "j+"),
        [Effect::Command(Command::SetWeight {
            service: vip(),
            server: rs("192.168.100.82:80"),
            weight: 2,
            reason: None,
        })]
    );
    assert_eq!(
        press(&mut app, "w\u{8}7\n"),
        [Effect::Command(Command::SetWeight {
            service: vip(),
            server: rs("192.168.100.82:80"),
            weight: 7,
            reason: None,
        })]
    );
    assert!(press(&mut app, "wx\n").is_empty());
    assert!(
        message(&app).contains("'1x' is not a weight"),
        "{}",
        message(&app)
    );
}

#[test]
fn drain_says_what_will_change_and_cancel_changes_nothing() {
    let mut app = ui_fixture::app();
    assert!(press(&mut app, "jd").is_empty());
    let Mode::Confirm(dialog) = app.mode().clone() else {
        panic!("{:?}", app.mode())
    };
    assert!(
        dialog.lines[0].contains("weight 1 -> 0"),
        "{:?}",
        dialog.lines
    );
    assert!(
        dialog.lines[1].contains("3 active connections"),
        "{:?}",
        dialog.lines
    );
    assert!(press(&mut app, "n").is_empty());
    assert_eq!(app.mode(), &Mode::Normal);
    assert_eq!(
        press(&mut app, "d\n"),
        [Effect::Command(Command::Drain {
            service: vip(),
            server: rs("192.168.100.82:80"),
            timeout_s: 300,
            remove: false,
            reason: None,
        })]
    );
}

#[test]
fn read_only_refuses_every_change_with_a_message() {
    let mut options = ui_fixture::options();
    options.read_only = true;
    let mut app = ui_fixture::app_with(&options);
    for keys in [
        "jd",
        "j+",
        "jw",
        "x",
        ":drain 192.168.100.83:80\n",
        ":reload\n",
    ] {
        assert!(press(&mut app, keys).is_empty(), "{keys}");
        assert!(
            message(&app).contains("read-only"),
            "{keys}: {}",
            message(&app)
        );
        press(&mut app, "\u{1b}");
    }
    assert_eq!(app.mode(), &Mode::Normal);
}

#[test]
fn disable_asks_for_a_reason_then_confirms() {
    let mut app = ui_fixture::app();
    press(&mut app, "jx");
    assert!(
        press(&mut app, "\n").is_empty(),
        "an empty reason is refused"
    );
    assert!(message(&app).contains("reason"));
    assert!(press(&mut app, "maintenance\n").is_empty());
    assert_eq!(
        press(&mut app, "y"),
        [Effect::Command(Command::Disable {
            target: Target::RealServer(vip(), rs("192.168.100.82:80")),
            reason: "maintenance".into(),
        })]
    );
}

#[test]
fn the_command_line_resolves_a_real_server_of_one_service() {
    let mut app = ui_fixture::app();
    assert_eq!(
        press(&mut app, ":weight 192.168.100.83:80 5\n"),
        [Effect::Command(Command::SetWeight {
            service: vip(),
            server: rs("192.168.100.83:80"),
            weight: 5,
            reason: None,
        })]
    );
    assert!(press(&mut app, ":weight 192.168.100.82:80 5\n").is_empty());
    let error = message(&app);
    assert!(
        error.contains("'192.168.100.82:80' is a real server of 2 virtual services"),
        "{error}"
    );
    press(&mut app, "\u{1b}");
    assert_eq!(
        press(&mut app, ":weight 192.168.100.90:80 192.168.100.82:80 5\n"),
        [Effect::Command(Command::SetWeight {
            service: second_vip(),
            server: rs("192.168.100.82:80"),
            weight: 5,
            reason: None,
        })]
    );
    assert!(press(&mut app, ":drain 192.168.100.99:80\n").is_empty());
    assert_eq!(
        message(&app),
        "no real server '192.168.100.99:80' in any virtual service"
    );
}

#[test]
fn failover_from_the_command_line_and_the_vrrp_screen() {
    let mut app = ui_fixture::app();
    assert!(press(&mut app, ":failover VI_1\n").is_empty());
    let expected = [Effect::Command(Command::Failover {
        name: "VI_1".into(),
        hold_s: 60,
        priority: None,
    })];
    assert_eq!(press(&mut app, "y"), expected);
    press(&mut app, "2F");
    assert_eq!(app.view(), View::Vrrp);
    assert_eq!(press(&mut app, "y"), expected);
}

#[test]
fn priority_from_the_command_line_asks_first_then_sends_a_failover_by_priority() {
    let mut app = ui_fixture::app();
    assert!(press(&mut app, ":priority VI_1 50\n").is_empty());
    assert_eq!(
        press(&mut app, "y"),
        [Effect::Command(Command::Failover {
            name: "VI_1".into(),
            hold_s: 0,
            priority: Some(PriorityChange::Set(50)),
        })]
    );
    assert!(press(&mut app, ":priority VI_1 configured\n").is_empty());
    assert!(press(&mut app, "n").is_empty(), "no sends nothing");
    assert!(press(&mut app, ":priority VI_1 300\n").is_empty());
    assert!(
        message(&app).contains("not a VRRP priority"),
        "{}",
        message(&app)
    );
}

#[test]
fn tab_completes_verbs_and_addresses_and_up_recalls_history() {
    let mut app = ui_fixture::app();
    press(&mut app, ":fa\t");
    assert_eq!(app.mode(), &Mode::CommandLine("failover ".into()));
    press(&mut app, "\t");
    assert_eq!(app.mode(), &Mode::CommandLine("failover VI_1 ".into()));
    press(&mut app, "\u{1b}:drain 192.168.100.8\t");
    assert_eq!(
        app.mode(),
        &Mode::CommandLine("drain 192.168.100.8".into()),
        "several candidates: the common prefix stays"
    );
    assert!(message(&app).contains("192.168.100.83:80"));
    press(&mut app, "\u{1b}:zero\n");
    press(&mut app, "n");
    app.handle_key(KeyEvent::new(KeyCode::Char(':'), KeyModifiers::NONE));
    app.handle_key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE));
    assert_eq!(app.mode(), &Mode::CommandLine("zero".into()));
}

#[test]
fn quitting_an_embedded_master_asks_first() {
    let mut app = ui_fixture::app();
    assert_eq!(press(&mut app, "q"), [Effect::Quit]);
    let mut options = ui_fixture::options();
    options.embedded = true;
    let mut app = ui_fixture::app_with(&options);
    assert!(press(&mut app, "q").is_empty());
    let Mode::Confirm(dialog) = app.mode().clone() else {
        panic!("{:?}", app.mode())
    };
    assert!(dialog.lines[0].contains("MASTER of VI_1"));
    assert!(press(&mut app, "n").is_empty());
    assert_eq!(press(&mut app, "qy"), [Effect::Quit]);
    assert!(press(&mut app, ":q\n").is_empty(), ":q asks too");
}

#[test]
fn apply_previews_the_plan_then_asks() {
    let mut app = ui_fixture::app();
    press(&mut app, "6e");
    assert_eq!(app.mode(), &Mode::Editing);
    press(&mut app, "! edited\n\u{1b}");
    assert!(app.editor().modified);
    let text = app.editor().text();
    assert!(
        text.starts_with("! edited\n! The seed's director"),
        "{text}"
    );
    assert_eq!(
        app.take_unsaved_draft(),
        Some(text.clone()),
        "autosave sees it"
    );
    assert_eq!(app.take_unsaved_draft(), None);
    assert_eq!(
        press(&mut app, "A"),
        [Effect::Command(Command::Apply {
            text: text.clone(),
            dry_run: true,
            confirm_within_s: None,
        })]
    );
    let plan = vec!["edit dest 192.168.100.82:80 weight 2".to_string()];
    assert!(app
        .on_outcome(Ok(Outcome::Plan {
            operations: plan.clone(),
            applied: false,
            rollback_at_ms: None,
        }))
        .is_empty());
    let Mode::Confirm(dialog) = app.mode().clone() else {
        panic!("{:?}", app.mode())
    };
    assert!(dialog.lines.iter().any(|l| l.contains(&plan[0])));
    assert_eq!(
        press(&mut app, "y"),
        [Effect::Command(Command::Apply {
            text,
            dry_run: false,
            confirm_within_s: None,
        })]
    );
    assert_eq!(
        app.on_outcome(Ok(Outcome::Plan {
            operations: plan,
            applied: true,
            rollback_at_ms: None,
        })),
        [Effect::DeleteDraft]
    );
    assert!(!app.editor().modified);
}

#[test]
fn errors_come_back_in_place_and_in_the_event_log() {
    let mut app = ui_fixture::app();
    app.on_outcome(Err(CommandError::UnknownInstance {
        name: "VI_9".into(),
    }));
    assert_eq!(message(&app), "no VRRP instance or sync group 'VI_9'");
    assert!(app.message().is_some_and(|m| m.error));
    press(&mut app, "4/console\n");
    assert_eq!(app.event_rows().len(), 1);
    press(&mut app, "\u{1b}/operator\n");
    assert_eq!(app.event_rows().len(), 1, "only the operator action");
}

#[test]
fn filter_and_collapse_on_the_services_screen() {
    let mut app = ui_fixture::app();
    assert_eq!(app.visible_rows().len(), 6);
    press(&mut app, "/refused\n");
    let rows: Vec<Target> = app.visible_rows().iter().map(|r| r.target()).collect();
    assert_eq!(
        rows,
        [
            Target::Service(vip()),
            Target::RealServer(vip(), rs("192.168.100.83:80"))
        ]
    );
    press(&mut app, "\u{1b}\n");
    assert_eq!(app.visible_rows().len(), 4, "the first service collapsed");
    press(&mut app, "s");
    assert!(message(&app).contains("sorted by weight"));
}

#[test]
fn the_selection_stays_on_its_row_across_snapshots() {
    let mut app = ui_fixture::app();
    press(&mut app, "jj");
    let chosen = Some(Target::RealServer(vip(), rs("192.168.100.83:80")));
    assert_eq!(app.selected(), chosen);
    app.on_update(lvstop::engine::channel::Update::Snapshot(
        std::sync::Arc::new(ui_fixture::snapshot(3)),
    ));
    assert_eq!(app.selected(), chosen);
    let mut empty = ui_fixture::snapshot(3);
    empty.table.services.clear();
    empty.checks = Default::default();
    empty.overrides.clear();
    empty.drains.clear();
    app.on_update(lvstop::engine::channel::Update::Snapshot(
        std::sync::Arc::new(empty),
    ));
    assert_eq!(app.selected(), None, "nothing left to select");
    assert!(press(&mut app, "d").is_empty());
    assert!(message(&app).contains("select a real server"));
}

#[test]
fn confirmed_apply_rolls_back_unless_c_is_pressed_again() {
    let mut app = ui_fixture::app();
    press(&mut app, "6");
    let text = app.editor().text();
    assert!(matches!(
        press(&mut app, "C").as_slice(),
        [Effect::Command(Command::Apply { dry_run: true, .. })]
    ));
    app.on_outcome(Ok(Outcome::Plan {
        operations: vec![],
        applied: false,
        rollback_at_ms: None,
    }));
    assert_eq!(
        press(&mut app, "y"),
        [Effect::Command(Command::Apply {
            text,
            dry_run: false,
            confirm_within_s: Some(60),
        })]
    );
    app.on_outcome(Ok(Outcome::Plan {
        operations: vec![],
        applied: true,
        rollback_at_ms: Some(ui_fixture::NOW_MS + 60_000),
    }));
    assert!(
        message(&app).contains("rolls back at 22:14:20"),
        "{}",
        message(&app)
    );
    assert!(press(&mut app, "C").is_empty());
    assert_eq!(press(&mut app, "y"), [Effect::Command(Command::Confirm)]);
}

#[test]
fn reload_and_zero_ask_first() {
    let mut app = ui_fixture::app();
    assert!(press(&mut app, ":reload\n").is_empty());
    let Mode::Confirm(dialog) = app.mode().clone() else {
        panic!("{:?}", app.mode())
    };
    assert!(dialog.lines[0].contains("'/etc/keepalived/keepalived.conf'"));
    assert_eq!(press(&mut app, "y"), [Effect::Command(Command::Reload)]);
    assert!(press(&mut app, "z").is_empty());
    assert_eq!(
        press(&mut app, "y"),
        [Effect::Command(Command::Zero {
            service: Some(vip())
        })]
    );
}
