//! `transaction_check`, triggered by `goal_achievement_queue`: finds the project's approved
//! payments made after `achievedAt` (a Query on the project/time index, never a Scan) and
//! publishes a cancel for each to `payment_attempt`. The cancel id derives from the payment id,
//! so checking twice cancels nothing more.
//!
//! The index is eventually consistent, and a payment pg was writing while the check ran is not
//! in its answer yet. So the first check sends itself a second one, delayed
//! [`SECOND_CHECK_DELAY_SECONDS`], which runs once the index has settled.
//!
//! The first check counts the project's goal as achieved (`GoalsAchieved`), once it has done
//! its work: the API sends `goal_achievement` once per project, and a check that fails runs
//! again whole, so counting earlier would count a retried check twice.

use crate::sqs::{MessageOutcome, SqsFunction};
use async_trait::async_trait;
use crowdfund_core::domain::{GoalAchievement, PaymentCancel, PaymentRecord, Timestamp};
use crowdfund_core::envelope::{Envelope, MessageKind};
use crowdfund_core::metrics::MetricEvent;
use crowdfund_core::ports::*;
use crowdfund_core::rules;
use crowdfund_core::topology::{FN_TRANSACTION_CHECK, FUNCTION_TIMEOUT_SECONDS};
use std::sync::Arc;

/// When the second check runs: after the first one's function could have ended (pg's ledger
/// writes in flight have landed) and the index has caught up (usually well under a second).
pub const SECOND_CHECK_DELAY_SECONDS: u32 = 2 * FUNCTION_TIMEOUT_SECONDS + 10;

pub struct TransactionCheckFunction {
    pub ledger: Arc<dyn Ledger>,
    pub publisher: Arc<dyn Publisher>,
    /// Sends the second check to `goal_achievement_queue`.
    pub sender: Arc<dyn MessageSender>,
    pub metrics: Arc<dyn Metrics>,
}

/// The payments a goal check at `achieved_at` would cancel (what a dry run shows).
pub async fn plan_goal_check(
    ledger: &dyn Ledger,
    project_id: &str,
    achieved_at: Timestamp,
) -> PortResult<Vec<PaymentRecord>> {
    let after = ledger
        .payments_of_project(project_id, Some(achieved_at))
        .await?;
    Ok(rules::select_late_payments(&after, project_id, achieved_at)
        .into_iter()
        .cloned()
        .collect())
}

/// The cancel message for one late payment.
pub fn cancel_for(payment: &PaymentRecord, achieved_at: Timestamp) -> PaymentCancel {
    PaymentCancel {
        cancel_id: rules::cancel_id_for(&payment.payment_id),
        payment_id: payment.payment_id.clone(),
        project_id: payment.project_id.clone(),
        reason: format!(
            "{} reached its goal at {}",
            payment.project_id,
            achieved_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    }
}

#[async_trait]
impl SqsFunction for TransactionCheckFunction {
    fn name(&self) -> &'static str {
        FN_TRANSACTION_CHECK
    }

    async fn handle(&self, message: &ReceivedMessage) -> MessageOutcome {
        let goal: GoalAchievement = match Envelope::parse(&message.body)
            .and_then(|e| e.payload_as(MessageKind::GoalAchievement))
        {
            Ok(g) => g,
            Err(e) => return MessageOutcome::DeadLetter(e.to_string()),
        };
        let late = match plan_goal_check(&*self.ledger, &goal.project_id, goal.achieved_at).await {
            Ok(l) => l,
            Err(e) => return MessageOutcome::from_port_error("ledger query", &e),
        };
        for payment in &late {
            let cancel = cancel_for(payment, goal.achieved_at);
            let body = Envelope::new(MessageKind::PaymentCancel, &cancel).to_json();
            if let Err(e) = self
                .publisher
                .publish(MessageKind::PaymentCancel.topic(), &body)
                .await
            {
                // Cancels already published are idempotent, so the whole check can run again.
                return MessageOutcome::from_port_error("publish cancel", &e);
            }
        }
        if !goal.second_check {
            let project_id = goal.project_id.clone();
            let again = GoalAchievement {
                second_check: true,
                ..goal
            };
            let body = Envelope::new(MessageKind::GoalAchievement, &again).to_json();
            let queue = MessageKind::GoalAchievement.queue();
            if let Err(e) = self
                .sender
                .send(queue, &body, SECOND_CHECK_DELAY_SECONDS)
                .await
            {
                // The whole check runs again on redelivery; its cancels are idempotent.
                return MessageOutcome::from_port_error("schedule the second check", &e);
            }
            self.metrics
                .record(MetricEvent::GoalAchieved { project_id });
        }
        MessageOutcome::Done
    }
}
