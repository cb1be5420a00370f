//! DynamoDB adapter: the `payments` [`Ledger`] and the [`IdempotencyStore`], in one table.
//!
//! Payments are items keyed by `paymentId`; the `project_paid_at` index (projectId, paidAt)
//! answers "payments of project P after T" with a Query — there is no Scan in this module.
//! `paidAt` is stored as RFC 3339 in UTC with microseconds and a `Z`, a fixed-width form whose
//! string order is time order, so the index's sort key compares as time.
//!
//! Idempotency keys live in the same table under `paymentId = "idem#<key>"`, with `idemState`
//! (`in_progress` | `done`) and `expiresAt` (epoch seconds, the lease). They carry no
//! `projectId`, so the index never sees them. Every guard is a conditional write.

use super::port_error;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::SecondsFormat;
use crowdfund_core::domain::{PaymentRecord, PaymentStatus, Timestamp};
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::ports::{
    CancelOutcome, Claim, IdempotencyStore, Ledger, PortError, PortResult, PutOutcome,
};
use crowdfund_core::topology::{
    ATTR_PAID_AT, ATTR_PAYMENT_ID, ATTR_PROJECT_ID, INDEX_PROJECT_PAID_AT,
};
use std::collections::HashMap;

const SERVICE: &str = "DynamoDB";
/// Key prefix of idempotency items.
pub const IDEMPOTENCY_PREFIX: &str = "idem#";
const IDEM_IN_PROGRESS: &str = "in_progress";
const IDEM_DONE: &str = "done";

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// One project's payments as read by [`DynamoLedger::query_project`], with DynamoDB's own
/// account of the read: items examined (`ScannedCount`, summed over the pages) and pages, the
/// figures that read capacity is charged on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectQuery {
    pub records: Vec<PaymentRecord>,
    pub scanned_count: u64,
    pub pages: u32,
}

/// The item under `paymentId = key`, read consistently (the table's items of every kind).
pub(crate) async fn consistent_get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
    service: &'static str,
) -> PortResult<Option<Item>> {
    let out = client
        .get_item()
        .table_name(table)
        .key(ATTR_PAYMENT_ID, s(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| port_error(service, &format!("table {table}"), e))?;
    Ok(out.item)
}

/// The fixed-width time format of `paidAt` and `cancelledAt`.
pub fn format_time(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn is_condition_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    matches!(e, SdkError::ServiceError(_)) && e.code() == Some("ConditionalCheckFailedException")
}

fn record_to_item(r: &PaymentRecord) -> Item {
    let mut item = Item::new();
    item.insert(ATTR_PAYMENT_ID.into(), s(&r.payment_id));
    item.insert(ATTR_PROJECT_ID.into(), s(&r.project_id));
    item.insert("backerEmail".into(), s(&r.backer_email));
    item.insert(
        "amount".into(),
        AttributeValue::N(r.amount.amount.to_string()),
    );
    item.insert("currency".into(), s(r.amount.currency.as_str()));
    item.insert("status".into(), s(r.status.as_str()));
    item.insert(ATTR_PAID_AT.into(), s(format_time(r.paid_at)));
    if let Some(v) = &r.charge_id {
        item.insert("chargeId".into(), s(v));
    }
    if let Some(v) = &r.decline_reason {
        item.insert("declineReason".into(), s(v));
    }
    if let Some(v) = &r.cancel_id {
        item.insert("cancelId".into(), s(v));
    }
    if let Some(v) = r.cancelled_at {
        item.insert("cancelledAt".into(), s(format_time(v)));
    }
    item
}

/// Reads an item back; a malformed item is named, never guessed at.
fn item_to_record(item: &Item) -> PortResult<PaymentRecord> {
    let id = item
        .get(ATTR_PAYMENT_ID)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let bad = |field: &str| {
        PortError::Rejected(format!(
            "payments item {id:?} has no valid {field}; fix or delete the item"
        ))
    };
    let text = |field: &str| item.get(field).and_then(|v| v.as_s().ok()).cloned();
    let req = |field: &str| text(field).ok_or_else(|| bad(field));
    let time = |field: &str| -> PortResult<Option<Timestamp>> {
        text(field)
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(&t)
                    .map(|d| d.with_timezone(&chrono::Utc))
                    .map_err(|_| bad(field))
            })
            .transpose()
    };
    let amount = item
        .get("amount")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(|| bad("amount"))?;
    let currency: Currency = req("currency")?.parse().map_err(|_| bad("currency"))?;
    let status = match req("status")?.as_str() {
        "approved" => PaymentStatus::Approved,
        "declined" => PaymentStatus::Declined,
        "cancelled" => PaymentStatus::Cancelled,
        _ => return Err(bad("status")),
    };
    Ok(PaymentRecord {
        payment_id: req(ATTR_PAYMENT_ID)?,
        project_id: req(ATTR_PROJECT_ID)?,
        backer_email: req("backerEmail")?,
        amount: Money::new(amount, currency),
        status,
        paid_at: time(ATTR_PAID_AT)?.ok_or_else(|| bad(ATTR_PAID_AT))?,
        charge_id: text("chargeId"),
        decline_reason: text("declineReason"),
        cancel_id: text("cancelId"),
        cancelled_at: time("cancelledAt")?,
    })
}

impl DynamoLedger {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoLedger {
            client,
            table: table.into(),
        }
    }

    /// The project's payments (after `after`, if given) by a Query on the project/time index,
    /// with what DynamoDB reports having read for them. [`Ledger::payments_of_project`] is this
    /// without the counts.
    pub async fn query_project(
        &self,
        project_id: &str,
        after: Option<Timestamp>,
    ) -> PortResult<ProjectQuery> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_PROJECT_PAID_AT)
            .expression_attribute_names("#p", ATTR_PROJECT_ID)
            .expression_attribute_values(":p", s(project_id));
        q = match after {
            Some(t) => q
                .key_condition_expression("#p = :p AND #t > :after")
                .expression_attribute_names("#t", ATTR_PAID_AT)
                .expression_attribute_values(":after", s(format_time(t))),
            None => q.key_condition_expression("#p = :p"),
        };
        let mut pages = q.into_paginator().send();
        let mut out = ProjectQuery::default();
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| port_error(SERVICE, &format!("index {INDEX_PROJECT_PAID_AT}"), e))?
        {
            out.pages += 1;
            out.scanned_count += u64::try_from(page.scanned_count()).unwrap_or(0);
            for item in page.items() {
                out.records.push(item_to_record(item)?);
            }
        }
        Ok(out)
    }

    async fn get_item(&self, key: &str) -> PortResult<Option<Item>> {
        consistent_get(&self.client, &self.table, key, SERVICE).await
    }
}

#[async_trait]
impl Ledger for DynamoLedger {
    async fn put_payment(&self, record: &PaymentRecord) -> PortResult<PutOutcome> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record_to_item(record)))
            .condition_expression("attribute_not_exists(paymentId)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Created),
            Err(e) if is_condition_failure(&e) => {
                match self.get_item(&record.payment_id).await? {
                    Some(item) => Ok(PutOutcome::Exists(Box::new(item_to_record(&item)?))),
                    // Deleted between the two calls: an operator's doing; try again later.
                    None => Err(PortError::unavailable(
                        SERVICE,
                        format!("payment {} vanished during its write", record.payment_id),
                    )),
                }
            }
            Err(e) => Err(port_error(SERVICE, &format!("table {}", self.table), e)),
        }
    }

    async fn get_payment(&self, payment_id: &str) -> PortResult<Option<PaymentRecord>> {
        // Idempotency and sandbox-gateway items share the table; they are not payments.
        if payment_id.contains('#') {
            return Ok(None);
        }
        self.get_item(payment_id)
            .await?
            .map(|i| item_to_record(&i))
            .transpose()
    }

    async fn payments_of_project(
        &self,
        project_id: &str,
        after: Option<Timestamp>,
    ) -> PortResult<Vec<PaymentRecord>> {
        Ok(self.query_project(project_id, after).await?.records)
    }

    async fn cancel_payment(
        &self,
        payment_id: &str,
        cancel_id: &str,
        at: Timestamp,
    ) -> PortResult<CancelOutcome> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_PAYMENT_ID, s(payment_id))
            .update_expression("SET #s = :cancelled, cancelId = :c, cancelledAt = :at")
            .condition_expression("#s = :approved")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":cancelled", s("cancelled"))
            .expression_attribute_values(":approved", s("approved"))
            .expression_attribute_values(":c", s(cancel_id))
            .expression_attribute_values(":at", s(format_time(at)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes() {
                Some(item) => Ok(CancelOutcome::Cancelled(Box::new(item_to_record(item)?))),
                None => match self.get_payment(payment_id).await? {
                    Some(r) => Ok(CancelOutcome::Cancelled(Box::new(r))),
                    None => Ok(CancelOutcome::NotFound),
                },
            },
            Err(e) if is_condition_failure(&e) => {
                Ok(match self.get_payment(payment_id).await? {
                    None => CancelOutcome::NotFound,
                    Some(r) => match r.status {
                        PaymentStatus::Cancelled => CancelOutcome::AlreadyCancelled(Box::new(r)),
                        // Approved again would mean the condition passed; treat as not approved.
                        PaymentStatus::Declined | PaymentStatus::Approved => {
                            CancelOutcome::NotApproved(Box::new(r))
                        }
                    },
                })
            }
            Err(e) => Err(port_error(SERVICE, &format!("table {}", self.table), e)),
        }
    }
}

#[async_trait]
impl IdempotencyStore for DynamoLedger {
    async fn claim(&self, key: &str, now: Timestamp, lease_seconds: u32) -> PortResult<Claim> {
        let id = format!("{IDEMPOTENCY_PREFIX}{key}");
        let expires = now.timestamp() + i64::from(lease_seconds);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(ATTR_PAYMENT_ID, s(&id))
            .item("idemState", s(IDEM_IN_PROGRESS))
            .item("expiresAt", AttributeValue::N(expires.to_string()))
            .condition_expression(
                "attribute_not_exists(paymentId) OR (#st = :inprog AND #exp <= :now)",
            )
            .expression_attribute_names("#st", "idemState")
            .expression_attribute_names("#exp", "expiresAt")
            .expression_attribute_values(":inprog", s(IDEM_IN_PROGRESS))
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) if is_condition_failure(&e) => {
                let state = self
                    .get_item(&id)
                    .await?
                    .and_then(|i| i.get("idemState").and_then(|v| v.as_s().ok()).cloned());
                Ok(match state.as_deref() {
                    Some(IDEM_DONE) => Claim::AlreadyDone,
                    _ => Claim::InProgress,
                })
            }
            Err(e) => Err(port_error(SERVICE, &format!("idempotency key {key}"), e)),
        }
    }

    async fn complete(&self, key: &str, now: Timestamp) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(ATTR_PAYMENT_ID, s(format!("{IDEMPOTENCY_PREFIX}{key}")))
            .item("idemState", s(IDEM_DONE))
            .item("doneAt", s(format_time(now)))
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("idempotency key {key}"), e))?;
        Ok(())
    }

    async fn release(&self, key: &str) -> PortResult<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(ATTR_PAYMENT_ID, s(format!("{IDEMPOTENCY_PREFIX}{key}")))
            .condition_expression("#st = :inprog")
            .expression_attribute_names("#st", "idemState")
            .expression_attribute_values(":inprog", s(IDEM_IN_PROGRESS))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Done (or gone) already: nothing to release.
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(port_error(SERVICE, &format!("idempotency key {key}"), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An item written is read back as the same record, and its time sorts as text.
    #[test]
    fn items_round_trip_and_times_sort_as_text() {
        let t: Timestamp = "2026-11-20T12:00:00Z".parse().unwrap();
        let r = PaymentRecord {
            payment_id: "pay-1".into(),
            project_id: "prj-1".into(),
            backer_email: "b@example.com".into(),
            amount: Money::new(50_000, Currency::KRW),
            status: PaymentStatus::Approved,
            paid_at: t,
            charge_id: Some("ch_pay-1".into()),
            decline_reason: None,
            cancel_id: None,
            cancelled_at: None,
        };
        assert_eq!(item_to_record(&record_to_item(&r)).unwrap(), r);
        let later = t + chrono::Duration::microseconds(1);
        assert!(format_time(t) < format_time(later));
        assert!(format_time(t) < format_time(t + chrono::Duration::days(400)));
        let mut broken = record_to_item(&r);
        broken.remove("amount");
        let e = item_to_record(&broken).unwrap_err();
        assert!(e.to_string().contains("pay-1") && e.to_string().contains("amount"));
    }
}
