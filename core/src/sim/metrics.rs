//! The [`Metrics`] port: per-minute counters for throughput charts, the same per project (the
//! metrics with a `ProjectId` dimension), and per-function counters as CloudWatch's Lambda
//! metrics would have them.
//!
//! A minute's bucket sums a counter's points and keeps a gauge's largest, as CloudWatch's
//! `Sum` and `Maximum` statistics over a one-minute period would read them.

use super::{SimWorld, WorldState};
use crate::metrics::{DIM_PROJECT, MetricEvent, MetricName};
use crate::ports::Metrics;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per-minute metric buckets kept for charts (one day).
pub(super) const METRIC_MINUTES_KEPT: usize = 24 * 60;
/// Per-project buckets reach back this many minutes: the projection's pace window (7 days).
pub(super) const PROJECT_MINUTES_KEPT: i64 = crate::progress::PACE_WINDOW_DAYS * 24 * 60;

/// Invocations of one function, as CloudWatch's Lambda metrics would count them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCounters {
    pub invocations: u64,
    pub messages: u64,
    /// Messages reported as batch item failures.
    pub errors: u64,
    /// Recent batch durations in microseconds (the last 256), for a p99.
    pub recent_durations: std::collections::VecDeque<u64>,
    /// Failed messages per minute (minutes since the epoch), the last quarter hour.
    #[serde(default)]
    pub errors_by_minute: BTreeMap<i64, u64>,
}

impl FunctionCounters {
    const KEPT: usize = 256;

    /// Failed messages in the `minutes` up to and including `now_minute`.
    pub fn recent_errors(&self, now_minute: i64, minutes: i64) -> u64 {
        self.errors_by_minute
            .range(now_minute - minutes + 1..=now_minute)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn duration_p99_micros(&self) -> Option<u64> {
        let mut d: Vec<u64> = self.recent_durations.iter().copied().collect();
        if d.is_empty() {
            return None;
        }
        d.sort_unstable();
        d.get((d.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
    }
}

/// Values per minute (minutes since the epoch), for charts: counters summed, gauges at their
/// maximum ([`MetricName::is_gauge`]). Only minutes with data are stored.
pub type MetricBuckets = BTreeMap<i64, BTreeMap<MetricName, i64>>;

/// Adds one point to its minute's bucket.
fn add_point(buckets: &mut MetricBuckets, minute: i64, name: MetricName, value: i64) {
    let bucket = buckets.entry(minute).or_default();
    match bucket.entry(name) {
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert(value);
        }
        std::collections::btree_map::Entry::Occupied(mut o) => {
            let kept = o.get_mut();
            *kept = if name.is_gauge() {
                (*kept).max(value)
            } else {
                *kept + value
            };
        }
    }
}

impl WorldState {
    fn count(&mut self, name: MetricName, value: i64, project: Option<&str>) {
        let minute = self.now.timestamp().div_euclid(60);
        let new_minute = !self.metrics.contains_key(&minute);
        add_point(&mut self.metrics, minute, name, value);
        while self.metrics.len() > METRIC_MINUTES_KEPT {
            self.metrics.pop_first();
        }
        if let Some(project) = project {
            // Looked up by &str first: the id is copied once per project, not once per point.
            if !self.project_metrics.contains_key(project) {
                self.project_metrics
                    .insert(project.to_string(), MetricBuckets::new());
            }
            if let Some(buckets) = self.project_metrics.get_mut(project) {
                add_point(buckets, minute, name, value);
            }
        }
        // Once a minute (its first point) rather than on every point: dropping what left the
        // window walks every project.
        if new_minute {
            self.prune_project_metrics(minute);
        }
    }

    /// Drops the per-project minutes older than [`PROJECT_MINUTES_KEPT`] before `minute`, and
    /// the projects left with none.
    fn prune_project_metrics(&mut self, minute: i64) {
        let first_kept = minute - PROJECT_MINUTES_KEPT + 1;
        self.project_metrics.retain(|_, buckets| {
            while buckets
                .first_key_value()
                .is_some_and(|(m, _)| *m < first_kept)
            {
                buckets.pop_first();
            }
            !buckets.is_empty()
        });
    }
}

impl SimWorld {
    pub fn function_counters(&self) -> BTreeMap<String, FunctionCounters> {
        self.lock().functions.clone()
    }

    pub fn depth_history(&self) -> BTreeMap<i64, BTreeMap<String, u64>> {
        self.lock().depth_history.clone()
    }

    pub fn metric_buckets(&self) -> MetricBuckets {
        self.lock().metrics.clone()
    }

    /// Per project, its metrics (those with a `ProjectId` dimension) by minute, the last
    /// 7 days.
    pub fn project_metric_buckets(&self) -> BTreeMap<String, MetricBuckets> {
        self.lock().project_metrics.clone()
    }
}

impl Metrics for SimWorld {
    fn record(&self, event: MetricEvent) {
        let mut s = self.lock();
        if let MetricEvent::Batch {
            function,
            processed,
            failed,
            duration_micros,
        } = &event
        {
            let f = s.functions.entry(function.to_string()).or_default();
            f.invocations += 1;
            f.messages += u64::from(processed + failed);
            f.errors += u64::from(*failed);
            f.recent_durations.push_back(*duration_micros);
            if f.recent_durations.len() > FunctionCounters::KEPT {
                f.recent_durations.pop_front();
            }
        }
        for (name, value, dimension) in event.points() {
            let project = dimension
                .filter(|(d, _)| *d == DIM_PROJECT)
                .map(|(_, id)| id);
            s.count(name, value, project);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};

    /// The levels after raises only.
    fn funding(project: &str, raised: i64, backers: u32) -> MetricEvent {
        reversal(project, raised, backers, 0, 0)
    }

    /// The levels after `reversals` reversals took `reversed` back out.
    fn reversal(
        project: &str,
        raised: i64,
        backers: u32,
        reversed: i64,
        reversals: u32,
    ) -> MetricEvent {
        MetricEvent::FundingApplied {
            project_id: project.into(),
            levels: crate::domain::ProjectLevels {
                goal: 1_000,
                raised,
                backers,
                reversed,
                reversals,
            },
        }
    }

    fn approved(project: &str, amount: i64) -> MetricEvent {
        MetricEvent::PaymentApproved {
            project_id: project.into(),
            amount: Money::new(amount, Currency::KRW),
        }
    }

    fn minute_of(world: &SimWorld) -> i64 {
        world.lock().now.timestamp().div_euclid(60)
    }

    /// Within a minute a counter sums and a gauge keeps its maximum, as CloudWatch's `Maximum`
    /// would; the levels only grow, so a reversal after a raise in the same minute still reads
    /// right (raised ever − reversed). Each project has its own buckets, and metrics without a
    /// project have none.
    #[test]
    fn project_buckets_sum_counters_and_keep_the_maximum_of_gauges() {
        let world = SimWorld::new(1, Default::default());
        let minute = minute_of(&world);
        world.record(approved("prj-a", 300));
        world.record(funding("prj-a", 300, 1));
        world.record(approved("prj-a", 200));
        world.record(funding("prj-a", 500, 2));
        world.record(reversal("prj-a", 200, 1, 300, 1));
        world.record(approved("prj-b", 70));
        world.record(funding("prj-b", 70, 1));
        world.record(MetricEvent::AlertSent);
        world.record(MetricEvent::Batch {
            function: "pg",
            processed: 1,
            failed: 0,
            duration_micros: 1,
        });

        let projects = world.project_metric_buckets();
        assert_eq!(
            projects.keys().collect::<Vec<_>>(),
            ["prj-a", "prj-b"],
            "only the metrics with a ProjectId dimension are kept per project"
        );
        let a = &projects["prj-a"][&minute];
        assert_eq!(a[&MetricName::PaymentsApproved], 2);
        assert_eq!(a[&MetricName::AmountRaised], 500);
        assert_eq!(
            a[&MetricName::ProjectRaisedEver] - a[&MetricName::ProjectReversed],
            200,
            "raised now"
        );
        assert_eq!(
            a[&MetricName::ProjectPledges] - a[&MetricName::ProjectReversals],
            1,
            "backers now"
        );
        assert_eq!(a[&MetricName::ProjectGoal], 1_000);
        let b = &projects["prj-b"][&minute];
        assert_eq!(
            (
                b[&MetricName::AmountRaised],
                b[&MetricName::ProjectRaisedEver]
            ),
            (70, 70)
        );
        // The world's own buckets: counters over every project, a gauge at its largest.
        let all = &world.metric_buckets()[&minute];
        assert_eq!(all[&MetricName::AmountRaised], 570);
        assert_eq!(all[&MetricName::ProjectRaisedEver], 500);
        assert_eq!(all[&MetricName::AlertsSent], 1);
    }

    /// Each minute has its own levels; minutes older than seven days go, and so does a project
    /// left with none. Only minutes with data are stored.
    #[test]
    fn project_buckets_keep_seven_days_of_minutes_with_data() {
        let world = SimWorld::new(1, Default::default());
        let first = minute_of(&world);
        world.record(funding("prj-old", 500, 2));
        world.record(funding("prj-a", 500, 2));
        world.advance(chrono::Duration::minutes(5));
        world.record(reversal("prj-a", 200, 1, 300, 1));
        let a = &world.project_metric_buckets()["prj-a"];
        assert_eq!(a.keys().copied().collect::<Vec<_>>(), [first, first + 5]);
        assert_eq!(a[&(first + 5)][&MetricName::ProjectReversed], 300);

        // Still inside the window on its last minute, gone on the next.
        world.advance(chrono::Duration::minutes(PROJECT_MINUTES_KEPT - 6));
        world.record(funding("prj-a", 250, 2));
        let projects = world.project_metric_buckets();
        assert!(projects["prj-old"].contains_key(&first));
        world.advance(chrono::Duration::minutes(1));
        world.record(funding("prj-a", 300, 3));
        let projects = world.project_metric_buckets();
        assert!(!projects.contains_key("prj-old"), "{projects:?}");
        assert_eq!(
            projects["prj-a"].keys().copied().collect::<Vec<_>>(),
            [
                first + 5,
                first + PROJECT_MINUTES_KEPT - 1,
                first + PROJECT_MINUTES_KEPT
            ]
        );
    }

    /// The buckets go into the state file and come back; a file without them reads as none.
    #[test]
    fn project_buckets_survive_the_state_file() {
        let world = SimWorld::new(1, Default::default());
        world.record(funding("prj-a", 500, 2));
        let json = world.to_json();
        let back = SimWorld::from_json(&json).unwrap();
        assert_eq!(
            back.project_metric_buckets(),
            world.project_metric_buckets()
        );

        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value.as_object_mut().unwrap().remove("projectMetrics");
        let older = SimWorld::from_json(&value.to_string()).unwrap();
        assert!(older.project_metric_buckets().is_empty());
    }
}
