//! The metrics port on CloudWatch: each function's health
//! (invocations, errors, throttles, duration p99 from `AWS/Lambda`), each queue's age of oldest
//! message (`AWS/SQS`; GetQueueAttributes has no such attribute), and payments per minute (the
//! custom metrics the Lambdas emit). One GetMetricData round per refresh; which custom metric
//! series exist (ListMetrics) is looked up at most once a minute.
//!
//! The metric names and dimensions are the ones the dashboards use (`dashboards::source`,
//! `crowdfund_core::metrics`), so the console and the dashboards show the same numbers.

use crate::metrics::{
    ERROR_WINDOW_MINUTES, FunctionHealth, MetricsError, MetricsReader, PipelineMetrics,
    THROUGHPUT_MINUTES, ThroughputPoint,
};
use async_trait::async_trait;
use crowdfund_core::metrics::NAMESPACE;
use crowdfund_core::ports::{MetricReader, QueueStats};
use crowdfund_core::topology;
use crowdfund_dashboards::source::{self, ExistingMetric, PAYMENT_METRICS, QuerySpec, Role};
use crowdfund_handlers::aws::cloudwatch::MetricQuery;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the list of custom metric series is trusted.
const LIST_TTL: Duration = Duration::from_secs(60);

/// What one query answers, for turning answers back into readings.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Invocations(usize),
    Errors(usize),
    Throttles(usize),
    DurationP99(usize),
    OldestAge(usize),
    Payments,
}

pub struct CloudWatchMetrics {
    cloudwatch: Arc<dyn MetricReader>,
    listed: Mutex<Option<(Instant, Vec<ExistingMetric>)>>,
}

fn spec(namespace: &str, metric: &str, dim: (&str, &str), stat: &str) -> QuerySpec {
    QuerySpec {
        id: String::new(),
        namespace: namespace.into(),
        metric: metric.into(),
        dimensions: vec![(dim.0.into(), dim.1.into())],
        stat: stat.into(),
        period_seconds: source::PERIOD_SECONDS,
    }
}

/// The queries of one refresh: per function and per queue, then the payment series.
fn queries(existing: &[ExistingMetric]) -> (Vec<(QuerySpec, Slot)>, source::Plan) {
    let mut out = Vec::new();
    for (i, f) in topology::FUNCTIONS.iter().enumerate() {
        let dim = ("FunctionName", f.name);
        out.push((
            spec("AWS/Lambda", "Invocations", dim, "Sum"),
            Slot::Invocations(i),
        ));
        out.push((spec("AWS/Lambda", "Errors", dim, "Sum"), Slot::Errors(i)));
        out.push((
            spec("AWS/Lambda", "Throttles", dim, "Sum"),
            Slot::Throttles(i),
        ));
        out.push((
            spec("AWS/Lambda", "Duration", dim, "p99"),
            Slot::DurationP99(i),
        ));
    }
    out.extend(age_queries());
    let mut payments = source::plan(existing);
    payments
        .queries
        .retain(|(_, r)| matches!(r, Role::Payments(_)));
    for (q, _) in &payments.queries {
        out.push((q.clone(), Slot::Payments));
    }
    for (i, (q, _)) in out.iter_mut().enumerate() {
        q.id = format!("c{i}");
    }
    // The payment plan answers by the same ids.
    let mut k = 0;
    for (q, slot) in &out {
        if *slot == Slot::Payments {
            payments.queries[k].0.id = q.id.clone();
            k += 1;
        }
    }
    (out, payments)
}

/// Each queue's age of oldest message (AWS/SQS, the maximum per minute).
fn age_queries() -> Vec<(QuerySpec, Slot)> {
    topology::QUEUES
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let dim = ("QueueName", q.name);
            let metric = "ApproximateAgeOfOldestMessage";
            (spec("AWS/SQS", metric, dim, "Maximum"), Slot::OldestAge(i))
        })
        .collect()
}

/// Sets each queue's age of oldest message from the latest answer of its query.
fn apply_ages(
    queues: &mut [QueueStats],
    slots: &[(QuerySpec, Slot)],
    answers: &BTreeMap<String, Vec<(i64, f64)>>,
) {
    for (q, slot) in slots {
        if let Slot::OldestAge(i) = *slot {
            let name = topology::QUEUES[i].name;
            let latest = answers
                .get(&q.id)
                .and_then(|p| p.last())
                .map(|(_, v)| v.max(0.0));
            if let (Some(age), Some(stats)) = (latest, queues.iter_mut().find(|s| s.name == name)) {
                stats.oldest_age_seconds = age.round() as u64;
            }
        }
    }
}

/// Reads the answers (`id` → points, oldest first), `now_minute` being the current minute
/// since the epoch; the queues' ages are set in place.
fn apply(
    queues: &mut [QueueStats],
    slots: &[(QuerySpec, Slot)],
    payments: &source::Plan,
    answers: &BTreeMap<String, Vec<(i64, f64)>>,
    now_minute: i64,
) -> PipelineMetrics {
    let since = |minutes: i64| now_minute - minutes + 1;
    let sum_since = |id: &str, from: i64| -> u64 {
        answers
            .get(id)
            .map_or(0.0, |p| {
                p.iter()
                    .filter(|(t, _)| t.div_euclid(60) >= from)
                    .map(|(_, v)| v.max(0.0))
                    .sum()
            })
            .round() as u64
    };
    let latest = |id: &str| {
        answers
            .get(id)
            .and_then(|p| p.last())
            .map(|(_, v)| v.max(0.0))
    };
    let mut functions: Vec<FunctionHealth> = topology::FUNCTIONS
        .iter()
        .map(|f| FunctionHealth {
            name: f.name.to_string(),
            ..FunctionHealth::default()
        })
        .collect();
    for (q, slot) in slots {
        match *slot {
            Slot::Invocations(i) => {
                functions[i].invocations = sum_since(&q.id, since(THROUGHPUT_MINUTES as i64));
            }
            Slot::Errors(i) => functions[i].errors = sum_since(&q.id, since(ERROR_WINDOW_MINUTES)),
            Slot::Throttles(i) => {
                functions[i].throttles = sum_since(&q.id, since(ERROR_WINDOW_MINUTES));
            }
            // CloudWatch reports Duration in milliseconds.
            Slot::DurationP99(i) => {
                functions[i].duration_p99_micros =
                    latest(&q.id).map(|ms| (ms * 1000.0).round() as u64);
            }
            Slot::OldestAge(_) | Slot::Payments => {}
        }
    }
    apply_ages(queues, slots, answers);
    let from = since(THROUGHPUT_MINUTES as i64);
    let history = source::history(
        payments,
        answers,
        from,
        now_minute,
        Vec::new(),
        String::new(),
    );
    let by_minute: BTreeMap<i64, _> = history.throughput.iter().map(|p| (p.minute, p)).collect();
    let throughput = (from..=now_minute)
        .map(|minute| {
            let p = by_minute.get(&minute);
            ThroughputPoint {
                minute,
                approved: p.map_or(0, |p| p.approved),
                declined: p.map_or(0, |p| p.declined),
                cancelled: p.map_or(0, |p| p.cancelled),
            }
        })
        .collect();
    PipelineMetrics {
        functions,
        throughput,
    }
}

impl CloudWatchMetrics {
    pub fn new(cloudwatch: Arc<dyn MetricReader>) -> Self {
        CloudWatchMetrics {
            cloudwatch,
            listed: Mutex::new(None),
        }
    }

    async fn existing(&self) -> Result<Vec<ExistingMetric>, MetricsError> {
        if let Ok(guard) = self.listed.lock()
            && let Some((at, list)) = guard.as_ref()
            && at.elapsed() < LIST_TTL
        {
            return Ok(list.clone());
        }
        let mut list = Vec::new();
        for m in PAYMENT_METRICS {
            let found = self
                .cloudwatch
                .list_metrics(NAMESPACE, Some(m.as_str()))
                .await
                .map_err(|e| MetricsError(format!("listing {NAMESPACE}/{}: {e}", m.as_str())))?;
            list.extend(found.into_iter().map(|id| (id.metric, id.dimensions)));
        }
        if let Ok(mut guard) = self.listed.lock() {
            *guard = Some((Instant::now(), list.clone()));
        }
        Ok(list)
    }
}

#[async_trait]
impl MetricsReader for CloudWatchMetrics {
    async fn queue_ages(&self, queues: &mut [QueueStats], now: i64) -> Result<(), MetricsError> {
        let mut slots = age_queries();
        for (i, (q, _)) in slots.iter_mut().enumerate() {
            q.id = format!("a{i}");
        }
        let metric_queries: Vec<MetricQuery> = slots.iter().map(|(q, _)| q.clone()).collect();
        // Five minutes back: SQS publishes these metrics once a minute.
        let series = self
            .cloudwatch
            .get_metric_data(&metric_queries, now - 300, now + 60)
            .await
            .map_err(|e| MetricsError(format!("reading queue ages from CloudWatch: {e}")))?;
        let answers = series.into_iter().map(|s| (s.id, s.points)).collect();
        apply_ages(queues, &slots, &answers);
        Ok(())
    }

    async fn pipeline(
        &self,
        queues: &mut [QueueStats],
        now: i64,
    ) -> Result<PipelineMetrics, MetricsError> {
        let existing = self.existing().await?;
        let (slots, payments) = queries(&existing);
        let metric_queries: Vec<MetricQuery> = slots.iter().map(|(q, _)| q.clone()).collect();
        let now_minute = now.div_euclid(60);
        let start = (now_minute - THROUGHPUT_MINUTES as i64 + 1) * 60;
        let series = self
            .cloudwatch
            .get_metric_data(&metric_queries, start, (now_minute + 1) * 60)
            .await
            .map_err(|e| MetricsError(format!("reading CloudWatch metrics: {e}")))?;
        let answers = series.into_iter().map(|s| (s.id, s.points)).collect();
        Ok(apply(queues, &slots, &payments, &answers, now_minute))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues() -> Vec<QueueStats> {
        topology::QUEUES
            .iter()
            .map(|q| QueueStats {
                name: q.name.to_string(),
                ..QueueStats::default()
            })
            .collect()
    }

    fn id_of(slots: &[(QuerySpec, Slot)], slot: &Slot) -> String {
        slots
            .iter()
            .find(|(_, s)| s == slot)
            .map(|(q, _)| q.id.clone())
            .unwrap_or_default()
    }

    #[test]
    fn answers_land_on_their_function_queue_and_minute() {
        let existing = vec![(
            "PaymentsApproved".to_string(),
            vec![("ProjectId".to_string(), "prj-a".to_string())],
        )];
        let (slots, payments) = queries(&existing);
        assert!(slots.len() <= 500, "one GetMetricData call");
        let now_minute = 1_000_000;
        let t = |m: i64| m * 60;
        let pg = topology::FUNCTIONS
            .iter()
            .position(|f| f.name == topology::FN_PG)
            .unwrap_or(0);
        let parked = topology::QUEUES
            .iter()
            .position(|q| q.name == topology::QUEUE_PARKED)
            .unwrap_or(0);
        let mut answers = BTreeMap::new();
        answers.insert(
            id_of(&slots, &Slot::Invocations(pg)),
            vec![
                (t(now_minute - 40), 100.0),
                (t(now_minute - 1), 7.0),
                (t(now_minute), 3.0),
            ],
        );
        // One error 10 minutes ago (outside the 5-minute window), two just now.
        answers.insert(
            id_of(&slots, &Slot::Errors(pg)),
            vec![(t(now_minute - 10), 1.0), (t(now_minute), 2.0)],
        );
        answers.insert(
            id_of(&slots, &Slot::DurationP99(pg)),
            vec![(t(now_minute - 1), 12.5)],
        );
        answers.insert(
            id_of(&slots, &Slot::OldestAge(parked)),
            vec![(t(now_minute - 2), 30.0), (t(now_minute), 95.0)],
        );
        let pay_id = payments.queries[0].0.id.clone();
        answers.insert(pay_id, vec![(t(now_minute - 1), 4.0), (t(now_minute), 6.0)]);

        let mut queues = queues();
        let s = apply(&mut queues, &slots, &payments, &answers, now_minute);
        let f = &s.functions[pg];
        assert_eq!((f.invocations, f.errors, f.throttles), (10, 2, 0));
        assert_eq!(f.duration_p99_micros, Some(12_500));
        assert_eq!(queues[parked].oldest_age_seconds, 95);
        assert_eq!(s.throughput.len(), THROUGHPUT_MINUTES);
        let last_two: Vec<u64> = s
            .throughput
            .iter()
            .rev()
            .take(2)
            .map(|p| p.approved)
            .collect();
        assert_eq!(last_two, vec![6, 4]);
        assert_eq!(s.throughput.iter().map(|p| p.approved).sum::<u64>(), 10);
    }
}
