//! `dashboards deploy` and `dashboards report --source cloudwatch` against moto server.

use super::{SUITE, console};
use crowdfund_core::domain::Project;
use crowdfund_core::metrics::MetricEvent;
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::ports::{DashboardStore, Metrics, SystemClock};
use crowdfund_core::sim::{SimWorld, WorldConfig};
use crowdfund_core::topology::{QUEUE_DLQ, QUEUE_PAYMENT_ATTEMPT};
use crowdfund_dashboards::report::{CHARTS, Format, write_report};
use crowdfund_dashboards::source::cloudwatch_history;
use crowdfund_dashboards::{Target, generate};
use crowdfund_handlers::aws::AwsClients;
use crowdfund_handlers::aws::cloudwatch::{CloudWatch, CloudWatchMetrics, Datum};
use crowdfund_testkit::{
    ProvisionedMoto, endpoint_settings, moto_url, provisioned_moto, reset_moto,
};
use serde_json::Value;
use std::sync::Arc;

async fn cloudwatch(moto: &str) -> CloudWatch {
    let clients = AwsClients::load(&endpoint_settings(moto)).await.unwrap();
    CloudWatch::new(clients.cloudwatch)
}

fn deploy(moto: &str, state: &std::path::Path, api: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "--region",
        "us-east-1",
        "--api-url",
        api,
        "dashboards",
        "deploy",
        "--json",
    ];
    args.extend_from_slice(extra);
    console(moto, state, &args)
}

fn count(diff: &Value, change: &str) -> usize {
    diff["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["change"] == change)
        .count()
}

/// The funding API's project list, served for the stakeholder dashboard's rows.
async fn project_list(projects: &[Project]) -> String {
    super::serve_project_list(serde_json::to_value(projects).unwrap()).await
}

fn demo_projects() -> Vec<Project> {
    vec![Project {
        id: "prj-pens".into(),
        title: "Fountain pens".into(),
        goal: 1_000_000,
        currency: Currency::KRW,
        raised: 250_000,
        backers: 5,
        deadline: chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
        goal_achieved_at: None,
    }]
}

/// A dry run changes nothing; a deploy puts both dashboards (the stakeholders' with a progress
/// row per listed project) and every metric alarm, the anomaly band among them, and
/// GetDashboard then returns what was generated; moto answers PutCompositeAlarm with HTTP 500,
/// so the composites are reported as skipped; a second deploy puts nothing; a changed alarm is
/// found with the changed field named and put back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_puts_dashboards_and_alarms_once() {
    let Some(moto) = moto_url() else { return };
    let _suite = SUITE.lock().await;
    reset_moto(&moto).await;
    let cw = cloudwatch(&moto).await;
    let target = Target::new("us-east-1", "dev");
    let projects = demo_projects();
    let api = project_list(&projects).await;
    let generated = generate(&target, &projects).unwrap();
    let alarm_count = generated.alarms.len();
    let composite_count = generated.composite_alarms.len();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("world.json");

    let dry = deploy(&moto, &state, &api, &["--dry-run"]);
    assert_eq!(dry["put"], 0);
    for d in dry["plan"]["dashboards"].as_array().unwrap() {
        assert_eq!(d["diff"]["deployed"], false, "{}", d["name"]);
    }
    assert_eq!(
        count(&dry["plan"]["alarms"], "added"),
        alarm_count + composite_count
    );
    for (name, _) in generated.dashboards(&target) {
        assert_eq!(cw.get_dashboard(&name).await.unwrap(), None, "{name}");
    }
    assert!(
        cw.describe_alarms("crowdfund-dev-")
            .await
            .unwrap()
            .is_empty()
    );

    let first = deploy(&moto, &state, &api, &[]);
    assert_eq!(first["put"], 2 + alarm_count, "{first}");
    let warnings: Vec<&str> = first["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(warnings.len(), composite_count, "{warnings:?}");
    for c in &generated.composite_alarms {
        let name = c["alarmName"].as_str().unwrap();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(name) && w.contains("skipped") && w.contains("moto")),
            "{name} not reported as skipped: {warnings:?}"
        );
    }
    for (name, body) in generated.dashboards(&target) {
        let deployed = cw.get_dashboard(&name).await.unwrap().unwrap();
        let deployed: Value = serde_json::from_str(&deployed).unwrap();
        assert_eq!(&deployed, body, "{name}");
    }
    let stakeholders = cw
        .get_dashboard(&target.dashboard_name("stakeholders"))
        .await
        .unwrap()
        .unwrap();
    assert!(stakeholders.contains("Fountain pens (prj-pens)"));
    let deployed = cw.describe_alarms("crowdfund-dev-").await.unwrap();
    let mut names: Vec<String> = deployed
        .iter()
        .map(|a| a["alarmName"].as_str().unwrap().to_string())
        .collect();
    let mut expected: Vec<String> = generated
        .alarms
        .iter()
        .map(|a| a["alarmName"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    expected.sort();
    assert_eq!(names, expected);
    let band = deployed
        .iter()
        .find(|a| a["alarmName"] == "crowdfund-dev-approvals-below-normal")
        .unwrap();
    assert_eq!(band["thresholdMetricId"], "band");
    assert_eq!(band["comparisonOperator"], "LessThanLowerThreshold");
    assert_eq!(
        band["metrics"][1]["expression"],
        "ANOMALY_DETECTION_BAND(m, 2)"
    );

    // What moto keeps reads back as generated: nothing to put but the composites it refuses.
    let second = deploy(&moto, &state, &api, &[]);
    assert_eq!(second["put"], 0, "{second}");
    for d in second["plan"]["dashboards"].as_array().unwrap() {
        assert!(d["diff"]["items"].as_array().unwrap().is_empty(), "{d}");
    }
    assert_eq!(second["plan"]["alarms"]["unchanged"], alarm_count);
    assert_eq!(count(&second["plan"]["alarms"], "added"), composite_count);

    // Someone raises a threshold by hand: the deploy names the field and puts it back.
    let mut edited = generated.alarms[0].clone();
    edited["threshold"] = serde_json::json!(7.0);
    cw.put_metric_alarm(&edited).await.unwrap();
    let third = deploy(&moto, &state, &api, &[]);
    let changed: Vec<&Value> = third["plan"]["alarms"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["change"] != "added")
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["key"], edited["alarmName"]);
    assert_eq!(changed[0]["fields"], serde_json::json!(["threshold"]));
    assert_eq!(third["put"], 1);
}

/// An `application/x-www-form-urlencoded` body as (key, value) pairs.
fn parse_form(body: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// PutCompositeAlarm, which moto does not implement, against a local stand-in of that one call
/// (CloudWatch's query protocol): each generated composite arrives with its name, its rule
/// over the generated alarms, its description with the console link, and the alarm topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn composite_alarms_are_put_as_cloudwatch_takes_them() {
    use std::sync::{Arc as SyncArc, Mutex};
    /// Each request's form fields, in arrival order.
    type Received = SyncArc<Mutex<Vec<Vec<(String, String)>>>>;
    let received: Received = SyncArc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |body: String| {
            let sink = sink.clone();
            async move {
                let form = parse_form(&body);
                let action = form
                    .iter()
                    .find(|(k, _)| k == "Action")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                sink.lock().unwrap().push(form);
                if action == "PutCompositeAlarm" {
                    (
                        axum::http::StatusCode::OK,
                        "<PutCompositeAlarmResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></PutCompositeAlarmResponse>",
                    )
                } else {
                    (axum::http::StatusCode::BAD_REQUEST, "only PutCompositeAlarm here")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let cw = cloudwatch(&format!("http://{addr}")).await;
    let target = Target::new("us-east-1", "prod");
    let generated = generate(&target, &[]).unwrap();
    let topic = "arn:aws:sns:us-east-1:123456789012:crowdfund-prod-alarms";
    for c in &generated.composite_alarms {
        let mut c = c.clone();
        c["alarmActions"] = serde_json::json!([topic]);
        cw.put_composite_alarm(&c).await.unwrap();
    }
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), generated.composite_alarms.len());
    let alarm_names: Vec<&str> = generated
        .alarms
        .iter()
        .filter_map(|a| a["alarmName"].as_str())
        .collect();
    for (form, c) in received.iter().zip(&generated.composite_alarms) {
        let field = |k: &str| {
            form.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("no {k} in {form:?}"))
        };
        assert_eq!(field("Action"), "PutCompositeAlarm");
        assert_eq!(field("AlarmName"), c["alarmName"].as_str().unwrap());
        assert_eq!(field("AlarmRule"), c["alarmRule"].as_str().unwrap());
        assert_eq!(field("AlarmActions.member.1"), topic);
        assert!(field("AlarmDescription").contains("crowdfund-console --aws --open"));
        for part in field("AlarmRule").split("ALARM(\"").skip(1) {
            let part = part.split('"').next().unwrap();
            assert!(
                alarm_names.contains(&part),
                "{part} is not a generated alarm"
            );
        }
    }
}

/// Metrics recorded through the Metrics port and flushed with PutMetricData come back through
/// GetMetricData as the report's series, and the three charts are drawn from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_from_cloudwatch_draws_the_charts() {
    let Some(moto) = moto_url() else { return };
    let _suite = SUITE.lock().await;
    reset_moto(&moto).await;
    let cw = cloudwatch(&moto).await;
    let metrics = CloudWatchMetrics::new(cw.clone(), Arc::new(SystemClock));
    let krw = |n| Money::new(n, Currency::KRW);
    for i in 0..5 {
        let project_id = if i % 2 == 0 { "prj-a" } else { "prj-b" };
        metrics.record(MetricEvent::PaymentApproved {
            project_id: project_id.into(),
            amount: krw(10_000),
        });
    }
    metrics.record(MetricEvent::PaymentDeclined {
        project_id: "prj-a".into(),
        amount: krw(20_000),
    });
    // Two datums a payment: its count and its amount.
    assert_eq!(metrics.pending(), 12);
    assert_eq!(metrics.flush().await.unwrap(), 12);
    assert_eq!(metrics.pending(), 0);
    // SQS publishes queue depth itself on AWS; moto does not, so the test puts what it would.
    let now = chrono::Utc::now().timestamp();
    let depth = [(QUEUE_DLQ, 2.0), (QUEUE_PAYMENT_ATTEMPT, 9.0)].map(|(q, v)| Datum {
        metric: "ApproximateNumberOfMessagesVisible".into(),
        dimensions: vec![("QueueName".into(), q.into())],
        value: v,
        unit: "Count".into(),
        at: now - 60,
    });
    cw.put_metric_data("AWS/SQS", &depth).await.unwrap();

    let world = SimWorld::new(1, WorldConfig::default());
    for id in ["prj-a", "prj-b"] {
        world.create_project(id, id, krw(100_000), chrono::Utc::now());
    }
    let history = cloudwatch_history(
        &cw,
        &world,
        now + 60,
        std::time::Duration::from_secs(3600),
        &moto,
    )
    .await
    .unwrap();
    let approved: u64 = history.throughput.iter().map(|p| p.approved).sum();
    let declined: u64 = history.throughput.iter().map(|p| p.declined).sum();
    assert_eq!((approved, declined), (5, 1));
    let dlq_max = history
        .depths
        .iter()
        .filter_map(|(_, d)| d.get(QUEUE_DLQ).copied())
        .max();
    assert_eq!(dlq_max, Some(2));

    let out = tempfile::tempdir().unwrap();
    let written = write_report(out.path(), &history, Format::Png).unwrap();
    assert_eq!(written.len(), CHARTS.len());
    for p in written {
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            bytes.len() > 10_000 && &bytes[1..4] == b"PNG",
            "{}",
            p.display()
        );
    }
}

/// The console's Lambda health, oldest-message ages and throughput on `--aws` come from the same
/// CloudWatch metrics the dashboards draw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_overlay_reads_lambda_health_and_ages_from_cloudwatch() {
    use crowdfund_console::app::snapshot::collect;
    use crowdfund_core::topology::{FN_PG, QUEUE_PARKED};

    let Some(moto) = moto_url() else { return };
    let _suite = SUITE.lock().await;
    let ProvisionedMoto {
        settings, clients, ..
    } = provisioned_moto(&moto).await;
    let cw = CloudWatch::new(clients.cloudwatch.clone());
    let now = chrono::Utc::now().timestamp();
    let datum = |metric: &str, dim: (&str, &str), value: f64, unit: &str| Datum {
        metric: metric.into(),
        dimensions: vec![(dim.0.into(), dim.1.into())],
        value,
        unit: unit.into(),
        at: now - 30,
    };
    let pg = ("FunctionName", FN_PG);
    cw.put_metric_data(
        "AWS/Lambda",
        &[
            datum("Invocations", pg, 12.0, "Count"),
            datum("Errors", pg, 2.0, "Count"),
            datum("Throttles", pg, 1.0, "Count"),
        ],
    )
    .await
    .unwrap();
    cw.put_metric_data(
        "AWS/SQS",
        &[datum(
            "ApproximateAgeOfOldestMessage",
            ("QueueName", QUEUE_PARKED),
            420.0,
            "Seconds",
        )],
    )
    .await
    .unwrap();
    let metrics = CloudWatchMetrics::new(
        CloudWatch::new(clients.cloudwatch.clone()),
        Arc::new(SystemClock),
    );
    for _ in 0..3 {
        metrics.record(MetricEvent::PaymentApproved {
            project_id: "prj-a".into(),
            amount: Money::new(1_000, Currency::KRW),
        });
    }
    metrics.flush().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let target = crowdfund_console::aws::AwsTarget {
        settings,
        ..Default::default()
    };
    let b = crowdfund_console::aws::backend(&target, dir.path())
        .await
        .unwrap();
    // The backend carries the CloudWatch metrics port.
    let port = b
        .metrics
        .as_ref()
        .expect("the AWS backend has a metrics port");
    let mut snapshot = collect(&b, QUEUE_PARKED, chrono::Utc::now()).await.unwrap();
    let read = port
        .pipeline(&mut snapshot.status.queues, now)
        .await
        .unwrap();
    snapshot.functions = read.functions;
    snapshot.throughput = read.throughput;

    let f = snapshot.functions.iter().find(|f| f.name == FN_PG).unwrap();
    assert_eq!((f.invocations, f.errors, f.throttles), (12, 2, 1));
    let parked = snapshot
        .status
        .queues
        .iter()
        .find(|q| q.name == QUEUE_PARKED)
        .unwrap();
    assert_eq!(parked.oldest_age_seconds, 420);
    // `status` on AWS fills the same ages.
    let mut queues = collect(&b, QUEUE_PARKED, chrono::Utc::now())
        .await
        .unwrap()
        .status
        .queues;
    port.queue_ages(&mut queues, now).await.unwrap();
    let parked = queues.iter().find(|q| q.name == QUEUE_PARKED).unwrap();
    assert_eq!(parked.oldest_age_seconds, 420);
    assert_eq!(
        snapshot.throughput.iter().map(|p| p.approved).sum::<u64>(),
        3
    );
}
