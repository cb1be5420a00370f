//! The event-source mapping: polls each function's queue in batches, invokes the function, and
//! deletes only what it did not report as failed — Lambda's SQS integration with
//! ReportBatchItemFailures. The same runner drives the simulated world and real SQS.

use crate::sqs::handle_batch;
use crate::wiring::Functions;
use crowdfund_core::ports::{MessageSender, Metrics, PortResult, QueueClient};
use crowdfund_core::topology::{self, FUNCTIONS, Trigger};
use std::collections::BTreeSet;

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
    /// Functions whose trigger an operator paused: their queues are left alone.
    pub paused: &'a BTreeSet<String>,
}

impl Runner<'_> {
    /// One batch from every function's queue.
    pub async fn poll_once(&self) -> PortResult<PollReport> {
        let mut report = PollReport::default();
        for spec in FUNCTIONS {
            let Trigger::Queue { queue, batch_size } = spec.trigger else {
                continue;
            };
            if self.paused.contains(spec.name) {
                continue;
            }
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
            let response =
                handle_batch(function, self.dead_letters, self.metrics, None, &batch).await;
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
