//! Goal checks by hand: see which payments a check at a given time would cancel, then trigger
//! it through the production path (a `goal_achievement` on its topic), so `transaction_check`
//! does the cancelling exactly as it does when the API reports the goal.

use crate::backend::Backend;
use crate::ops::safety::{AuditEntry, AuditTrail, Ending, SafetyError};
use crowdfund_core::domain::{GoalAchievement, PaymentRecord, Timestamp};
use crowdfund_core::envelope::{Envelope, MessageKind};
use crowdfund_core::ports::PortError;
use crowdfund_handlers::transaction_check::plan_goal_check;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum GoalError {
    #[error("unknown project {0:?}; see `crowdfund-console status` for the project ids")]
    UnknownProject(String),
    #[error("project {0} has not reached its goal; pass --at RFC3339 to check from a given time")]
    NotAchieved(String),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Safety(#[from] SafetyError),
}

/// What a goal check at `achieved_at` cancels.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GoalPlan {
    pub project_id: String,
    pub achieved_at: Timestamp,
    pub payments: Vec<PaymentRecord>,
    /// Sum of the amounts that would be refunded, in minor units.
    pub total: i64,
    /// Set once the check was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// The payments a check would cancel. `at` defaults to the project's goalAchievedAt.
pub async fn plan(
    b: &Backend,
    project_id: &str,
    at: Option<Timestamp>,
) -> Result<GoalPlan, GoalError> {
    let projects = b.funding.projects().await?;
    let project = projects
        .iter()
        .find(|p| p.id == project_id)
        .ok_or_else(|| GoalError::UnknownProject(project_id.to_string()))?;
    let achieved_at = at
        .or(project.goal_achieved_at)
        .ok_or_else(|| GoalError::NotAchieved(project_id.to_string()))?;
    let payments = plan_goal_check(&*b.ledger, project_id, achieved_at).await?;
    Ok(GoalPlan {
        project_id: project_id.to_string(),
        achieved_at,
        total: payments.iter().map(|p| p.amount.amount).sum(),
        payments,
        message_id: None,
    })
}

/// Publishes the check, between its two audit lines: the intent names the project, the
/// cut-off (`--at`, or when the goal was reached) and how many payments it cancels; the result
/// says whether the check was published.
pub async fn trigger(
    b: &Backend,
    project_id: &str,
    at: Option<Timestamp>,
) -> Result<GoalPlan, GoalError> {
    let mut plan = plan(b, project_id, at).await?;
    let mut intent = AuditEntry::intent(
        b.wall_clock.now(),
        &b.identity,
        "goal-check",
        MessageKind::GoalAchievement.queue(),
    );
    intent.to = Some(plan.project_id.clone());
    intent.at = Some(plan.achieved_at);
    intent.selected = plan.payments.len() as u64;
    let trail = AuditTrail::begin(&b.audit_log, intent)?;
    let body = Envelope::new(
        MessageKind::GoalAchievement,
        &GoalAchievement {
            project_id: plan.project_id.clone(),
            achieved_at: plan.achieved_at,
            second_check: false,
        },
    )
    .to_json();
    let published = b
        .publisher
        .publish(MessageKind::GoalAchievement.topic(), &body)
        .await;
    let ending = match &published {
        Ok(_) => Ending::Ok,
        Err(e) => Ending::Failed(e),
    };
    let audited = trail.finish(b.wall_clock.now(), ending, |_| {});
    plan.message_id = Some(published?);
    audited?;
    Ok(plan)
}
