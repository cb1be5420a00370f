//! SQS's own message move tasks (StartMessageMoveTask, ListMessageMoveTasks,
//! CancelMessageMoveTask) by queue name, and a tokio [`Pacer`] for the async tools.
//!
//! A move task runs inside SQS: it moves a whole dead-letter queue back to the queues whose
//! redrive policy sent the messages there (or to one destination), up to 500 messages a second,
//! without the caller receiving anything. The console uses it for whole-queue moves on real
//! AWS (`--native`); it cannot rewrite bodies or route by a message's `from`, so the batched
//! path stays the default.

use super::port_error;
use super::sqs::SqsQueues;
use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use crowdfund_core::ports::{MessageMoveTasks, MoveTask, Pacer, PortError, PortResult};

const SERVICE: &str = "SQS";

impl SqsQueues {
    /// The queue's ARN (GetQueueAttributes QueueArn); move tasks name queues by ARN.
    pub async fn arn(&self, queue: &str) -> PortResult<String> {
        let url = self.url(queue).await?;
        let out = self
            .client()
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("queue {queue}"), e))?;
        out.attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| PortError::unavailable(SERVICE, format!("no QueueArn for {queue}")))
    }
}

/// Clamps to what the SDK's i32 fields carry.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[async_trait]
impl MessageMoveTasks for SqsQueues {
    async fn start_move(
        &self,
        source: &str,
        destination: Option<&str>,
        max_per_second: Option<u32>,
    ) -> PortResult<String> {
        let mut call = self
            .client()
            .start_message_move_task()
            .source_arn(self.arn(source).await?);
        if let Some(d) = destination {
            call = call.destination_arn(self.arn(d).await?);
        }
        if let Some(r) = max_per_second {
            call = call.max_number_of_messages_per_second(i32::try_from(r).unwrap_or(i32::MAX));
        }
        let out = call
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("move task from {source}"), e))?;
        out.task_handle().map(str::to_string).ok_or_else(|| {
            PortError::unavailable(SERVICE, "StartMessageMoveTask gave no TaskHandle")
        })
    }

    async fn list_moves(&self, source: &str) -> PortResult<Vec<MoveTask>> {
        let out = self
            .client()
            .list_message_move_tasks()
            .source_arn(self.arn(source).await?)
            .max_results(10)
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("move tasks of {source}"), e))?;
        Ok(out
            .results()
            .iter()
            .map(|t| MoveTask {
                task_handle: t.task_handle().map(str::to_string),
                status: t.status().unwrap_or("UNKNOWN").to_string(),
                moved: count(t.approximate_number_of_messages_moved()),
                to_move: t.approximate_number_of_messages_to_move().map(count),
                failure_reason: t.failure_reason().map(str::to_string),
            })
            .collect())
    }

    async fn cancel_move(&self, task_handle: &str) -> PortResult<u64> {
        let out = self
            .client()
            .cancel_message_move_task()
            .task_handle(task_handle)
            .send()
            .await
            .map_err(|e| port_error(SERVICE, "cancelling the move task", e))?;
        Ok(count(out.approximate_number_of_messages_moved()))
    }
}

/// Waits with tokio's timer (the console's `--aws` runtime).
#[derive(Debug, Clone, Copy)]
pub struct TokioPacer {
    started: tokio::time::Instant,
}

impl Default for TokioPacer {
    fn default() -> Self {
        TokioPacer {
            started: tokio::time::Instant::now(),
        }
    }
}

#[async_trait]
impl Pacer for TokioPacer {
    fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }
    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}
