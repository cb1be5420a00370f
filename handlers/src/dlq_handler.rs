//! `dlq_handler`, triggered by `etc_dlq`: counts the failure in `attempts`; up to three go back
//! to the queue named in `from` with a growing delay; after that, or when `toDiscord` is set, or
//! when the body cannot be read at all, the message is parked in `etc_parked` and Discord is
//! alerted.
//!
//! Parking comes first: an alert never replaces the message. Both steps are guarded by
//! idempotency keys on the DLQ message id, so a redelivery after a failed alert alerts again
//! without parking a second copy.

use crate::sqs::{MessageOutcome, SqsFunction};
use async_trait::async_trait;
use crowdfund_core::domain::Alert;
use crowdfund_core::envelope::EnvelopeHeader;
use crowdfund_core::metrics::MetricEvent;
use crowdfund_core::ports::*;
use crowdfund_core::rules::{DlqDecision, ParkReason, dlq_decision};
use crowdfund_core::topology::{DEFAULT_VISIBILITY_TIMEOUT_SECONDS, FN_DLQ_HANDLER, QUEUE_PARKED};
use serde_json::Value;
use std::sync::Arc;

pub struct DlqHandlerFunction {
    pub sender: Arc<dyn MessageSender>,
    pub alerter: Arc<dyn Alerter>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
}

#[async_trait]
impl SqsFunction for DlqHandlerFunction {
    fn name(&self) -> &'static str {
        FN_DLQ_HANDLER
    }

    async fn handle(&self, message: &ReceivedMessage) -> MessageOutcome {
        let Some((header, mut map)) = EnvelopeHeader::read(&message.body) else {
            return self
                .park(
                    message,
                    &message.body,
                    &EnvelopeHeader::default(),
                    0,
                    ParkReason::Unreadable,
                )
                .await;
        };
        match dlq_decision(header.from.as_deref(), header.attempts, header.to_discord) {
            DlqDecision::Retry {
                queue,
                attempts,
                delay_seconds,
            } => {
                map.insert("attempts".into(), Value::from(attempts));
                let body = Value::Object(map).to_string();
                match self.sender.send(&queue, &body, delay_seconds).await {
                    Ok(_) => MessageOutcome::Done,
                    Err(e) => MessageOutcome::Retry(format!("send back to {queue}: {e}")),
                }
            }
            DlqDecision::Park { attempts, reason } => {
                map.insert("attempts".into(), Value::from(attempts));
                let body = Value::Object(map).to_string();
                self.park(message, &body, &header, attempts, reason).await
            }
        }
    }
}

impl DlqHandlerFunction {
    async fn park(
        &self,
        message: &ReceivedMessage,
        body: &str,
        header: &EnvelopeHeader,
        attempts: u32,
        reason: ParkReason,
    ) -> MessageOutcome {
        let park_key = format!("park#{}", message.message_id);
        let parked = self
            .once(&park_key, || async {
                self.sender.send(QUEUE_PARKED, body, 0).await.map(|_| ())
            })
            .await;
        if let Err(outcome) = parked {
            return outcome;
        }
        self.metrics.record(MetricEvent::MessageParked {
            queue: header.from.clone().unwrap_or_default(),
        });
        let alert = Alert {
            title: format!("crowdfund: message parked ({})", reason.describe()),
            queue: header.from.clone().unwrap_or_else(|| "unknown".into()),
            message_id: message.message_id.clone(),
            kind: header.kind.clone().unwrap_or_else(|| "unreadable".into()),
            attempts,
            reason: header
                .last_error
                .clone()
                .unwrap_or_else(|| reason.describe().to_string()),
            parked_in: QUEUE_PARKED.to_string(),
            at: self.clock.now(),
        };
        let alert_key = format!("alert#{}", message.message_id);
        match self.once(&alert_key, || self.alerter.alert(&alert)).await {
            Ok(()) => {
                self.metrics.record(MetricEvent::AlertSent);
                MessageOutcome::Done
            }
            Err(outcome) => outcome,
        }
    }

    /// Runs `effect` unless `key` was done before.
    async fn once<F, Fut>(&self, key: &str, effect: F) -> Result<(), MessageOutcome>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = PortResult<()>>,
    {
        let now = self.clock.now();
        match self
            .idempotency
            .claim(key, now, DEFAULT_VISIBILITY_TIMEOUT_SECONDS)
            .await
        {
            Err(e) => return Err(MessageOutcome::Retry(format!("claim {key}: {e}"))),
            Ok(Claim::AlreadyDone) => return Ok(()),
            Ok(Claim::InProgress) => {
                return Err(MessageOutcome::Retry(format!(
                    "{key} is in progress elsewhere"
                )));
            }
            Ok(Claim::Acquired) => {}
        }
        match effect().await {
            Ok(()) => self
                .idempotency
                .complete(key, self.clock.now())
                .await
                .map_err(|e| MessageOutcome::Retry(format!("complete {key}: {e}"))),
            Err(e) => {
                let _ = self.idempotency.release(key).await;
                // The DLQ handler never dead-letters (it is the end of the line): it retries.
                Err(MessageOutcome::Retry(format!("{key}: {e}")))
            }
        }
    }
}
