//! CloudWatch as the source of the report's [`History`]: which GetMetricData queries to run
//! ([`plan`]), how their answers become the charts' series ([`history`]), both pure, and
//! [`cloudwatch_history`], which runs them over the [`MetricReader`] port.
//!
//! Payments are counted from the custom metrics of `crowdfund_core::metrics` (the same names the
//! Lambdas emit and the local world counts), summed over every dimension value ListMetrics found
//! (one series per project); queue depth is SQS's ApproximateNumberOfMessagesVisible per queue
//! of the topology.

use crate::report::{History, ProjectBar, ThroughputPoint};
use crowdfund_core::metrics::{DIM_PROJECT, MetricName, NAMESPACE};
use crowdfund_core::ports::{FundingApi, MetricReader, PortError};
use crowdfund_core::topology;
use std::collections::BTreeMap;

/// One chart period: CloudWatch's standard resolution.
pub const PERIOD_SECONDS: u32 = 60;

/// The payment counts the throughput chart draws.
pub const PAYMENT_METRICS: [MetricName; 3] = [
    MetricName::PaymentsApproved,
    MetricName::PaymentsDeclined,
    MetricName::PaymentsCancelled,
];

/// One GetMetricData query (core's definition, shared with the CloudWatch adapter).
pub use crowdfund_core::metrics::MetricQuery as QuerySpec;

/// Why the history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("listing {NAMESPACE}/{metric}")]
    ListMetrics {
        metric: &'static str,
        source: PortError,
    },
    #[error("reading metric data (GetMetricData)")]
    MetricData(#[source] PortError),
    #[error("listing projects from the funding API")]
    Projects(#[source] PortError),
    #[error(
        "no projects to chart funding progress for: CloudWatch has no goals, so pass --api-url (crowdfund-api) to read them"
    )]
    NoProjects,
    #[error("computing the stakeholder dashboard's figures")]
    Figures(#[source] crate::metric_math::MathError),
}

/// What a query's answer is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Payments(MetricName),
    QueueDepth(String),
}

/// The queries and what each is for.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub queries: Vec<(QuerySpec, Role)>,
}

/// A custom metric that exists, as ListMetrics names it: (metric name, dimensions).
pub type ExistingMetric = (String, Vec<(String, String)>);

/// The queries for the charts: each payment metric of each project (summed per minute), and
/// each queue's depth (its maximum per minute). Only the per-project series count: the
/// Lambdas also publish the same payments once more with no dimensions, for alarms.
pub fn plan(existing: &[ExistingMetric]) -> Plan {
    let mut queries = Vec::new();
    for metric in PAYMENT_METRICS {
        for (name, dims) in existing
            .iter()
            .filter(|(n, d)| n == metric.as_str() && d.iter().any(|(k, _)| k == DIM_PROJECT))
        {
            queries.push((
                QuerySpec {
                    id: String::new(),
                    namespace: NAMESPACE.to_string(),
                    metric: name.clone(),
                    dimensions: dims.clone(),
                    stat: "Sum".into(),
                    period_seconds: PERIOD_SECONDS,
                },
                Role::Payments(metric),
            ));
        }
    }
    for q in topology::QUEUES {
        queries.push((
            QuerySpec {
                id: String::new(),
                namespace: "AWS/SQS".into(),
                metric: "ApproximateNumberOfMessagesVisible".into(),
                dimensions: vec![("QueueName".into(), q.name.to_string())],
                stat: "Maximum".into(),
                period_seconds: PERIOD_SECONDS,
            },
            Role::QueueDepth(q.name.to_string()),
        ));
    }
    // Ids only need to be unique and start with a lower-case letter.
    for (i, (q, _)) in queries.iter_mut().enumerate() {
        q.id = format!("q{i}");
    }
    Plan { queries }
}

/// The charts' history from the answers (`id` → (seconds since the epoch, value)), over the
/// minutes `from..=to`; `projects` come from the funding API (CloudWatch has no goals).
pub fn history(
    plan: &Plan,
    answers: &BTreeMap<String, Vec<(i64, f64)>>,
    from_minute: i64,
    to_minute: i64,
    projects: Vec<ProjectBar>,
    source: String,
) -> History {
    let mut counts: BTreeMap<(i64, MetricName), f64> = BTreeMap::new();
    let mut depths: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
    for (q, role) in &plan.queries {
        for (t, v) in answers.get(&q.id).map(Vec::as_slice).unwrap_or_default() {
            let minute = t.div_euclid(60);
            if minute < from_minute || minute > to_minute {
                continue;
            }
            match role {
                Role::Payments(m) => *counts.entry((minute, *m)).or_default() += v,
                Role::QueueDepth(queue) => {
                    depths
                        .entry(minute)
                        .or_default()
                        .insert(queue.clone(), v.max(0.0).round() as u64);
                }
            }
        }
    }
    // Start where the data starts, not hours of empty chart before it.
    let first = counts.keys().map(|(m, _)| *m).min();
    let count = |minute: i64, m: MetricName| {
        counts
            .get(&(minute, m))
            .copied()
            .unwrap_or(0.0)
            .max(0.0)
            .round() as u64
    };
    let throughput = match first {
        None => Vec::new(),
        Some(first) => (first..=to_minute)
            .map(|minute| ThroughputPoint {
                minute,
                approved: count(minute, MetricName::PaymentsApproved),
                declined: count(minute, MetricName::PaymentsDeclined),
                cancelled: count(minute, MetricName::PaymentsCancelled),
            })
            .collect(),
    };
    History {
        throughput,
        depths: depths.into_iter().collect(),
        projects,
        source,
    }
}

/// The charts' history from CloudWatch over the last `since` before `now` (seconds since the
/// epoch): payment counts from the custom metrics, queue depths from SQS's metrics, and the
/// projects (goals and amounts raised) from the funding API, which is the one that knows goals.
/// `where_from` names the source in the charts' caption.
pub async fn cloudwatch_history(
    metrics: &dyn MetricReader,
    funding: &dyn FundingApi,
    now: i64,
    since: std::time::Duration,
    where_from: &str,
) -> Result<History, HistoryError> {
    let mut existing = Vec::new();
    for m in PAYMENT_METRICS {
        for id in metrics
            .list_metrics(NAMESPACE, Some(m.as_str()))
            .await
            .map_err(|source| HistoryError::ListMetrics {
                metric: m.as_str(),
                source,
            })?
        {
            existing.push((id.metric, id.dimensions));
        }
    }
    let planned = plan(&existing);
    let queries: Vec<QuerySpec> = planned.queries.iter().map(|(q, _)| q.clone()).collect();
    let minutes = (since.as_secs() / 60).max(1) as i64;
    let to = now.div_euclid(60);
    let from = to - minutes;
    let series = metrics
        .get_metric_data(&queries, from * 60, (to + 1) * 60)
        .await
        .map_err(HistoryError::MetricData)?;
    let answers = series.into_iter().map(|s| (s.id, s.points)).collect();
    let projects = funding.projects().await.map_err(HistoryError::Projects)?;
    if projects.is_empty() {
        return Err(HistoryError::NoProjects);
    }
    let projects = project_bars(metrics, projects, now).await?;
    let end = chrono::DateTime::from_timestamp(now, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    Ok(history(
        &planned,
        &answers,
        from,
        to,
        projects,
        format!(
            "CloudWatch {where_from}, {} queries, last {minutes} min to {end}",
            queries.len()
        ),
    ))
}

/// The projects with the figures of their dashboard rows, read in one GetMetricData call: each
/// metric of each row over the pace window as one datapoint (period = the window).
async fn project_bars(
    metrics: &dyn MetricReader,
    projects: Vec<crowdfund_core::domain::Project>,
    now: i64,
) -> Result<Vec<ProjectBar>, HistoryError> {
    use crowdfund_core::progress::{PACE_WINDOW_DAYS, SECONDS_PER_DAY};
    let window = PACE_WINDOW_DAYS * SECONDS_PER_DAY;
    // The metrics every project's row reads, asked for together.
    let mut rows: Vec<crate::metric_math::MetricRow> = Vec::new();
    for p in &projects {
        rows.extend(
            crate::metric_math::metric_rows(&crate::stakeholders::progress_widget(p))
                .map_err(HistoryError::Figures)?,
        );
    }
    let queries: Vec<QuerySpec> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| QuerySpec {
            id: format!("p{i}"),
            namespace: r.namespace.clone(),
            metric: r.metric.clone(),
            dimensions: r.dimensions.clone(),
            stat: r.stat.clone(),
            period_seconds: window as u32,
        })
        .collect();
    let answers = if queries.is_empty() {
        Vec::new()
    } else {
        metrics
            .get_metric_data(&queries, now - window, now)
            .await
            .map_err(HistoryError::MetricData)?
    };
    let value_of = |row: &crate::metric_math::MetricRow| {
        let i = rows.iter().position(|r| r == row)?;
        let series = answers.iter().find(|s| s.id == format!("p{i}"))?;
        match row.stat.as_str() {
            "Maximum" => series.points.iter().map(|(_, v)| *v).reduce(f64::max),
            _ => series.points.iter().map(|(_, v)| *v).reduce(|a, b| a + b),
        }
    };
    projects
        .into_iter()
        .map(|p| {
            Ok(ProjectBar {
                figures: crate::stakeholders::progress_figures(&p, now, value_of)
                    .map_err(HistoryError::Figures)?,
                id: p.id,
                goal: p.goal,
                raised: p.raised,
                currency: p.currency.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing() -> Vec<ExistingMetric> {
        ["prj-a", "prj-b"]
            .iter()
            .flat_map(|p| {
                PAYMENT_METRICS.iter().map(move |m| {
                    (
                        m.as_str().to_string(),
                        vec![("ProjectId".to_string(), p.to_string())],
                    )
                })
            })
            .chain([("AmountRaised".to_string(), vec![])])
            // The aggregate the Lambdas publish for alarms: the same payments once more.
            .chain(
                PAYMENT_METRICS
                    .iter()
                    .map(|m| (m.as_str().to_string(), vec![])),
            )
            .collect()
    }

    /// One query per payment metric and project (the aggregate series, which would count each
    /// payment twice, left out), one per queue; ids unique and CloudWatch-valid.
    #[test]
    fn the_plan_covers_every_project_and_queue() {
        let p = plan(&existing());
        let payments = p
            .queries
            .iter()
            .filter(|(_, r)| matches!(r, Role::Payments(_)))
            .count();
        assert_eq!(payments, 2 * PAYMENT_METRICS.len());
        assert_eq!(p.queries.len(), payments + topology::QUEUES.len());
        let mut ids: Vec<&str> = p.queries.iter().map(|(q, _)| q.id.as_str()).collect();
        assert!(
            ids.iter()
                .all(|i| i.starts_with(|c: char| c.is_ascii_lowercase()))
        );
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), p.queries.len());
    }

    /// Projects' counts add up per minute; queue depths land on their minute and queue.
    #[test]
    fn answers_become_per_minute_series() {
        let p = plan(&existing());
        let id_of = |metric: MetricName, project: &str| {
            p.queries
                .iter()
                .find(|(q, r)| *r == Role::Payments(metric) && q.dimensions[0].1 == project)
                .map(|(q, _)| q.id.clone())
                .unwrap()
        };
        let depth_id = p
            .queries
            .iter()
            .find(|(_, r)| *r == Role::QueueDepth(topology::QUEUE_DLQ.to_string()))
            .map(|(q, _)| q.id.clone())
            .unwrap();
        let minute = 29_000_000_i64;
        let answers = BTreeMap::from([
            (
                id_of(MetricName::PaymentsApproved, "prj-a"),
                vec![(minute * 60, 3.0), ((minute + 2) * 60, 1.0)],
            ),
            (
                id_of(MetricName::PaymentsApproved, "prj-b"),
                vec![(minute * 60, 4.0)],
            ),
            (
                id_of(MetricName::PaymentsDeclined, "prj-b"),
                vec![((minute + 1) * 60, 2.0)],
            ),
            (depth_id, vec![((minute + 1) * 60, 5.0)]),
        ]);
        let h = history(
            &p,
            &answers,
            minute - 10,
            minute + 3,
            Vec::new(),
            "cw".into(),
        );
        let approved: Vec<u64> = h.throughput.iter().map(|t| t.approved).collect();
        assert_eq!(approved, vec![7, 0, 1, 0]);
        assert_eq!(h.throughput[1].declined, 2);
        assert_eq!(
            h.depths,
            vec![(
                minute + 1,
                BTreeMap::from([(topology::QUEUE_DLQ.to_string(), 5)])
            )]
        );
    }
}
