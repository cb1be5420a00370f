//! The [`Metrics`] port: per-minute counters for throughput charts, and per-function counters
//! as CloudWatch's Lambda metrics would have them.

use super::{SimWorld, WorldState};
use crate::metrics::{MetricEvent, MetricName};
use crate::ports::Metrics;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per-minute metric buckets kept for charts (one day).
pub(super) const METRIC_MINUTES_KEPT: usize = 24 * 60;

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

/// Counters per minute, for throughput charts.
pub type MetricBuckets = BTreeMap<i64, BTreeMap<MetricName, i64>>;
impl WorldState {
    fn count(&mut self, name: MetricName, value: i64) {
        let minute = self.now.timestamp().div_euclid(60);
        *self
            .metrics
            .entry(minute)
            .or_default()
            .entry(name)
            .or_default() += value;
        while self.metrics.len() > METRIC_MINUTES_KEPT {
            self.metrics.pop_first();
        }
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
        for (name, value, _) in event.points() {
            s.count(name, value);
        }
    }
}
