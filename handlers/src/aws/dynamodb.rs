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
//!
//! Many payments at once ([`Ledger::get_payments`], the console's ledger column) are read with
//! BatchGetItem: at most [`BATCH_GET_MAX_KEYS`] keys a request, [`BATCH_GET_IN_FLIGHT`]
//! requests at a time, and the keys DynamoDB leaves unprocessed (throttling, the 16 MB answer
//! limit) asked for again after a doubling wait, [`BATCH_GET_RETRIES`] times at most.

use super::port_error;
use super::sqs_move::TokioPacer;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};
use chrono::SecondsFormat;
use crowdfund_core::domain::{PaymentRecord, PaymentStatus, Timestamp};
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::ports::{
    AlertWindow, AlertWindows, CancelOutcome, Claim, IdempotencyStore, Ledger, Pacer, PortError,
    PortResult, PutOutcome,
};
use crowdfund_core::topology::{
    ATTR_PAID_AT, ATTR_PAYMENT_ID, ATTR_PROJECT_ID, INDEX_PROJECT_PAID_AT,
};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

const SERVICE: &str = "DynamoDB";
/// Keys one BatchGetItem may ask for (DynamoDB refuses more).
pub const BATCH_GET_MAX_KEYS: usize = 100;
/// BatchGetItem requests in flight at once: a few, so that a large lookup does not take the
/// table's whole read capacity from the pipeline.
pub const BATCH_GET_IN_FLIGHT: usize = 4;
/// How many times keys left unprocessed are asked for again before the read fails.
pub const BATCH_GET_RETRIES: u32 = 5;
/// The wait before the first retry of unprocessed keys; it doubles with each retry
/// (50, 100, 200, 400, 800 ms: 1.55 s in all).
pub const BATCH_GET_FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Key prefix of idempotency items.
pub const IDEMPOTENCY_PREFIX: &str = "idem#";
const IDEM_IN_PROGRESS: &str = "in_progress";
const IDEM_DONE: &str = "done";

type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Waits between retries of unprocessed keys.
    pacer: Arc<dyn Pacer>,
}

impl std::fmt::Debug for DynamoLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoLedger")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
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
            pacer: Arc::new(TokioPacer::default()),
        }
    }

    /// The same ledger, waiting through `pacer` between retries of unprocessed keys.
    pub fn with_pacer(mut self, pacer: Arc<dyn Pacer>) -> Self {
        self.pacer = pacer;
        self
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

    /// One BatchGetItem of at most [`BATCH_GET_MAX_KEYS`] keys, read consistently (as
    /// [`Ledger::get_payment`] reads): the items found, and the keys DynamoDB left unprocessed.
    async fn batch_get(&self, keys: Vec<Item>) -> PortResult<(Vec<Item>, Vec<Item>)> {
        let request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(|e| PortError::Rejected(format!("{SERVICE}: a BatchGetItem request: {e}")))?;
        let out = self
            .client
            .batch_get_item()
            .request_items(&self.table, request)
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("table {}", self.table), e))?;
        let found = out
            .responses
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default();
        let unprocessed = out
            .unprocessed_keys
            .and_then(|mut u| u.remove(&self.table))
            .map(|k| k.keys)
            .unwrap_or_default();
        Ok((found, unprocessed))
    }
}

/// Reads `keys` with `fetch` (one BatchGetItem: the items found and the keys left unprocessed),
/// then asks again for what was left unprocessed, waiting [`BATCH_GET_FIRST_BACKOFF`] before
/// the first retry and twice as long before each next one. After [`BATCH_GET_RETRIES`]
/// retries with keys still left, the read fails naming how many.
async fn read_with_retries<F, Fut>(
    keys: Vec<Item>,
    table: &str,
    pacer: &dyn Pacer,
    fetch: F,
) -> PortResult<Vec<Item>>
where
    F: Fn(Vec<Item>) -> Fut,
    Fut: std::future::Future<Output = PortResult<(Vec<Item>, Vec<Item>)>>,
{
    let asked = keys.len();
    let mut found = Vec::with_capacity(asked);
    let mut pending = keys;
    let mut wait = BATCH_GET_FIRST_BACKOFF;
    for retry in 0..=BATCH_GET_RETRIES {
        if retry > 0 {
            pacer.sleep(wait).await;
            wait *= 2;
        }
        let (items, unprocessed) = fetch(pending).await?;
        found.extend(items);
        pending = unprocessed;
        if pending.is_empty() {
            return Ok(found);
        }
    }
    Err(PortError::unavailable(
        SERVICE,
        format!(
            "table {table}: {} of {asked} keys stayed unprocessed after {BATCH_GET_RETRIES} \
             retries of BatchGetItem (the table's read capacity is exhausted); try again later",
            pending.len()
        ),
    ))
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

    /// BatchGetItem, [`BATCH_GET_MAX_KEYS`] keys a request, [`BATCH_GET_IN_FLIGHT`] at a time;
    /// each id is asked once, and ids of other items of the table (with `#`) not at all.
    async fn get_payments(
        &self,
        payment_ids: &[String],
    ) -> PortResult<HashMap<String, PaymentRecord>> {
        let ids: BTreeSet<&str> = payment_ids
            .iter()
            .map(String::as_str)
            .filter(|id| !id.contains('#'))
            .collect();
        let keys: Vec<Item> = ids
            .into_iter()
            .map(|id| Item::from([(ATTR_PAYMENT_ID.to_string(), s(id))]))
            .collect();
        // Collected first: a lazy `map` closure would make the future not `Send`.
        let reads: Vec<_> = keys
            .chunks(BATCH_GET_MAX_KEYS)
            .map(|chunk| {
                read_with_retries(chunk.to_vec(), &self.table, &*self.pacer, |keys| {
                    self.batch_get(keys)
                })
            })
            .collect();
        let items: Vec<Vec<Item>> = futures::stream::iter(reads)
            .buffer_unordered(BATCH_GET_IN_FLIGHT)
            .try_collect()
            .await?;
        items
            .iter()
            .flatten()
            .map(|item| item_to_record(item).map(|r| (r.payment_id.clone(), r)))
            .collect()
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
        // Whose claim it is: when the put succeeds but its answer is lost, the SDK's retry
        // fails the condition on our own claim, and the token says it is ours.
        let owner = claim_token();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(ATTR_PAYMENT_ID, s(&id))
            .item("idemState", s(IDEM_IN_PROGRESS))
            .item("idemOwner", s(&owner))
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
                let item = self.get_item(&id).await?;
                let text = |name: &str| {
                    item.as_ref()
                        .and_then(|i| i.get(name).and_then(|v| v.as_s().ok()).cloned())
                };
                Ok(match (text("idemState").as_deref(), text("idemOwner")) {
                    (Some(IDEM_DONE), _) => Claim::AlreadyDone,
                    (Some(IDEM_IN_PROGRESS), Some(o)) if o == owner => Claim::Acquired,
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

/// A token no other claim has: random per process, counted within it.
fn claim_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let process = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("{process:016x}-{}", COUNT.fetch_add(1, Ordering::Relaxed))
}

/// An alert window is an item keyed `idem#alerts#<cause>`: `faultCount` counted atomically,
/// `openedAt` set by the fault that opened it and removed when the window is closed.
fn alert_window_id(cause_key: &str) -> String {
    format!("{IDEMPOTENCY_PREFIX}alerts#{cause_key}")
}

fn alert_window(item: &HashMap<String, AttributeValue>) -> Option<AlertWindow> {
    let count = item.get("faultCount")?.as_n().ok()?.parse().ok()?;
    let opened_at = item.get("openedAt")?.as_s().ok()?.parse().ok()?;
    Some(AlertWindow { count, opened_at })
}

#[async_trait]
impl AlertWindows for DynamoLedger {
    async fn count_fault(&self, cause_key: &str, now: Timestamp) -> PortResult<AlertWindow> {
        self.add_to_window(cause_key, 1, now).await
    }

    async fn close_window(
        &self,
        cause_key: &str,
        opened_at: Timestamp,
    ) -> PortResult<Option<AlertWindow>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_PAYMENT_ID, s(alert_window_id(cause_key)))
            .update_expression("SET faultCount = :zero REMOVE openedAt")
            .condition_expression("openedAt = :opened")
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":opened", s(format_time(opened_at)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.attributes().and_then(alert_window)),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(port_error(SERVICE, &format!("alert window {cause_key}"), e)),
        }
    }

    async fn reopen(&self, cause_key: &str, window: AlertWindow) -> PortResult<()> {
        let count = i64::try_from(window.count).unwrap_or(i64::MAX);
        self.add_to_window(cause_key, count, window.opened_at)
            .await
            .map(|_| ())
    }
}

impl DynamoLedger {
    /// Adds `count` faults to the cause's window (one UpdateItem, atomic), opening it at
    /// `opened_at` if none is open.
    async fn add_to_window(
        &self,
        cause_key: &str,
        count: i64,
        opened_at: Timestamp,
    ) -> PortResult<AlertWindow> {
        let context = format!("alert window {cause_key}");
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_PAYMENT_ID, s(alert_window_id(cause_key)))
            .update_expression("ADD faultCount :n SET openedAt = if_not_exists(openedAt, :opened)")
            .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
            .expression_attribute_values(":opened", s(format_time(opened_at)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &context, e))?;
        out.attributes()
            .and_then(alert_window)
            .ok_or_else(|| PortError::Rejected(format!("{context}: DynamoDB returned no count")))
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

    fn keys(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item::from([(ATTR_PAYMENT_ID.to_string(), s(format!("pay-{i}")))]))
            .collect()
    }

    /// Unprocessed keys are asked for again, and only they, after a wait that doubles.
    #[test]
    fn unprocessed_keys_are_retried_with_a_doubling_wait() {
        let pacer = crowdfund_core::ports::VirtualPacer::default();
        let asked = std::sync::Mutex::new(Vec::new());
        // Each call processes the first half of what it is asked (at least one key).
        let fetch = |keys: Vec<Item>| {
            asked.lock().unwrap().push(keys.len());
            let done = keys.len().div_ceil(2);
            let (found, left) = keys.split_at(done);
            std::future::ready(Ok((found.to_vec(), left.to_vec())))
        };
        let found =
            futures::executor::block_on(read_with_retries(keys(10), "payments", &pacer, fetch))
                .unwrap();
        assert_eq!(found, keys(10), "every key read once, in order");
        assert_eq!(*asked.lock().unwrap(), [10, 5, 2, 1]);
        let ms = Duration::from_millis;
        assert_eq!(pacer.sleeps(), [ms(50), ms(100), ms(200)]);
    }

    /// Keys that stay unprocessed end the read after the last retry, with their count.
    #[test]
    fn keys_left_unprocessed_fail_the_read_naming_how_many() {
        let pacer = crowdfund_core::ports::VirtualPacer::default();
        let fetch = |keys: Vec<Item>| {
            let (found, left) = keys.split_at(keys.len().min(1));
            std::future::ready(Ok((found.to_vec(), left.to_vec())))
        };
        let e = futures::executor::block_on(read_with_retries(keys(40), "payments", &pacer, fetch))
            .unwrap_err();
        assert!(e.is_retryable(), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("34 of 40 keys stayed unprocessed after 5 retries")
                && text.contains("table payments"),
            "{text}"
        );
        assert_eq!(pacer.sleeps().len(), BATCH_GET_RETRIES as usize);
        // A failing call is not retried here: its error is the read's.
        let failing = |_: Vec<Item>| {
            std::future::ready(Err::<(Vec<Item>, Vec<Item>), _>(PortError::Rejected(
                "bad".into(),
            )))
        };
        let e =
            futures::executor::block_on(read_with_retries(keys(3), "payments", &pacer, failing))
                .unwrap_err();
        assert_eq!(e, PortError::Rejected("bad".into()));
    }
}
