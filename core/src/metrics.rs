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
    /// Sum of declined amounts, in minor units (money that did not come in).
    AmountDeclined,
    /// Gauge, only grows: everything the project ever raised, reversals not subtracted
    /// ([`crate::domain::ProjectLevels::raised_ever`]). Raised now = this − `ProjectReversed`.
    ProjectRaisedEver,
    /// Gauge, only grows: the amount reversals took back out of the project, ever.
    ProjectReversed,
    /// Gauge: the project's goal.
    ProjectGoal,
    /// Gauge, only grows: raises ever applied ([`crate::domain::ProjectLevels::pledges`]).
    /// Backers now = this − `ProjectReversals`.
    ProjectPledges,
    /// Gauge, only grows: reversals ever applied.
    ProjectReversals,
    /// A project reached its goal (counted by the goal check, once per project).
    GoalsAchieved,
    /// Faults parked for a person (declines are counted in `DeclinesParked`, and page nobody).
    MessagesParked,
    /// Declined payments parked (an outcome, not a fault).
    DeclinesParked,
    AlertsSent,
    MessagesProcessed,
    MessagesFailed,
}

impl MetricName {
    pub const ALL: [MetricName; 17] = [
        MetricName::PaymentsApproved,
        MetricName::PaymentsDeclined,
        MetricName::PaymentsCancelled,
        MetricName::AmountRaised,
        MetricName::AmountRefunded,
        MetricName::AmountDeclined,
        MetricName::ProjectRaisedEver,
        MetricName::ProjectReversed,
        MetricName::ProjectGoal,
        MetricName::ProjectPledges,
        MetricName::ProjectReversals,
        MetricName::GoalsAchieved,
        MetricName::MessagesParked,
        MetricName::DeclinesParked,
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
            MetricName::AmountDeclined => "AmountDeclined",
            MetricName::ProjectRaisedEver => "ProjectRaisedEver",
            MetricName::ProjectReversed => "ProjectReversed",
            MetricName::ProjectGoal => "ProjectGoal",
            MetricName::ProjectPledges => "ProjectPledges",
            MetricName::ProjectReversals => "ProjectReversals",
            MetricName::GoalsAchieved => "GoalsAchieved",
            MetricName::MessagesParked => "MessagesParked",
            MetricName::DeclinesParked => "DeclinesParked",
            MetricName::AlertsSent => "AlertsSent",
            MetricName::MessagesProcessed => "MessagesProcessed",
            MetricName::MessagesFailed => "MessagesFailed",
        }
    }

    /// CloudWatch unit.
    pub fn unit(&self) -> &'static str {
        match self {
            MetricName::AmountRaised
            | MetricName::AmountRefunded
            | MetricName::AmountDeclined
            | MetricName::ProjectRaisedEver
            | MetricName::ProjectReversed
            | MetricName::ProjectGoal => "None",
            _ => "Count",
        }
    }

    /// A gauge reports a level (read it with `Maximum`; a sim bucket keeps the minute's
    /// maximum, as that statistic would); the others count events (read them with `Sum`).
    pub fn is_gauge(&self) -> bool {
        matches!(
            self,
            MetricName::ProjectRaisedEver
                | MetricName::ProjectReversed
                | MetricName::ProjectGoal
                | MetricName::ProjectPledges
                | MetricName::ProjectReversals
        )
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
        amount: Money,
    },
    PaymentCancelled {
        project_id: String,
        amount: Money,
    },
    MessageParked {
        queue: String,
        /// A declined payment parked as an outcome: counted apart, it pages nobody.
        declined: bool,
    },
    /// funding_update applied a raise or a reversal: the project's levels right after it.
    FundingApplied {
        project_id: String,
        levels: crate::domain::ProjectLevels,
    },
    /// The goal check found a project at its goal (its first check).
    GoalAchieved {
        project_id: String,
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
            MetricEvent::PaymentDeclined { project_id, amount } => vec![
                (
                    MetricName::PaymentsDeclined,
                    1,
                    Some((DIM_PROJECT, project_id.as_str())),
                ),
                (
                    MetricName::AmountDeclined,
                    amount.amount,
                    Some((DIM_PROJECT, project_id.as_str())),
                ),
            ],
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
            MetricEvent::MessageParked { declined, .. } => {
                let name = if *declined {
                    MetricName::DeclinesParked
                } else {
                    MetricName::MessagesParked
                };
                vec![(name, 1, None)]
            }
            MetricEvent::FundingApplied { project_id, levels } => {
                let project = Some((DIM_PROJECT, project_id.as_str()));
                vec![
                    (MetricName::ProjectRaisedEver, levels.raised_ever(), project),
                    (MetricName::ProjectReversed, levels.reversed, project),
                    (MetricName::ProjectGoal, levels.goal, project),
                    (
                        MetricName::ProjectPledges,
                        i64::from(levels.pledges()),
                        project,
                    ),
                    (
                        MetricName::ProjectReversals,
                        i64::from(levels.reversals),
                        project,
                    ),
                ]
            }
            MetricEvent::GoalAchieved { project_id } => vec![(
                MetricName::GoalsAchieved,
                1,
                Some((DIM_PROJECT, project_id.as_str())),
            )],
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
