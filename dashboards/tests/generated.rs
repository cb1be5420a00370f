//! The generated dashboards and alarms: valid for PutDashboard / PutMetricAlarm, complete with
//! respect to the topology, and pinned as snapshots so every change to them is reviewed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crowdfund_core::topology;
use crowdfund_dashboards::{Target, alarms, ops, stakeholders, validate, write_all};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn target() -> Target {
    Target::new("ap-northeast-2", "prod")
}

#[test]
fn dashboards_and_alarms_are_valid() {
    validate::dashboard(&ops::dashboard(&target())).unwrap();
    validate::dashboard(&stakeholders::dashboard(&target())).unwrap();
    validate::alarms(&Value::Array(alarms::alarms(&target()))).unwrap();
}

/// Every queue and every function of the topology appears on the ops dashboard and has alarms.
#[test]
fn the_topology_is_covered() {
    let ops = ops::dashboard(&target()).to_string();
    for q in topology::QUEUES {
        assert!(
            ops.contains(&format!("\"QueueName\",\"{}\"", q.name)),
            "{} missing",
            q.name
        );
    }
    let alarms = Value::Array(alarms::alarms(&target())).to_string();
    for f in topology::FUNCTIONS {
        assert!(
            ops.contains(&format!("\"FunctionName\",\"{}\"", f.name)),
            "{} missing",
            f.name
        );
        assert!(alarms.contains(&format!("crowdfund-prod-{}-errors", f.name)));
        assert!(alarms.contains(&format!("crowdfund-prod-{}-throttles", f.name)));
    }
    assert!(alarms.contains("crowdfund-prod-etc_parked-not-empty"));
    assert!(alarms.contains("crowdfund-prod-etc_parked-new-arrivals"));
    assert!(
        ops.contains("crowdfund-console --aws dlq list etc_parked"),
        "the runbook names the fix"
    );
}

/// The validator catches what PutDashboard would refuse, naming the widget.
#[test]
fn the_validator_names_what_is_wrong() {
    let bad = json!({"widgets": [
        {"type": "metric", "x": 20, "y": 0, "width": 6, "height": 6, "properties": {"region": "eu-west-1", "metrics": [["AWS/SQS"]]}},
        {"type": "metric", "x": 0, "y": 0, "width": 21, "height": 6, "properties": {"metrics": [["AWS/SQS", "X"]]}},
        {"type": "mystery", "x": 0, "y": 9, "width": 1, "height": 1}
    ]});
    let problems = validate::dashboard(&bad).unwrap_err().join("\n");
    for needle in [
        "widget 0 at x=20 width=6 leaves the 24-column grid",
        "widget 0 metric 0 is not",
        "widget 1 overlaps widget 0",
        "metric widget 1 has no region",
        "unknown type",
    ] {
        assert!(problems.contains(needle), "{needle} not in:\n{problems}");
    }
    let alarms = json!([{"alarmName": "a", "namespace": "n", "metricName": "m", "period": 45, "evaluationPeriods": 1, "threshold": 0, "comparisonOperator": "Bigger"}]);
    let problems = validate::alarms(&alarms).unwrap_err().join("\n");
    assert!(
        problems.contains("exactly one of statistic")
            && problems.contains("Bigger")
            && problems.contains("period")
    );
}

#[test]
fn generate_writes_three_files() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_all(dir.path(), &target()).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ops.json", "stakeholders.json", "alarms.json"]);
    let ops: Value = serde_json::from_str(&std::fs::read_to_string(&written[0]).unwrap()).unwrap();
    assert!(
        ops["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w.get("properties").is_some())
    );
}

#[test]
fn snapshots() {
    insta::assert_json_snapshot!("ops", ops::dashboard(&target()));
    insta::assert_json_snapshot!("stakeholders", stakeholders::dashboard(&target()));
    insta::assert_json_snapshot!("alarms", alarms::alarms(&target()));
}

/// The keys terraform's monitoring module reads from each alarm of `alarms.json`: required
/// (the map key `a.KEY`, and `each.value.KEY`) and optional (`lookup(each.value, "KEY", ...)`).
fn keys_terraform_reads() -> (BTreeSet<String>, BTreeSet<String>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../terraform/modules/monitoring/main.tf"
    );
    let tf = std::fs::read_to_string(path).unwrap();
    let key_after = |marker: &str| -> BTreeSet<String> {
        tf.split(marker)
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
            })
            .filter(|k| !k.is_empty())
            .collect()
    };
    let mut required = key_after("each.value.");
    required.extend(key_after(": a."));
    (required, key_after("lookup(each.value, \""))
}

/// Generator and terraform agree: every key of every generated alarm is one the monitoring
/// module reads (a key it does not read would be dropped silently on apply), and every key it
/// requires is there. Both parked alarms stand side by side: not empty, and new arrivals.
#[test]
fn terraform_reads_every_generated_alarm_field() {
    let (required, optional) = keys_terraform_reads();
    assert!(required.contains("alarmName") && required.contains("metricName"));
    assert!(optional.contains("treatMissingData"));
    let generated = alarms::alarms(&target());
    for a in &generated {
        let name = a["alarmName"].as_str().unwrap_or("?");
        let keys: BTreeSet<String> = a.as_object().unwrap().keys().cloned().collect();
        let unread: Vec<&String> = keys
            .iter()
            .filter(|k| !required.contains(*k) && !optional.contains(*k))
            .collect();
        assert!(unread.is_empty(), "{name}: terraform ignores {unread:?}");
        let missing: Vec<&String> = required.difference(&keys).collect();
        assert!(missing.is_empty(), "{name}: terraform needs {missing:?}");
    }
    let parked: Vec<(&str, &str)> = generated
        .iter()
        .filter(|a| a["dimensions"][0]["value"] == topology::QUEUE_PARKED)
        .map(|a| {
            (
                a["metricName"].as_str().unwrap_or("?"),
                a["statistic"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        parked,
        [
            ("ApproximateNumberOfMessagesVisible", "Maximum"),
            ("NumberOfMessagesSent", "Sum")
        ]
    );
}
