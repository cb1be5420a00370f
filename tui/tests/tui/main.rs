//! The interactive console without a terminal: rendering as a pure function of state
//! (TestBackend + insta snapshots of every view), and keys → actions → worker commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crowdfund_console::app::snapshot::{Snapshot, collect_local};
use crowdfund_console::app::{Action, App, Modal, View, WorkerCommand, view};
use crowdfund_console::backend::LocalWorld;
use crowdfund_console::dispatch::Operation;
use crowdfund_console::ops::dlq::{Disposal, Selection};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

/// A seeded local world with traffic, as one snapshot. Durations are wall-clock measurements,
/// so they are pinned to keep the pictures stable.
fn snapshot() -> Snapshot {
    let dir = tempfile::tempdir().unwrap();
    let world = LocalWorld::open(&dir.path().join("world.json"), Some(7)).unwrap();
    world.pipeline.run_traffic(300, 0.2, &mut |_| {}).unwrap();
    let wall = "2026-11-26T03:00:00Z".parse().unwrap();
    let mut s = collect_local(&world, "etc_parked", wall).unwrap();
    for f in &mut s.functions {
        f.duration_p99_micros = f.duration_p99_micros.map(|_| 420);
    }
    s
}

fn app(read_only: bool) -> App {
    let mut app = App::new("local", "world.json", read_only);
    app.apply_snapshot(snapshot());
    app
}

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

/// The DLQ browser's rows, after its filter.
fn dlq_rows(app: &App) -> Vec<crowdfund_console::ops::dlq::DlqMessage> {
    let s = app.snapshot.as_ref().unwrap();
    app.views.dlq.rows(s).into_iter().cloned().collect()
}

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.handle_event(&key(KeyCode::Char(c)));
    }
}

/// Every view, drawn at 120×36 from the same seeded world.
#[test]
fn every_view_renders_as_expected() {
    let mut app = app(false);
    for v in View::ALL {
        app.update(Action::Show(v));
        insta::assert_snapshot!(
            format!("view_{}", v.title().to_lowercase().replace(' ', "_")),
            render(&app, 120, 36)
        );
    }
}

fn buffer(app: &App, width: u16, height: u16) -> ratatui::buffer::Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view::draw(f, app)).unwrap();
    terminal.backend().buffer().clone()
}

/// The DLQ browser drawn from what earlier frames cached is the frame drawn from the state
/// alone, cell for cell and style for style, while the operator scrolls, marks, filters,
/// switches panes, resizes, and new snapshots arrive.
#[test]
fn the_dlq_browser_draws_the_same_from_its_cache() {
    let mut app = app(false);
    app.update(Action::Show(View::Dlq));
    let steps: [&[Action]; 9] = [
        &[],
        &[Action::Down, Action::Down],
        &[Action::Mark, Action::Down],
        &[Action::MarkRange, Action::PageDown],
        &[Action::Up, Action::Mark],
        &[Action::NextPane, Action::Down],
        &[Action::NextPane, Action::Bottom],
        &[Action::Top, Action::ClearMarks],
        &[Action::Down],
    ];
    for (n, actions) in steps.iter().enumerate() {
        for a in actions.iter() {
            app.update(a.clone());
        }
        if n == 6 {
            app.views.dlq.filter = "declined".into();
        }
        if n == 8 {
            // A new snapshot with the same messages, older and with another reason.
            let mut s = app.snapshot.clone().unwrap();
            for list in s.lists.values_mut() {
                for m in list.iter_mut() {
                    m.age_seconds += 3_600;
                    m.reason = Some(format!("{} failed again", m.message_id));
                }
            }
            app.apply_snapshot(s);
        }
        for (w, h) in [(120, 36), (160, 48), (80, 24), (100, 30), (120, 36)] {
            let cached = buffer(&app, w, h);
            app.views.dlq.render_cache.clear();
            assert_eq!(cached, buffer(&app, w, h), "step {n} at {w}×{h}");
        }
    }
    let screen = render(&app, 120, 36);
    assert!(screen.contains("failed again"), "{screen}");
}

/// The help screen lists every key; read-only hides the actions.
#[test]
fn help_lists_keys_and_hides_actions_when_read_only() {
    let mut app = app(false);
    app.update(Action::Help);
    let full = render(&app, 120, 40);
    insta::assert_snapshot!("help", full);
    let mut ro = self::app(true);
    ro.update(Action::Help);
    let limited = render(&ro, 120, 40);
    assert!(full.contains("redrive") && !limited.contains("redrive marked"));
    assert!(limited.contains("read-only"));
}

/// Tiny and odd sizes never panic; below the minimum a message says what is needed.
#[test]
fn any_terminal_size_renders_without_panic() {
    let mut app = app(false);
    for v in View::ALL {
        app.update(Action::Show(v));
        for (w, h) in [
            (1, 1),
            (10, 3),
            (79, 19),
            (80, 20),
            (81, 21),
            (200, 60),
            (300, 5),
        ] {
            let out = render(&app, w, h);
            if w < view::MIN_WIDTH || h < view::MIN_HEIGHT {
                assert!(out.contains("needs") || w < 20 || h < 2, "{w}x{h}: {out}");
            }
        }
    }
    assert!(render(&app, 60, 10).contains("needs at least 80×20"));
}

/// space marks and moves down, ctrl-space marks the range from the last mark, ctrl-\ clears.
#[test]
fn marking_follows_k9s() {
    let mut app = app(false);
    app.update(Action::Show(View::Dlq));
    assert!(dlq_rows(&app).len() > 5);
    press(&mut app, " ");
    assert_eq!(app.views.dlq.marked.len(), 1);
    assert_eq!(app.views.dlq.cursor.selected, 1);
    press(&mut app, "jj");
    app.handle_event(&Event::Key(KeyEvent::new(
        KeyCode::Char(' '),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(app.views.dlq.marked.len(), 4, "rows 0..=3 marked");
    app.handle_event(&Event::Key(KeyEvent::new(
        KeyCode::Char('\\'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.views.dlq.marked.is_empty());
}

/// `r` asks for confirmation naming the count and the target; `y` sends exactly the marked ids
/// through the dispatcher; `n` sends nothing.
#[test]
fn redrive_goes_through_a_confirmation_with_the_marked_ids() {
    let mut app = app(false);
    app.update(Action::Show(View::Dlq));
    let ids: Vec<String> = dlq_rows(&app)
        .iter()
        .take(2)
        .map(|m| m.message_id.clone())
        .collect();
    press(&mut app, "  r");
    let Some(Modal::Confirm { question, .. }) = &app.modal else {
        panic!("no confirmation")
    };
    assert!(
        question.contains("Redrive 2 message(s) from etc_parked"),
        "{question}"
    );
    insta::assert_snapshot!("confirm_redrive", render(&app, 120, 36));
    press(&mut app, "n");
    assert!(app.modal.is_none() && app.take_commands().is_empty());

    press(&mut app, "ry");
    let commands = app.take_commands();
    let [WorkerCommand::Run(Operation::Dispose(r))] = commands.as_slice() else {
        panic!("expected one redrive, got {commands:?}")
    };
    assert_eq!(
        r.selection,
        Selection::Ids(
            ids.iter()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        )
    );
    assert_eq!(r.disposal, Disposal::Redrive { to: None });
    assert_eq!(r.pause_trigger, None, "y redrives without pausing anything");
    assert!(app.running.is_some(), "progress shows while it runs");
}

/// `p` in a redrive's confirmation runs it with dlq_handler's trigger held; a delete's
/// confirmation does not offer it.
#[test]
fn p_confirms_a_redrive_with_dlq_handler_paused() {
    let mut app = app(false);
    app.update(Action::Show(View::Dlq));
    press(&mut app, " d");
    let Some(Modal::Confirm { .. }) = &app.modal else {
        panic!("no confirmation")
    };
    press(&mut app, "p");
    assert!(app.modal.is_some(), "p is not an answer to a delete");
    press(&mut app, "n");
    press(&mut app, "rp");
    let commands = app.take_commands();
    let [WorkerCommand::Run(Operation::Dispose(r))] = commands.as_slice() else {
        panic!("expected one redrive, got {commands:?}")
    };
    assert_eq!(r.pause_trigger.as_deref(), Some("dlq_handler"));
}

/// `t` on a function's row in the topology proposes pausing its trigger (resuming when it is
/// paused); on a row without a function it explains itself.
#[test]
fn t_in_the_topology_pauses_the_selected_trigger() {
    let mut app = app(false);
    app.update(Action::Show(View::Topology));
    press(&mut app, "t");
    assert!(
        app.error
            .as_deref()
            .unwrap_or_default()
            .contains("broker has no SQS trigger"),
        "{:?}",
        app.error
    );
    press(&mut app, "G");
    app.update(Action::Up);
    press(&mut app, "t");
    let Some(Modal::Confirm { question, .. }) = &app.modal else {
        panic!("no confirmation: {:?}", app.error)
    };
    assert!(
        question.starts_with("Pause dlq_handler's SQS trigger?"),
        "{question}"
    );
    press(&mut app, "y");
    let commands = app.take_commands();
    let [WorkerCommand::Run(Operation::SetTrigger { function, enabled })] = commands.as_slice()
    else {
        panic!("expected a trigger change, got {commands:?}")
    };
    assert_eq!((function.as_str(), *enabled), ("dlq_handler", false));
}

/// Read-only: every action key is refused by the dispatcher with a message, and nothing is
/// sent to the worker.
#[test]
fn read_only_refuses_every_action_key() {
    let mut app = app(true);
    for (view, keys) in [
        (View::Dlq, "r"),
        (View::Dlq, "d"),
        (View::Dlq, "e"),
        (View::Goal, "g"),
        (View::Overview, "p"),
        (View::Topology, "Gkt"),
    ] {
        app.update(Action::Show(view));
        press(&mut app, keys);
        let error = app.error.clone().unwrap_or_default();
        if keys == "g" && error.contains("has not reached") {
            continue; // the first project is open: there is nothing to refuse yet
        }
        assert!(
            error.contains("--read-only"),
            "{keys} in {view:?}: {error:?}"
        );
        assert!(app.modal.is_none(), "{keys}: no confirmation is offered");
        assert!(app.take_commands().is_empty(), "{keys}: nothing sent");
    }
    // R opens the target prompt; the refusal comes when the target is given.
    app.update(Action::Show(View::Dlq));
    press(&mut app, "R");
    press(&mut app, "send_email_queue");
    app.handle_event(&key(KeyCode::Enter));
    assert!(
        app.error
            .as_deref()
            .unwrap_or_default()
            .contains("--read-only")
    );
    assert!(app.take_commands().is_empty());
}

/// `/` filters the DLQ; `:` jumps to a view or browses any queue; a bad target is explained.
#[test]
fn filter_and_jump() {
    let mut app = app(false);
    app.update(Action::Show(View::Dlq));
    let all = dlq_rows(&app).len();
    press(&mut app, "/declined");
    app.handle_event(&key(KeyCode::Enter));
    let filtered = dlq_rows(&app);
    assert!(!filtered.is_empty() && filtered.len() < all);
    assert!(
        filtered
            .iter()
            .all(|m| m.ledger_state.as_deref() == Some("declined")
                || m.reason.as_deref().unwrap_or("").contains("declined"))
    );
    app.handle_event(&key(KeyCode::Esc));
    assert_eq!(dlq_rows(&app).len(), all, "esc clears the filter");

    press(&mut app, ":send_email_queue");
    app.handle_event(&key(KeyCode::Enter));
    assert_eq!(app.views.dlq.queue, "send_email_queue");
    assert!(
        matches!(app.take_commands().as_slice(), [WorkerCommand::Browse(q)] if q == "send_email_queue")
    );
    press(&mut app, ":topology");
    app.handle_event(&key(KeyCode::Enter));
    assert_eq!(app.view, View::Topology);
    press(&mut app, ":nowhere");
    app.handle_event(&key(KeyCode::Enter));
    assert!(app.error.as_deref().unwrap().contains("no view or queue"));
}

/// The goal view previews through the worker, then `g` confirms and sends the check.
#[test]
fn goal_check_previews_then_confirms() {
    let mut app = app(false);
    let s = app.snapshot.clone().unwrap();
    let achieved = s
        .status
        .projects
        .iter()
        .position(|p| p.goal_achieved_at.is_some())
        .expect("a project reached its goal");
    app.update(Action::Show(View::Goal));
    for _ in 0..achieved {
        press(&mut app, "j");
    }
    app.handle_event(&key(KeyCode::Enter));
    assert!(matches!(
        app.take_commands().as_slice(),
        [WorkerCommand::PreviewGoal { .. }]
    ));
    press(&mut app, "g");
    let Some(Modal::Confirm { question, .. }) = &app.modal else {
        panic!("no confirmation")
    };
    assert!(question.contains(&s.status.projects[achieved].id));
    press(&mut app, "y");
    assert!(matches!(
        app.take_commands().as_slice(),
        [WorkerCommand::Run(Operation::GoalCheck {
            dry_run: false,
            ..
        })]
    ));
}

/// `q` goes back to the overview, and quits from there (telling the worker to save).
#[test]
fn q_goes_back_then_quits() {
    let mut app = app(false);
    app.update(Action::Show(View::Audit));
    press(&mut app, "q");
    assert_eq!(app.view, View::Overview);
    assert!(!app.should_quit);
    press(&mut app, "q");
    assert!(app.should_quit);
    assert!(matches!(
        app.take_commands().as_slice(),
        [WorkerCommand::Quit]
    ));
}

// ---- 80×24: every view and popup usable in the smallest usual terminal ----

/// The goal check's preview for `project_id`, from the same seeded world as [`snapshot`].
fn goal_plan(project_id: &str) -> crowdfund_console::ops::goal::GoalPlan {
    let dir = tempfile::tempdir().unwrap();
    let world = LocalWorld::open(&dir.path().join("world.json"), Some(7)).unwrap();
    world.pipeline.run_traffic(300, 0.2, &mut |_| {}).unwrap();
    futures::executor::block_on(crowdfund_console::ops::goal::plan(
        &world.backend(),
        project_id,
        None,
    ))
    .unwrap()
}

/// Two audit lines as the console writes them: a local redrive, and a delete by an AWS role.
fn audit_entries() -> Vec<crowdfund_console::ops::safety::AuditEntry> {
    let line = |json: &str| serde_json::from_str(json).unwrap();
    vec![
        line(
            r#"{"time": "2026-11-26T03:12:09Z", "identity": "arn:aws:sts::123456789012:assumed-role/crowdfund-console-operator/oncall", "action": "delete", "queue": "etc_parked", "selected": 2, "moved": 2, "failed": 0, "skipped": 0, "backup": "operators/oncall/crowdfund/world-backups/delete-etc_parked-20261126T031209Z.jsonl"}"#,
        ),
        line(
            r#"{"time": "2026-11-26T03:05:41Z", "identity": "oncall", "action": "redrive", "queue": "goal_achievement_queue", "to": "payment_attempt_queue", "selected": 12, "moved": 11, "failed": 1, "skipped": 0, "backup": "world-backups/redrive-goal_achievement_queue-20261126T030541Z.jsonl"}"#,
        ),
    ]
}

/// Every view at 80×24: the panes stack instead of squeezing, queue names and ids read whole,
/// and each view's state is the one a person would look at (a goal-check preview, an audit
/// log with entries).
#[test]
fn every_view_renders_at_80x24() {
    let mut app = app(false);
    if let Some(s) = &mut app.snapshot {
        s.audit = audit_entries();
    }
    let s = app.snapshot.clone().unwrap();
    let achieved = s
        .status
        .projects
        .iter()
        .position(|p| p.goal_achieved_at.is_some())
        .unwrap();
    for v in View::ALL {
        app.update(Action::Show(v));
        if v == View::Goal {
            for _ in 0..achieved {
                app.update(Action::Down);
            }
            app.views.goal.preview = Some(goal_plan(&s.status.projects[achieved].id));
        }
        let screen = render(&app, 80, 24);
        if v == View::Overview {
            for q in &s.status.queues {
                assert!(
                    screen.contains(&format!("│{:<22}", q.name)),
                    "the overview cuts {}:\n{screen}",
                    q.name
                );
            }
        }
        insta::assert_snapshot!(
            format!("narrow_view_{}", v.title().to_lowercase().replace(' ', "_")),
            screen
        );
    }
}

/// The DLQ browser at 80×24: the message under the list, ids whole and told apart; marks and
/// a filter in the title; enter gives the message the whole area, esc gives it back.
#[test]
fn the_dlq_browser_stacks_its_panes_at_80x24() {
    let mut app = app(false);
    app.update(Action::Show(View::Dlq));
    press(&mut app, "jj");
    let screen = render(&app, 80, 24);
    let rows: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains(" ID "))
        .skip(1)
        .take_while(|l| !l.contains('└'))
        .collect();
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("m-")))
        .collect();
    assert!(ids.len() >= 8, "{screen}");
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "ids read alike:\n{screen}");
    let selected = dlq_rows(&app)[2].message_id.clone();
    assert!(
        screen.contains(&format!("id       {selected}")),
        "the message under the list is the selected one:\n{screen}"
    );
    insta::assert_snapshot!("narrow_dlq_list", screen);

    press(&mut app, "  ");
    press(&mut app, "/declined");
    app.handle_event(&key(KeyCode::Enter));
    insta::assert_snapshot!("narrow_dlq_marked_and_filtered", render(&app, 80, 24));

    app.handle_event(&key(KeyCode::Enter));
    let screen = render(&app, 80, 24);
    assert!(screen.contains("\"paymentId\""), "{screen}");
    insta::assert_snapshot!("narrow_dlq_message", screen);
    app.handle_event(&key(KeyCode::Esc));
    assert_eq!(app.views.dlq.pane, crowdfund_console::app::Pane::List);
    assert_eq!(
        app.view,
        View::Dlq,
        "esc leaves the message, not the browser"
    );
    assert!(!app.views.dlq.filter.is_empty(), "the filter stays");
}

/// `o` turns the DLQ list newest first and back, the selection staying on its message and the
/// title saying so; every row at 80×24 shows when SQS deletes it (parked messages are kept 14
/// days, and the seeded world's are minutes old).
#[test]
fn o_orders_the_dlq_list_newest_first_and_back() {
    let mut app = app(false);
    app.update(Action::Show(View::Dlq));
    let expiring = dlq_rows(&app);
    assert!(expiring.len() > 5);
    assert!(
        expiring
            .windows(2)
            .all(|w| w[0].expires_at <= w[1].expires_at),
        "expiring first"
    );
    press(&mut app, "jj");
    let selected = expiring[2].message_id.clone();
    let screen = render(&app, 80, 24);
    assert!(screen.contains("EXPIRES"), "{screen}");
    assert!(screen.contains("13d 23h"), "{screen}");

    press(&mut app, "o");
    let newest = dlq_rows(&app);
    let reversed: Vec<String> = expiring
        .iter()
        .rev()
        .map(|m| m.message_id.clone())
        .collect();
    let ids: Vec<String> = newest.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(ids, reversed);
    let at = app.views.dlq.cursor.selected;
    assert_eq!(
        newest[at].message_id, selected,
        "the selection stays on its message"
    );
    let screen = render(&app, 80, 24);
    assert!(screen.contains("newest first"), "{screen}");
    assert!(
        screen.contains(&format!("id       {selected}")),
        "the message under the list is still the selected one:\n{screen}"
    );

    press(&mut app, "o");
    assert_eq!(
        dlq_rows(&app)[app.views.dlq.cursor.selected].message_id,
        selected
    );
    assert!(!render(&app, 80, 24).contains("newest first"));
}

/// On AWS message ids are UUIDs: the list shows their ends, as wide as the ids on screen need
/// to be told apart, and the message shows the whole id.
#[test]
fn uuid_message_ids_show_their_ends_at_80x24() {
    let mut app = app(false);
    let mut s = app.snapshot.clone().unwrap();
    for (i, m) in s.lists.values_mut().flatten().enumerate() {
        // Ids that share everything but one character, far from their end, on every row.
        let tail = if i % 2 == 0 { "0" } else { "1" };
        m.message_id = format!("9f1c2b7e-5d4a-4c3b-8a29-{tail}{:011x}", i / 2);
    }
    app.apply_snapshot(s);
    app.update(Action::Show(View::Dlq));
    let screen = render(&app, 80, 24);
    let first = dlq_rows(&app)[0].message_id.clone();
    assert!(screen.contains(&format!("id       {first}")), "{screen}");
    let shown: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains(" ID "))
        .skip(1)
        .take_while(|l| !l.contains('└'))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('…')))
        .collect();
    assert!(shown.len() >= 8, "{screen}");
    let unique: std::collections::BTreeSet<_> = shown.iter().collect();
    assert_eq!(unique.len(), shown.len(), "ids read alike:\n{screen}");
    insta::assert_snapshot!("narrow_dlq_uuids", screen);
}

/// The popups at 80×24: help a page at a time, the confirmation whole, the input line, and a
/// long result message with its totals.
#[test]
fn popups_render_at_80x24() {
    let mut app = app(false);
    app.update(Action::Help);
    let first = render(&app, 80, 24);
    assert!(first.contains("Keys 1/2"), "{first}");
    insta::assert_snapshot!("narrow_help_page_1", first);
    press(&mut app, "j");
    let second = render(&app, 80, 24);
    assert!(second.contains("Keys 2/2") && second.contains("stop the running"));
    insta::assert_snapshot!("narrow_help_page_2", second);
    press(&mut app, "k");
    assert_eq!(render(&app, 80, 24), first, "k turns back");
    press(&mut app, "q");
    assert!(
        app.modal.is_none() && !app.should_quit,
        "any other key closes"
    );

    app.update(Action::Show(View::Dlq));
    press(&mut app, "  r");
    let screen = render(&app, 80, 24);
    assert!(screen.contains("n cancel"), "{screen}");
    insta::assert_snapshot!("narrow_confirm_redrive", screen);
    press(&mut app, "n");

    app.update(Action::Show(View::Goal));
    let s = app.snapshot.clone().unwrap();
    let achieved = s
        .status
        .projects
        .iter()
        .position(|p| p.goal_achieved_at.is_some())
        .unwrap();
    for _ in 0..achieved {
        press(&mut app, "j");
    }
    press(&mut app, "g");
    let screen = render(&app, 80, 24);
    assert!(screen.contains("n cancel"), "{screen}");
    insta::assert_snapshot!("narrow_confirm_goal_check", screen);
    press(&mut app, "n");

    app.update(Action::Show(View::Dlq));
    press(&mut app, "/payment pay-000122 was declined: card declined");
    insta::assert_snapshot!("narrow_input_filter", render(&app, 80, 24));
    app.handle_event(&key(KeyCode::Esc));

    let mut lines: Vec<String> = dlq_rows(&app)
        .iter()
        .take(40)
        .map(|m| format!("  moved {} → payment_attempt_queue", m.message_id))
        .collect();
    lines.push("redrive etc_parked: 40 moved, 0 failed, 0 skipped; backup world-backups/redrive-etc_parked-20261126T030000Z.jsonl".into());
    app.on_worker_event(crowdfund_console::app::WorkerEvent::Finished {
        title: "redrive messages from etc_parked".into(),
        lines,
        ok: true,
    });
    let screen = render(&app, 80, 24);
    assert!(screen.contains("more line(s)"), "{screen}");
    assert_eq!(
        screen.matches("40 moved").count(),
        2,
        "the totals, in the popup and the status line:\n{screen}"
    );
    insta::assert_snapshot!("narrow_message", screen);
}

/// The DLQ view groups the failures by cause: `c` shows the groups, enter opens one (its
/// messages only, esc goes back), `a` marks a whole group, and `r` on a group redrives exactly
/// its messages, naming the cause in the question.
#[test]
fn failures_group_by_cause_and_a_group_is_redriven_whole() {
    use crowdfund_console::ops::dlq::groups::cause_of;
    let mut app = app(false);
    app.update(Action::Show(View::Dlq));
    press(&mut app, "c");
    assert!(app.views.dlq.by_cause);
    let s = app.snapshot.clone().unwrap();
    let groups = app.views.dlq.groups(&s);
    assert!(
        groups.len() >= 2,
        "the seeded world fails for several causes"
    );
    let total: u64 = groups.iter().map(|g| g.count).sum();
    assert_eq!(total as usize, s.list("etc_parked").len());
    insta::assert_snapshot!("dlq_groups", render(&app, 120, 36));
    insta::assert_snapshot!("dlq_groups_80x24", render(&app, 80, 24));

    // Enter opens the first group: only its messages, as many as it counted.
    app.handle_event(&key(KeyCode::Enter));
    let rows = dlq_rows(&app);
    assert_eq!(rows.len() as u64, groups[0].count);
    assert!(rows.iter().all(|m| cause_of(m) == groups[0].cause));
    app.handle_event(&key(KeyCode::Esc));
    assert!(app.views.dlq.by_cause && app.views.dlq.cause.is_none());

    // r on the second group, nothing marked: that group, whole.
    press(&mut app, "jr");
    let Some(Modal::Confirm { question, .. }) = &app.modal else {
        panic!("no confirmation")
    };
    assert!(
        question.contains(&format!(
            "Redrive {} message(s) where cause = ",
            groups[1].count
        )),
        "{question}"
    );
    press(&mut app, "y");
    let commands = app.take_commands();
    let [WorkerCommand::Run(Operation::Dispose(r))] = commands.as_slice() else {
        panic!("expected one redrive, got {commands:?}")
    };
    let Selection::Ids(ids) = &r.selection else {
        panic!("a group is redriven by its ids")
    };
    let mut expected: Vec<String> = s
        .list("etc_parked")
        .iter()
        .filter(|m| cause_of(m) == groups[1].cause)
        .map(|m| m.message_id.clone())
        .collect();
    let mut got = ids.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    assert!(
        r.chosen_by
            .as_deref()
            .is_some_and(|c| c.contains(&groups[1].cause))
    );
}

/// `a` marks every message of the selected group (and again unmarks them); in the list it
/// marks exactly what the filter shows.
#[test]
fn a_marks_a_whole_group_or_everything_the_filter_shows() {
    let mut app = app(false);
    app.update(Action::Show(View::Dlq));
    press(&mut app, "c");
    let s = app.snapshot.clone().unwrap();
    let first = app.views.dlq.groups(&s)[0].clone();
    press(&mut app, "a");
    assert_eq!(app.views.dlq.marked.len() as u64, first.count);
    press(&mut app, "ka");
    assert!(
        app.views.dlq.marked.is_empty(),
        "a second a unmarks the group"
    );

    press(&mut app, "c");
    app.update(Action::Filter);
    for c in "declined".chars() {
        app.handle_event(&key(KeyCode::Char(c)));
    }
    app.handle_event(&key(KeyCode::Enter));
    let shown = dlq_rows(&app);
    assert!(!shown.is_empty() && shown.len() < s.list("etc_parked").len());
    press(&mut app, "a");
    let marked: Vec<&String> = app.views.dlq.marked.iter().collect();
    assert_eq!(marked.len(), shown.len());
    assert!(
        shown
            .iter()
            .all(|m| app.views.dlq.marked.contains(&m.message_id))
    );
}

/// Two alarms in ALARM as CloudWatch reports them: one linking to etc_parked, and a composite
/// without a console link.
fn firing_alarms() -> Vec<crowdfund_core::ports::FiringAlarm> {
    use crowdfund_core::console_view;
    use crowdfund_core::ports::FiringAlarm;
    vec![
        FiringAlarm {
            name: "crowdfund-dev-parked-new-arrivals".into(),
            description: format!(
                "New messages were parked in the last 5 minutes. {}",
                console_view::link(console_view::for_queue("etc_parked"))
            ),
            reason: "Threshold Crossed: 1 out of the last 1 datapoints [12.0 (26/11/26 02:55:00)] \
                     was greater than the threshold (0.0)"
                .into(),
            since: "2026-11-26T02:56:41Z".parse().ok(),
            composite: false,
        },
        FiringAlarm {
            name: "crowdfund-dev-pipeline-degraded".into(),
            description: "Any alarm of the pipeline.".into(),
            reason: "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:\
                     crowdfund-dev-parked-new-arrivals transitioned to ALARM"
                .into(),
            since: "2026-11-26T02:57:00Z".parse().ok(),
            composite: true,
        },
    ]
}

/// The health view with two alarms firing: each a critical row first (what paged on-call),
/// `enter` on one opens the queue its description links to, on the other (no link) the
/// overview.
#[test]
fn firing_alarms_are_health_rows_that_open_their_place() {
    use crowdfund_console::app::snapshot::Update;
    let mut app = app(false);
    app.apply_update(Update::Alarms(Ok(firing_alarms())));
    app.update(Action::Show(View::Health));
    insta::assert_snapshot!("health_firing_alarms", render(&app, 120, 36));

    app.views.dlq.open("etc_dlq");
    app.update(Action::Inspect);
    assert_eq!(app.view, View::Dlq);
    assert_eq!(app.views.dlq.queue, "etc_parked");
    assert!(
        matches!(app.take_commands().as_slice(), [WorkerCommand::Browse(q)] if q == "etc_parked")
    );

    app.update(Action::Show(View::Health));
    app.update(Action::Down);
    app.update(Action::Inspect);
    assert_eq!(app.view, View::Overview);

    // A failed read adds a warning naming why, and the alarms last read stay.
    app.apply_update(Update::Alarms(Err(
        "CloudWatch: DescribeAlarms crowdfund-dev-* in ALARM: not allowed".into(),
    )));
    app.update(Action::Show(View::Health));
    let screen = render(&app, 120, 36);
    assert!(
        screen.contains("CloudWatch alarms unavailable: CloudWatch: DescribeAlarms"),
        "{screen}"
    );
    assert!(
        screen.contains("alarm crowdfund-dev-pipeline-degraded"),
        "{screen}"
    );
}
