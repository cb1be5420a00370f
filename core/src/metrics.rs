//! Custom metrics, defined once: the Lambdas emit them (Embedded Metric Format), the sim counts
//! them, and the dashboards and the console chart them under the same names.

use crate::money::Money;
use serde::{Deserialize, Serialize};

/// CloudWatch namespace of every custom metric.
pub const NAMESPACE: &str = "Crowdfund";
/// Dimension that splits business metrics by project.
pub const DIM_PROJECT: &str = "ProjectId";
/// Dimension that splits handler metrics by function.
pub const DIM_FUNCTION: &str = "FunctionName";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MetricName {
    PaymentsApproved,
    PaymentsDeclined,
    PaymentsCancelled,
    /// Sum of approved amounts, in minor units.
    AmountRaised,
    /// Sum of cancelled (refunded) amounts, in minor units.
    AmountRefunded,
    MessagesParked,
    AlertsSent,
    MessagesProcessed,
    MessagesFailed,
}

impl MetricName {
    pub const ALL: [MetricName; 9] = [
        MetricName::PaymentsApproved,
        MetricName::PaymentsDeclined,
        MetricName::PaymentsCancelled,
        MetricName::AmountRaised,
        MetricName::AmountRefunded,
        MetricName::MessagesParked,
        MetricName::AlertsSent,
        MetricName::MessagesProcessed,
        MetricName::MessagesFailed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            MetricName::PaymentsApproved => "PaymentsApproved",
            MetricName::PaymentsDeclined => "PaymentsDeclined",
            MetricName::PaymentsCancelled => "PaymentsCancelled",
            MetricName::AmountRaised => "AmountRaised",
            MetricName::AmountRefunded => "AmountRefunded",
            MetricName::MessagesParked => "MessagesParked",
            MetricName::AlertsSent => "AlertsSent",
            MetricName::MessagesProcessed => "MessagesProcessed",
            MetricName::MessagesFailed => "MessagesFailed",
        }
    }

    /// CloudWatch unit.
    pub fn unit(&self) -> &'static str {
        match self {
            MetricName::AmountRaised | MetricName::AmountRefunded => "None",
            _ => "Count",
        }
    }
}

/// One data point: metric, value, and an optional (dimension name, dimension value).
pub type MetricPoint<'a> = (MetricName, i64, Option<(&'static str, &'a str)>);

/// Something worth counting, as the handlers report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricEvent {
    PaymentApproved {
        project_id: String,
        amount: Money,
    },
    PaymentDeclined {
        project_id: String,
    },
    PaymentCancelled {
        project_id: String,
        amount: Money,
    },
    MessageParked {
        queue: String,
    },
    AlertSent,
    /// One handler invocation over a batch.
    Batch {
        function: &'static str,
        processed: u32,
        failed: u32,
        /// How long the handler took over the batch.
        duration_micros: u64,
    },
}

impl MetricEvent {
    /// The metric data points this event stands for: (name, value, dimension name, dimension value).
    pub fn points(&self) -> Vec<MetricPoint<'_>> {
        match self {
            MetricEvent::PaymentApproved { project_id, amount } => vec![
                (
                    MetricName::PaymentsApproved,
                    1,
                    Some((DIM_PROJECT, project_id.as_str())),
                ),
                (
                    MetricName::AmountRaised,
                    amount.amount,
                    Some((DIM_PROJECT, project_id.as_str())),
                ),
            ],
            MetricEvent::PaymentDeclined { project_id } => {
                vec![(
                    MetricName::PaymentsDeclined,
                    1,
                    Some((DIM_PROJECT, project_id.as_str())),
                )]
            }
            MetricEvent::PaymentCancelled { project_id, amount } => vec![
                (
                    MetricName::PaymentsCancelled,
                    1,
                    Some((DIM_PROJECT, project_id.as_str())),
                ),
                (
                    MetricName::AmountRefunded,
                    amount.amount,
                    Some((DIM_PROJECT, project_id.as_str())),
                ),
            ],
            MetricEvent::MessageParked { .. } => vec![(MetricName::MessagesParked, 1, None)],
            MetricEvent::AlertSent => vec![(MetricName::AlertsSent, 1, None)],
            MetricEvent::Batch {
                function,
                processed,
                failed,
                ..
            } => vec![
                (
                    MetricName::MessagesProcessed,
                    i64::from(*processed),
                    Some((DIM_FUNCTION, function)),
                ),
                (
                    MetricName::MessagesFailed,
                    i64::from(*failed),
                    Some((DIM_FUNCTION, function)),
                ),
            ],
        }
    }
}

/// One metric, one statistic, one period: a GetMetricData query, a line of a chart. The
/// dashboards plan these and the CloudWatch adapter runs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    /// Unique within a request; starts with a lower-case letter (CloudWatch's rule).
    pub id: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    /// `Sum`, `Maximum`, `p99`, ...
    pub stat: String,
    pub period_seconds: u32,
}
