//! crowdfund-console in a real terminal: tmux runs the binary, keys are sent, the screen is
//! read back. Proves the whole loop a person goes through: launch, open the parked messages,
//! redrive one with confirmation, see the result, quit with the terminal restored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/tmux.rs"]
mod tmux;

use std::path::{Path, PathBuf};
use std::process::Command;
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

/// The console's answer to `args` on the state file `state`, as JSON.
fn console_json(state: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_crowdfund-console"))
        .arg("--state")
        .arg(state)
        .args(args)
        .arg("--json")
        .output()
        .expect("the console runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The parked messages' ids in the world saved in `state`.
fn parked_ids(state: &Path) -> Vec<String> {
    let list = console_json(state, &["dlq", "list", "etc_parked"]);
    list.as_array()
        .expect("a list")
        .iter()
        .filter_map(|m| m["messageId"].as_str().map(str::to_string))
        .collect()
}

/// At 80×24 a person finds one parked message by its payment (`/` and the payment id), reads
/// it under the list, redrives it (`r`, `y`) and sees it leave the list; the world saved on
/// quit agrees (`dlq list --json` no longer has it). Every screen is printed for a person to
/// read (`--nocapture`).
#[test]
fn find_and_redrive_one_message_at_80x24() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("world.json");
    // The demo world, created by the first command; a declined payment with one parked
    // message is the one to find.
    let parked = console_json(&state, &["dlq", "list", "etc_parked"]);
    let parked = parked.as_array().unwrap();
    let payments: Vec<&str> = parked
        .iter()
        .filter_map(|m| m["paymentId"].as_str())
        .collect();
    let chosen = parked
        .iter()
        .find(|m| {
            let payment = m["paymentId"].as_str().unwrap_or_default();
            m["ledgerState"] == "declined"
                && payments.iter().filter(|p| **p == payment).count() == 1
        })
        .expect("a declined payment parked once");
    let id = chosen["messageId"].as_str().unwrap().to_string();
    let payment = chosen["paymentId"].as_str().unwrap().to_string();

    let mut t = Tmux::launch_sized(
        dir.path(),
        env!("CARGO_BIN_EXE_crowdfund-console"),
        &[
            "--state",
            &state.display().to_string(),
            "--refresh",
            "200ms",
        ],
        80,
        24,
    );
    let screen = t.wait_for("the overview", |s| {
        s.contains("goal_achievement_queue") && s.contains("Lambda health")
    });
    eprintln!("the overview at 80×24:\n{screen}");

    t.key("2");
    t.wait_for("the DLQ browser", |s| s.contains("etc_parked —"));
    t.key("/");
    t.type_text(&payment);
    t.key("Enter");
    let screen = t.wait_for("the one message of the payment", |s| {
        let rows = tmux::dlq_rows(s);
        s.contains(&format!("filter /{payment}"))
            && rows.iter().filter(|r| !r.trim().is_empty()).count() == 1
            && rows[0].split_whitespace().any(|w| w == id)
            && s.contains(&format!("id       {id}"))
    });
    eprintln!("{payment}'s message found:\n{screen}");
    assert!(screen.contains(&format!("payment  {payment} · ledger: declined")));
    assert!(
        screen.contains("1 of "),
        "the title counts the filtered rows: {screen}"
    );

    t.key("r");
    let screen = t.wait_for("the confirmation", |s| {
        s.contains("Redrive 1 message(s) from etc_parked") && s.contains("n cancel")
    });
    eprintln!("the confirmation:\n{screen}");
    t.key("y");
    let screen = t.wait_for("the result summary", |s| s.contains(&format!("moved {id}")));
    eprintln!("the summary:\n{screen}");
    assert!(screen.contains("→ payment_attempt_queue"), "{screen}");

    // Any key closes the summary; the list has no row with that id any more.
    t.key("q");
    let screen = t.wait_for("the list without the message", |s| {
        !s.contains("any key closes") && !tmux::dlq_rows(s).iter().any(|r| r.contains(&id))
    });
    eprintln!("after the redrive:\n{screen}");
    t.key("q");
    t.wait_for("the overview again", |s| s.contains("Lambda health"));
    t.key("q");
    assert!(t.exited(), "the console did not exit on q");

    assert!(
        !parked_ids(&state).contains(&id),
        "{id} is still parked in the saved world"
    );
    let audit = std::fs::read_to_string(dir.path().join("world-audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"action\":\"redrive\"") && audit.contains("\"moved\":1"),
        "{audit}"
    );
}
