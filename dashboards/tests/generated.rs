//! The generated dashboards and alarms: valid for PutDashboard / PutMetricAlarm, complete with
//! respect to the topology, and pinned as snapshots so every change to them is reviewed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crowdfund_core::topology;
use crowdfund_dashboards::{Target, alarms, ops, stakeholders, validate, write_all};
use serde_json::{Value, json};

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
