//! The sandbox payment gateway's test cards, as pure rules. The simulated world uses them, and
//! so does the DynamoDB-backed sandbox adapter a test stage runs (`PAYMENT_GATEWAY=sandbox`).

use crate::ports::{ChargeOutcome, ChargeRequest, PortError, PortResult};

/// Card that is always approved.
pub const CARD_APPROVE: &str = "tok_approve";
/// Card that is always declined (the seed's `status: 2`).
pub const CARD_DECLINE: &str = "tok_decline";
/// Card whose charge fails transiently `TRANSIENT_FAILURES` times, then is approved: it walks
/// the whole retry path (SQS redelivery, redrive to etc_dlq, DLQ retry) and ends approved.
pub const CARD_TRANSIENT_ERROR: &str = "tok_error";
pub const TRANSIENT_FAILURES: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBehaviour {
    Approve,
    Decline,
    /// Fails while fewer than `failures` charges were tried for the payment.
    TransientError {
        failures: u32,
    },
    /// Not a sandbox token: declined, as a real gateway declines an unknown card.
    Unknown,
}

pub fn card_behaviour(card: &str) -> CardBehaviour {
    match card {
        CARD_APPROVE => CardBehaviour::Approve,
        CARD_DECLINE => CardBehaviour::Decline,
        CARD_TRANSIENT_ERROR => CardBehaviour::TransientError {
            failures: TRANSIENT_FAILURES,
        },
        _ => CardBehaviour::Unknown,
    }
}

/// The sandbox's charge id for a payment: deterministic, so a repeated charge finds the first.
pub fn charge_id_for(payment_id: &str) -> String {
    format!("ch_{payment_id}")
}

pub fn payment_id_of_charge(charge_id: &str) -> Option<&str> {
    charge_id.strip_prefix("ch_")
}

pub fn refund_id_for(idempotency_key: &str) -> String {
    format!("re_{idempotency_key}")
}

/// The sandbox's answer to the `attempts`-th charge of a payment (counting this one) that has
/// no recorded outcome yet: `Err` (retryable) while a `tok_error` card is still failing.
pub fn charge_decision(request: &ChargeRequest, attempts: u32) -> PortResult<ChargeOutcome> {
    match card_behaviour(&request.card) {
        CardBehaviour::TransientError { failures } if attempts <= failures => {
            Err(PortError::unavailable(
                "payment gateway",
                format!(
                    "timeout charging {} (sandbox card tok_error, call {attempts} of {failures} failing)",
                    request.payment_id
                ),
            ))
        }
        CardBehaviour::Approve | CardBehaviour::TransientError { .. } => {
            Ok(ChargeOutcome::Approved {
                charge_id: charge_id_for(&request.payment_id),
            })
        }
        CardBehaviour::Decline => Ok(ChargeOutcome::Declined {
            reason: "card declined".to_string(),
        }),
        CardBehaviour::Unknown => Ok(ChargeOutcome::Declined {
            reason: format!("unknown card token {:?}", request.card),
        }),
    }
}
