//! crowdfund-console as a user runs it: the real binary, a state file in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod groups;
mod lock;
mod stakeholders;
mod triggers;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Console {
    dir: tempfile::TempDir,
}

impl Console {
    fn new() -> Self {
        Console {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("world.json")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_crowdfund-console"))
            .arg("--state")
            .arg(self.state())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs, expects success, parses stdout as JSON.
    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `simulate --payments N --seed S --failure-rate F --json`, expected to succeed.
    fn simulate(&self, payments: u32, seed: u64, failure_rate: &str) -> Value {
        let (payments, seed) = (payments.to_string(), seed.to_string());
        self.json(&[
            "simulate",
            "--payments",
            &payments,
            "--seed",
            &seed,
            "--failure-rate",
            failure_rate,
            "--json",
        ])
    }

    fn state_bytes(&self) -> Vec<u8> {
        std::fs::read(self.state()).unwrap()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The acceptance run: approved payments, declines parked after retries, and every
/// project's raised equal to its ledger net.
#[test]
fn simulate_then_status_shows_a_consistent_world() {
    let c = Console::new();
    let sim = c.json(&["simulate", "--payments", "500", "--seed", "7", "--json"]);
    assert_eq!(sim["submitted"], 500);
    let s = c.json(&["status", "--json"]);
    assert_eq!(s["backend"], "local");
    let payments = &s["payments"];
    assert!(payments["approved"].as_u64().unwrap() > 300, "{payments}");
    assert!(payments["declined"].as_u64().unwrap() > 0);
    assert!(payments["parked"].as_u64().unwrap() > 0);
    for q in s["queues"].as_array().unwrap() {
        let name = q["name"].as_str().unwrap();
        let depth = q["visible"].as_u64().unwrap()
            + q["inFlight"].as_u64().unwrap()
            + q["delayed"].as_u64().unwrap();
        if name != "etc_parked" {
            assert_eq!(depth, 0, "{name} drained");
        }
        for field in ["visible", "inFlight", "delayed", "oldestAgeSeconds"] {
            assert!(q[field].is_u64(), "{name}.{field} is an integer");
        }
    }
    let projects = s["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 5);
    for p in projects {
        assert_eq!(p["raised"], p["ledgerNet"], "{p}");
        assert_eq!(p["currency"], "KRW");
        assert!(p["goal"].is_i64());
        // The projection at the last 7 days' pace: the whole run is inside the window.
        let j = &p["projection"];
        assert!(j["percentOfGoal"].is_f64() && j["daysLeft"].is_f64(), "{p}");
        assert_eq!(j["netLast7Days"], p["ledgerNet"], "{p}");
        assert!(j["onTrack"].is_boolean(), "{p}");
    }
    let text = c.run(&["status"]);
    assert!(text.status.success(), "{}", stderr(&text));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("PROJECTION") && text.contains("% of goal"),
        "{text}"
    );
    // Declines are parked at once, unretried, with the reason.
    let parked = c.json(&["dlq", "list", "etc_parked", "--json", "--limit", "1000"]);
    let declined = parked
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["ledgerState"] == "declined")
        .expect("a declined payment is parked");
    assert_eq!(declined["attempts"], 0);
    assert!(declined["reason"].as_str().unwrap().contains("declined"));
}

/// The same seed on a new world gives the same world.
#[test]
fn a_seed_replays_the_same_run() {
    let (a, b) = (Console::new(), Console::new());
    let pa =
        a.json(&["simulate", "--payments", "50", "--seed", "3", "--json"])["status"]["payments"]
            .clone();
    let pb =
        b.json(&["simulate", "--payments", "50", "--seed", "3", "--json"])["status"]["payments"]
            .clone();
    assert_eq!(pa, pb);
}

/// Bad arguments exit non-zero, name the problem, and leave the state file byte for byte.
#[test]
fn bad_arguments_name_the_problem_and_change_nothing() {
    let c = Console::new();
    c.json(&["status", "--json"]); // creates the demo world
    let before = c.state_bytes();
    let cases: [(&[&str], &str); 7] = [
        (&["simulate", "--payments", "-5"], "--payments"),
        (&["simulate", "--failure-rate", "1.5"], "--failure-rate"),
        (&["dlq", "list", "nowhere"], "unknown queue \"nowhere\""),
        (
            &["dlq", "redrive", "nowhere", "--all", "--yes"],
            "unknown queue",
        ),
        (&["dlq", "redrive", "etc_parked"], "--all"),
        (
            &[
                "dlq",
                "redrive",
                "etc_parked",
                "--all",
                "--to",
                "etc_parked",
                "--yes",
            ],
            "--to etc_parked",
        ),
        (&["dlq", "redrive", "etc_parked", "--all"], "--yes"),
    ];
    for (args, needle) in cases {
        let out = c.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert_eq!(c.state_bytes(), before, "{args:?} changed the state file");
    }
}

#[test]
fn an_unreadable_state_file_is_refused_and_left_alone() {
    let c = Console::new();
    std::fs::write(c.state(), b"{\"not\": \"a world\"}").unwrap();
    let out = c.run(&["simulate", "--payments", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot use state file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(c.state_bytes(), b"{\"not\": \"a world\"}");
}

/// --read-only refuses actions and writes nothing, not even the demo world.
#[test]
fn read_only_refuses_and_writes_nothing() {
    let c = Console::new();
    let out = c.run(&["--read-only", "simulate", "--payments", "3"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--read-only"));
    assert!(!Path::new(&c.state()).exists());
    assert!(c.run(&["--read-only", "status"]).status.success());
}

/// A redrive by id moves that message back to its `from`, backs it up first, writes an audit
/// line, and the local pipeline processes it.
#[test]
fn redrive_by_id_backs_up_audits_and_moves_exactly_that_message() {
    let c = Console::new();
    c.simulate(200, 11, "0.3");
    let parked = c.json(&["dlq", "list", "etc_parked", "--json", "--limit", "1000"]);
    let target = parked
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["ledgerState"] == "declined")
        .expect("a parked decline");
    let id = target["messageId"].as_str().unwrap();
    let total = parked.as_array().unwrap().len();

    let dry = c.json(&[
        "dlq",
        "redrive",
        "etc_parked",
        "--id",
        id,
        "--dry-run",
        "--json",
    ]);
    assert_eq!(dry["moved"], 1);
    assert_eq!(
        c.json(&["dlq", "list", "etc_parked", "--json", "--limit", "1000"])
            .as_array()
            .unwrap()
            .len(),
        total
    );

    let r = c.json(&[
        "dlq",
        "redrive",
        "etc_parked",
        "--id",
        id,
        "--yes",
        "--json",
    ]);
    assert_eq!(
        (r["moved"].as_u64(), r["failed"].as_u64()),
        (Some(1), Some(0)),
        "{r}"
    );
    assert_eq!(r["report"]["moved"][0]["to"], "payment_attempt_queue");
    let backup = r["report"]["backup"].as_str().unwrap();
    let lines = std::fs::read_to_string(backup).unwrap();
    assert_eq!(lines.lines().count(), 1);
    assert!(lines.contains(id));
    let audit = std::fs::read_to_string(c.dir.path().join("world-audit.jsonl")).unwrap();
    let entry: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(
        (entry["action"].as_str(), entry["moved"].as_u64()),
        (Some("redrive"), Some(1))
    );
    // The decline is declined again and comes back parked: nothing is lost.
    let after = c.json(&["dlq", "list", "etc_parked", "--json", "--limit", "1000"]);
    assert!(
        after
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["messageId"] != id)
    );
    assert!(after.as_array().unwrap().len() >= total);
    let unknown = c.json(&[
        "dlq",
        "redrive",
        "etc_parked",
        "--id",
        "m-nope",
        "--yes",
        "--json",
    ]);
    assert_eq!(unknown["notFound"][0], "m-nope");
}

/// A goal check by hand: the dry run lists the late payments and changes nothing; the real one
/// cancels exactly those; a second one cancels nothing more; raised stays equal to ledger net.
#[test]
fn goal_check_previews_then_cancels_once() {
    let c = Console::new();
    c.simulate(400, 7, "0");
    // The automatic checks (at the goal, and a minute later) are over: payments of a later run
    // are the stragglers a person checks for.
    c.simulate(100, 8, "0");
    let cancelled = |c: &Console| {
        c.json(&["status", "--json"])["payments"]["cancelled"]
            .as_u64()
            .unwrap() as usize
    };
    let cancelled_before = cancelled(&c);
    let before = c.state_bytes();
    let plan = c.json(&["goal-check", "prj-solar-kiosk", "--dry-run", "--json"]);
    let late = plan["payments"].as_array().unwrap().len();
    assert!(late > 0, "stragglers after the automatic check: {plan}");
    assert_eq!(c.state_bytes(), before, "a dry run changes nothing");

    let done = c.json(&["goal-check", "prj-solar-kiosk", "--yes", "--json"]);
    assert_eq!(done["plan"]["payments"].as_array().unwrap().len(), late);
    assert_eq!(done["project"]["raised"], done["project"]["ledgerNet"]);
    let again = c.json(&["goal-check", "prj-solar-kiosk", "--dry-run", "--json"]);
    assert_eq!(again["payments"].as_array().unwrap().len(), 0);
    assert_eq!(cancelled(&c), cancelled_before + late);

    let out = c.run(&["goal-check", "prj-cafe-books", "--dry-run"]);
    assert!(
        stderr(&out).contains("has not reached its goal"),
        "{}",
        stderr(&out)
    );
    let out = c.run(&[
        "goal-check",
        "prj-solar-kiosk",
        "--at",
        "yesterday",
        "--dry-run",
    ]);
    assert!(stderr(&out).contains("--at"), "{}", stderr(&out));
}

/// Export writes the messages and leaves them; delete backs them up, then removes them.
#[test]
fn export_leaves_messages_and_delete_backs_up_first() {
    let c = Console::new();
    c.json(&["status", "--json"]);
    let parked = c.json(&["dlq", "list", "etc_parked", "--json", "--limit", "1000"]);
    let n = parked.as_array().unwrap().len();
    assert!(n > 0);
    let out_file = c.dir.path().join("export.jsonl");
    let out = c.run(&[
        "dlq",
        "export",
        "etc_parked",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap().lines().count(),
        n
    );
    let id = parked[0]["messageId"].as_str().unwrap();
    let r = c.json(&["dlq", "delete", "etc_parked", "--id", id, "--yes", "--json"]);
    assert_eq!(r["moved"], 1);
    let backup = std::fs::read_to_string(r["report"]["backup"].as_str().unwrap()).unwrap();
    assert!(backup.contains(id));
    let after = c.json(&["dlq", "list", "etc_parked", "--json", "--limit", "1000"]);
    assert_eq!(after.as_array().unwrap().len(), n - 1);
}

/// `--read-only` refuses `dashboards deploy` as the dispatcher refuses every action, before it
/// reads anything; a dry run (the diff only) is not refused for being read-only.
#[test]
fn read_only_refuses_dashboards_deploy() {
    let c = Console::new();
    let out = c.run(&["--read-only", "dashboards", "deploy", "--env", "prod"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "--read-only: refusing to deploy the dashboards and alarms of prod; run without --read-only"
        ),
        "{}",
        stderr(&out)
    );
    let dry = c.run(&["--read-only", "dashboards", "deploy", "--dry-run"]);
    assert!(!stderr(&dry).contains("--read-only"), "{}", stderr(&dry));
}

/// `--open` with a place the console does not know is refused before anything starts, naming
/// the place and the valid ones; with a subcommand it is refused too.
#[test]
fn open_refuses_an_unknown_place_and_subcommands() {
    let c = Console::new();
    let out = c.run(&["--open", "nowhere"]);
    assert!(!out.status.success());
    let e = stderr(&out);
    for part in [
        "--open",
        "\"nowhere\"",
        "overview",
        "topology",
        "etc_parked",
    ] {
        assert!(e.contains(part), "{part}: {e}");
    }
    assert!(!c.state().exists(), "refused before the world was opened");
    let out = c.run(&["--open", "etc_parked", "status"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("run it without a subcommand"),
        "{}",
        stderr(&out)
    );
}

/// The audit log gets an intent before and a result after each action; the goal check's lines
/// carry its cut-off and how many payments it cancels.
#[test]
fn every_action_leaves_an_intent_and_a_result() {
    let c = Console::new();
    c.simulate(400, 7, "0");
    let out_file = c.dir.path().join("out").join("export.jsonl");
    let exported = c.run(&[
        "dlq",
        "export",
        "etc_parked",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(exported.status.success(), "{}", stderr(&exported));
    let at = "2026-01-01T00:00:00Z";
    let done = c.json(&[
        "goal-check",
        "prj-solar-kiosk",
        "--at",
        at,
        "--yes",
        "--json",
    ]);
    let count = done["plan"]["payments"].as_array().unwrap().len() as u64;
    let audit: Vec<Value> = std::fs::read_to_string(c.dir.path().join("world-audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<(&str, &str, Option<&str>)> = audit
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap(),
                l["phase"].as_str().unwrap(),
                l["outcome"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("export", "intent", None),
            ("export", "result", Some("ok")),
            ("goal-check", "intent", None),
            ("goal-check", "result", Some("ok")),
        ]
    );
    for line in &audit[2..] {
        assert_eq!(line["at"], at);
        assert_eq!(line["selected"].as_u64(), Some(count));
        assert_eq!(line["to"], "prj-solar-kiosk");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [out_file, c.dir.path().join("world-audit.jsonl")] {
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
    }
}
