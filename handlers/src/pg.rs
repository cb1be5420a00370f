//! The payment gateway function (`pg`), triggered by `payment_attempt_queue`.
//!
//! A `payment_attempt` is charged (the payment id is the gateway's idempotency key), written to
//! the ledger with a conditional put, and then announced: `send_email` (receipt) and
//! `approve_payment` (raise). A declined one is recorded, counted, the backer is mailed (once:
//! `send_email` keys mails by payment and template), and it goes to `etc_dlq` marked declined,
//! where it is parked without retries or a page. A `payment_cancel`
//! is refunded (the cancel id is the refund's idempotency key), marked cancelled in the ledger,
//! and announced: `reverse_funding` and a refund mail.
//!
//! Every step can be repeated safely, so a redelivered message finishes whatever a crashed
//! delivery left undone: the ledger says what was decided, and the announcements downstream are
//! idempotent themselves.

use crate::sqs::{MessageOutcome, SqsFunction, Step};
use async_trait::async_trait;
use crowdfund_core::domain::{
    FundingRaise, FundingReversal, MailRequest, MailTemplate, PaymentAttempt, PaymentCancel,
    PaymentRecord, PaymentStatus, SEED_STATUS_FAILED,
};
use crowdfund_core::envelope::{Envelope, MessageKind};
use crowdfund_core::metrics::MetricEvent;
use crowdfund_core::ports::*;
use crowdfund_core::rules;
use crowdfund_core::topology::FN_PG;
use std::sync::Arc;

pub struct PaymentFunction {
    pub gateway: Arc<dyn PaymentGateway>,
    pub ledger: Arc<dyn Ledger>,
    pub publisher: Arc<dyn Publisher>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
}

#[async_trait]
impl SqsFunction for PaymentFunction {
    fn name(&self) -> &'static str {
        FN_PG
    }

    async fn handle(&self, message: &ReceivedMessage) -> MessageOutcome {
        let result = match Envelope::parse(&message.body) {
            Err(e) => Err(MessageOutcome::DeadLetter(e.to_string())),
            Ok(env) => match env.kind {
                MessageKind::PaymentAttempt => self.attempt(&env).await,
                MessageKind::PaymentCancel => self.cancel(&env).await,
                other => Err(MessageOutcome::DeadLetter(format!(
                    "{} messages do not belong on payment_attempt_queue",
                    other.as_str()
                ))),
            },
        };
        result.unwrap_or_else(|outcome| outcome)
    }
}

fn payload<P: serde::de::DeserializeOwned>(env: &Envelope, kind: MessageKind) -> Step<P> {
    env.payload_as(kind)
        .map_err(|e| MessageOutcome::DeadLetter(e.to_string()))
}

fn mail(template: MailTemplate, r: &PaymentRecord) -> MailRequest {
    MailRequest {
        template,
        payment_id: r.payment_id.clone(),
        project_id: r.project_id.clone(),
        to: r.backer_email.clone(),
        amount: r.amount,
    }
}

fn port<T>(context: &str, r: PortResult<T>) -> Step<T> {
    r.map_err(|e| MessageOutcome::from_port_error(context, &e))
}

impl PaymentFunction {
    async fn attempt(&self, env: &Envelope) -> Step<MessageOutcome> {
        let p: PaymentAttempt = payload(env, MessageKind::PaymentAttempt)?;
        if p.amount <= 0 || !rules::is_valid_identifier(&p.payment_id) {
            return Err(MessageOutcome::DeadLetter(format!(
                "payment {:?} has an invalid id or a non-positive amount",
                p.payment_id
            )));
        }
        if let Some(existing) = port("ledger read", self.ledger.get_payment(&p.payment_id).await)? {
            return self.resume(existing).await;
        }
        if p.status == Some(SEED_STATUS_FAILED) {
            let reason = "attempt arrived with status 2 (failed upstream)".to_string();
            return self.decline(&p, reason).await;
        }
        let request = ChargeRequest {
            payment_id: p.payment_id.clone(),
            card: p.card.clone(),
            amount: p.money(),
        };
        match port("charge", self.gateway.charge(&request).await)? {
            ChargeOutcome::Declined { reason } => self.decline(&p, reason).await,
            ChargeOutcome::Approved { charge_id } => {
                let record = PaymentRecord {
                    payment_id: p.payment_id.clone(),
                    project_id: p.project_id.clone(),
                    backer_email: p.backer_email.clone(),
                    amount: p.money(),
                    status: PaymentStatus::Approved,
                    paid_at: self.clock.now(),
                    charge_id: Some(charge_id),
                    decline_reason: None,
                    cancel_id: None,
                    cancelled_at: None,
                };
                match port("ledger write", self.ledger.put_payment(&record).await)? {
                    PutOutcome::Created => {
                        self.metrics.record(MetricEvent::PaymentApproved {
                            project_id: record.project_id.clone(),
                            amount: record.amount,
                        });
                        self.announce_approval(&record).await
                    }
                    PutOutcome::Exists(existing) => self.resume(*existing).await,
                }
            }
        }
    }

    /// A payment the ledger already decided: finish what a previous delivery may have left.
    async fn resume(&self, record: PaymentRecord) -> Step<MessageOutcome> {
        match record.status {
            PaymentStatus::Approved => self.announce_approval(&record).await,
            PaymentStatus::Cancelled => Ok(MessageOutcome::Done),
            PaymentStatus::Declined => self.announce_decline(&record).await,
        }
    }

    /// Tells the backer (again, on a redelivery: the mail is sent once) and hands the attempt
    /// to `etc_dlq` as a decline.
    async fn announce_decline(&self, r: &PaymentRecord) -> Step<MessageOutcome> {
        self.publish(Envelope::new(
            MessageKind::SendEmail,
            &mail(MailTemplate::Declined, r),
        ))
        .await?;
        Ok(MessageOutcome::Declined(format!(
            "payment {} was declined: {}",
            r.payment_id,
            r.decline_reason.as_deref().unwrap_or("no reason given")
        )))
    }

    async fn decline(&self, p: &PaymentAttempt, reason: String) -> Step<MessageOutcome> {
        let record = PaymentRecord {
            payment_id: p.payment_id.clone(),
            project_id: p.project_id.clone(),
            backer_email: p.backer_email.clone(),
            amount: p.money(),
            status: PaymentStatus::Declined,
            paid_at: self.clock.now(),
            charge_id: None,
            decline_reason: Some(reason),
            cancel_id: None,
            cancelled_at: None,
        };
        match port("ledger write", self.ledger.put_payment(&record).await)? {
            PutOutcome::Created => {
                self.metrics.record(MetricEvent::PaymentDeclined {
                    project_id: record.project_id.clone(),
                    amount: record.amount,
                });
                self.resume(record).await
            }
            PutOutcome::Exists(existing) => self.resume(*existing).await,
        }
    }

    async fn announce_approval(&self, r: &PaymentRecord) -> Step<MessageOutcome> {
        let mail = mail(MailTemplate::Receipt, r);
        let raise = FundingRaise {
            payment_id: r.payment_id.clone(),
            project_id: r.project_id.clone(),
            amount: r.amount,
            paid_at: Some(r.paid_at),
        };
        self.publish(Envelope::new(MessageKind::SendEmail, &mail))
            .await?;
        self.publish(Envelope::new(MessageKind::ApprovePayment, &raise))
            .await?;
        Ok(MessageOutcome::Done)
    }

    async fn cancel(&self, env: &Envelope) -> Step<MessageOutcome> {
        let c: PaymentCancel = payload(env, MessageKind::PaymentCancel)?;
        let Some(record) = port("ledger read", self.ledger.get_payment(&c.payment_id).await)?
        else {
            return Err(MessageOutcome::DeadLetter(format!(
                "cancel {}: payment {} is not in the ledger",
                c.cancel_id, c.payment_id
            )));
        };
        match record.status {
            PaymentStatus::Declined => Ok(MessageOutcome::Done),
            PaymentStatus::Cancelled if record.cancel_id.as_deref() == Some(&c.cancel_id) => {
                self.announce_cancel(&record).await
            }
            PaymentStatus::Cancelled => Ok(MessageOutcome::Done),
            PaymentStatus::Approved => {
                let Some(charge_id) = record.charge_id.as_deref() else {
                    return Err(MessageOutcome::DeadLetter(format!(
                        "payment {} is approved but has no charge id to refund",
                        record.payment_id
                    )));
                };
                port("refund", self.gateway.refund(charge_id, &c.cancel_id).await)?;
                let now = self.clock.now();
                let outcome = self
                    .ledger
                    .cancel_payment(&c.payment_id, &c.cancel_id, now)
                    .await;
                match port("ledger cancel", outcome)? {
                    CancelOutcome::Cancelled(r) => {
                        self.metrics.record(MetricEvent::PaymentCancelled {
                            project_id: r.project_id.clone(),
                            amount: r.amount,
                        });
                        self.announce_cancel(&r).await
                    }
                    CancelOutcome::AlreadyCancelled(r) => self.announce_cancel(&r).await,
                    CancelOutcome::NotApproved(_) | CancelOutcome::NotFound => {
                        Ok(MessageOutcome::Done)
                    }
                }
            }
        }
    }

    async fn announce_cancel(&self, r: &PaymentRecord) -> Step<MessageOutcome> {
        let reversal = FundingReversal {
            payment_id: r.payment_id.clone(),
            project_id: r.project_id.clone(),
        };
        let mail = mail(MailTemplate::Refund, r);
        self.publish(Envelope::new(MessageKind::ReverseFunding, &reversal))
            .await?;
        self.publish(Envelope::new(MessageKind::SendEmail, &mail))
            .await?;
        Ok(MessageOutcome::Done)
    }

    async fn publish(&self, envelope: Envelope) -> Step<()> {
        let topic = envelope.kind.topic();
        port(
            &format!("publish to {topic}"),
            self.publisher.publish(topic, &envelope.to_json()).await,
        )?;
        Ok(())
    }
}
