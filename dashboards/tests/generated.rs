//! The generated dashboards and alarms: valid for PutDashboard / PutMetricAlarm, complete with
//! respect to the topology, and pinned as snapshots so every change to them is reviewed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crowdfund_core::console_view;
use crowdfund_core::domain::Project;
use crowdfund_core::money::Currency;
use crowdfund_core::topology;
use crowdfund_dashboards::{Target, alarms, metric_math, ops, stakeholders, validate, write_all};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn target() -> Target {
    Target::new("ap-northeast-2", "prod")
}

/// Two projects as the funding API lists them: one half way, one not started.
fn projects() -> Vec<Project> {
    let project = |id: &str, title: &str, goal, raised| Project {
        id: id.into(),
        title: title.into(),
        goal,
        currency: Currency::KRW,
        raised,
        backers: 3,
        deadline: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        goal_achieved_at: None,
    };
    vec![
        project("prj-garden", "Rooftop garden", 1_000_000, 500_000),
        project("prj-radio", "Community radio", 2_000_000, 0),
    ]
}

fn stakeholders_dashboard() -> Value {
    stakeholders::dashboard(&target(), &projects())
}

#[test]
fn dashboards_and_alarms_are_valid() {
    validate::dashboard(&ops::dashboard(&target())).unwrap();
    validate::dashboard(&stakeholders_dashboard()).unwrap();
    validate::dashboard(&stakeholders::dashboard(&target(), &[])).unwrap();
    let metric_alarms = alarms::alarms(&target());
    validate::alarms(&Value::Array(metric_alarms.clone())).unwrap();
    validate::composite_alarms(&alarms::composite_alarms(&target()), &metric_alarms).unwrap();
}

/// The labels of the expressions in the ops widget titled `title`.
fn expression_labels(ops: &Value, title: &str) -> BTreeSet<String> {
    let widget = ops["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["properties"]["title"] == title)
        .unwrap_or_else(|| panic!("no widget titled {title:?} on the ops dashboard"));
    widget["properties"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|row| {
            row[0]["expression"]
                .as_str()
                .map(|_| row[0]["label"].clone())
        })
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect()
}

/// The drift test: every queue of the topology has a time to drain and in-vs-out graph, every
/// function an error rate, throttle rate and duration against its timeout. A queue or function
/// added to `core/src/topology.rs` that the generator leaves out fails here, naming it.
#[test]
fn every_queue_and_function_of_the_topology_gets_the_on_call_defaults() {
    let ops = ops::dashboard(&target());
    let titles: BTreeSet<String> = ops["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["properties"]["title"].as_str().map(str::to_string))
        .collect();
    let drain = expression_labels(
        &ops,
        "Time to drain (minutes; blank while more arrive than leave)",
    );
    for q in topology::QUEUES {
        assert!(drain.contains(q.name), "{}: no time to drain", q.name);
        assert!(
            titles.contains(&format!("{}: in vs out per minute", q.name)),
            "{}: no producer vs consumer graph",
            q.name
        );
    }
    let errors = expression_labels(&ops, "Lambda error rate (% of invocations)");
    let throttles = expression_labels(&ops, "Lambda throttles (% of invocations)");
    let duration = expression_labels(&ops, "Lambda duration p99 (% of timeout)");
    let alarms = Value::Array(alarms::alarms(&target())).to_string();
    for f in topology::FUNCTIONS {
        assert!(errors.contains(f.name), "{}: no error rate %", f.name);
        assert!(throttles.contains(f.name), "{}: no throttle rate %", f.name);
        assert!(
            duration.contains(f.name),
            "{}: no duration % of timeout",
            f.name
        );
        for suffix in ["error-rate", "throttle-rate", "near-timeout"] {
            assert!(
                alarms.contains(&format!("crowdfund-prod-{}-{suffix}", f.name)),
                "{}: no {suffix} alarm",
                f.name
            );
        }
    }
    assert!(titles.contains("etc_dlq and etc_parked: age of oldest (s)"));
}

/// The p99-duration-against-timeout figures divide by each function's own timeout, in ms.
#[test]
fn duration_is_a_share_of_each_functions_timeout() {
    let ops = ops::dashboard(&target()).to_string();
    for f in topology::FUNCTIONS {
        let ms = u64::from(f.timeout_seconds) * 1000;
        assert!(ops.contains(&format!("/ {ms}")), "{}: no / {ms}", f.name);
    }
    let near: Vec<f64> = alarms::alarms(&target())
        .iter()
        .filter(|a| a["alarmName"].as_str().unwrap().ends_with("-near-timeout"))
        .map(|a| a["threshold"].as_f64().unwrap())
        .collect();
    assert_eq!(near.len(), topology::FUNCTIONS.len());
    assert!(near.iter().all(|t| *t == 0.95 * 25_000.0), "{near:?}");
}

/// Every alarm's description links to a place the console opens.
#[test]
fn every_alarm_links_to_its_place_in_the_console() {
    let metric_alarms = alarms::alarms(&target());
    for a in metric_alarms
        .iter()
        .chain(&alarms::composite_alarms(&target()))
    {
        let description = a["alarmDescription"].as_str().unwrap();
        assert!(
            console_view::place_in(description).is_some(),
            "{}: no console link in {description:?}",
            a["alarmName"]
        );
    }
    let parked = metric_alarms
        .iter()
        .find(|a| a["alarmName"] == "crowdfund-prod-etc_parked-faults-arriving")
        .unwrap();
    assert_eq!(
        console_view::place_in(parked["alarmDescription"].as_str().unwrap()),
        Some(topology::QUEUE_PARKED)
    );
}

/// Parked declines are outcomes: no alarm watches etc_parked's own SQS counts, which include
/// them; the parked-faults alarm counts only faults (MessagesParked).
#[test]
fn parked_declines_fire_no_alarm() {
    let generated = alarms::alarms(&target());
    let on_parked_queue: Vec<&Value> = generated
        .iter()
        .filter(|a| {
            a.to_string()
                .contains(&format!("\"value\":\"{}\"", topology::QUEUE_PARKED))
        })
        .collect();
    assert!(on_parked_queue.is_empty(), "{on_parked_queue:?}");
    let parked = generated
        .iter()
        .find(|a| a["alarmName"] == "crowdfund-prod-etc_parked-faults-arriving")
        .unwrap();
    assert_eq!(parked["metricName"], "MessagesParked");
    assert_eq!(parked["namespace"], "Crowdfund");
}

/// The anomaly band and the composites: the band alarm compares approvals with their band;
/// "payments stalled" needs no approval AND arriving attempts; the parts do not notify.
#[test]
fn alarms_that_know_normal() {
    let generated = alarms::alarms(&target());
    let named = |n: &str| {
        generated
            .iter()
            .find(|a| a["alarmName"] == format!("crowdfund-prod-{n}"))
            .unwrap_or_else(|| panic!("no alarm {n}"))
    };
    let band = named("approvals-below-normal");
    assert_eq!(band["thresholdMetricId"], "band");
    assert_eq!(band["comparisonOperator"], "LessThanLowerThreshold");
    assert_eq!(
        band["metrics"][0]["metricStat"]["metric"]["metricName"],
        "PaymentsApproved"
    );
    assert_eq!(
        band["metrics"][0]["metricStat"]["metric"]["dimensions"],
        json!([])
    );
    assert_eq!(
        band["metrics"][1]["expression"],
        "ANOMALY_DETECTION_BAND(m, 2)"
    );
    for part in [
        "approvals-below-normal",
        "broker-requests-below-normal",
        "approvals-zero",
        "payment-attempts-arriving",
    ] {
        assert_eq!(named(part)["actionsEnabled"], false, "{part} notifies");
    }
    let composites = alarms::composite_alarms(&target());
    let stalled = composites
        .iter()
        .find(|c| c["alarmName"] == "crowdfund-prod-payments-stalled")
        .unwrap();
    assert_eq!(
        stalled["alarmRule"],
        "ALARM(\"crowdfund-prod-approvals-zero\") AND ALARM(\"crowdfund-prod-payment-attempts-arriving\")"
    );
    let dlq = named("etc_dlq-faults-arriving");
    assert_eq!(
        dlq["metrics"][2]["expression"],
        "FILL(sent, 0) - FILL(declined, 0)"
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
    let math = json!([{"alarmName": "b", "evaluationPeriods": 1, "comparisonOperator": "GreaterThanThreshold", "threshold": 1,
        "metrics": [{"id": "x", "expression": "1", "returnData": true}, {"id": "y", "expression": "2", "returnData": true}]}]);
    let problems = validate::alarms(&math).unwrap_err().join("\n");
    assert!(
        problems.contains("exactly one query returning data"),
        "{problems}"
    );
    let composite = [json!({"alarmName": "c", "alarmRule": "ALARM(\"gone\")"})];
    let problems = validate::composite_alarms(&composite, &[])
        .unwrap_err()
        .join("\n");
    assert!(problems.contains("names gone"), "{problems}");
}

#[test]
fn generate_writes_four_files() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_all(dir.path(), &target(), &projects()).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "ops.json",
            "stakeholders.json",
            "alarms.json",
            "composite-alarms.json"
        ]
    );
    let ops: Value = serde_json::from_str(&std::fs::read_to_string(&written[0]).unwrap()).unwrap();
    assert!(
        ops["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w.get("properties").is_some())
    );
}

/// One progress row per project, titled with it, its figures by the dashboard's own metric
/// math over one datapoint: half the goal raised, a week's pace of 100,000 a day.
#[test]
fn a_progress_row_per_project_with_its_figures() {
    let dashboard = stakeholders_dashboard();
    let rows: Vec<&Value> = dashboard["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["properties"]["setPeriodToTimeRange"] == true)
        .collect();
    let titles: Vec<&str> = rows
        .iter()
        .map(|w| w["properties"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Rooftop garden (prj-garden)", "Community radio (prj-radio)"]
    );
    let week = 7 * 86_400;
    let now = 1_800_000_000 - 10 * 86_400;
    let figures = metric_math::single_value(
        rows[0],
        metric_math::Range {
            start: now - week,
            period: week,
        },
        |m| {
            assert_eq!(
                m.dimensions,
                [("ProjectId".to_string(), "prj-garden".to_string())]
            );
            match (m.metric.as_str(), m.stat.as_str()) {
                ("ProjectRaisedEver", "Maximum") => Some(540_000.0),
                ("ProjectReversed", "Maximum") => Some(40_000.0),
                ("ProjectGoal", "Maximum") => Some(1_000_000.0),
                ("ProjectPledges", "Maximum") => Some(13.0),
                ("ProjectReversals", "Maximum") => Some(1.0),
                ("AmountRaised", "Sum") => Some(750_000.0),
                ("AmountRefunded", "Sum") => Some(50_000.0),
                ("AmountDeclined", "Sum") => Some(30_000.0),
                other => panic!("unexpected metric {other:?}"),
            }
        },
    )
    .unwrap();
    let figure = |label: &str| {
        figures
            .iter()
            .find(|(l, _)| l == label)
            .unwrap_or_else(|| panic!("no {label} in {figures:?}"))
            .1
    };
    assert_eq!(figure(stakeholders::PERCENT_OF_GOAL), Some(50.0));
    assert_eq!(figure(stakeholders::RAISED), Some(500_000.0));
    assert_eq!(figure(stakeholders::GOAL), Some(1_000_000.0));
    assert_eq!(figure(stakeholders::BACKERS), Some(12.0));
    assert_eq!(figure(stakeholders::DAYS_LEFT), Some(10.0));
    assert_eq!(figure(stakeholders::DAYS_TO_GOAL), Some(5.0));
    assert_eq!(figure(stakeholders::APPROVED), Some(750_000.0));
    assert_eq!(figure(stakeholders::DECLINED), Some(30_000.0));
    assert_eq!(figure(stakeholders::REFUNDED), Some(50_000.0));
}

#[test]
fn snapshots() {
    insta::assert_json_snapshot!("ops", ops::dashboard(&target()));
    insta::assert_json_snapshot!("stakeholders", stakeholders_dashboard());
    insta::assert_json_snapshot!("alarms", alarms::alarms(&target()));
    insta::assert_json_snapshot!("composite_alarms", alarms::composite_alarms(&target()));
}

/// The keys terraform's monitoring module reads in the part of main.tf from `from` to `to`:
/// required (`a.KEY` in the map, `{prefix}KEY`) and optional (`lookup({lookup}, "KEY", ...)`).
fn keys_terraform_reads(
    from: &str,
    to: &str,
    prefix: &str,
    lookup: &str,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../terraform/modules/monitoring/main.tf"
    );
    let tf = std::fs::read_to_string(path).unwrap();
    let start = tf
        .find(from)
        .unwrap_or_else(|| panic!("{from} not in main.tf"));
    let end = tf[start..].find(to).map_or(tf.len(), |e| start + e);
    let tf = &tf[start..end];
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
    let required = key_after(prefix);
    (required, key_after(&format!("lookup({lookup}, \"")))
}

fn assert_terraform_reads(
    what: &str,
    generated: &Value,
    (required, optional): &(BTreeSet<String>, BTreeSet<String>),
) {
    let keys: BTreeSet<String> = generated.as_object().unwrap().keys().cloned().collect();
    let unread: Vec<&String> = keys
        .iter()
        .filter(|k| !required.contains(*k) && !optional.contains(*k))
        .collect();
    assert!(unread.is_empty(), "{what}: terraform ignores {unread:?}");
    let missing: Vec<&String> = required.difference(&keys).collect();
    assert!(missing.is_empty(), "{what}: terraform needs {missing:?}");
}

/// Generator and terraform agree: every key of every generated alarm, of each metric-math
/// query and of each composite is one the monitoring module reads (a key it does not read
/// would be dropped silently on apply), and every key it requires is there.
#[test]
fn terraform_reads_every_generated_alarm_field() {
    let metric_alarm = keys_terraform_reads(
        "resource \"aws_cloudwatch_metric_alarm\"",
        "content {",
        "each.value.",
        "each.value",
    );
    assert!(metric_alarm.0.contains("comparisonOperator"));
    assert!(metric_alarm.1.contains("treatMissingData") && metric_alarm.1.contains("metrics"));
    let query = keys_terraform_reads(
        "dynamic \"metric_query\"",
        "dynamic \"metric\"",
        "metric_query.value.",
        "metric_query.value",
    );
    let stat = keys_terraform_reads(
        "dynamic \"metric\"",
        "resource ",
        "metric.value.",
        "metric.value",
    );
    let inner = keys_terraform_reads(
        "dynamic \"metric\"",
        "resource ",
        "metric.value.metric.",
        "metric.value.metric",
    );
    let composite = keys_terraform_reads(
        "resource \"aws_cloudwatch_composite_alarm\"",
        "depends_on",
        "each.value.",
        "each.value",
    );
    for a in alarms::alarms(&target()) {
        let name = a["alarmName"].as_str().unwrap_or("?").to_string();
        let mut a = a.clone();
        // alarmName is the map key (`a.alarmName => a`), read as each.key.
        a.as_object_mut().unwrap().remove("alarmName");
        assert_terraform_reads(&name, &a, &metric_alarm);
        for q in a["metrics"].as_array().cloned().unwrap_or_default() {
            let mut q = q.clone();
            // metricStat is read through the nested dynamic block's for_each.
            let stat_json = q.as_object_mut().unwrap().remove("metricStat");
            assert_terraform_reads(&format!("{name} query"), &q, &query);
            if let Some(mut s) = stat_json {
                let metric = s.as_object_mut().unwrap().remove("metric").unwrap();
                let stat_keys = (
                    stat.0.iter().filter(|k| *k != "metric").cloned().collect(),
                    stat.1.clone(),
                );
                assert_terraform_reads(&format!("{name} metricStat"), &s, &stat_keys);
                assert_terraform_reads(&format!("{name} metricStat.metric"), &metric, &inner);
            }
        }
    }
    for c in alarms::composite_alarms(&target()) {
        let name = c["alarmName"].as_str().unwrap_or("?").to_string();
        let mut c = c.clone();
        c.as_object_mut().unwrap().remove("alarmName");
        assert_terraform_reads(&name, &c, &composite);
    }
}
