//! `send_email`, triggered by `send_email_queue`: one mail per payment and template.
//!
//! SES has no idempotency key, so the mail is guarded by a claim in the idempotency store: a
//! duplicate delivery finds the key done and skips; a concurrent one finds it in progress and
//! retries later; a crash mid-send lets the lease expire so the mail is still sent.

use crate::sqs::{MessageOutcome, SqsFunction};
use async_trait::async_trait;
use crowdfund_core::domain::{Mail, MailRequest};
use crowdfund_core::envelope::{Envelope, MessageKind};
use crowdfund_core::ports::*;
use crowdfund_core::topology::{DEFAULT_VISIBILITY_TIMEOUT_SECONDS, FN_SEND_EMAIL};
use std::sync::Arc;

pub struct SendEmailFunction {
    pub mailer: Arc<dyn Mailer>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub clock: Arc<dyn Clock>,
}

#[async_trait]
impl SqsFunction for SendEmailFunction {
    fn name(&self) -> &'static str {
        FN_SEND_EMAIL
    }

    async fn handle(&self, message: &ReceivedMessage) -> MessageOutcome {
        let request: MailRequest = match Envelope::parse(&message.body)
            .and_then(|e| e.payload_as(MessageKind::SendEmail))
        {
            Ok(r) => r,
            Err(e) => return MessageOutcome::DeadLetter(e.to_string()),
        };
        let key = request.idempotency_key();
        let lease = DEFAULT_VISIBILITY_TIMEOUT_SECONDS;
        match self.idempotency.claim(&key, self.clock.now(), lease).await {
            Err(e) => return MessageOutcome::from_port_error("idempotency claim", &e),
            Ok(Claim::AlreadyDone) => return MessageOutcome::Done,
            Ok(Claim::InProgress) => {
                return MessageOutcome::Retry(format!("{key} is being sent by another delivery"));
            }
            Ok(Claim::Acquired) => {}
        }
        match self.mailer.send_mail(&Mail::from(&request)).await {
            Ok(_) => match self.idempotency.complete(&key, self.clock.now()).await {
                Ok(()) => MessageOutcome::Done,
                // Sent but not marked: the lease expires and a redelivery may mail again.
                // Rare, and a duplicate receipt beats a lost one.
                Err(e) => MessageOutcome::from_port_error("idempotency complete", &e),
            },
            Err(e) => {
                // Best effort: if the release fails too, the lease expires on its own.
                let _ = self.idempotency.release(&key).await;
                MessageOutcome::from_port_error("send mail", &e)
            }
        }
    }
}
