//! `triggers`, `triggers pause|resume` and a redrive that holds dlq_handler's trigger, on the
//! local world.

use super::{Console, stderr};
use serde_json::Value;

fn audit(c: &Console) -> Vec<Value> {
    let log = c.dir.path().join("world-audit.jsonl");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn queue_depth(status: &Value, name: &str) -> u64 {
    let q = status["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name)
        .unwrap();
    ["visible", "inFlight", "delayed"]
        .iter()
        .map(|k| q[k].as_u64().unwrap_or(0))
        .sum()
}

fn states(c: &Console) -> Vec<(String, String)> {
    c.json(&["triggers", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let state = f["mapping"]["state"].as_str().unwrap_or("-").to_string();
            (f["function"].as_str().unwrap().to_string(), state)
        })
        .collect()
}

/// Bad asks are refused, naming the problem, and change nothing; a pause holds etc_dlq (its
/// messages wait instead of being retried) and is audited; a resume lets them through.
#[test]
fn pausing_dlq_handler_holds_etc_dlq_until_it_is_resumed() {
    let c = Console::new();
    c.simulate(20, 3, "0");
    let listed = states(&c);
    assert_eq!(listed.len(), 6, "{listed:?}");
    assert_eq!(listed[0], ("broker".to_string(), "-".to_string()));
    assert!(
        listed[1..].iter().all(|(_, s)| s == "Enabled"),
        "{listed:?}"
    );
    let table = c.run(&["triggers"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("API Gateway POST /broker"));

    let before = c.state_bytes();
    for (args, says) in [
        (vec!["triggers", "pause", "dlq_handler"], "--yes"),
        (
            vec!["--read-only", "triggers", "pause", "dlq_handler", "--yes"],
            "--read-only",
        ),
        (
            vec!["triggers", "pause", "broker", "--yes"],
            "no SQS trigger",
        ),
        (
            vec!["triggers", "pause", "nope", "--yes"],
            "unknown function",
        ),
        (
            vec!["triggers", "pause", "pg", "--dry-run"],
            "nothing to preview",
        ),
    ] {
        let out = c.run(&args);
        assert!(!out.status.success(), "{args:?} was refused");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(c.state_bytes(), before, "a refused change leaves the world");

    let paused = c.json(&["triggers", "pause", "dlq_handler", "--yes", "--json"]);
    assert_eq!(paused["state"], "Disabled", "{paused}");
    assert_eq!(paused["queue"], "etc_dlq");
    // Failures now wait in etc_dlq: the handler that would retry or park them is paused.
    c.simulate(60, 4, "0.5");
    let status = c.json(&["status", "--json"]);
    let waiting = queue_depth(&status, "etc_dlq");
    assert!(waiting > 0, "failures wait in etc_dlq: {status}");

    c.json(&["triggers", "resume", "dlq_handler", "--yes", "--json"]);
    c.simulate(1, 5, "0");
    let status = c.json(&["status", "--json"]);
    assert_eq!(queue_depth(&status, "etc_dlq"), 0, "handled once resumed");

    let changes: Vec<(String, String, String)> = audit(&c)
        .iter()
        .map(|l| {
            let text = |k: &str| l[k].as_str().unwrap_or("-").to_string();
            (text("action"), text("phase"), text("function"))
        })
        .collect();
    let line = |a: &str, p: &str| (a.to_string(), p.to_string(), "dlq_handler".to_string());
    assert_eq!(
        changes,
        [
            line("pause-trigger", "intent"),
            line("pause-trigger", "result"),
            line("resume-trigger", "intent"),
            line("resume-trigger", "result"),
        ]
    );
}

fn redrive_holding_dlq_handler(c: &Console, queue: &str) -> Value {
    c.json(&[
        "dlq",
        "redrive",
        queue,
        "--all",
        "--pause-dlq-handler",
        "--yes",
        "--json",
    ])
}

/// `--pause-dlq-handler`: the question says so, the trigger is paused for the redrive and
/// resumed after it, in that order in the audit log; a trigger paused before stays paused.
#[test]
fn a_redrive_can_hold_dlq_handler_and_resumes_it_after() {
    let c = Console::new();
    c.simulate(200, 5, "0.3");
    let out = c.run(&[
        "dlq",
        "redrive",
        "etc_parked",
        "--all",
        "--pause-dlq-handler",
    ]);
    assert!(
        stderr(&out).contains("dlq_handler's trigger is paused while it runs"),
        "{}",
        stderr(&out)
    );
    let report = redrive_holding_dlq_handler(&c, "etc_parked");
    assert_eq!(report["report"]["pausedTrigger"], "dlq_handler", "{report}");
    assert!(report["moved"].as_u64().unwrap() > 0, "{report}");
    let order: Vec<String> = audit(&c)
        .iter()
        .filter(|l| l["phase"] == "result")
        .map(|l| l["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order, ["pause-trigger", "redrive", "resume-trigger"]);
    assert!(
        states(&c)
            .iter()
            .all(|(f, s)| f == "broker" || s == "Enabled")
    );

    // Paused by someone before: the redrive leaves it paused, and says nothing of it.
    c.json(&["triggers", "pause", "dlq_handler", "--yes", "--json"]);
    c.simulate(100, 6, "0.3");
    let report = redrive_holding_dlq_handler(&c, "etc_dlq");
    assert!(report["report"].get("pausedTrigger").is_none(), "{report}");
    let dlq_handler = states(&c)
        .into_iter()
        .find(|(f, _)| f == "dlq_handler")
        .unwrap();
    assert_eq!(dlq_handler.1, "Disabled");
}
