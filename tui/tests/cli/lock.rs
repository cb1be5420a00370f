//! Many processes, one state file: the interactive console's worker (autosaving), `dlq redrive`
//! and `simulate` at once. Each either takes effect, or fails naming who holds the file and
//! changes nothing; none is silently undone by another's save.

use super::{Console, stderr};
use crowdfund_console::app::worker::{self, Local, WorkerConfig};
use crowdfund_console::app::{UiEvent, WorkerCommand, WorkerEvent};
use crowdfund_console::backend::LocalWorld;
use crowdfund_console::backend::lock::StateLock;
use serde_json::Value;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

impl Console {
    /// Starts the console binary without waiting for it.
    fn spawn(&self, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_crowdfund-console"))
            .arg("--state")
            .arg(self.state())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn parked_ids(&self) -> Vec<String> {
        self.json(&["dlq", "list", "etc_parked", "--json", "--limit", "1000"])
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["messageId"].as_str().unwrap().to_string())
            .collect()
    }

    /// The audit log's lines, as JSON.
    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("world-audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Payments the ledger knows, whatever their state: only ever grows, so a world that lost a
/// writer's change shows fewer than the writers added.
fn payments(counts: &Value) -> u64 {
    ["approved", "declined", "cancelled"]
        .iter()
        .map(|k| counts[*k].as_u64().unwrap())
        .sum()
}

fn finish(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

/// The TUI's worker (the same loop the interactive console runs: live traffic, autosave every
/// 50 ms, the lock held for the session), a redrive that waits 200 ms for the file and a
/// simulate that waits long enough: the redrive fails naming the console and changes nothing,
/// the simulate runs once the console has closed, on top of the console's saved world.
/// Then a redrive and a simulate at once, the console closed: both take effect.
#[test]
fn an_open_console_a_redrive_and_a_simulate_never_undo_each_other() {
    let c = Console::new();
    c.simulate(60, 5, "0.3");
    let parked = c.parked_ids();
    let id = parked[0].clone();
    let before = payments(&c.json(&["status", "--json"])["payments"]);

    // The console, as `crowdfund-console` at a terminal opens it.
    let lock = StateLock::acquire(
        &c.state(),
        "crowdfund-console (TUI)",
        Duration::ZERO,
        &mut |_| {},
    )
    .unwrap();
    let world = LocalWorld::open_locked(&c.state(), None, lock).unwrap();
    let config = WorkerConfig {
        refresh: Duration::ZERO,
        tick: Duration::from_millis(20),
        failure_rate: 0.0,
        autosave: Duration::from_millis(50),
        ..WorkerConfig::default()
    };
    let (commands, worker_commands) = mpsc::channel();
    let (worker_events, events) = mpsc::channel();
    let console = std::thread::spawn(move || {
        worker::run(Local::new(world), config, worker_commands, worker_events)
    });

    let redrive = c.spawn(&[
        "--lock-wait",
        "200ms",
        "dlq",
        "redrive",
        "etc_parked",
        "--id",
        &id,
        "--yes",
        "--json",
    ]);
    let simulate = c.spawn(&[
        "--lock-wait",
        "60s",
        "simulate",
        "--payments",
        "25",
        "--failure-rate",
        "0",
        "--json",
    ]);
    // The redrive gives up while the console is open.
    let refused = finish(redrive);
    // The console runs until its traffic has been processed into payments, then quits (and
    // saves). With refresh 0 a snapshot follows every tick, so the last one is what it saved.
    let mut console_payments = 0;
    for event in events.iter() {
        if let UiEvent::Worker(WorkerEvent::Snapshot(s)) = event {
            console_payments = payments(&serde_json::to_value(s.status.payments).unwrap());
            if console_payments > before {
                break;
            }
        }
    }
    commands.send(WorkerCommand::Quit).unwrap();
    for event in events.iter() {
        if let UiEvent::Worker(WorkerEvent::Snapshot(s)) = event {
            console_payments = payments(&serde_json::to_value(s.status.payments).unwrap());
        }
    }
    console.join().unwrap();
    let simulated = finish(simulate);

    assert!(!refused.status.success(), "the console holds the file");
    let why = stderr(&refused);
    for needle in [
        format!("state file {} is in use by", c.state().display()),
        format!(
            "crowdfund-console (TUI), pid {}, since ",
            std::process::id()
        ),
        "close it, or act from inside it, or pass --state".to_string(),
    ] {
        assert!(why.contains(&needle), "{needle:?} in {why}");
    }
    assert!(
        c.parked_ids().contains(&id),
        "the refused redrive moved nothing"
    );
    assert!(c.audit().is_empty(), "nor wrote an audit line");

    assert!(simulated.status.success(), "{}", stderr(&simulated));
    let simulated: Value = serde_json::from_slice(&simulated.stdout).unwrap();
    let after = c.json(&["status", "--json"]);
    assert!(
        payments(&after["payments"]) >= console_payments + 25,
        "neither the console's {} payments nor simulate's 25 were undone: {}",
        console_payments - before,
        after["payments"]
    );
    assert_eq!(
        payments(&after["payments"]),
        payments(&simulated["status"]["payments"])
    );

    // The console closed: a redrive and a simulate at once both take effect, one after the
    // other.
    let redrive = c.spawn(&[
        "dlq",
        "redrive",
        "etc_parked",
        "--id",
        &id,
        "--yes",
        "--json",
    ]);
    let simulate = c.spawn(&[
        "simulate",
        "--payments",
        "25",
        "--failure-rate",
        "0",
        "--json",
    ]);
    let (redrive, simulate) = (finish(redrive), finish(simulate));
    assert!(redrive.status.success(), "{}", stderr(&redrive));
    assert!(simulate.status.success(), "{}", stderr(&simulate));
    assert!(!c.parked_ids().contains(&id), "the redrive took effect");
    let last = c.json(&["status", "--json"]);
    assert!(
        payments(&last["payments"]) >= payments(&after["payments"]) + 25,
        "the simulate took effect: {}",
        last["payments"]
    );
    let audit = c.audit();
    assert_eq!(
        audit
            .iter()
            .map(|l| (l["phase"].as_str().unwrap(), l["outcome"].as_str()))
            .collect::<Vec<_>>(),
        [("intent", None), ("result", Some("ok"))],
        "{audit:?}"
    );
    assert!(std::fs::read(c.state()).is_ok_and(|b| !b.is_empty()));
}

/// Two writers started together both succeed: the second waits for the first's save, then
/// loads it, so the world holds both runs' payments.
#[test]
fn two_writers_at_once_both_take_effect() {
    let c = Console::new();
    // Approved or cancelled since (a goal check may cancel a payment a run approved).
    let charged = |s: Value| {
        s["payments"]["approved"].as_u64().unwrap() + s["payments"]["cancelled"].as_u64().unwrap()
    };
    let before = charged(c.json(&["status", "--json"]));
    let args = [
        "simulate",
        "--payments",
        "80",
        "--failure-rate",
        "0",
        "--json",
    ];
    let (a, b) = (c.spawn(&args), c.spawn(&args));
    for out in [finish(a), finish(b)] {
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(charged(c.json(&["status", "--json"])), before + 160);
    // No temporary file is left beside the state file.
    let names: Vec<String> = std::fs::read_dir(c.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

/// Readers take no lock: `status` and `dlq list` answer while a writer holds the file.
#[test]
fn readers_do_not_wait_for_a_writer() {
    let c = Console::new();
    c.json(&["status", "--json"]);
    let _held = StateLock::acquire(
        &c.state(),
        "crowdfund-console (TUI)",
        Duration::ZERO,
        &mut |_| {},
    )
    .unwrap();
    c.json(&["--lock-wait", "0", "status", "--json"]);
    c.json(&["--lock-wait", "0", "dlq", "list", "--json"]);
    let out = c.run(&["--lock-wait", "0", "simulate", "--payments", "1"]);
    assert!(
        stderr(&out).contains("is in use by crowdfund-console (TUI)"),
        "{}",
        stderr(&out)
    );
}
