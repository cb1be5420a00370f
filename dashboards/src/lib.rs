//! CloudWatch dashboards and alarms for crowdfund, generated from the topology in
//! `crowdfund-core`, so a queue or function added there appears here without hand-edited JSON.
//!
//! This crate starts with the metric rows every dashboard is built from; the dashboard
//! bodies, alarms and plotters reports grow on top of them.

use crowdfund_core::topology::{self, Trigger};
use serde_json::{Value, json};

/// The SQS metric rows for every queue: messages visible and age of the oldest message, in
/// CloudWatch's metric-array form (`[namespace, metric, dimension, value]`).
pub fn queue_metric_rows() -> Vec<Value> {
    topology::QUEUES
        .iter()
        .flat_map(|q| {
            [
                "ApproximateNumberOfMessagesVisible",
                "ApproximateAgeOfOldestMessage",
            ]
            .map(|metric| json!(["AWS/SQS", metric, "QueueName", q.name]))
        })
        .collect()
}

/// The Lambda error rows for every function.
pub fn function_error_rows() -> Vec<Value> {
    topology::FUNCTIONS
        .iter()
        .map(|f| json!(["AWS/Lambda", "Errors", "FunctionName", f.name]))
        .collect()
}

/// Queues that a function drains (and so whose age of oldest message means a stuck consumer).
pub fn consumed_queues() -> Vec<&'static str> {
    topology::FUNCTIONS
        .iter()
        .filter_map(|f| match f.trigger {
            Trigger::Queue { queue, .. } => Some(queue),
            Trigger::HttpPost { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every queue and function of the topology has its rows, in CloudWatch's array form.
    #[test]
    fn rows_follow_the_topology() {
        let rows = queue_metric_rows();
        assert_eq!(rows.len(), topology::QUEUES.len() * 2);
        assert!(rows.contains(&json!([
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            "etc_parked"
        ])));
        assert_eq!(function_error_rows().len(), 6);
        assert_eq!(consumed_queues().len(), 5);
        assert!(!consumed_queues().contains(&topology::QUEUE_PARKED));
    }
}
