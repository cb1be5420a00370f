//! The event-source mapping: polls each function's queue in batches, invokes the function, and
//! deletes only what it did not report as failed — Lambda's SQS integration with
//! ReportBatchItemFailures. The same runner drives the simulated world and real SQS.

use crate::dlq_handler::DlqHandlerFunction;
use crate::funding_update::FundingUpdateFunction;
use crate::pg::PaymentFunction;
use crate::send_email::SendEmailFunction;
use crate::sqs::{SqsFunction, handle_batch};
use crate::transaction_check::TransactionCheckFunction;
use crowdfund_core::ports::{MessageSender, Metrics, PortResult, QueueClient};
use crowdfund_core::topology::{self, FUNCTIONS, Trigger};

/// The five queue-triggered functions.
pub struct Functions {
    pub pg: PaymentFunction,
    pub send_email: SendEmailFunction,
    pub funding_update: FundingUpdateFunction,
    pub transaction_check: TransactionCheckFunction,
    pub dlq_handler: DlqHandlerFunction,
}

impl Functions {
    /// The function a queue triggers, by the topology's wiring.
    pub fn for_queue(&self, queue: &str) -> Option<&dyn SqsFunction> {
        let name = topology::function_of_queue(queue)?.name;
        let all: [&dyn SqsFunction; 5] = [
            &self.pg,
            &self.send_email,
            &self.funding_update,
            &self.transaction_check,
            &self.dlq_handler,
        ];
        all.into_iter().find(|f| f.name() == name)
    }
}

/// What one round of polling did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    pub received: u64,
    pub failed: u64,
}

/// Where the runner reads, deletes and dead-letters.
pub struct Runner<'a> {
    pub queues: &'a dyn QueueClient,
    pub dead_letters: &'a dyn MessageSender,
    pub metrics: &'a dyn Metrics,
    pub functions: &'a Functions,
}

impl Runner<'_> {
    /// One batch from every function's queue.
    pub async fn poll_once(&self) -> PortResult<PollReport> {
        let mut report = PollReport::default();
        for spec in FUNCTIONS {
            let Trigger::Queue { queue, batch_size } = spec.trigger else {
                continue;
            };
            let Some(function) = self.functions.for_queue(queue) else {
                continue;
            };
            let visibility = topology::queue(queue)
                .map_or(topology::DEFAULT_VISIBILITY_TIMEOUT_SECONDS, |q| {
                    q.visibility_timeout_seconds
                });
            let batch = self.queues.receive(queue, batch_size, visibility).await?;
            if batch.is_empty() {
                continue;
            }
            let response = handle_batch(function, self.dead_letters, self.metrics, &batch).await;
            let done: Vec<String> = batch
                .iter()
                .filter(|m| !response.failed(&m.message_id))
                .map(|m| m.receipt_handle.clone())
                .collect();
            if !done.is_empty() {
                // A delete that fails leaves the message to be redelivered; handlers are
                // idempotent, so that costs a repeat, never a loss.
                self.queues.delete_batch(queue, &done).await?;
            }
            report.received += batch.len() as u64;
            report.failed += response.batch_item_failures.len() as u64;
        }
        Ok(report)
    }
}
