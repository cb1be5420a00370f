//! The [`PaymentGateway`] port: the sandbox gateway, answering by test card, once per payment.

use super::SimWorld;
use crate::money::Money;
use crate::ports::{
    ChargeOutcome, ChargeRequest, PaymentGateway, PortError, PortResult, RefundOutcome,
};
use crate::sandbox;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) enum SandboxCharge {
    Approved { charge_id: String, amount: Money },
    Declined { reason: String },
}

impl SimWorld {
    /// Number of times the gateway was asked to charge each payment.
    pub fn charge_attempts(&self, payment_id: &str) -> u32 {
        self.lock()
            .charge_attempts
            .get(payment_id)
            .copied()
            .unwrap_or(0)
    }

    /// Ids of refunds made, by idempotency key.
    pub fn refund_count(&self) -> usize {
        self.lock().refunds.len()
    }
}

#[async_trait]
impl PaymentGateway for SimWorld {
    async fn charge(&self, request: &ChargeRequest) -> PortResult<ChargeOutcome> {
        let mut s = self.lock();
        let attempts = {
            let n = s
                .charge_attempts
                .entry(request.payment_id.clone())
                .or_default();
            *n += 1;
            *n
        };
        if let Some(previous) = s.charges.get(&request.payment_id) {
            return Ok(match previous {
                SandboxCharge::Approved { charge_id, .. } => ChargeOutcome::Approved {
                    charge_id: charge_id.clone(),
                },
                SandboxCharge::Declined { reason } => ChargeOutcome::Declined {
                    reason: reason.clone(),
                },
            });
        }
        let charge = match sandbox::charge_decision(request, attempts)? {
            ChargeOutcome::Approved { charge_id } => SandboxCharge::Approved {
                charge_id,
                amount: request.amount,
            },
            ChargeOutcome::Declined { reason } => SandboxCharge::Declined { reason },
        };
        s.charges.insert(request.payment_id.clone(), charge.clone());
        Ok(match charge {
            SandboxCharge::Approved { charge_id, .. } => ChargeOutcome::Approved { charge_id },
            SandboxCharge::Declined { reason } => ChargeOutcome::Declined { reason },
        })
    }

    async fn refund(&self, charge_id: &str, idempotency_key: &str) -> PortResult<RefundOutcome> {
        let mut s = self.lock();
        if let Some(id) = s.refunds.get(idempotency_key) {
            return Ok(RefundOutcome::AlreadyRefunded {
                refund_id: id.clone(),
            });
        }
        let known = sandbox::payment_id_of_charge(charge_id)
            .and_then(|payment| s.charges.get(payment))
            .is_some_and(
                |c| matches!(c, SandboxCharge::Approved { charge_id: id, .. } if id == charge_id),
            );
        if !known {
            return Err(PortError::not_found(format!("charge {charge_id}")));
        }
        let refund_id = sandbox::refund_id_for(idempotency_key);
        s.refunds
            .insert(idempotency_key.to_string(), refund_id.clone());
        Ok(RefundOutcome::Refunded { refund_id })
    }
}
