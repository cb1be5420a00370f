//! crowdfund-console in a real terminal: tmux runs the binary, keys are sent, the screen is
//! read back. Proves the whole loop a person goes through: launch, open the parked messages,
//! redrive one with confirmation, see the result, quit with the terminal restored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/tmux.rs"]
mod tmux;

use std::path::{Path, PathBuf};
use tmux::Tmux;

/// Launch → DLQ → a declined payment → r → y: redriven, backed up, audited, in ≤ 10 keys.
#[test]
fn redrive_a_parked_message_in_a_real_terminal() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("world.json");
    let mut t = Tmux::launch(
        dir.path(),
        env!("CARGO_BIN_EXE_crowdfund-console"),
        &[
            "--state",
            &state.display().to_string(),
            "--refresh",
            "200ms",
        ],
    );
    t.wait_for("the overview", |s| {
        s.contains("Queues") && s.contains("etc_parked")
    });

    t.key("2");
    // A declined row in the list itself: the overview's chart legend says "declined" too, and
    // a screen read mid-redraw can show both.
    let screen = t.wait_for("the DLQ browser", |s| {
        s.contains("etc_parked —")
            && tmux::dlq_rows(s)
                .iter()
                .any(|l| l.split_whitespace().any(|w| w == "declined"))
    });
    let rows = tmux::dlq_rows(&screen);
    let index = rows
        .iter()
        .position(|l| l.split_whitespace().any(|w| w == "declined"))
        .unwrap_or_else(|| panic!("no declined payment in the list; the screen shows:\n{screen}"));
    let id = rows[index]
        .split_whitespace()
        .find(|w| w.starts_with("m-"))
        .unwrap()
        .to_string();
    for _ in 0..index {
        t.key("j");
    }
    t.key("r");
    t.wait_for("the confirmation", |s| {
        s.contains("Redrive 1 message(s) from etc_parked")
    });
    t.key("y");
    let screen = t.wait_for("the result summary", |s| s.contains(&format!("moved {id}")));
    assert!(screen.contains("→ payment_attempt_queue"), "{screen}");
    let keys = t.keystrokes();
    eprintln!("keystrokes from launch to a redriven message: {keys}");
    assert!(keys <= 10, "{keys} keystrokes");

    let audit = std::fs::read_to_string(dir.path().join("world-audit.jsonl")).unwrap();
    assert!(audit.contains("\"action\":\"redrive\""), "{audit}");
    let backups: Vec<PathBuf> = std::fs::read_dir(dir.path().join("world-backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1);
    assert!(std::fs::read_to_string(&backups[0]).unwrap().contains(&id));

    // Any key closes the summary; q goes back to the overview; q quits and saves.
    t.key("q");
    t.key("q");
    t.wait_for("the overview again", |s| s.contains("Lambda health"));
    t.key("q");
    assert!(t.exited(), "the console did not exit on q");
    assert!(Path::new(&state).exists(), "the world was saved on quit");
}
