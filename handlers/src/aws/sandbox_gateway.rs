//! The sandbox payment gateway with its charges in DynamoDB (`PAYMENT_GATEWAY=sandbox`): the
//! test cards of `crowdfund_core::sandbox`, answered once per payment, remembered in the payments
//! table so that a refund handled by any execution environment finds its charge.
//!
//! Items live under `paymentId = "sandbox#charge#<paymentId>"` (`attempts`, and once decided
//! `outcome`, `chargeId` or `reason`, `amount`, `currency`) and `"sandbox#refund#<key>"`
//! (`refundId`, `chargeId`). They carry no `projectId`, so the ledger's index never sees them;
//! the keys hold a `#`, which no payment id may, so they never meet a payment. Every decision is
//! a conditional write: two executions charging the same payment agree on one outcome.

use super::dynamodb::is_condition_failure;
use super::port_error;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use crowdfund_core::ports::{
    ChargeOutcome, ChargeRequest, PaymentGateway, PortError, PortResult, RefundOutcome,
};
use crowdfund_core::sandbox;
use crowdfund_core::topology::ATTR_PAYMENT_ID;
use std::collections::HashMap;

const SERVICE: &str = "DynamoDB (sandbox gateway)";
/// Key prefix of the sandbox's items in the payments table.
pub const SANDBOX_PREFIX: &str = "sandbox#";

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn text<'a>(item: &'a Item, attr: &str) -> Option<&'a str> {
    item.get(attr)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn charge_key(payment_id: &str) -> String {
    format!("{SANDBOX_PREFIX}charge#{payment_id}")
}

fn refund_key(idempotency_key: &str) -> String {
    format!("{SANDBOX_PREFIX}refund#{idempotency_key}")
}

#[derive(Debug, Clone)]
pub struct DynamoSandboxGateway {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoSandboxGateway {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoSandboxGateway {
            client,
            table: table.into(),
        }
    }

    fn what(&self) -> String {
        format!("table {}", self.table)
    }

    async fn get(&self, key: String) -> PortResult<Option<Item>> {
        super::dynamodb::consistent_get(&self.client, &self.table, &key, SERVICE).await
    }

    /// Counts this charge attempt; returns the item as it is now.
    async fn count_attempt(&self, payment_id: &str) -> PortResult<Item> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_PAYMENT_ID, s(charge_key(payment_id)))
            .update_expression("ADD attempts :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &self.what(), e))?;
        Ok(out.attributes.unwrap_or_default())
    }

    /// Records the outcome unless one is there; returns the outcome that stands.
    async fn decide(
        &self,
        request: &ChargeRequest,
        outcome: ChargeOutcome,
    ) -> PortResult<ChargeOutcome> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_PAYMENT_ID, s(charge_key(&request.payment_id)))
            .condition_expression("attribute_not_exists(outcome)")
            .expression_attribute_values(
                ":amount",
                AttributeValue::N(request.amount.amount.to_string()),
            )
            .expression_attribute_values(":currency", s(request.amount.currency.to_string()));
        update = match &outcome {
            ChargeOutcome::Approved { charge_id } => update
                .update_expression(
                    "SET outcome = :o, chargeId = :c, amount = :amount, currency = :currency",
                )
                .expression_attribute_values(":o", s("approved"))
                .expression_attribute_values(":c", s(charge_id.clone())),
            ChargeOutcome::Declined { reason } => update
                .update_expression(
                    "SET outcome = :o, reason = :r, amount = :amount, currency = :currency",
                )
                .expression_attribute_values(":o", s("declined"))
                .expression_attribute_values(":r", s(reason.clone())),
        };
        match update.send().await {
            Ok(_) => Ok(outcome),
            Err(e) if is_condition_failure(&e) => {
                let item = self.get(charge_key(&request.payment_id)).await?;
                item.as_ref().and_then(recorded_outcome).ok_or_else(|| {
                    PortError::unavailable(
                        SERVICE,
                        format!("charge of {} vanished", request.payment_id),
                    )
                })
            }
            Err(e) => Err(port_error(SERVICE, &self.what(), e)),
        }
    }
}

fn recorded_outcome(item: &Item) -> Option<ChargeOutcome> {
    match text(item, "outcome")? {
        "approved" => Some(ChargeOutcome::Approved {
            charge_id: text(item, "chargeId")?.to_string(),
        }),
        _ => Some(ChargeOutcome::Declined {
            reason: text(item, "reason").unwrap_or("declined").to_string(),
        }),
    }
}

#[async_trait]
impl PaymentGateway for DynamoSandboxGateway {
    async fn charge(&self, request: &ChargeRequest) -> PortResult<ChargeOutcome> {
        let item = self.count_attempt(&request.payment_id).await?;
        if let Some(outcome) = recorded_outcome(&item) {
            return Ok(outcome);
        }
        let attempts = item
            .get("attempts")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(1);
        let outcome = sandbox::charge_decision(request, attempts)?;
        self.decide(request, outcome).await
    }

    async fn refund(&self, charge_id: &str, idempotency_key: &str) -> PortResult<RefundOutcome> {
        if let Some(done) = self.get(refund_key(idempotency_key)).await? {
            let refund_id = text(&done, "refundId").unwrap_or_default().to_string();
            return Ok(RefundOutcome::AlreadyRefunded { refund_id });
        }
        let charged = match sandbox::payment_id_of_charge(charge_id) {
            Some(payment) => self.get(charge_key(payment)).await?,
            None => None,
        };
        let known = charged.as_ref().and_then(recorded_outcome).is_some_and(
            |o| matches!(o, ChargeOutcome::Approved { charge_id: id } if id == charge_id),
        );
        if !known {
            return Err(PortError::not_found(format!("charge {charge_id}")));
        }
        let refund_id = sandbox::refund_id_for(idempotency_key);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(ATTR_PAYMENT_ID, s(refund_key(idempotency_key)))
            .item("refundId", s(refund_id.clone()))
            .item("chargeId", s(charge_id))
            .condition_expression("attribute_not_exists(paymentId)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(RefundOutcome::Refunded { refund_id }),
            Err(e) if is_condition_failure(&e) => Ok(RefundOutcome::AlreadyRefunded { refund_id }),
            Err(e) => Err(port_error(SERVICE, &self.what(), e)),
        }
    }
}
