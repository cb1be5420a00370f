//! `dlq groups` and acting on a cause (`--reason`) or a text (`--grep`) on the local world.

use super::{Console, stderr};
use serde_json::Value;

fn parked_world() -> Console {
    let c = Console::new();
    c.simulate(300, 5, "0.3");
    c
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["messageId"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// The groups add up to the queue, each names its cause once, and a redrive by one cause
/// moves exactly that group's messages, says so in the question and the audit line, and
/// leaves the other groups where they were.
#[test]
fn groups_count_the_queue_and_a_reason_redrives_exactly_its_group() {
    let c = parked_world();
    let all = c.json(&["dlq", "list", "etc_parked", "--json", "--limit", "100000"]);
    let total = all.as_array().unwrap().len();
    let report = c.json(&["dlq", "groups", "etc_parked", "--json"]);
    let groups = report["groups"].as_array().unwrap();
    assert!(!groups.is_empty(), "{report}");
    let counted: u64 = groups.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(counted as usize, total, "{report}");
    assert_eq!(report["read"].as_u64(), Some(total as u64));
    let causes: Vec<&str> = groups
        .iter()
        .map(|g| g["cause"].as_str().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<&&str> = causes.iter().collect();
    assert_eq!(
        unique.len(),
        causes.len(),
        "a cause is one group: {causes:?}"
    );
    assert!(
        causes.iter().all(|c| !c.contains("pay-")),
        "ids are taken out of causes: {causes:?}"
    );

    let group = &groups[0];
    let cause = group["cause"].as_str().unwrap();
    let listed = c.json(&[
        "dlq",
        "list",
        "etc_parked",
        "--reason",
        cause,
        "--json",
        "--limit",
        "100000",
    ]);
    assert_eq!(
        listed.as_array().unwrap().len() as u64,
        group["count"].as_u64().unwrap()
    );

    // Without --yes and without a terminal it refuses, naming the filter, and changes nothing.
    let before = c.state_bytes();
    let out = c.run(&["dlq", "redrive", "etc_parked", "--reason", cause]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("where cause ~"), "{}", stderr(&out));
    assert_eq!(c.state_bytes(), before);

    let moved = c.json(&[
        "dlq",
        "redrive",
        "etc_parked",
        "--reason",
        cause,
        "--yes",
        "--json",
    ]);
    let moved_ids: Vec<String> = {
        let mut v: Vec<String> = moved["report"]["moved"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["messageId"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(moved_ids, ids(&listed), "exactly the group moved");
    let audit = std::fs::read_to_string(c.dir.path().join("world-audit.jsonl")).unwrap();
    let result: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(
        result["filter"].as_str(),
        Some(format!("cause ~ {cause:?}").as_str())
    );
    assert_eq!(result["moved"].as_u64(), group["count"].as_u64());
}

/// `--grep` takes the messages whose body holds the text; nothing matching is an error that
/// changes nothing; `--id` with a filter is refused.
#[test]
fn grep_selects_by_body_text_and_no_match_changes_nothing() {
    let c = parked_world();
    let all = c.json(&["dlq", "list", "etc_parked", "--json", "--limit", "100000"]);
    let first = &all.as_array().unwrap()[0];
    let payment = first["paymentId"].as_str().unwrap();
    let found = c.json(&["dlq", "list", "etc_parked", "--grep", payment, "--json"]);
    assert!(ids(&found).contains(&first["messageId"].as_str().unwrap().to_string()));

    let before = c.state_bytes();
    let out = c.run(&[
        "dlq",
        "delete",
        "etc_parked",
        "--grep",
        "no-such-text-anywhere",
        "--yes",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no message of etc_parked matches"),
        "{}",
        stderr(&out)
    );
    assert_eq!(c.state_bytes(), before);

    let out = c.run(&[
        "dlq",
        "delete",
        "etc_parked",
        "--grep",
        "x",
        "--id",
        "m-1",
        "--yes",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
    assert_eq!(c.state_bytes(), before);
}
