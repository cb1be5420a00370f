//! [`Metrics`] as CloudWatch Embedded Metric Format: one JSON line per metric event on stdout,
//! which Lambda ships to CloudWatch Logs, where the metrics are extracted. No API call, no
//! extra permission, nothing to flush.
//!
//! A line, as the EMF specification has it:
//! ```json
//! {"_aws":{"Timestamp":1795651200000,"CloudWatchMetrics":[{"Namespace":"Crowdfund",
//!   "Dimensions":[["ProjectId"],[]],"Metrics":[{"Name":"PaymentsApproved","Unit":"Count"},
//!   {"Name":"AmountRaised","Unit":"None"}]}]},
//!  "ProjectId":"prj-1","PaymentsApproved":1,"AmountRaised":50000}
//! ```
//! Points of one event that share a dimension go on one line; a point without a dimension gets
//! the empty dimension set `[[]]` (a metric with no dimensions). The payment counts (approved,
//! declined, cancelled, with their amounts) are published per project and, through the second
//! set `[]`, as one series over all projects: an alarm cannot SEARCH across projects, so it
//! needs that aggregate. Names, units and dimensions come from `crowdfund_core::metrics`, the
//! same ones the dashboards query.

use crowdfund_core::metrics::{MetricEvent, MetricName};
use crowdfund_core::ports::{Clock, Metrics};
use serde_json::{Map, Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Writes EMF lines for every recorded event.
pub struct EmfMetrics {
    namespace: String,
    clock: Arc<dyn Clock>,
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for EmfMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmfMetrics")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl EmfMetrics {
    /// EMF lines on stdout, where Lambda picks them up.
    pub fn stdout(namespace: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        EmfMetrics::new(namespace, clock, Box::new(std::io::stdout()))
    }

    pub fn new(
        namespace: impl Into<String>,
        clock: Arc<dyn Clock>,
        out: Box<dyn Write + Send>,
    ) -> Self {
        EmfMetrics {
            namespace: namespace.into(),
            clock,
            out: Mutex::new(out),
        }
    }
}

impl Metrics for EmfMetrics {
    fn record(&self, event: MetricEvent) {
        let timestamp_ms = self.clock.now().timestamp_millis();
        let Ok(mut out) = self.out.lock() else {
            return;
        };
        for line in emf_lines(&self.namespace, timestamp_ms, &event) {
            // One write per line, so a log line written at the same time cannot split it.
            // A metric that cannot be written is dropped: counting must never fail a payment.
            let _ = out.write_all(format!("{line}\n").as_bytes());
        }
        let _ = out.flush();
    }
}

/// Whether the event's per-project documents also publish the aggregate with no dimensions.
fn also_aggregate(event: &MetricEvent) -> bool {
    matches!(
        event,
        MetricEvent::PaymentApproved { .. }
            | MetricEvent::PaymentDeclined { .. }
            | MetricEvent::PaymentCancelled { .. }
    )
}

/// The EMF documents for one event: one per dimension the event's points use.
pub fn emf_lines(namespace: &str, timestamp_ms: i64, event: &MetricEvent) -> Vec<Value> {
    // (dimension, [(metric, values)]) in the order the event lists its points.
    type Group<'a> = (Option<(&'static str, &'a str)>, Vec<(MetricName, Vec<i64>)>);
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (name, value, dimension) in event.points() {
        let group = match groups.iter_mut().position(|(d, _)| *d == dimension) {
            Some(i) => &mut groups[i].1,
            None => {
                groups.push((dimension, Vec::new()));
                let last = groups.len() - 1;
                &mut groups[last].1
            }
        };
        match group.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => group.push((name, vec![value])),
        }
    }
    let aggregate = also_aggregate(event);
    groups
        .into_iter()
        .map(|(dimension, metrics)| {
            document(namespace, timestamp_ms, dimension, aggregate, &metrics)
        })
        .collect()
}

/// One EMF document; with `aggregate`, a document with a dimension also publishes its metrics
/// without it (the dimension sets `[[dimension], []]`).
fn document(
    namespace: &str,
    timestamp_ms: i64,
    dimension: Option<(&'static str, &str)>,
    aggregate: bool,
    metrics: &[(MetricName, Vec<i64>)],
) -> Value {
    let dimension_set: Vec<&str> = dimension.iter().map(|(name, _)| *name).collect();
    let mut dimension_sets = vec![dimension_set];
    if aggregate && dimension.is_some() {
        dimension_sets.push(Vec::new());
    }
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, _)| json!({"Name": name.as_str(), "Unit": name.unit()}))
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": dimension_sets,
                "Metrics": definitions,
            }],
        }),
    );
    if let Some((name, value)) = dimension {
        root.insert(name.into(), Value::from(value));
    }
    for (name, values) in metrics {
        // The specification allows an array of values for a metric that occurs more than once.
        let value = match values.as_slice() {
            [one] => Value::from(*one),
            many => Value::from(many.to_vec()),
        };
        root.insert(name.as_str().into(), value);
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;
    use crowdfund_core::metrics::NAMESPACE;
    use crowdfund_core::money::{Currency, Money};

    struct FixedClock(chrono::DateTime<chrono::Utc>);
    impl Clock for FixedClock {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            self.0
        }
    }

    /// A `Write` the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn recorded(events: Vec<MetricEvent>) -> String {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 26, 0, 0, 0)
            .single()
            .unwrap();
        let out = Captured::default();
        let metrics = EmfMetrics::new(NAMESPACE, Arc::new(FixedClock(at)), Box::new(out.clone()));
        for e in events {
            metrics.record(e);
        }
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    /// An approved payment is one line: the namespace, the project dimension and the aggregate
    /// (no dimensions), both metrics with their units, the values at the root, and the clock's
    /// time in epoch milliseconds.
    #[test]
    fn approved_payment_is_one_emf_line_by_project_and_in_aggregate() {
        let text = recorded(vec![MetricEvent::PaymentApproved {
            project_id: "prj-1".into(),
            amount: Money::new(50_000, Currency::KRW),
        }]);
        assert_eq!(
            text,
            concat!(
                r#"{"_aws":{"Timestamp":1795651200000,"CloudWatchMetrics":[{"Namespace":"Crowdfund","#,
                r#""Dimensions":[["ProjectId"],[]],"Metrics":[{"Name":"PaymentsApproved","Unit":"Count"},"#,
                r#"{"Name":"AmountRaised","Unit":"None"}]}]},"ProjectId":"prj-1","PaymentsApproved":1,"#,
                r#""AmountRaised":50000}"#,
                "\n"
            )
        );
    }

    /// Every line meets the specification's rules: `_aws` with an integer Timestamp and
    /// MetricDirectives; every dimension key and metric name is a root member (dimensions
    /// strings, metrics numbers); at most 30 keys per set; units from CloudWatch's list.
    #[test]
    fn every_event_meets_the_emf_specification() {
        let events = vec![
            MetricEvent::PaymentApproved {
                project_id: "prj-1".into(),
                amount: Money::new(1, Currency::KRW),
            },
            MetricEvent::PaymentDeclined {
                project_id: "prj-2".into(),
                amount: Money::new(3, Currency::KRW),
            },
            MetricEvent::PaymentCancelled {
                project_id: "prj-3".into(),
                amount: Money::new(7, Currency::KRW),
            },
            MetricEvent::MessageParked {
                queue: "etc_dlq".into(),
                declined: false,
            },
            MetricEvent::AlertSent,
            MetricEvent::Batch {
                function: "pg",
                processed: 9,
                failed: 1,
                duration_micros: 5,
            },
            MetricEvent::MessageParked {
                queue: "payment_attempt_queue".into(),
                declined: true,
            },
            MetricEvent::FundingApplied {
                project_id: "prj-4".into(),
                levels: crowdfund_core::domain::ProjectLevels {
                    goal: 100_000,
                    raised: 70_000,
                    backers: 3,
                    reversed: 5_000,
                    reversals: 1,
                },
            },
            MetricEvent::GoalAchieved {
                project_id: "prj-4".into(),
            },
        ];
        let text = recorded(events.clone());
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), events.len(), "one line per event: {text}");
        for line in &lines {
            let aws = &line["_aws"];
            assert_eq!(aws["Timestamp"].as_i64(), Some(1_795_651_200_000));
            let directives = aws["CloudWatchMetrics"].as_array().unwrap();
            assert_eq!(directives.len(), 1);
            let d = &directives[0];
            assert_eq!(d["Namespace"], NAMESPACE);
            let sets = d["Dimensions"].as_array().unwrap();
            assert!(!sets.is_empty());
            for set in sets {
                let keys = set.as_array().unwrap();
                assert!(keys.len() <= 30);
                for k in keys {
                    assert!(line[k.as_str().unwrap()].is_string(), "{line}");
                }
            }
            let defs = d["Metrics"].as_array().unwrap();
            assert!(!defs.is_empty() && defs.len() <= 100);
            for def in defs {
                let name = def["Name"].as_str().unwrap();
                assert!(line[name].is_i64(), "{line}");
                assert!(["Count", "None"].contains(&def["Unit"].as_str().unwrap()));
            }
        }
        // Metrics without a dimension carry the empty dimension set.
        assert_eq!(
            lines[3]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert_eq!(lines[3]["MessagesParked"], 1);
        assert_eq!(lines[5]["FunctionName"], "pg");
        assert_eq!(
            (&lines[5]["MessagesProcessed"], &lines[5]["MessagesFailed"]),
            (&json!(9), &json!(1))
        );
        // A parked decline is counted apart from the faults.
        assert_eq!(lines[6]["DeclinesParked"], 1);
        assert!(lines[6].get("MessagesParked").is_none(), "{}", lines[6]);
        // The progress gauges and the goal count, per project.
        assert_eq!(
            (
                &lines[7]["ProjectId"],
                &lines[7]["ProjectRaisedEver"],
                &lines[7]["ProjectReversed"],
                &lines[7]["ProjectGoal"],
                &lines[7]["ProjectPledges"],
                &lines[7]["ProjectReversals"]
            ),
            (
                &json!("prj-4"),
                &json!(75_000),
                &json!(5_000),
                &json!(100_000),
                &json!(4),
                &json!(1)
            )
        );
        assert_eq!(lines[8]["GoalsAchieved"], 1);
        assert_eq!(lines[1]["AmountDeclined"], 3);
    }

    /// The payment counts (and their amounts) are published per project and as one series
    /// with no dimensions, which alarms read; every other event keeps its one dimension set.
    #[test]
    fn payment_counts_also_publish_an_aggregate_without_dimensions() {
        let krw = |n| Money::new(n, Currency::KRW);
        let project = || "prj-1".to_string();
        let dimensions = |event: &MetricEvent| -> Vec<Value> {
            emf_lines(NAMESPACE, 0, event)
                .iter()
                .map(|d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"].clone())
                .collect()
        };
        let by_project_and_aggregate = json!([["ProjectId"], []]);
        for event in [
            MetricEvent::PaymentApproved {
                project_id: project(),
                amount: krw(1),
            },
            MetricEvent::PaymentDeclined {
                project_id: project(),
                amount: krw(1),
            },
            MetricEvent::PaymentCancelled {
                project_id: project(),
                amount: krw(1),
            },
        ] {
            assert_eq!(
                dimensions(&event),
                vec![by_project_and_aggregate.clone()],
                "{event:?}"
            );
        }
        let by_project = json!([["ProjectId"]]);
        assert_eq!(
            dimensions(&MetricEvent::FundingApplied {
                project_id: project(),
                levels: Default::default(),
            }),
            vec![by_project.clone()],
            "gauges of different projects must not add up"
        );
        assert_eq!(
            dimensions(&MetricEvent::GoalAchieved {
                project_id: project()
            }),
            vec![by_project]
        );
        assert_eq!(
            dimensions(&MetricEvent::MessageParked {
                queue: "etc_dlq".into(),
                declined: false,
            }),
            vec![json!([[]])]
        );
        assert_eq!(
            dimensions(&MetricEvent::Batch {
                function: "pg",
                processed: 1,
                failed: 0,
                duration_micros: 1,
            }),
            vec![json!([["FunctionName"]])]
        );
    }

    /// Points of one event under different dimensions become separate documents, and a metric
    /// that occurs twice under one dimension becomes an array of values.
    #[test]
    fn points_group_by_dimension() {
        let docs = emf_lines(NAMESPACE, 0, &MetricEvent::AlertSent);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["AlertsSent"], 1);
        let grouped = document(
            NAMESPACE,
            0,
            None,
            false,
            &[(MetricName::AlertsSent, vec![1, 2])],
        );
        assert_eq!(grouped["AlertsSent"], json!([1, 2]));
    }
}
