//! DLQ browsing and disposal: what happens to chosen messages, a redrive (back to a queue) or a
//! delete. One word for both, [`Disposal`], across the CLI, the TUI, the audit log and the docs.
//!
//! Listing peeks: nothing is consumed. A disposal receives in batches, writes the selected
//! messages to the backup, sends them to their target with SendMessageBatch, and deletes only
//! the ones the target acknowledged. A crash at any point can duplicate a message (the handlers
//! are idempotent) but never lose one. Messages not selected are held invisible while the
//! redrive runs, so they are not received twice, and released at the end.
//!
//! - `request`: what a disposal is (which messages, where to, how fast) and its report.
//! - `dispose`: running one, batched or as an SQS move task.

mod dispose;
mod request;

pub use dispose::{NATIVE_ACTION, dispose, pace_delay};
pub use request::{
    CancelFlag, Disposal, DisposalReport, DisposalRequest, Moved, NATIVE_MAX_RATE, NativeMove,
    NotMoved, Selection, redrive_body,
};

use crate::backend::Backend;
use crate::ops::safety::{AuditEntry, AuditTrail, Ending, SafetyError};
use crowdfund_core::envelope::EnvelopeHeader;
use crowdfund_core::ports::{PortError, ReceivedMessage};
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
    /// Why it failed, when the failing handler said so.
    pub reason: Option<String>,
    pub payment_id: Option<String>,
    /// The payment's state in the ledger: approved, declined, cancelled, or none.
    pub ledger_state: Option<String>,
    pub age_seconds: u64,
    pub receive_count: u32,
    /// The body, as JSON when it is JSON, else as the string it is.
    pub body: Value,
}

/// Peeks at up to `limit` messages of `queue` and looks up each payment in the ledger.
pub async fn list_messages(
    b: &Backend,
    queue: &str,
    limit: usize,
) -> Result<Vec<DlqMessage>, DlqError> {
    let queue = check_queue(queue)?;
    let now = b.clock.now();
    let peeked = b.queues.peek(queue, limit).await?;
    let mut out = Vec::with_capacity(peeked.len());
    for m in peeked {
        let header = EnvelopeHeader::read(&m.body)
            .map(|(h, _)| h)
            .unwrap_or_default();
        let ledger_state = match &header.payment_id {
            Some(id) => Some(
                b.ledger
                    .get_payment(id)
                    .await?
                    .map_or("none", |r| r.status.as_str())
                    .to_string(),
            ),
            None => None,
        };
        out.push(DlqMessage {
            queue: queue.to_string(),
            message_id: m.message_id,
            kind: header.kind,
            from: header.from,
            attempts: header.attempts,
            to_discord: header.to_discord,
            reason: header.last_error,
            payment_id: header.payment_id,
            ledger_state,
            age_seconds: (now - m.sent_at).num_seconds().max(0) as u64,
            receive_count: m.receive_count,
            body: serde_json::from_str(&m.body).unwrap_or(Value::String(m.body)),
        });
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
        let messages = b.queues.peek(queue, usize::MAX).await?;
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

/// The failure queues, in the order the console lists them.
pub const FAILURE_QUEUES: [&str; 2] = [QUEUE_DLQ, QUEUE_PARKED];
