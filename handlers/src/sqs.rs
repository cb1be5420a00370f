//! What every queue-triggered function shares: per-message outcomes, partial batch failures
//! (Lambda's ReportBatchItemFailures), and dead-lettering of messages that can never succeed.

use async_trait::async_trait;
use crowdfund_core::metrics::MetricEvent;
use crowdfund_core::ports::{MessageSender, Metrics, PortError, ReceivedMessage};
use crowdfund_core::topology::QUEUE_DLQ;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How one message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Handled (or found handled before): delete it.
    Done,
    /// A transient failure: report it, so SQS redelivers after the visibility timeout and,
    /// after maxReceiveCount, redrives it to `etc_dlq`.
    Retry(String),
    /// It can never succeed as it is: send it to `etc_dlq` now, with the reason, and delete it.
    DeadLetter(String),
}

impl MessageOutcome {
    /// Retry what may pass later, dead-letter what never will.
    pub fn from_port_error(context: &str, e: &PortError) -> Self {
        let reason = format!("{context}: {e}");
        if e.is_retryable() {
            MessageOutcome::Retry(reason)
        } else {
            MessageOutcome::DeadLetter(reason)
        }
    }
}

/// `?` for handler bodies: the error side is the outcome to report.
pub type Step<T> = Result<T, MessageOutcome>;

/// Lambda's partial batch response: `{"batchItemFailures": [{"itemIdentifier": "..."}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: String,
}

impl BatchResponse {
    pub fn failed(&self, message_id: &str) -> bool {
        self.batch_item_failures
            .iter()
            .any(|f| f.item_identifier == message_id)
    }
}

/// A function triggered by an SQS queue.
#[async_trait]
pub trait SqsFunction: Send + Sync {
    fn name(&self) -> &'static str;
    async fn handle(&self, message: &ReceivedMessage) -> MessageOutcome;
}

/// Runs a batch through `function`. Messages that failed transiently, and dead letters that
/// could not be sent to `etc_dlq`, are reported as failures so SQS keeps them.
pub async fn handle_batch(
    function: &dyn SqsFunction,
    dead_letters: &dyn MessageSender,
    metrics: &dyn Metrics,
    batch: &[ReceivedMessage],
) -> BatchResponse {
    let mut response = BatchResponse::default();
    // Handler compute time, reported as the function's duration (a process measurement, not
    // domain time, so it does not come from the Clock port).
    let started = std::time::Instant::now();
    for message in batch {
        let keep = match function.handle(message).await {
            MessageOutcome::Done => false,
            MessageOutcome::Retry(_reason) => true,
            MessageOutcome::DeadLetter(reason) => {
                let body = with_last_error(&message.body, &reason);
                dead_letters.send(QUEUE_DLQ, &body, 0).await.is_err()
            }
        };
        if keep {
            response.batch_item_failures.push(BatchItemFailure {
                item_identifier: message.message_id.clone(),
            });
        }
    }
    let failed = response.batch_item_failures.len() as u32;
    metrics.record(MetricEvent::Batch {
        function: function.name(),
        processed: batch.len() as u32 - failed,
        failed,
        duration_micros: started.elapsed().as_micros() as u64,
    });
    response
}

/// The body with `lastError` set, when it is a JSON object; otherwise the body untouched
/// (a message is never rewritten into something else, only annotated).
pub fn with_last_error(body: &str, reason: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            map.insert("lastError".into(), Value::String(reason.to_string()));
            Value::Object(map).to_string()
        }
        _ => body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_error_annotates_objects_and_leaves_other_bodies_alone() {
        let b = with_last_error(r#"{"kind":"x","attempts":1}"#, "boom");
        assert_eq!(b, r#"{"kind":"x","attempts":1,"lastError":"boom"}"#);
        assert_eq!(with_last_error("not json", "boom"), "not json");
        assert_eq!(with_last_error("[1]", "boom"), "[1]");
    }

    #[test]
    fn batch_response_has_lambdas_wire_shape() {
        let r = BatchResponse {
            batch_item_failures: vec![BatchItemFailure {
                item_identifier: "m-1".into(),
            }],
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"batchItemFailures":[{"itemIdentifier":"m-1"}]}"#
        );
        assert!(r.failed("m-1") && !r.failed("m-2"));
    }
}
