//! What every queue-triggered function shares: per-message outcomes, partial batch failures
//! (Lambda's ReportBatchItemFailures), and dead-lettering of messages that can never succeed.

use async_trait::async_trait;
use crowdfund_core::domain::Timestamp;
use crowdfund_core::metrics::MetricEvent;
use crowdfund_core::ports::{Clock, MessageSender, Metrics, PortError, ReceivedMessage};
use crowdfund_core::reasons::redact;
use crowdfund_core::topology::{
    self, DEADLINE_MARGIN_MILLIS, MAX_RECEIVE_COUNT, QUEUE_DLQ, Trigger,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How one message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Handled (or found handled before): delete it.
    Done,
    /// A transient failure: report it, so SQS redelivers after the visibility timeout. On the
    /// last receive (maxReceiveCount) it is sent to `etc_dlq` with the reason instead.
    Retry(String),
    /// It can never succeed as it is: send it to `etc_dlq` now, with the reason, and delete it.
    DeadLetter(String),
    /// A business outcome (a declined card), recorded and told to the backer already: send it to
    /// `etc_dlq` marked `declined`, where it is parked at once, unretried and unpaged.
    Declined(String),
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
    /// Messages not started because the invocation's deadline was near (also listed in
    /// `batch_item_failures`, so SQS redelivers them); not part of Lambda's wire shape.
    #[serde(skip)]
    pub left_at_deadline: u32,
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

/// When an invocation must be over: Lambda's deadline for this batch, read through the clock.
#[derive(Clone, Copy)]
pub struct Deadline<'a> {
    pub at: Timestamp,
    pub clock: &'a dyn Clock,
}

impl Deadline<'_> {
    /// Whether a new message may be started: more than [`DEADLINE_MARGIN_MILLIS`] is left for it
    /// and for the response that reports what is left.
    fn allows_another(&self) -> bool {
        let left = self.at.signed_duration_since(self.clock.now());
        left.num_milliseconds() > DEADLINE_MARGIN_MILLIS as i64
    }
}

/// Runs a batch through `function`. Messages that failed transiently, dead letters that could
/// not be sent to `etc_dlq`, and (with a `deadline`) the messages not started because too little
/// time was left, are reported as failures so SQS keeps them.
pub async fn handle_batch(
    function: &dyn SqsFunction,
    dead_letters: &dyn MessageSender,
    metrics: &dyn Metrics,
    deadline: Option<Deadline<'_>>,
    batch: &[ReceivedMessage],
) -> BatchResponse {
    let mut response = BatchResponse::default();
    // Handler compute time, reported as the function's duration (a process measurement, not
    // domain time, so it does not come from the Clock port).
    let started = std::time::Instant::now();
    let redrives = queue_redrives(function.name());
    for (index, message) in batch.iter().enumerate() {
        if deadline.is_some_and(|d| !d.allows_another()) {
            // Lambda would kill the invocation and SQS redeliver the whole batch, done or not.
            response.left_at_deadline = (batch.len() - index) as u32;
            response
                .batch_item_failures
                .extend(batch[index..].iter().map(|m| BatchItemFailure {
                    item_identifier: m.message_id.clone(),
                }));
            break;
        }
        // What goes to etc_dlq now, with its reason (and whether it is a decline).
        let to_dlq = match function.handle(message).await {
            MessageOutcome::Done => None,
            // The last receive SQS allows: the redrive would move the message to etc_dlq as it
            // is; sent there now it carries why it failed, for the console and the alert. If
            // the send fails, the redrive still moves it.
            MessageOutcome::Retry(reason)
                if redrives && message.receive_count >= MAX_RECEIVE_COUNT =>
            {
                Some((reason, false))
            }
            MessageOutcome::Retry(_reason) => {
                response.batch_item_failures.push(BatchItemFailure {
                    item_identifier: message.message_id.clone(),
                });
                continue;
            }
            MessageOutcome::DeadLetter(reason) => Some((reason, false)),
            MessageOutcome::Declined(reason) => Some((reason, true)),
        };
        let keep = match to_dlq {
            None => false,
            Some((reason, declined)) => {
                let body = annotated(&message.body, &reason, declined);
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

/// Whether the queue that triggers `function` redrives to `etc_dlq` (every work queue does;
/// `etc_dlq` itself, the DLQ handler's, does not: it is the end of the line).
fn queue_redrives(function: &str) -> bool {
    match topology::function(function).map(|f| f.trigger) {
        Some(Trigger::Queue { queue, .. }) => {
            topology::queue(queue).is_some_and(|q| q.redrive.is_some())
        }
        _ => false,
    }
}

/// The body with `lastError` set to the redacted reason, when it is a JSON object; otherwise
/// the body untouched (a message is never rewritten into something else, only annotated).
pub fn with_last_error(body: &str, reason: &str) -> String {
    annotated(body, reason, false)
}

/// [`with_last_error`], and `declined: true` for a business outcome.
fn annotated(body: &str, reason: &str, declined: bool) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            map.insert("lastError".into(), Value::String(redact(reason)));
            if declined {
                map.insert("declined".into(), Value::Bool(true));
            }
            Value::Object(map).to_string()
        }
        _ => body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crowdfund_core::ports::{NoMetrics, PortResult};
    use std::sync::Mutex;

    /// A clock each handled message moves on by 4 s: the batch's time, without waiting.
    struct SlowMessages {
        now: Mutex<Timestamp>,
        handled: Mutex<Vec<String>>,
    }

    impl Clock for SlowMessages {
        fn now(&self) -> Timestamp {
            *self.now.lock().expect("clock")
        }
    }

    #[async_trait]
    impl SqsFunction for SlowMessages {
        fn name(&self) -> &'static str {
            "slow"
        }
        async fn handle(&self, message: &ReceivedMessage) -> MessageOutcome {
            *self.now.lock().expect("clock") += chrono::Duration::seconds(4);
            self.handled
                .lock()
                .expect("handled")
                .push(message.message_id.clone());
            MessageOutcome::Done
        }
    }

    struct NoDeadLetters;

    #[async_trait]
    impl MessageSender for NoDeadLetters {
        async fn send(&self, queue: &str, _: &str, _: u32) -> PortResult<String> {
            panic!("nothing should be dead-lettered to {queue}")
        }
    }

    /// With 25 s to go and 4 s a message, messages start at 25, 21, 17 and 13 s left; at 9 s
    /// left (under the 10 s margin) the batch stops and reports the other six as failures.
    #[test]
    fn a_batch_stops_at_its_deadline_and_reports_the_rest() {
        let start: Timestamp = "2026-12-01T12:00:00Z".parse().expect("a time");
        let f = SlowMessages {
            now: Mutex::new(start),
            handled: Mutex::new(Vec::new()),
        };
        let batch: Vec<ReceivedMessage> = (0..10)
            .map(|i| ReceivedMessage {
                message_id: format!("m-{i}"),
                receipt_handle: format!("rh-{i}"),
                body: "{}".into(),
                receive_count: 1,
                sent_at: start,
            })
            .collect();
        let deadline = Deadline {
            at: start + chrono::Duration::seconds(25),
            clock: &f,
        };
        let response = futures::executor::block_on(handle_batch(
            &f,
            &NoDeadLetters,
            &NoMetrics,
            Some(deadline),
            &batch,
        ));
        let handled = f.handled.lock().expect("handled").clone();
        assert_eq!(handled, ["m-0", "m-1", "m-2", "m-3"]);
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m-4", "m-5", "m-6", "m-7", "m-8", "m-9"]);
        assert_eq!(response.left_at_deadline, 6);

        // Without a deadline (the local runner) the whole batch runs.
        let all =
            futures::executor::block_on(handle_batch(&f, &NoDeadLetters, &NoMetrics, None, &batch));
        assert!(all.batch_item_failures.is_empty());
    }

    #[test]
    fn last_error_annotates_objects_and_leaves_other_bodies_alone() {
        let b = with_last_error(r#"{"kind":"x","attempts":1}"#, "boom");
        assert_eq!(b, r#"{"kind":"x","attempts":1,"lastError":"boom"}"#);
        let b = with_last_error("{}", "SES refused kim@example.com");
        assert_eq!(b, r#"{"lastError":"SES refused <email>"}"#);
        let b = annotated("{}", "card declined", true);
        assert_eq!(b, r#"{"lastError":"card declined","declined":true}"#);
        assert_eq!(with_last_error("not json", "boom"), "not json");
        assert_eq!(with_last_error("[1]", "boom"), "[1]");
    }

    #[test]
    fn batch_response_has_lambdas_wire_shape() {
        let r = BatchResponse {
            batch_item_failures: vec![BatchItemFailure {
                item_identifier: "m-1".into(),
            }],
            left_at_deadline: 0,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"batchItemFailures":[{"itemIdentifier":"m-1"}]}"#
        );
        assert!(r.failed("m-1") && !r.failed("m-2"));
    }
}
