//! `funding_update`, triggered by `approve_payment_queue`: raises (or reverses) a project's
//! amount through crowdfund-api. The API applies each payment id once, so redelivery is safe.

use crate::sqs::{MessageOutcome, SqsFunction};
use async_trait::async_trait;
use crowdfund_core::domain::{FundingRaise, FundingReversal};
use crowdfund_core::envelope::{Envelope, MessageKind};
use crowdfund_core::ports::*;
use crowdfund_core::topology::FN_FUNDING_UPDATE;
use std::sync::Arc;

pub struct FundingUpdateFunction {
    pub funding: Arc<dyn FundingApi>,
}

#[async_trait]
impl SqsFunction for FundingUpdateFunction {
    fn name(&self) -> &'static str {
        FN_FUNDING_UPDATE
    }

    async fn handle(&self, message: &ReceivedMessage) -> MessageOutcome {
        let env = match Envelope::parse(&message.body) {
            Ok(e) => e,
            Err(e) => return MessageOutcome::DeadLetter(e.to_string()),
        };
        let result = match env.kind {
            MessageKind::ApprovePayment => match env.payload_as::<FundingRaise>(env.kind) {
                Ok(r) => {
                    self.funding
                        .raise(&r.project_id, &r.payment_id, r.amount, r.paid_at)
                        .await
                }
                Err(e) => return MessageOutcome::DeadLetter(e.to_string()),
            },
            MessageKind::ReverseFunding => match env.payload_as::<FundingReversal>(env.kind) {
                Ok(r) => self.funding.reverse(&r.project_id, &r.payment_id).await,
                Err(e) => return MessageOutcome::DeadLetter(e.to_string()),
            },
            other => {
                return MessageOutcome::DeadLetter(format!(
                    "{} messages do not belong on approve_payment_queue",
                    other.as_str()
                ));
            }
        };
        match result {
            Ok(_) => MessageOutcome::Done,
            Err(e) => MessageOutcome::from_port_error("funding API", &e),
        }
    }
}
