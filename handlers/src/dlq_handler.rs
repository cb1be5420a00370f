//! `dlq_handler`, triggered by `etc_dlq`.
//!
//! - A **declined card** (`declined: true`, a business outcome pg recorded and mailed) is parked
//!   in `etc_parked` at once: no retries, no page.
//! - A **fault** is counted in `attempts`; up to three go back to the queue named in `from` with a
//!   growing delay. The resend happens once per DLQ message id, so a retried batch sends nothing
//!   twice.
//! - After that, or when the body cannot be read, the message is parked and counted against its
//!   cause (the console's grouping of `lastError`). The first fault of a cause opens a 5-minute
//!   alert window and sends an [`AlertDigest`] to `etc_dlq` delayed by the window; when it comes
//!   back the window is closed and Discord gets one alert with the count. A burst of 1,000 is
//!   one alert saying 1,000.
//! - `toDiscord: true` still alerts at once, for that message alone.
//!
//! Parking comes first: an alert never replaces the message. Each step is guarded by an
//! idempotency key on the DLQ message id, so a redelivery finishes what a failed delivery left
//! without parking, counting or alerting twice. Reasons are redacted before they reach an alert.

use crate::sqs::{MessageOutcome, SqsFunction};
use async_trait::async_trait;
use crowdfund_core::domain::{Alert, AlertDigest};
use crowdfund_core::envelope::EnvelopeHeader;
use crowdfund_core::metrics::MetricEvent;
use crowdfund_core::ports::*;
use crowdfund_core::reasons::{normalise_reason, redact};
use crowdfund_core::rules::{DlqDecision, ParkReason, dlq_decision};
use crowdfund_core::topology::{
    DEFAULT_VISIBILITY_TIMEOUT_SECONDS, FN_DLQ_HANDLER, QUEUE_DLQ, QUEUE_PARKED,
};
use serde_json::{Value, json};
use std::sync::Arc;

/// The `kind` of the handler's own digest messages on `etc_dlq`.
pub const ALERT_DIGEST_KIND: &str = "alert_digest";
/// At most one alert per cause in this many seconds (within SQS's 900 s delay limit).
pub const ALERT_WINDOW_SECONDS: u32 = 300;
/// A window still open this long after it opened lost its digest (the send failed after the
/// count): the next fault of the cause sends another.
const DIGEST_OVERDUE_SECONDS: i64 = ALERT_WINDOW_SECONDS as i64 + 2 * 60;

pub struct DlqHandlerFunction {
    pub sender: Arc<dyn MessageSender>,
    pub alerter: Arc<dyn Alerter>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub windows: Arc<dyn AlertWindows>,
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
            return self.park_unreadable(message).await;
        };
        if header.kind.as_deref() == Some(ALERT_DIGEST_KIND) {
            return self.close_window(message, map.get("payload")).await;
        }
        match dlq_decision(&header) {
            DlqDecision::Retry {
                queue,
                attempts,
                delay_seconds,
            } => {
                map.insert("attempts".into(), Value::from(attempts));
                let body = Value::Object(map).to_string();
                let resend_key = format!("resend#{}", message.message_id);
                match self
                    .once(&resend_key, || {
                        self.sender.send(&queue, &body, delay_seconds)
                    })
                    .await
                {
                    Ok(()) => MessageOutcome::Done,
                    Err(outcome) => outcome,
                }
            }
            DlqDecision::Park { attempts, reason } => {
                map.insert("attempts".into(), Value::from(attempts));
                let body = Value::Object(map).to_string();
                self.park(message, &body, &header, reason).await
            }
        }
    }
}

impl DlqHandlerFunction {
    /// A body nothing can be read from is parked as it is.
    async fn park_unreadable(&self, message: &ReceivedMessage) -> MessageOutcome {
        let nothing = EnvelopeHeader::default();
        self.park(message, &message.body, &nothing, ParkReason::Unreadable)
            .await
    }

    async fn park(
        &self,
        message: &ReceivedMessage,
        body: &str,
        header: &EnvelopeHeader,
        reason: ParkReason,
    ) -> MessageOutcome {
        // Per DLQ message, declines included: a parked decline an operator redrives comes
        // back parked (a key per payment would swallow it).
        let park_key = format!("park#{}", message.message_id);
        let parked = self
            .once(&park_key, || self.sender.send(QUEUE_PARKED, body, 0))
            .await;
        if let Err(outcome) = parked {
            return outcome;
        }
        self.metrics.record(MetricEvent::MessageParked {
            queue: header.from.clone().unwrap_or_default(),
            declined: reason == ParkReason::Declined,
        });
        if !reason.pages() {
            return MessageOutcome::Done;
        }
        let reason_text = redact(
            header
                .last_error
                .as_deref()
                .unwrap_or_else(|| reason.describe()),
        );
        let queue = header.from.clone().unwrap_or_else(|| "unknown".into());
        let kind = header.kind.clone().unwrap_or_else(|| "unreadable".into());
        if reason == ParkReason::ToDiscordRequested {
            let alert = Alert {
                title: format!("crowdfund: message parked ({})", reason.describe()),
                queue,
                message_id: message.message_id.clone(),
                kind,
                attempts: header.attempts.saturating_add(1),
                reason: reason_text,
                parked_in: QUEUE_PARKED.to_string(),
                at: self.clock.now(),
                count: 1,
            };
            return self
                .send_alert(&format!("alert#{}", message.message_id), &alert)
                .await;
        }
        let cause = normalise_reason(&reason_text);
        let first = AlertDigest {
            cause_key: cause_key(&cause),
            cause,
            queue,
            kind,
            message_id: message.message_id.clone(),
            opened_at: self.clock.now(),
        };
        let count_key = format!("count#{}", message.message_id);
        match self.once(&count_key, || self.count_fault(first)).await {
            Ok(()) => MessageOutcome::Done,
            Err(outcome) => outcome,
        }
    }

    /// Counts one parked fault in its cause's window; the fault that opens the window (or finds
    /// it overdue) sends the digest that will close it.
    async fn count_fault(&self, mut digest: AlertDigest) -> PortResult<()> {
        let now = self.clock.now();
        let window = self.windows.count_fault(&digest.cause_key, now).await?;
        let overdue = (now - window.opened_at).num_seconds() > DIGEST_OVERDUE_SECONDS;
        let delay = match (window.count, overdue) {
            (1, _) => ALERT_WINDOW_SECONDS,
            (_, true) => 0,
            _ => return Ok(()),
        };
        digest.opened_at = window.opened_at;
        let body = json!({
            "kind": ALERT_DIGEST_KIND,
            "from": QUEUE_DLQ,
            "attempts": 0,
            "toDiscord": false,
            "payload": digest,
        });
        self.sender
            .send(QUEUE_DLQ, &body.to_string(), delay)
            .await?;
        Ok(())
    }

    /// A digest came back: close its window and send one alert with what it counted.
    async fn close_window(
        &self,
        message: &ReceivedMessage,
        payload: Option<&Value>,
    ) -> MessageOutcome {
        let Some(digest) =
            payload.and_then(|p| serde_json::from_value::<AlertDigest>(p.clone()).ok())
        else {
            // Not ours to read: park it for a person like any unreadable message.
            return self.park_unreadable(message).await;
        };
        let closed = match self
            .windows
            .close_window(&digest.cause_key, digest.opened_at)
            .await
        {
            Ok(closed) => closed,
            Err(e) => return MessageOutcome::Retry(format!("close alert window: {e}")),
        };
        // Closed already by another delivery of this digest, or a newer window is open.
        let Some(window) = closed else {
            return MessageOutcome::Done;
        };
        let alert = Alert {
            title: format!(
                "crowdfund: {} message(s) parked in {} min: {}",
                window.count,
                ALERT_WINDOW_SECONDS / 60,
                digest.cause
            ),
            queue: digest.queue.clone(),
            message_id: digest.message_id.clone(),
            kind: digest.kind.clone(),
            attempts: 0,
            reason: digest.cause.clone(),
            parked_in: QUEUE_PARKED.to_string(),
            at: self.clock.now(),
            count: window.count,
        };
        let outcome = self
            .send_alert(&format!("alert#{}", message.message_id), &alert)
            .await;
        if outcome != MessageOutcome::Done {
            // The count goes back into the window, so the digest's redelivery still alerts it.
            if let Err(e) = self.windows.reopen(&digest.cause_key, window).await {
                tracing::warn!(cause = %digest.cause, count = window.count, error = %e,
                    "alert window could not be reopened: its count is lost");
            }
        }
        outcome
    }

    async fn send_alert(&self, key: &str, alert: &Alert) -> MessageOutcome {
        match self.once(key, || self.alerter.alert(alert)).await {
            Ok(()) => {
                self.metrics.record(MetricEvent::AlertSent);
                MessageOutcome::Done
            }
            Err(outcome) => outcome,
        }
    }

    /// Runs `effect` unless `key` was done before.
    async fn once<T, F, Fut>(&self, key: &str, effect: F) -> Result<(), MessageOutcome>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = PortResult<T>>,
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
            Ok(_) => self
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

/// A short stable key for a cause (FNV-1a, 64 bits, in hex): causes can be long, keys not.
pub fn cause_key(cause: &str) -> String {
    let hash = cause.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}
