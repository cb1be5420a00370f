//! The on-call dashboard: where messages pile up, which function fails, whether the API and its
//! database keep up — with the runbook next to the graphs.

use crate::Target;
use crate::alarms::{AGE_OF_OLDEST_ALARM_SECONDS, runbook_markdown};
use crate::grid::Grid;
use crate::widgets::{Graph, expression, metric, metric_widget, text_widget};
use crowdfund_core::metrics::{DIM_FUNCTION, MetricName, NAMESPACE};
use crowdfund_core::topology::{self, QUEUE_DLQ, QUEUE_PARKED, TABLE_PAYMENTS};
use serde_json::{Value, json};

/// The three services crowdfund-api runs as on ECS (one image, `--role`).
pub const API_ROLES: [&str; 3] = ["funding", "funding-rw", "payment"];

fn queue_rows(metric_name: &str, queues: impl Iterator<Item = &'static str>) -> Vec<Value> {
    queues
        .map(|q| {
            metric(
                "AWS/SQS",
                metric_name,
                &[("QueueName", q)],
                json!({"label": q}),
            )
        })
        .collect()
}

fn function_rows(namespace: &str, metric_name: &str, dim: &str, options: Value) -> Vec<Value> {
    topology::FUNCTIONS
        .iter()
        .map(|f| {
            let mut o = options.clone();
            o["label"] = json!(f.name);
            metric(namespace, metric_name, &[(dim, f.name)], o)
        })
        .collect()
}

pub fn dashboard(t: &Target) -> Value {
    let r = t.region.as_str();
    let stack = t.stack();
    let mut g = Grid::default();
    let mut w = Vec::new();

    w.push(text_widget(&mut g, 24, 7, &runbook_markdown(t)));
    g.new_row();

    // Queues.
    let work = || {
        topology::QUEUES
            .iter()
            .map(|q| q.name)
            .filter(|q| !topology::is_failure_queue(q))
    };
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &Graph::new("Messages visible per queue", "Maximum", 60),
        queue_rows("ApproximateNumberOfMessagesVisible", work()),
    ));
    let age_line = [("stuck", AGE_OF_OLDEST_ALARM_SECONDS as f64)];
    let mut age = Graph::new("Age of oldest message (s)", "Maximum", 60);
    age.lines = &age_line;
    age.y_label = "seconds";
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &age,
        queue_rows(
            "ApproximateAgeOfOldestMessage",
            topology::QUEUES.iter().map(|q| q.name),
        ),
    ));
    let zero = [("alarm: any message", 0.0)];
    let mut failed = Graph::new("etc_dlq and etc_parked depth", "Maximum", 60);
    failed.lines = &zero;
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &failed,
        queue_rows(
            "ApproximateNumberOfMessagesVisible",
            [QUEUE_DLQ, QUEUE_PARKED].into_iter(),
        ),
    ));
    g.new_row();

    // Lambdas.
    let fns = |metric_name: &str, options: Value| {
        function_rows("AWS/Lambda", metric_name, "FunctionName", options)
    };
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &Graph::new("Lambda invocations", "Sum", 60),
        fns("Invocations", json!({})),
    ));
    let mut errors = Graph::new("Lambda errors", "Sum", 60);
    errors.lines = &zero;
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &errors,
        fns("Errors", json!({})),
    ));
    let mut throttles = Graph::new("Lambda throttles", "Sum", 60);
    throttles.lines = &zero;
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &throttles,
        fns("Throttles", json!({})),
    ));
    let mut duration = Graph::new("Lambda duration p99 (ms)", "p99", 60);
    duration.y_label = "ms";
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &duration,
        fns("Duration", json!({"stat": "p99"})),
    ));
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &Graph::new("Lambda concurrent executions", "Maximum", 60),
        fns("ConcurrentExecutions", json!({})),
    ));
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &Graph::new(
            "Messages failed per function (batch item failures)",
            "Sum",
            60,
        ),
        function_rows(
            NAMESPACE,
            MetricName::MessagesFailed.as_str(),
            DIM_FUNCTION,
            json!({}),
        ),
    ));
    g.new_row();

    // crowdfund-api on ECS Fargate.
    let services = |namespace: &str, metric_name: &str| -> Vec<Value> {
        API_ROLES
            .iter()
            .map(|role| {
                metric(
                    namespace,
                    metric_name,
                    &[("ClusterName", &stack), ("ServiceName", role)],
                    json!({"label": role}),
                )
            })
            .collect()
    };
    let mut cpu = Graph::new("ECS CPU utilization (%)", "Average", 60);
    cpu.y_label = "%";
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &cpu,
        services("AWS/ECS", "CPUUtilization"),
    ));
    let mut mem = Graph::new("ECS memory utilization (%)", "Average", 60);
    mem.y_label = "%";
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &mem,
        services("AWS/ECS", "MemoryUtilization"),
    ));
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &Graph::new("ECS running tasks", "Average", 60),
        services("ECS/ContainerInsights", "RunningTaskCount"),
    ));

    // The ALB's dimension carries an id terraform only knows after apply, so search by name.
    let alb = |m: &str, stat: &str| {
        format!(
            "SEARCH('{{AWS/ApplicationELB,LoadBalancer}} MetricName=\"{m}\" LoadBalancer=\"app/{stack}/\"', '{stat}', 60)"
        )
    };
    w.push(metric_widget(
        &mut g,
        r,
        12,
        6,
        &Graph::new("ALB target 5xx", "Sum", 60),
        vec![expression(
            "alb5xx",
            &alb("HTTPCode_Target_5XX_Count", "Sum"),
            "5xx",
        )],
    ));
    let mut latency = Graph::new("ALB target response time p99 (s)", "p99", 60);
    latency.y_label = "seconds";
    w.push(metric_widget(
        &mut g,
        r,
        12,
        6,
        &latency,
        vec![expression(
            "albp99",
            &alb("TargetResponseTime", "p99"),
            "p99",
        )],
    ));
    g.new_row();

    // RDS primary and replica.
    let replica = format!("{stack}-replica");
    let dbs = |metric_name: &str| -> Vec<Value> {
        [stack.as_str(), replica.as_str()]
            .iter()
            .map(|db| {
                metric(
                    "AWS/RDS",
                    metric_name,
                    &[("DBInstanceIdentifier", db)],
                    json!({"label": db}),
                )
            })
            .collect()
    };
    let mut rds_cpu = Graph::new("RDS CPU utilization (%)", "Average", 60);
    rds_cpu.y_label = "%";
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &rds_cpu,
        dbs("CPUUtilization"),
    ));
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &Graph::new("RDS connections", "Maximum", 60),
        dbs("DatabaseConnections"),
    ));
    let mut lag = Graph::new("RDS replica lag (s)", "Maximum", 60);
    lag.y_label = "seconds";
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &lag,
        vec![metric(
            "AWS/RDS",
            "ReplicaLag",
            &[("DBInstanceIdentifier", &replica)],
            json!({"label": replica}),
        )],
    ));
    g.new_row();

    // DynamoDB ledger.
    let table = |m: &str| {
        metric(
            "AWS/DynamoDB",
            m,
            &[("TableName", TABLE_PAYMENTS)],
            json!({"label": m}),
        )
    };
    w.push(metric_widget(
        &mut g,
        r,
        12,
        6,
        &Graph::new("DynamoDB payments: throttled events", "Sum", 60),
        vec![table("ReadThrottleEvents"), table("WriteThrottleEvents")],
    ));
    w.push(metric_widget(
        &mut g,
        r,
        12,
        6,
        &Graph::new("DynamoDB payments: consumed capacity", "Sum", 60),
        vec![
            table("ConsumedReadCapacityUnits"),
            table("ConsumedWriteCapacityUnits"),
        ],
    ));
    g.new_row();

    // API Gateway in front of the broker.
    let api = format!("{stack}-broker");
    let gw = |m: &str, options: Value| metric("AWS/ApiGateway", m, &[("ApiName", &api)], options);
    w.push(metric_widget(
        &mut g,
        r,
        12,
        6,
        &Graph::new("API Gateway /broker 4xx and 5xx", "Sum", 60),
        vec![
            gw("4XXError", json!({"label": "4xx"})),
            gw("5XXError", json!({"label": "5xx", "color": "#d62728"})),
        ],
    ));
    let mut api_latency = Graph::new("API Gateway /broker latency p99 (ms)", "p99", 60);
    api_latency.y_label = "ms";
    w.push(metric_widget(
        &mut g,
        r,
        12,
        6,
        &api_latency,
        vec![gw("Latency", json!({"label": "p99", "stat": "p99"}))],
    ));

    json!({"start": "-PT3H", "periodOverride": "inherit", "widgets": w})
}
