//! Alarms as PutMetricAlarm and PutCompositeAlarm requests in camelCase (the shape terraform's
//! monitoring module reads from `alarms.json` and `composite-alarms.json`), and the runbook
//! that says what each means and what to run. Terraform adds the environment's SNS alarm topic
//! to every alarm's actions.
//!
//! Beside the per-queue and per-function defaults (age of the oldest message, error rate,
//! throttle rate, duration near the timeout), three kinds know what normal is:
//! - an anomaly band on approvals per minute, alarmed through a composite only while broker
//!   requests are inside their own band (fewer approvals because fewer people pay is not an
//!   incident);
//! - "payments stalled": no approval for 5 minutes while payment attempts arrive;
//! - arrival rates on etc_dlq and etc_parked, which stay in alarm while faults keep coming and
//!   clear when they stop, where a depth > 0 alarm goes red once and says nothing more.
//!
//! Every description ends with the console command that opens the alarm's place
//! ([`crowdfund_core::console_view`]); the console reads it back to jump there.

use crate::Target;
use crowdfund_core::console_view::{self, link};
use crowdfund_core::metrics::{MetricName, NAMESPACE};
use crowdfund_core::topology::{self, QUEUE_DLQ, QUEUE_PARKED, QUEUE_PAYMENT_ATTEMPT};
use serde_json::{Value, json};

/// A work queue whose oldest message is older than this is stuck: five visibility timeouts
/// (the console's health view uses the same rule).
pub const AGE_OF_OLDEST_ALARM_SECONDS: u32 = 5 * topology::DEFAULT_VISIBILITY_TIMEOUT_SECONDS;
/// Whole-invocation failures above this share of invocations (5 minutes) page.
pub const ERROR_RATE_ALARM_PERCENT: f64 = 1.0;
/// Throttled invocations above this share page: messages wait while Lambda refuses.
pub const THROTTLE_RATE_ALARM_PERCENT: f64 = 1.0;
/// p99 duration above this share of the timeout pages (slic-watch's default): the next
/// slowdown times out batches.
pub const DURATION_ALARM_PERCENT_OF_TIMEOUT: u32 = 95;
/// Width of the anomaly bands, in standard deviations.
pub const ANOMALY_BAND_WIDTH: u32 = 2;
/// Minutes without an approval, while attempts arrive, before payments count as stalled.
pub const STALLED_MINUTES: u32 = 5;

/// One metric of a metric-math alarm: `[id, namespace, metric, dims, stat, period]`, or an
/// expression.
enum Query<'a> {
    Metric {
        id: &'a str,
        namespace: &'a str,
        metric: &'a str,
        dims: Vec<(&'a str, String)>,
        stat: &'a str,
        period: u32,
        /// Whether the alarm watches this series itself (a band alarm watches its metric).
        returns: bool,
    },
    Expression {
        id: &'a str,
        expression: String,
        label: &'a str,
        /// The series the alarm watches (exactly one per alarm returns data).
        returns: bool,
    },
}

impl Query<'_> {
    fn to_json(&self) -> Value {
        match self {
            Query::Metric {
                id,
                namespace,
                metric,
                dims,
                stat,
                period,
                returns,
            } => json!({
                "id": id,
                "metricStat": {
                    "metric": {"namespace": namespace, "metricName": metric, "dimensions": dimensions(dims)},
                    "period": period,
                    "stat": stat,
                },
                "returnData": returns,
            }),
            Query::Expression {
                id,
                expression,
                label,
                returns,
            } => json!({"id": id, "expression": expression, "label": label, "returnData": returns}),
        }
    }
}

/// What an alarm watches: one metric, or metric math (with an optional band as threshold).
enum Watch<'a> {
    Metric {
        namespace: &'a str,
        metric: &'a str,
        dims: Vec<(&'a str, String)>,
        /// `Sum`, `Maximum`, ... or a percentile such as `p99` (an extended statistic).
        stat: &'a str,
        period: u32,
    },
    Math {
        queries: Vec<Query<'a>>,
        /// The id of the ANOMALY_DETECTION_BAND expression the alarm compares against.
        band: Option<&'a str>,
    },
}

struct Alarm<'a> {
    name: String,
    description: String,
    /// Where the console shows the cause (a [`console_view`] place).
    place: &'a str,
    watch: Watch<'a>,
    evaluation_periods: u32,
    threshold: f64,
    comparison: &'a str,
    missing: &'a str,
    /// False for the parts of a composite alarm: their state matters, the composite notifies.
    notifies: bool,
}

fn dimensions(dims: &[(&str, String)]) -> Vec<Value> {
    dims.iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect()
}

impl<'a> Alarm<'a> {
    /// A static-threshold alarm on one metric, over `GreaterThanThreshold`, missing data OK.
    fn above(name: String, place: &'a str, watch: Watch<'a>, threshold: f64) -> Self {
        Alarm {
            name,
            description: String::new(),
            place,
            watch,
            evaluation_periods: 1,
            threshold,
            comparison: "GreaterThanThreshold",
            missing: "notBreaching",
            notifies: true,
        }
    }

    fn says(mut self, description: String) -> Self {
        self.description = description;
        self
    }

    fn for_periods(mut self, n: u32) -> Self {
        self.evaluation_periods = n;
        self
    }

    fn to_json(&self) -> Value {
        let mut a = json!({
            "alarmName": self.name,
            "alarmDescription": format!("{} {}", self.description, link(self.place)),
            "evaluationPeriods": self.evaluation_periods,
            "datapointsToAlarm": self.evaluation_periods,
            "comparisonOperator": self.comparison,
            "treatMissingData": self.missing,
        });
        if !self.notifies {
            a["actionsEnabled"] = json!(false);
        }
        match &self.watch {
            Watch::Metric {
                namespace,
                metric,
                dims,
                stat,
                period,
            } => {
                a["namespace"] = json!(namespace);
                a["metricName"] = json!(metric);
                a["dimensions"] = json!(dimensions(dims));
                let key = if stat.starts_with('p') {
                    "extendedStatistic"
                } else {
                    "statistic"
                };
                a[key] = json!(stat);
                a["period"] = json!(period);
                a["threshold"] = json!(self.threshold);
            }
            Watch::Math { queries, band } => {
                a["metrics"] = Value::Array(queries.iter().map(Query::to_json).collect());
                match band {
                    Some(id) => a["thresholdMetricId"] = json!(id),
                    None => a["threshold"] = json!(self.threshold),
                }
            }
        }
        a
    }
}

fn sqs<'a>(metric: &'a str, queue: &str, stat: &'a str, period: u32) -> Watch<'a> {
    Watch::Metric {
        namespace: "AWS/SQS",
        metric,
        dims: vec![("QueueName", queue.to_string())],
        stat,
        period,
    }
}

/// A metric of a math alarm.
fn input<'a>(
    id: &'a str,
    namespace: &'a str,
    metric: &'a str,
    dims: Vec<(&'a str, String)>,
    stat: &'a str,
    period: u32,
) -> Query<'a> {
    Query::Metric {
        id,
        namespace,
        metric,
        dims,
        stat,
        period,
        returns: false,
    }
}

fn result<'a>(id: &'a str, expression: String, label: &'a str) -> Query<'a> {
    Query::Expression {
        id,
        expression,
        label,
        returns: true,
    }
}

/// Approvals per minute over every project: the aggregate series the Lambdas publish beside
/// the per-project one (an alarm cannot SEARCH).
fn approvals(id: &str, period: u32) -> Query<'_> {
    input(
        id,
        NAMESPACE,
        MetricName::PaymentsApproved.as_str(),
        Vec::new(),
        "Sum",
        period,
    )
}

/// An alarm that is in ALARM while `value` (a metric with id `m`) is below its anomaly band;
/// part of a composite.
fn below_band<'a>(name: String, place: &'a str, mut value: Query<'a>, what: &str) -> Alarm<'a> {
    if let Query::Metric { returns, .. } = &mut value {
        // The alarm watches the metric itself; the band is computed from it.
        *returns = true;
    }
    let band = Query::Expression {
        id: "band",
        expression: format!("ANOMALY_DETECTION_BAND(m, {ANOMALY_BAND_WIDTH})"),
        label: "normal",
        returns: true,
    };
    Alarm {
        name,
        description: format!(
            "{what} fell below its normal band ({ANOMALY_BAND_WIDTH} standard deviations, learnt from its history) for {STALLED_MINUTES} minutes."
        ),
        place,
        watch: Watch::Math {
            queries: vec![value, band],
            band: Some("band"),
        },
        evaluation_periods: STALLED_MINUTES,
        threshold: 0.0,
        comparison: "LessThanLowerThreshold",
        // No data is no traffic: below any band.
        missing: "breaching",
        notifies: false,
    }
}

/// The metric alarms, in the order they are put (a composite's parts before it).
pub fn alarms(t: &Target) -> Vec<Value> {
    let stack = t.stack();
    let mut out: Vec<Alarm> = Vec::new();

    // Failure queues: arrivals of faults, and etc_dlq not draining.
    out.push(
        Alarm::above(
            format!("{stack}-{QUEUE_PARKED}-faults-arriving"),
            console_view::for_queue(QUEUE_PARKED),
            Watch::Metric {
                namespace: NAMESPACE,
                metric: MetricName::MessagesParked.as_str(),
                dims: Vec::new(),
                stat: "Sum",
                period: 300,
            },
            0.0,
        )
        .says(format!(
            "Faults were parked in {QUEUE_PARKED} in the last 5 minutes and need a person; it stays in alarm while more arrive and clears 5 quiet minutes later. Declined payments are parked too but are outcomes: they are counted apart and do not fire this. Read the reasons first (`crowdfund-console --aws dlq list {QUEUE_PARKED}`), fix the cause, then `dlq redrive {QUEUE_PARKED} --id ID`; Discord has the alerts."
        )),
    );
    out.push(
        Alarm::above(
            format!("{stack}-{QUEUE_DLQ}-faults-arriving"),
            console_view::for_queue(QUEUE_DLQ),
            Watch::Math {
                queries: vec![
                    input(
                        "sent",
                        "AWS/SQS",
                        "NumberOfMessagesSent",
                        vec![("QueueName", QUEUE_DLQ.to_string())],
                        "Sum",
                        300,
                    ),
                    input(
                        "declined",
                        NAMESPACE,
                        MetricName::PaymentsDeclined.as_str(),
                        Vec::new(),
                        "Sum",
                        300,
                    ),
                    result(
                        "faults",
                        "FILL(sent, 0) - FILL(declined, 0)".into(),
                        "dead letters that are not declines",
                    ),
                ],
                band: None,
            },
            0.0,
        )
        .for_periods(2)
        .says(format!(
            "Messages kept arriving in {QUEUE_DLQ} for 10 minutes beyond the declined payments (which travel there as outcomes): a function is failing now. dlq_handler retries them up to 3 times, then parks them. Find the failing function on the ops dashboard (error rate, messages failed)."
        )),
    );
    out.push(
        Alarm::above(
            format!("{stack}-{QUEUE_DLQ}-not-draining"),
            console_view::for_queue(QUEUE_DLQ),
            sqs("ApproximateNumberOfMessagesVisible", QUEUE_DLQ, "Minimum", 60),
            0.0,
        )
        .for_periods(5)
        .says(format!(
            "Messages stay in {QUEUE_DLQ} for 5 minutes: dlq_handler is failing or throttled. Check its error and throttle rates on the ops dashboard, then `crowdfund-console --aws dlq list {QUEUE_DLQ}`."
        )),
    );

    for q in topology::QUEUES
        .iter()
        .filter(|q| topology::function_of_queue(q.name).is_some() && q.name != QUEUE_DLQ)
    {
        let function = topology::function_of_queue(q.name).map_or("?", |f| f.name);
        out.push(
            Alarm::above(
                format!("{stack}-{}-stuck", q.name),
                console_view::for_queue(q.name),
                sqs("ApproximateAgeOfOldestMessage", q.name, "Maximum", 60),
                f64::from(AGE_OF_OLDEST_ALARM_SECONDS),
            )
            .for_periods(3)
            .says(format!("The oldest message in {} is older than {AGE_OF_OLDEST_ALARM_SECONDS}s: {function} is not keeping up or not running. Check its throttles and trigger (`crowdfund-console --aws triggers`), and the queue's time to drain.", q.name)),
        );
    }

    for f in topology::FUNCTIONS {
        let place = console_view::for_function(f.name);
        let lambda = |id, metric| {
            input(
                id,
                "AWS/Lambda",
                metric,
                vec![("FunctionName", f.name.to_string())],
                "Sum",
                300,
            )
        };
        out.push(
            Alarm::above(
                format!("{stack}-{}-error-rate", f.name),
                place,
                Watch::Math {
                    queries: vec![
                        lambda("errors", "Errors"),
                        lambda("invocations", "Invocations"),
                        result(
                            "rate",
                            "100 * FILL(errors, 0) / invocations".into(),
                            "errors (% of invocations)",
                        ),
                    ],
                    band: None,
                },
                ERROR_RATE_ALARM_PERCENT,
            )
            .says(format!(
                "λ {} failed more than {ERROR_RATE_ALARM_PERCENT}% of its invocations as a whole in 5 minutes (a crash or a timeout, not single messages): read its logs; the failed batches are retried and end in {QUEUE_DLQ}.",
                f.name
            )),
        );
        out.push(
            Alarm::above(
                format!("{stack}-{}-throttle-rate", f.name),
                place,
                Watch::Math {
                    queries: vec![
                        lambda("throttles", "Throttles"),
                        lambda("invocations", "Invocations"),
                        result(
                            "rate",
                            "100 * FILL(throttles, 0) / (FILL(invocations, 0) + FILL(throttles, 0))"
                                .into(),
                            "throttles (% of invocations)",
                        ),
                    ],
                    band: None,
                },
                THROTTLE_RATE_ALARM_PERCENT,
            )
            .says(format!(
                "λ {} was throttled on more than {THROTTLE_RATE_ALARM_PERCENT}% of its invocations: raise its reserved concurrency or the account limit; messages wait in its queue meanwhile.",
                f.name
            )),
        );
        let timeout_ms = f64::from(f.timeout_seconds) * 1000.0;
        out.push(
            Alarm::above(
                format!("{stack}-{}-near-timeout", f.name),
                place,
                Watch::Metric {
                    namespace: "AWS/Lambda",
                    metric: "Duration",
                    dims: vec![("FunctionName", f.name.to_string())],
                    stat: "p99",
                    period: 300,
                },
                timeout_ms * f64::from(DURATION_ALARM_PERCENT_OF_TIMEOUT) / 100.0,
            )
            .says(format!(
                "λ {}'s p99 duration is above {DURATION_ALARM_PERCENT_OF_TIMEOUT}% of its {}s timeout: a little slower and batches time out and are redelivered. Look for a slow dependency (PSP, funding API, SES) in its logs.",
                f.name, f.timeout_seconds
            )),
        );
    }

    out.push(
        Alarm::above(
            format!("{stack}-broker-5xx"),
            console_view::OVERVIEW,
            Watch::Metric {
                namespace: "AWS/ApiGateway",
                metric: "5XXError",
                dims: vec![("ApiName", format!("{stack}-broker"))],
                stat: "Sum",
                period: 300,
            },
            0.0,
        )
        .says("POST /broker answered 5xx: the broker could not publish to SNS. Callers retry with the same ids; check the broker's logs.".into()),
    );

    // The parts of the composites: they do not notify themselves.
    out.push(below_band(
        parts::approvals_below_normal(&stack),
        console_view::OVERVIEW,
        approvals("m", 60),
        "Approvals per minute",
    ));
    out.push(below_band(
        parts::broker_requests_below_normal(&stack),
        console_view::OVERVIEW,
        input(
            "m",
            "AWS/ApiGateway",
            "Count",
            vec![("ApiName", format!("{stack}-broker"))],
            "Sum",
            60,
        ),
        "Broker requests per minute",
    ));
    let mut zero = Alarm::above(
        parts::approvals_zero(&stack),
        console_view::OVERVIEW,
        Watch::Metric {
            namespace: NAMESPACE,
            metric: MetricName::PaymentsApproved.as_str(),
            dims: Vec::new(),
            stat: "Sum",
            period: 60,
        },
        0.0,
    )
    .for_periods(STALLED_MINUTES)
    .says(format!(
        "No payment was approved for {STALLED_MINUTES} minutes."
    ));
    zero.comparison = "LessThanOrEqualToThreshold";
    zero.missing = "breaching";
    zero.notifies = false;
    out.push(zero);
    let mut arriving = Alarm::above(
        parts::attempts_arriving(&stack),
        console_view::for_queue(QUEUE_PAYMENT_ATTEMPT),
        sqs("NumberOfMessagesSent", QUEUE_PAYMENT_ATTEMPT, "Sum", 60),
        0.0,
    )
    .for_periods(STALLED_MINUTES)
    .says(format!(
        "Payment attempts arrived in {QUEUE_PAYMENT_ATTEMPT} in each of the last {STALLED_MINUTES} minutes."
    ));
    arriving.notifies = false;
    out.push(arriving);

    out.iter().map(Alarm::to_json).collect()
}

/// The names of the metric alarms the composites combine.
pub mod parts {
    pub fn approvals_below_normal(stack: &str) -> String {
        format!("{stack}-approvals-below-normal")
    }
    pub fn broker_requests_below_normal(stack: &str) -> String {
        format!("{stack}-broker-requests-below-normal")
    }
    pub fn approvals_zero(stack: &str) -> String {
        format!("{stack}-approvals-zero")
    }
    pub fn attempts_arriving(stack: &str) -> String {
        format!("{stack}-payment-attempts-arriving")
    }
}

/// The composite alarms as PutCompositeAlarm requests (`composite-alarms.json`). moto does not
/// implement PutCompositeAlarm; terraform and `dashboards deploy` on AWS put them.
pub fn composite_alarms(t: &Target) -> Vec<Value> {
    let stack = t.stack();
    let composite = |name: String, rule: String, description: String, place: &str| {
        json!({
            "alarmName": name,
            "alarmRule": rule,
            "alarmDescription": format!("{description} {}", link(place)),
        })
    };
    vec![
        composite(
            format!("{stack}-payments-below-normal"),
            format!(
                "ALARM(\"{}\") AND NOT ALARM(\"{}\")",
                parts::approvals_below_normal(&stack),
                parts::broker_requests_below_normal(&stack)
            ),
            "Approvals per minute are below their normal band while broker requests are not: people are paying and fewer payments go through. Look at the decline rate (a PSP problem?), pg's error rate and payment_attempt_queue's time to drain.".into(),
            console_view::OVERVIEW,
        ),
        composite(
            format!("{stack}-payments-stalled"),
            format!(
                "ALARM(\"{}\") AND ALARM(\"{}\")",
                parts::approvals_zero(&stack),
                parts::attempts_arriving(&stack)
            ),
            format!("No payment was approved for {STALLED_MINUTES} minutes while payment attempts kept arriving: the payment path is stalled. Check pg (trigger paused? errors, throttles), the PSP, and {QUEUE_PAYMENT_ATTEMPT}'s age."),
            console_view::for_queue(QUEUE_PAYMENT_ATTEMPT),
        ),
    ]
}

/// The runbook text widget: what each alarm means and the console command that fixes it.
pub fn runbook_markdown(t: &Target) -> String {
    let stack = t.stack();
    format!(
        "## crowdfund {env} — on-call runbook\n\
Every alarm's description ends with the console command that opens its place (`--open`); the console's health view (key 5) lists the alarms in ALARM and Enter jumps there.\n\n\
| alarm | means | do |\n\
|---|---|---|\n\
| `{stack}-payments-stalled` | no approval for {STALLED_MINUTES} min while attempts arrive | pg's trigger, errors, throttles; the PSP; `--open {QUEUE_PAYMENT_ATTEMPT}` |\n\
| `{stack}-payments-below-normal` | approvals below their band while broker requests are normal | decline rate, pg error rate, time to drain below |\n\
| `{stack}-{QUEUE_PARKED}-faults-arriving` | faults parked in the last 5 min (declines do not count); stays red while they keep coming | `crowdfund-console --aws dlq list {QUEUE_PARKED}` → reasons, ledger states → fix → `dlq redrive {QUEUE_PARKED} --id ID` |\n\
| `{stack}-{QUEUE_DLQ}-faults-arriving` | dead letters beyond declines for 10 min: a function fails now | error rate % and messages failed below |\n\
| `{stack}-{QUEUE_DLQ}-not-draining` | dlq_handler is not emptying {QUEUE_DLQ} | dlq_handler's rates below; `dlq list {QUEUE_DLQ}` |\n\
| `{stack}-<queue>-stuck` | oldest message > {AGE_OF_OLDEST_ALARM_SECONDS}s: the consumer is down or slow | time to drain, throttles; `crowdfund-console --aws triggers` |\n\
| `{stack}-<function>-error-rate` / `-throttle-rate` | > {ERROR_RATE_ALARM_PERCENT}% of invocations fail / are refused | the function's logs; reserved concurrency |\n\
| `{stack}-<function>-near-timeout` | p99 duration > {DURATION_ALARM_PERCENT_OF_TIMEOUT}% of the timeout | a slow dependency in its logs |\n\
| `{stack}-broker-5xx` | the broker cannot publish | SNS health; callers retry with the same ids |\n\
\n\
Goal reached but late payments still approved? `crowdfund-console --aws goal-check PROJECT_ID --dry-run`, then without `--dry-run`.",
        env = t.env
    )
}
