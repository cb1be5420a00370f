//! crowdfund-console in a real terminal: tmux runs the binary, keys are sent, the screen is
//! read back. Proves the whole loop a person goes through: launch, open the parked messages,
//! redrive one with confirmation, see the result, quit with the terminal restored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Tmux {
    socket: PathBuf,
    session: String,
    keystrokes: u32,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// Sends one key (a tmux key name) and counts it.
    fn key(&mut self, key: &str) {
        self.keystrokes += 1;
        self.cmd(&["send-keys", "-t", &self.session, key]);
    }

    /// Polls the screen until `pred` holds; panics with the screen after `limit`.
    fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                started.elapsed() < limit,
                "waited for {what}; the screen shows:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", &self.session])
            .status
            .success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Launch → DLQ → a declined payment → r → y: redriven, backed up, audited, in ≤ 10 keys.
#[test]
fn redrive_a_parked_message_in_a_real_terminal() {
    if !tmux_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is required in CI (.ci/run installs it)"
        );
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("world.json");
    let mut t = Tmux {
        socket: dir.path().join("tmux.sock"),
        session: "console".into(),
        keystrokes: 0,
    };
    let command = format!(
        "{} --state {} --refresh 200ms",
        env!("CARGO_BIN_EXE_crowdfund-console"),
        state.display()
    );
    let out = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        &t.session.clone(),
        "-x",
        "160",
        "-y",
        "48",
        &command,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let limit = Duration::from_secs(30);
    t.wait_for("the overview", limit, |s| {
        s.contains("Queues") && s.contains("etc_parked")
    });

    t.key("2");
    let screen = t.wait_for("the DLQ browser", limit, |s| {
        s.contains("etc_parked —") && s.contains("declined")
    });
    let rows: Vec<&str> = screen
        .lines()
        .skip_while(|l| !(l.contains(" ID ") && l.contains("KIND")))
        .skip(1)
        .collect();
    let index = rows
        .iter()
        .position(|l| l.contains(" declined "))
        .expect("a declined payment is listed");
    let id = rows[index]
        .split_whitespace()
        .find(|w| w.starts_with("m-"))
        .unwrap()
        .to_string();
    for _ in 0..index {
        t.key("j");
    }
    t.key("r");
    t.wait_for("the confirmation", limit, |s| {
        s.contains("Redrive 1 message(s) from etc_parked")
    });
    t.key("y");
    let screen = t.wait_for("the result summary", limit, |s| {
        s.contains(&format!("moved {id}"))
    });
    assert!(screen.contains("→ payment_attempt_queue"), "{screen}");
    let keys = t.keystrokes;
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
    t.wait_for("the overview again", limit, |s| s.contains("Lambda health"));
    t.key("q");
    let started = Instant::now();
    while t.alive() && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!t.alive(), "the console did not exit on q");
    assert!(Path::new(&state).exists(), "the world was saved on quit");
}
