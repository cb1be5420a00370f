//! Alarms as PutMetricAlarm requests in camelCase (the shape terraform's monitoring module
//! reads from `alarms.json`), and the runbook that says what each means and what to run.
//! Terraform adds the environment's SNS alarm topic to every alarm's actions.

use crate::Target;
use crowdfund_core::topology::{self, QUEUE_DLQ, QUEUE_PARKED};
use serde_json::{Value, json};

/// A work queue whose oldest message is older than this is stuck: five visibility timeouts
/// (the console's health view uses the same rule).
pub const AGE_OF_OLDEST_ALARM_SECONDS: u32 = 5 * topology::DEFAULT_VISIBILITY_TIMEOUT_SECONDS;

struct Alarm<'a> {
    name: String,
    description: String,
    namespace: &'a str,
    metric: &'a str,
    dims: Vec<(&'a str, String)>,
    stat: &'a str,
    period: u32,
    evaluation_periods: u32,
    threshold: f64,
}

impl Alarm<'_> {
    fn to_json(&self) -> Value {
        let dims: Vec<Value> = self
            .dims
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect();
        json!({
            "alarmName": self.name,
            "alarmDescription": self.description,
            "namespace": self.namespace,
            "metricName": self.metric,
            "dimensions": dims,
            "statistic": self.stat,
            "period": self.period,
            "evaluationPeriods": self.evaluation_periods,
            "datapointsToAlarm": self.evaluation_periods,
            "threshold": self.threshold,
            "comparisonOperator": "GreaterThanThreshold",
            "treatMissingData": "notBreaching",
        })
    }
}

pub fn alarms(t: &Target) -> Vec<Value> {
    let stack = t.stack();
    let mut out = vec![
        Alarm {
            name: format!("{stack}-{QUEUE_PARKED}-not-empty"),
            description: format!(
                "A message was parked after its retries and needs a person. Run `crowdfund-console --aws dlq list {QUEUE_PARKED}`, then `dlq redrive {QUEUE_PARKED} --id ID` (or open the console: key 2)."
            ),
            namespace: "AWS/SQS",
            metric: "ApproximateNumberOfMessagesVisible",
            dims: vec![("QueueName", QUEUE_PARKED.to_string())],
            stat: "Maximum",
            period: 60,
            evaluation_periods: 1,
            threshold: 0.0,
        },
        // Not-empty fires once and stays in alarm while anything is parked, so it says
        // nothing more when the pile grows. This one counts arrivals: in alarm for every 5
        // minutes in which something was parked, back to OK after 5 quiet minutes, so each
        // new wave notifies again. dlq_handler parks with SendMessage, which SQS counts in
        // NumberOfMessagesSent (only moves by a redrive policy are not counted there).
        Alarm {
            name: format!("{stack}-{QUEUE_PARKED}-new-arrivals"),
            description: format!(
                "Messages are still being parked in {QUEUE_PARKED} (some in the last 5 minutes): a failure is going on now, not only left over. Find the cause with `crowdfund-console --aws dlq list {QUEUE_PARKED}` (or the console: key 2) before redriving; Discord has the alerts."
            ),
            namespace: "AWS/SQS",
            metric: "NumberOfMessagesSent",
            dims: vec![("QueueName", QUEUE_PARKED.to_string())],
            stat: "Sum",
            period: 300,
            evaluation_periods: 1,
            threshold: 0.0,
        },
        Alarm {
            name: format!("{stack}-{QUEUE_DLQ}-not-draining"),
            description: format!(
                "Messages stay in {QUEUE_DLQ} for 5 minutes: dlq_handler is failing or throttled. Check its errors on the ops dashboard, then `crowdfund-console --aws dlq list {QUEUE_DLQ}`."
            ),
            namespace: "AWS/SQS",
            metric: "ApproximateNumberOfMessagesVisible",
            dims: vec![("QueueName", QUEUE_DLQ.to_string())],
            stat: "Minimum",
            period: 60,
            evaluation_periods: 5,
            threshold: 0.0,
        },
    ];
    for q in topology::QUEUES
        .iter()
        .filter(|q| topology::function_of_queue(q.name).is_some() && q.name != QUEUE_DLQ)
    {
        let function = topology::function_of_queue(q.name).map_or("?", |f| f.name);
        out.push(Alarm {
            name: format!("{stack}-{}-stuck", q.name),
            description: format!("The oldest message in {} is older than {AGE_OF_OLDEST_ALARM_SECONDS}s: {function} is not keeping up or not running. Check its throttles and concurrency; `crowdfund-console --aws status`.", q.name),
            namespace: "AWS/SQS",
            metric: "ApproximateAgeOfOldestMessage",
            dims: vec![("QueueName", q.name.to_string())],
            stat: "Maximum",
            period: 60,
            evaluation_periods: 3,
            threshold: f64::from(AGE_OF_OLDEST_ALARM_SECONDS),
        });
    }
    let per_function: [(&str, &str, &str); 2] = [
        (
            "Errors",
            "errors",
            "failed whole invocations (not single messages): read its logs; failed batches are retried and end in etc_dlq",
        ),
        (
            "Throttles",
            "throttles",
            "was throttled: raise its reserved concurrency or the account limit; messages wait in its queue meanwhile",
        ),
    ];
    for f in topology::FUNCTIONS {
        for (metric, suffix, means) in per_function {
            out.push(Alarm {
                name: format!("{stack}-{}-{suffix}", f.name),
                description: format!("λ {} {means}.", f.name),
                namespace: "AWS/Lambda",
                metric,
                dims: vec![("FunctionName", f.name.to_string())],
                stat: "Sum",
                period: 300,
                evaluation_periods: 1,
                threshold: 0.0,
            });
        }
    }
    out.push(Alarm {
        name: format!("{stack}-broker-5xx"),
        description: "POST /broker answered 5xx: the broker could not publish to SNS. Callers retry with the same ids; check the broker's logs.".into(),
        namespace: "AWS/ApiGateway",
        metric: "5XXError",
        dims: vec![("ApiName", format!("{stack}-broker"))],
        stat: "Sum",
        period: 300,
        evaluation_periods: 1,
        threshold: 0.0,
    });
    out.iter().map(Alarm::to_json).collect()
}

/// The runbook text widget: what each alarm means and the console command that fixes it.
pub fn runbook_markdown(t: &Target) -> String {
    let stack = t.stack();
    format!(
        "## crowdfund {env} — on-call runbook\n\
| alarm | means | do |\n\
|---|---|---|\n\
| `{stack}-{QUEUE_PARKED}-not-empty` | a message failed 3 DLQ retries (or asked for a person) and was parked; Discord was alerted | `crowdfund-console --aws dlq list {QUEUE_PARKED}` → read `reason` and the ledger state → `dlq redrive {QUEUE_PARKED} --id ID` (or `--to QUEUE`) |\n\
| `{stack}-{QUEUE_PARKED}-new-arrivals` | messages were parked in the last 5 minutes: the failure is ongoing (not-empty stays on and says nothing more; this one fires again with each new wave) | find the cause first: `crowdfund-console --aws dlq list {QUEUE_PARKED}`, the reasons and the ledger states; fix it, then redrive |\n\
| `{stack}-{QUEUE_DLQ}-not-draining` | dlq_handler is not emptying {QUEUE_DLQ} | check dlq_handler errors/throttles below; `crowdfund-console --aws dlq list {QUEUE_DLQ}` |\n\
| `{stack}-<queue>-stuck` | oldest message > {AGE_OF_OLDEST_ALARM_SECONDS}s: the consumer is down or slow | Lambda throttles and concurrency below; `crowdfund-console --aws status` |\n\
| `{stack}-<function>-errors` / `-throttles` | whole invocations fail / are refused | the function's logs; reserved concurrency |\n\
| `{stack}-broker-5xx` | the broker cannot publish | SNS health; callers retry with the same ids |\n\
\n\
Goal reached but late payments still approved? `crowdfund-console --aws goal-check PROJECT_ID --dry-run`, then without `--dry-run`.",
        env = t.env
    )
}
