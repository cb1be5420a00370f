//! The on-call dashboard: where messages pile up, which function fails, whether the API and its
//! database keep up — with the runbook next to the graphs.

use crate::Target;
use crate::alarms::{
    AGE_OF_OLDEST_ALARM_SECONDS, DURATION_ALARM_PERCENT_OF_TIMEOUT, ERROR_RATE_ALARM_PERCENT,
    THROTTLE_RATE_ALARM_PERCENT, runbook_markdown,
};
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

/// A metric that feeds an expression and is not drawn itself.
fn hidden(namespace: &str, metric_name: &str, dims: &[(&str, &str)], id: &str) -> Value {
    metric(
        namespace,
        metric_name,
        dims,
        json!({"id": id, "visible": false}),
    )
}

/// Id-safe index: CloudWatch ids are `[a-z][a-zA-Z0-9_]*`.
fn id(prefix: &str, i: usize) -> String {
    format!("{prefix}{i}")
}

/// Per queue, visible ÷ (deleted − sent) × period, in minutes, drawn only while the queue
/// shrinks (the formula cdk-monitoring-constructs uses).
pub fn time_to_drain_rows() -> Vec<Value> {
    let mut rows = Vec::new();
    for (i, q) in topology::QUEUES.iter().enumerate() {
        let (v, s, d) = (id("v", i), id("s", i), id("d", i));
        let dims = [("QueueName", q.name)];
        let mut visible = hidden("AWS/SQS", "ApproximateNumberOfMessagesVisible", &dims, &v);
        visible[4]["stat"] = json!("Maximum");
        rows.push(visible);
        rows.push(hidden("AWS/SQS", "NumberOfMessagesSent", &dims, &s));
        rows.push(hidden("AWS/SQS", "NumberOfMessagesDeleted", &dims, &d));
        rows.push(expression(
            &id("drain", i),
            &format!("IF(FILL({d}, 0) > FILL({s}, 0), {v} / (FILL({d}, 0) - FILL({s}, 0)) * PERIOD({v}) / 60)"),
            q.name,
        ));
    }
    rows
}

/// Per function, `formula` over its `metric_name` ({x}) and Invocations ({i}), labelled with
/// the function.
pub fn function_rate_rows(prefix: &str, metric_name: &str, formula: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    for (n, f) in topology::FUNCTIONS.iter().enumerate() {
        let (x, i) = (id(&format!("{prefix}x"), n), id(&format!("{prefix}i"), n));
        let dims = [("FunctionName", f.name)];
        rows.push(hidden("AWS/Lambda", metric_name, &dims, &x));
        rows.push(hidden("AWS/Lambda", "Invocations", &dims, &i));
        rows.push(expression(
            &id(prefix, n),
            &formula.replace("{x}", &x).replace("{i}", &i),
            f.name,
        ));
    }
    rows
}

/// Per function, p99 duration as a % of its timeout (from the topology, which terraform's
/// timeouts are tested against).
fn duration_of_timeout_rows() -> Vec<Value> {
    let mut rows = Vec::new();
    for (n, f) in topology::FUNCTIONS.iter().enumerate() {
        let p = id("p", n);
        let mut duration = hidden("AWS/Lambda", "Duration", &[("FunctionName", f.name)], &p);
        duration[4]["stat"] = json!("p99");
        rows.push(duration);
        rows.push(expression(
            &id("pct", n),
            &format!("100 * {p} / {}", u64::from(f.timeout_seconds) * 1000),
            f.name,
        ));
    }
    rows
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

    // Time to drain and producer vs consumer, for every queue (cdk-monitoring-constructs'
    // SQS defaults).
    let mut drain = Graph::new(
        "Time to drain (minutes; blank while more arrive than leave)",
        "Sum",
        60,
    );
    drain.y_label = "minutes";
    w.push(metric_widget(
        &mut g,
        r,
        12,
        6,
        &drain,
        time_to_drain_rows(),
    ));
    let mut failure_age = Graph::new("etc_dlq and etc_parked: age of oldest (s)", "Maximum", 60);
    failure_age.y_label = "seconds";
    w.push(metric_widget(
        &mut g,
        r,
        12,
        6,
        &failure_age,
        queue_rows(
            "ApproximateAgeOfOldestMessage",
            [QUEUE_DLQ, QUEUE_PARKED].into_iter(),
        ),
    ));
    g.new_row();
    for q in topology::QUEUES {
        let title = format!("{}: in vs out per minute", q.name);
        w.push(metric_widget(
            &mut g,
            r,
            4,
            5,
            &Graph::new(&title, "Sum", 60),
            vec![
                metric(
                    "AWS/SQS",
                    "NumberOfMessagesSent",
                    &[("QueueName", q.name)],
                    json!({"label": "in (sent)"}),
                ),
                metric(
                    "AWS/SQS",
                    "NumberOfMessagesDeleted",
                    &[("QueueName", q.name)],
                    json!({"label": "out (deleted)"}),
                ),
            ],
        ));
    }
    g.new_row();

    // Lambdas: rates rather than counts, so a busy hour and a quiet one read the same.
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
    let error_line = [("alarm", ERROR_RATE_ALARM_PERCENT)];
    let mut errors = Graph::new("Lambda error rate (% of invocations)", "Sum", 60);
    errors.lines = &error_line;
    errors.y_label = "%";
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &errors,
        function_rate_rows("err", "Errors", "100 * FILL({x}, 0) / {i}"),
    ));
    let throttle_line = [("alarm", THROTTLE_RATE_ALARM_PERCENT)];
    let mut throttles = Graph::new("Lambda throttles (% of invocations)", "Sum", 60);
    throttles.lines = &throttle_line;
    throttles.y_label = "%";
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &throttles,
        function_rate_rows(
            "thr",
            "Throttles",
            "100 * FILL({x}, 0) / (FILL({i}, 0) + FILL({x}, 0))",
        ),
    ));
    let duration_line = [("alarm", f64::from(DURATION_ALARM_PERCENT_OF_TIMEOUT))];
    let mut duration = Graph::new("Lambda duration p99 (% of timeout)", "p99", 60);
    duration.lines = &duration_line;
    duration.y_label = "% of timeout";
    w.push(metric_widget(
        &mut g,
        r,
        8,
        6,
        &duration,
        duration_of_timeout_rows(),
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
