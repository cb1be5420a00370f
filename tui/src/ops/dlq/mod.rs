//! DLQ browsing and disposal: what happens to chosen messages, a redrive (back to a queue) or a
//! delete. One word for both, [`Disposal`], across the CLI, the TUI, the audit log and the docs.
//!
//! Listing browses: on SQS a message can only be read by receiving it, so a browse receives
//! each message once (concurrently), holds it hidden while the browse runs, and releases every
//! one at its end; each message's receive count rises by one. Nothing is consumed. A disposal receives in batches, writes the selected
//! messages to the backup, sends them to their target with SendMessageBatch, and deletes only
//! the ones the target acknowledged. A crash at any point can duplicate a message (the handlers
//! are idempotent) but never lose one. Messages not selected are held invisible while the
//! redrive runs, so they are not received twice, and released at the end.
//!
//! - `request`: what a disposal is (which messages, where to, how fast) and its report.
//! - `dispose`: running one, batched or as an SQS move task.
//! - [`check`]: what a redrive of chosen messages would do, by their payments' ledger states.

pub mod check;
mod dispose;
pub mod groups;
mod request;

pub use check::{LedgerCheck, check_before_redrive};
pub use dispose::{NATIVE_ACTION, dispose, pace_delay};
pub use request::{
    CancelFlag, Disposal, DisposalReport, DisposalRequest, Moved, NATIVE_MAX_RATE, NativeMove,
    NotMoved, Selection, redrive_body,
};

use crate::backend::Backend;
use crate::ops::safety::{AuditEntry, AuditTrail, Ending, SafetyError};
use crowdfund_core::domain::Timestamp;
use crowdfund_core::envelope::EnvelopeHeader;
use crowdfund_core::ports::{BrowseOptions, PortError, ReceivedMessage};
use crowdfund_core::topology::{self, QUEUE_DLQ, QUEUE_PARKED};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("unknown queue {0:?}; queues: {known}", known = queue_names())]
    UnknownQueue(String),
    #[error("--to {0} is the queue being redriven; pick another target or leave --to out")]
    SameQueue(String),
    #[error("say which messages: --all, or --id ID (repeatable)")]
    NoSelection,
    #[error("--rate 0 would never move anything; give messages per second (1 or more)")]
    ZeroRate,
    #[error("--native moves a whole queue: use it with --all, for a redrive (not delete)")]
    NativeNeedsAll,
    #[error(
        "--native needs a dead-letter queue that SQS redrives into; {0} is not one (leave out --native)"
    )]
    NativeNotADlq(String),
    #[error("--native: SQS moves at most {NATIVE_MAX_RATE} messages per second; lower --rate")]
    NativeRate,
    #[error(
        "this backend has no SQS move tasks (local world, or an endpoint without them); leave out --native"
    )]
    NativeUnsupported,
    #[error(transparent)]
    Port(#[from] PortError),
    #[error("backup or audit failed, nothing more was moved: {0}")]
    Safety(#[from] SafetyError),
}

fn queue_names() -> String {
    topology::QUEUES
        .iter()
        .map(|q| q.name)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn check_queue(name: &str) -> Result<&'static str, DlqError> {
    topology::queue(name)
        .map(|q| q.name)
        .ok_or_else(|| DlqError::UnknownQueue(name.to_string()))
}

/// One message as the DLQ browser shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DlqMessage {
    pub queue: String,
    pub message_id: String,
    pub kind: Option<String>,
    pub from: Option<String>,
    pub attempts: u32,
    pub to_discord: bool,
    /// A declined payment parked as an outcome (pg said so): it needs no fix, only, at most,
    /// a look.
    pub declined: bool,
    /// Why it failed, when the failing handler said so.
    pub reason: Option<String>,
    pub payment_id: Option<String>,
    /// The payment's state in the ledger: approved, declined, cancelled, or none.
    pub ledger_state: Option<String>,
    /// When the message was sent to this queue (SentTimestamp).
    pub sent_at: Timestamp,
    /// When SQS deletes it: `sent_at` plus the queue's retention period
    /// ([`QueueSpec::retention_seconds`](topology::QueueSpec)). A message that SQS moved into a
    /// dead-letter queue by a redrive policy keeps its original enqueue time, and so its
    /// SentTimestamp: its expiry counts from when it entered the first queue, not from when it
    /// arrived here, and comes sooner than its age in this queue suggests (CloudWatch's
    /// ApproximateAgeOfOldestMessage of a DLQ counts from the move instead).
    pub expires_at: Timestamp,
    pub age_seconds: u64,
    pub receive_count: u32,
    /// The body, as JSON when it is JSON, else as the string it is.
    pub body: Value,
}

/// Receive calls a browse keeps in flight: enough to hide the round trip to the region.
pub const BROWSE_RECEIVERS: usize = 8;
/// The console's default cap on the messages it loads of one queue (`--max-messages`).
pub const DEFAULT_MAX_MESSAGES: usize = 100_000;
/// The highest cap: SQS lets 120,000 messages of a standard queue be in flight, and a browse
/// holds every message it read until its end, so some room stays for the pipeline's own.
pub const MAX_MESSAGES_LIMIT: usize = 110_000;

/// How long a browse of `queue` holds each message it read (all are released at its end).
/// dlq_handler waits on etc_dlq's messages, so those are held seconds at most; parked ones wait
/// for a person anyway, and a longer hold keeps a long browse from reading them twice.
pub fn hold_seconds(queue: &str) -> u32 {
    if queue == QUEUE_PARKED { 120 } else { 10 }
}

pub fn browse_options(queue: &str, max: usize) -> BrowseOptions {
    BrowseOptions {
        max,
        hold_seconds: hold_seconds(queue),
        receivers: BROWSE_RECEIVERS,
    }
}

/// True where reading a message means receiving it (SQS): there, only the failure queues are
/// browsed; a look into a work queue is an operation the operator confirms.
pub fn reads_by_receiving(b: &Backend) -> bool {
    b.name == "aws"
}

/// True when `queue` may be browsed without asking: every queue of the local world, and the
/// failure queues (which no function consumes with a redrive policy) on AWS.
pub fn browsable(b: &Backend, queue: &str) -> bool {
    !reads_by_receiving(b) || FAILURE_QUEUES.contains(&queue)
}

/// How long `queue` keeps a message (the topology's retention; SQS's default of 4 days for a
/// queue the topology does not know).
pub fn retention_seconds(queue: &str) -> u32 {
    topology::queue(queue).map_or(topology::DEFAULT_RETENTION_SECONDS, |q| q.retention_seconds)
}

/// A received message as the browser shows it; its ledger state is looked up apart.
pub fn to_dlq_message(queue: &str, m: ReceivedMessage, now: Timestamp) -> DlqMessage {
    let header = EnvelopeHeader::read(&m.body)
        .map(|(h, _)| h)
        .unwrap_or_default();
    DlqMessage {
        queue: queue.to_string(),
        message_id: m.message_id,
        kind: header.kind,
        from: header.from,
        attempts: header.attempts,
        to_discord: header.to_discord,
        declined: header.declined,
        reason: header.last_error,
        payment_id: header.payment_id,
        ledger_state: None,
        sent_at: m.sent_at,
        expires_at: m.sent_at + chrono::Duration::seconds(i64::from(retention_seconds(queue))),
        age_seconds: (now - m.sent_at).num_seconds().max(0) as u64,
        receive_count: m.receive_count,
        body: serde_json::from_str(&m.body).unwrap_or(Value::String(m.body)),
    }
}

/// Each payment's state in the ledger (`approved`, `declined`, `cancelled`, or `none`), by
/// payment id, each id asked once, in one batch read ([`Ledger::get_payments`]: BatchGetItem on
/// DynamoDB, 100 keys a request).
///
/// [`Ledger::get_payments`]: crowdfund_core::ports::Ledger::get_payments
pub async fn ledger_states<'a>(
    b: &Backend,
    payment_ids: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(String, String)>, DlqError> {
    let ids: Vec<String> = payment_ids
        .into_iter()
        .map(str::to_string)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = b.ledger.get_payments(&ids).await?;
    Ok(ids
        .into_iter()
        .map(|id| {
            let state = found.get(&id).map_or("none", |r| r.status.as_str());
            (id, state.to_string())
        })
        .collect())
}

/// Told how many messages a read has seen so far.
pub type ReadProgress<'a> = &'a (dyn Fn(usize) + Send + Sync);

/// Reads up to `limit` messages of `queue` (a browse: see [`browsable`]), and with
/// `with_ledger` looks up each payment in the ledger; `read` follows the browse.
pub async fn list_messages(
    b: &Backend,
    queue: &str,
    limit: usize,
    with_ledger: bool,
    read: ReadProgress<'_>,
) -> Result<Vec<DlqMessage>, DlqError> {
    let queue = check_queue(queue)?;
    let now = b.clock.now();
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let sink = |batch: &[ReceivedMessage]| {
        let n = seen.fetch_add(batch.len(), std::sync::atomic::Ordering::Relaxed) + batch.len();
        read(n);
        true
    };
    let read = b
        .queues
        .browse(queue, browse_options(queue, limit), &sink)
        .await?;
    let mut out: Vec<DlqMessage> = read
        .into_iter()
        .map(|m| to_dlq_message(queue, m, now))
        .collect();
    out.sort_by_key(|m| m.sent_at);
    if with_ledger {
        let states: std::collections::HashMap<String, String> =
            ledger_states(b, out.iter().filter_map(|m| m.payment_id.as_deref()))
                .await?
                .into_iter()
                .collect();
        for m in &mut out {
            m.ledger_state = m.payment_id.as_ref().and_then(|p| states.get(p).cloned());
        }
    }
    Ok(out)
}

/// Writes the selected messages of `queue` to a JSONL file without touching them; the audit
/// log gets the intent before and the result after.
pub async fn export_messages(
    b: &Backend,
    queue: &str,
    selection: &Selection,
    out: &std::path::Path,
) -> Result<u64, DlqError> {
    let queue = check_queue(queue)?;
    let mut intent = AuditEntry::intent(b.wall_clock.now(), &b.identity, "export", queue);
    intent.to = Some(out.display().to_string());
    if let Selection::Ids(ids) = selection {
        intent.selected = ids.len() as u64;
    }
    let trail = AuditTrail::begin(&b.audit_log, intent)?;
    let written = async {
        let messages = b
            .queues
            .browse(queue, browse_options(queue, MAX_MESSAGES_LIMIT), &|_| true)
            .await?;
        let chosen: Vec<&ReceivedMessage> = messages
            .iter()
            .filter(|m| match selection {
                Selection::All => true,
                Selection::Ids(ids) => ids.contains(&m.message_id),
            })
            .collect();
        crate::ops::safety::write_jsonl(out, queue, &chosen)?;
        Ok::<u64, DlqError>(chosen.len() as u64)
    }
    .await;
    let ending = match &written {
        Ok(_) => Ending::Ok,
        Err(e) => Ending::Failed(e),
    };
    let audited = trail.finish(b.wall_clock.now(), ending, |e| {
        if let Ok(n) = &written {
            e.selected = *n;
        }
    });
    let count = written?;
    audited?;
    Ok(count)
}

/// A look into a work queue, on the operator's word: a list that is audited (intent and result),
/// since on SQS it raises the receive counts of what it read.
pub async fn look_messages(
    b: &Backend,
    queue: &str,
    limit: usize,
) -> Result<Vec<DlqMessage>, DlqError> {
    let queue = check_queue(queue)?;
    let mut intent = AuditEntry::intent(b.wall_clock.now(), &b.identity, "look", queue);
    intent.selected = limit as u64;
    let trail = AuditTrail::begin(&b.audit_log, intent)?;
    let read = list_messages(b, queue, limit, true, &|_| {}).await;
    let ending = match &read {
        Ok(_) => Ending::Ok,
        Err(e) => Ending::Failed(e),
    };
    let audited = trail.finish(b.wall_clock.now(), ending, |e| {
        if let Ok(m) = &read {
            e.selected = m.len() as u64;
        }
    });
    let read = read?;
    audited?;
    Ok(read)
}

/// The failure queues, in the order the console lists them.
pub const FAILURE_QUEUES: [&str; 2] = [QUEUE_DLQ, QUEUE_PARKED];

#[cfg(test)]
mod tests {
    use super::*;

    /// A message expires its queue's retention after its SentTimestamp: 14 days in the failure
    /// queues, 4 in a work queue (and in a queue the topology does not know, SQS's default).
    #[test]
    fn a_message_expires_its_queues_retention_after_it_was_sent() {
        let sent_at: Timestamp = "2026-11-20T12:00:00Z".parse().expect("a time");
        let received = ReceivedMessage {
            message_id: "m-1".into(),
            receipt_handle: String::new(),
            body: "not json".into(),
            receive_count: 1,
            sent_at,
        };
        let expiry = |queue: &str| {
            let m = to_dlq_message(queue, received.clone(), sent_at);
            (m.expires_at - m.sent_at).num_days()
        };
        assert_eq!(expiry(QUEUE_PARKED), 14);
        assert_eq!(expiry(QUEUE_DLQ), 14);
        assert_eq!(expiry(topology::QUEUE_PAYMENT_ATTEMPT), 4);
        assert_eq!(expiry("no_such_queue"), 4);
        let json =
            serde_json::to_value(to_dlq_message(QUEUE_PARKED, received, sent_at)).expect("JSON");
        assert_eq!(json["expiresAt"], "2026-12-04T12:00:00Z");
    }
}
