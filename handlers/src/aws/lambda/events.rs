//! The glue between lambda_runtime's events and the handlers: an [`SqsEvent`] becomes the
//! handlers' messages and its outcomes an [`SqsBatchResponse`] (ReportBatchItemFailures); an API
//! Gateway REST proxy request (payload format 1.0) becomes the broker's body, and its answer the
//! proxy response.

use crate::broker::{BrokerFunction, BrokerResponse};
use crate::sqs::{Deadline, MessageOutcome, SqsFunction, handle_batch};
use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, header::CONTENT_TYPE};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use base64::Engine;
use chrono::TimeZone;
use crowdfund_core::ports::{Clock, MessageSender, Metrics, ReceivedMessage};
use crowdfund_core::reasons::redact;
use serde_json::json;
use std::sync::Arc;

/// Why an invocation failed as a whole (Lambda then retries the whole batch).
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error(
        "record {index} of the event has no messageId: the function is triggered by something other than an SQS event-source mapping"
    )]
    NoMessageId { index: usize },
}

impl From<EventError> for lambda_runtime::Diagnostic {
    fn from(e: EventError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "EventError".into(),
            error_message: e.to_string(),
        }
    }
}

/// A queue-triggered function as Lambda invokes it.
pub struct SqsLambda {
    function: Arc<dyn SqsFunction>,
    dead_letters: Arc<dyn MessageSender>,
    metrics: Arc<dyn Metrics>,
    clock: Arc<dyn Clock>,
}

impl SqsLambda {
    pub(super) fn new(
        function: Arc<dyn SqsFunction>,
        dead_letters: Arc<dyn MessageSender>,
        metrics: Arc<dyn Metrics>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        SqsLambda {
            function: Arc::new(Logged(function)),
            dead_letters,
            metrics,
            clock,
        }
    }

    /// One SQS batch: messages that failed transiently are listed in `batchItemFailures`, so
    /// SQS keeps them; everything else (done, or dead-lettered to `etc_dlq`) is deleted. With
    /// the invocation's `deadline` (Lambda's, in ms since the epoch), no message is started with
    /// less than the topology's margin left: the rest are listed as failures too.
    pub async fn handle(
        &self,
        event: SqsEvent,
        deadline_ms: Option<u64>,
    ) -> Result<SqsBatchResponse, EventError> {
        let now = self.clock.now();
        let batch = event
            .records
            .iter()
            .enumerate()
            .map(|(index, record)| received(record, now).ok_or(EventError::NoMessageId { index }))
            .collect::<Result<Vec<_>, _>>()?;
        let deadline = deadline_ms
            .and_then(|ms| i64::try_from(ms).ok())
            .and_then(|ms| chrono::Utc.timestamp_millis_opt(ms).single())
            .filter(|at| {
                // Lambda's deadline is ahead at the start of an invocation. One behind it is not
                // Lambda's (cargo-lambda's emulator sends a constant 600000, 1970): run the batch.
                let ahead = *at > now;
                if !ahead {
                    tracing::warn!(deadline = %at, "the invocation's deadline has passed already: ignored");
                }
                ahead
            })
            .map(|at| Deadline {
                at,
                clock: &*self.clock,
            });
        let outcome = handle_batch(
            &*self.function,
            &*self.dead_letters,
            &*self.metrics,
            deadline,
            &batch,
        )
        .await;
        let left_at_deadline = outcome.left_at_deadline;
        let mut response = SqsBatchResponse::default();
        for failure in outcome.batch_item_failures {
            response.add_failure(failure.item_identifier);
        }
        tracing::info!(
            function = self.function.name(),
            received = batch.len(),
            failed = response.batch_item_failures.len(),
            left_at_deadline,
            "batch handled"
        );
        Ok(response)
    }
}

/// The message as the handlers know it. `None` without a message id: such a record could be
/// neither deleted nor reported.
fn received(
    record: &SqsMessage,
    now: crowdfund_core::domain::Timestamp,
) -> Option<ReceivedMessage> {
    let attribute = |name: &str| {
        record
            .attributes
            .get(name)
            .and_then(|v| v.parse::<i64>().ok())
    };
    Some(ReceivedMessage {
        message_id: record.message_id.clone()?,
        receipt_handle: record.receipt_handle.clone().unwrap_or_default(),
        body: record.body.clone().unwrap_or_default(),
        receive_count: attribute("ApproximateReceiveCount")
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1),
        sent_at: attribute("SentTimestamp")
            .and_then(|ms| chrono::Utc.timestamp_millis_opt(ms).single())
            .unwrap_or(now),
    })
}

/// Logs why a message is retried or dead-lettered: the batch response carries only its id.
struct Logged(Arc<dyn SqsFunction>);

#[async_trait]
impl SqsFunction for Logged {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    async fn handle(&self, message: &ReceivedMessage) -> MessageOutcome {
        let outcome = self.0.handle(message).await;
        match &outcome {
            MessageOutcome::Done => {}
            MessageOutcome::Retry(reason) => tracing::warn!(
                message_id = %message.message_id, receive_count = message.receive_count,
                reason = %redact(reason), "reported as a batch item failure: SQS redelivers it"
            ),
            MessageOutcome::DeadLetter(reason) => tracing::warn!(
                message_id = %message.message_id, reason = %redact(reason),
                "sent to etc_dlq: it can never succeed"
            ),
            MessageOutcome::Declined(reason) => tracing::info!(
                message_id = %message.message_id, reason = %redact(reason),
                "declined: sent to etc_dlq to be parked"
            ),
        }
        outcome
    }
}

/// The broker's answer to an API Gateway proxy request: the body (decoded if API Gateway
/// base64-encoded it) goes through [`BrokerFunction::handle`], whose status and JSON body are
/// the response.
pub async fn broker_response(
    broker: &BrokerFunction,
    request: &ApiGatewayProxyRequest,
) -> ApiGatewayProxyResponse {
    let body = request.body.as_deref().unwrap_or_default();
    let answer = if request.is_base64_encoded {
        match base64::engine::general_purpose::STANDARD.decode(body) {
            Ok(bytes) => broker.handle(&bytes).await,
            Err(e) => BrokerResponse {
                status: 400,
                body: json!({"error": format!("the body is marked base64 but is not: {e}"), "field": null}),
            },
        }
    } else {
        broker.handle(body.as_bytes()).await
    };
    tracing::info!(status = answer.status, "broker answered");
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(answer.status);
    response.headers = headers;
    response.body = Some(Body::Text(answer.body.to_string()));
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// SQS's attributes become the receive count and sent time; a record without a message id
    /// cannot be reported and is refused.
    #[test]
    fn sqs_records_become_received_messages() {
        let event: SqsEvent = serde_json::from_value(json!({"Records": [{
            "messageId": "m-1", "receiptHandle": "rh", "body": "{}",
            "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1764115200000"},
            "messageAttributes": {}, "eventSource": "aws:sqs"
        }, {"body": "{}"}]}))
        .unwrap();
        let now = chrono::Utc::now();
        let m = received(&event.records[0], now).unwrap();
        assert_eq!((m.message_id.as_str(), m.receive_count), ("m-1", 2));
        assert_eq!(m.sent_at.timestamp_millis(), 1_764_115_200_000);
        assert!(received(&event.records[1], now).is_none());
    }
}
