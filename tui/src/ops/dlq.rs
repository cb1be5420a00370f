//! DLQ browsing and disposal: what happens to chosen messages, a redrive (back to a queue) or a
//! delete. One word for both, [`Disposal`], across the CLI, the TUI, the audit log and the docs.
//!
//! Listing peeks: nothing is consumed. A disposal receives in batches, writes the selected
//! messages to the backup, sends them to their target with SendMessageBatch, and deletes only
//! the ones the target acknowledged. A crash at any point can duplicate a message (the handlers
//! are idempotent) but never lose one. Messages not selected are held invisible while the
//! redrive runs, so they are not received twice, and released at the end.

use crate::backend::Backend;
use crate::ops::safety::{AuditEntry, Backup, SafetyError, append_audit};
use crowdfund_core::envelope::EnvelopeHeader;
use crowdfund_core::ports::{OutgoingMessage, PortError, ReceivedMessage};
use crowdfund_core::topology::{self, QUEUE_DLQ, QUEUE_PARKED, SQS_BATCH_LIMIT};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Which messages a disposal takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    All,
    Ids(Vec<String>),
}

/// What happens to the selected messages: the disposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposal {
    /// Send to `to`, or to each envelope's `from` when `None`, then delete from the source.
    Redrive { to: Option<String> },
    /// Delete (after the backup).
    Delete,
}

/// A redrive or delete: which messages of which queue, and how it runs.
#[derive(Debug, Clone)]
pub struct DisposalRequest {
    pub source: String,
    pub selection: Selection,
    pub disposal: Disposal,
    pub dry_run: bool,
    /// Messages per second at most, so a redrive cannot flood the handlers downstream.
    pub rate: Option<u32>,
    /// Use SQS's own move task (StartMessageMoveTask) instead of receive/send/delete batches.
    pub native: bool,
    /// Set from outside (Ctrl-C, the TUI's cancel key) to stop after the batch in flight.
    pub cancel: CancelFlag,
}

/// Asks a running redrive to stop. Clones share the flag (and compare equal).
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl PartialEq for CancelFlag {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for CancelFlag {}

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// SQS caps a move task at 500 messages per second.
pub const NATIVE_MAX_RATE: u32 = 500;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    pub message_id: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NotMoved {
    pub message_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisposalReport {
    /// `redrive` or `delete`.
    pub action: String,
    pub source: String,
    pub dry_run: bool,
    pub moved: Vec<Moved>,
    pub failed: Vec<NotMoved>,
    pub skipped: Vec<NotMoved>,
    /// Requested ids that were not in the queue.
    pub not_found: Vec<String>,
    pub backup: Option<String>,
    /// Stopped on request before the queue was done.
    pub cancelled: bool,
    /// The SQS move task, on the native path (it moves without naming messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeMove>,
}

/// A native move task as it ended (or stood when the console stopped following it).
pub type NativeMove = crowdfund_core::ports::MoveTask;

impl DisposalReport {
    /// Messages moved, on either path.
    pub fn moved_count(&self) -> u64 {
        self.native
            .as_ref()
            .map_or(self.moved.len() as u64, |t| t.moved)
    }
}

/// The body a redriven message travels with: a fresh retry budget (attempts 0, no toDiscord,
/// no stale lastError), and where it goes. `Err` says why it cannot go anywhere.
pub fn redrive_body(body: &str, to: Option<&str>) -> Result<(String, String), String> {
    let Some((header, mut map)) = EnvelopeHeader::read(body) else {
        return match to {
            Some(t) => Ok((body.to_string(), t.to_string())),
            None => Err("body is not a JSON envelope, so it has no `from`; pass --to QUEUE".into()),
        };
    };
    let target = match (to, header.from.as_deref()) {
        (Some(t), _) => t.to_string(),
        (None, Some(f)) if topology::function_of_queue(f).is_some() && f != QUEUE_DLQ => {
            f.to_string()
        }
        (None, Some(f)) => {
            return Err(format!(
                "`from` is {f:?}, not a work queue; pass --to QUEUE"
            ));
        }
        (None, None) => return Err("envelope has no `from`; pass --to QUEUE".into()),
    };
    map.insert("attempts".into(), Value::from(0));
    map.insert("toDiscord".into(), Value::Bool(false));
    map.shift_remove("lastError");
    Ok((Value::Object(map).to_string(), target))
}

impl DisposalRequest {
    /// A batched redrive or delete, at full speed, not yet cancelled.
    pub fn new(source: &str, selection: Selection, disposal: Disposal, dry_run: bool) -> Self {
        DisposalRequest {
            source: source.to_string(),
            selection,
            disposal,
            dry_run,
            rate: None,
            native: false,
            cancel: CancelFlag::default(),
        }
    }

    /// Redrive to `to` (or each `from`).
    pub fn redrive(source: &str, selection: Selection, to: Option<String>, dry_run: bool) -> Self {
        Self::new(source, selection, Disposal::Redrive { to }, dry_run)
    }

    /// Caps the rate at `per_second` messages (`None`: as fast as SQS answers).
    pub fn with_rate(mut self, per_second: Option<u32>) -> Self {
        self.rate = per_second;
        self
    }

    pub fn target(&self) -> Option<&str> {
        match &self.disposal {
            Disposal::Redrive { to } => to.as_deref(),
            Disposal::Delete => None,
        }
    }

    pub fn verb(&self) -> &'static str {
        match self.disposal {
            Disposal::Redrive { .. } => "redrive",
            Disposal::Delete => "delete",
        }
    }

    /// Where a message goes, with its new body; `Err` says why it cannot go.
    fn destination(&self, body: &str) -> Result<(String, String), String> {
        match &self.disposal {
            Disposal::Redrive { to } => redrive_body(body, to.as_deref()),
            Disposal::Delete => Ok((String::new(), "(deleted)".into())),
        }
    }

    fn validate(&self) -> Result<(), DlqError> {
        check_queue(&self.source)?;
        if let Some(to) = self.target() {
            let to = to.to_string();
            check_queue(&to)?;
            if to == self.source {
                return Err(DlqError::SameQueue(to));
            }
        }
        if matches!(&self.selection, Selection::Ids(ids) if ids.is_empty()) {
            return Err(DlqError::NoSelection);
        }
        if self.rate == Some(0) {
            return Err(DlqError::ZeroRate);
        }
        if self.native {
            if self.selection != Selection::All || self.disposal == Disposal::Delete {
                return Err(DlqError::NativeNeedsAll);
            }
            if !topology::QUEUES
                .iter()
                .any(|q| q.redrive.is_some_and(|r| r.target == self.source))
            {
                return Err(DlqError::NativeNotADlq(self.source.clone()));
            }
            if self.rate.is_some_and(|r| r > NATIVE_MAX_RATE) {
                return Err(DlqError::NativeRate);
            }
        }
        Ok(())
    }

    fn selects(&self, id: &str) -> bool {
        match &self.selection {
            Selection::All => true,
            Selection::Ids(ids) => ids.iter().any(|i| i == id),
        }
    }
}

/// How long unselected messages stay hidden while a redrive runs.
const HOLD_SECONDS: u32 = 120;

/// Runs a disposal (or, with `dry_run`, says what it would do). `progress` gets the number of
/// messages handled so far.
pub async fn dispose(
    b: &Backend,
    req: &DisposalRequest,
    progress: &mut dyn FnMut(u64),
) -> Result<DisposalReport, DlqError> {
    req.validate()?;
    let mut report = DisposalReport {
        action: req.verb().to_string(),
        source: req.source.clone(),
        dry_run: req.dry_run,
        ..DisposalReport::default()
    };
    if req.dry_run {
        plan_dry_run(b, req, &mut report).await?;
    } else {
        if req.native {
            move_natively(b, req, &mut report, progress).await?;
        } else {
            move_messages(b, req, &mut report, progress).await?;
        }
        append_audit(
            &b.audit_log,
            &AuditEntry {
                time: b.wall_clock.now(),
                identity: b.identity.clone(),
                action: req.verb().into(),
                queue: req.source.clone(),
                to: req.target().map(str::to_string),
                selected: report.native.as_ref().and_then(|t| t.to_move).unwrap_or(
                    (report.moved.len() + report.failed.len() + report.skipped.len()) as u64,
                ),
                moved: report.moved_count(),
                failed: report.failed.len() as u64,
                skipped: report.skipped.len() as u64,
                backup: report.backup.clone(),
            },
        )?;
    }
    if let Selection::Ids(ids) = &req.selection {
        let seen: HashSet<&str> = report
            .moved
            .iter()
            .map(|m| m.message_id.as_str())
            .chain(
                report
                    .failed
                    .iter()
                    .chain(&report.skipped)
                    .map(|m| m.message_id.as_str()),
            )
            .collect();
        report.not_found = ids
            .iter()
            .filter(|i| !seen.contains(i.as_str()))
            .cloned()
            .collect();
    }
    Ok(report)
}

async fn plan_dry_run(
    b: &Backend,
    req: &DisposalRequest,
    report: &mut DisposalReport,
) -> Result<(), DlqError> {
    for m in b.queues.peek(&req.source, usize::MAX).await? {
        if !req.selects(&m.message_id) {
            continue;
        }
        match req.destination(&m.body) {
            Ok((_, to)) => report.moved.push(Moved {
                message_id: m.message_id,
                to,
            }),
            Err(reason) => report.skipped.push(NotMoved {
                message_id: m.message_id,
                reason,
            }),
        }
    }
    Ok(())
}

/// Messages one batch took, classified and backed up, waiting for the send stage.
type Prepared = BTreeMap<String, Vec<(ReceivedMessage, String)>>;

/// What the send stage did with one prepared batch.
#[derive(Default)]
struct Acted {
    moved: Vec<Moved>,
    failed: Vec<NotMoved>,
    /// Not moved: released at the end.
    held: Vec<ReceivedMessage>,
    /// Copies the target acknowledged: these originals may now be deleted.
    acked: Vec<String>,
}

/// How long to wait before sending more, so that `sent` messages so far (`elapsed` after the
/// start) stay within `per_second`.
pub fn pace_delay(
    per_second: Option<u32>,
    sent: u64,
    elapsed: std::time::Duration,
) -> std::time::Duration {
    match per_second {
        Some(rate) if rate > 0 => {
            let due = std::time::Duration::from_secs_f64(sent as f64 / f64::from(rate));
            due.saturating_sub(elapsed)
        }
        _ => std::time::Duration::ZERO,
    }
}

/// The batched path. Receive, send and delete of consecutive batches overlap: while batch k is
/// being sent, batch k+1 is received and the originals of batch k-1 (already acknowledged by
/// the target) are deleted. An original is deleted only after its copy was acknowledged.
async fn move_messages(
    b: &Backend,
    req: &DisposalRequest,
    report: &mut DisposalReport,
    progress: &mut dyn FnMut(u64),
) -> Result<(), DlqError> {
    let mut backup: Option<Backup> = None;
    let mut held: Vec<ReceivedMessage> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let wanted = match &req.selection {
        Selection::All => None,
        Selection::Ids(ids) => Some(ids.len()),
    };
    // Below 10 per second a full batch would be a burst over the cap.
    let batch_size = req
        .rate
        .map_or(SQS_BATCH_LIMIT, |r| (r as usize).clamp(1, SQS_BATCH_LIMIT));
    let started = b.pacer.elapsed();
    let mut sent_so_far: u64 = 0;
    let mut taken = 0usize;
    let mut receiving = true;
    let mut to_send: Option<Prepared> = None;
    let mut to_delete: Vec<String> = Vec::new();
    let mut failure: Option<DlqError> = None;
    loop {
        if req.cancel.is_cancelled() && receiving {
            receiving = false;
            report.cancelled = true;
        }
        if !receiving && to_send.is_none() && to_delete.is_empty() {
            break;
        }
        let sending = to_send.take();
        let deleting = std::mem::take(&mut to_delete);
        let wait = pace_delay(req.rate, sent_so_far, b.pacer.elapsed() - started);
        sent_so_far += sending
            .as_ref()
            .map_or(0, |p| p.values().map(Vec::len).sum::<usize>()) as u64;
        let receive = async {
            if receiving {
                Some(
                    b.queues
                        .receive(&req.source, batch_size, HOLD_SECONDS)
                        .await,
                )
            } else {
                None
            }
        };
        let send = async {
            match sending {
                Some(prepared) => {
                    if !wait.is_zero() {
                        b.pacer.sleep(wait).await;
                    }
                    act_on(b, req, prepared).await
                }
                None => Ok(Acted::default()),
            }
        };
        let delete = async {
            if deleting.is_empty() {
                Ok(Vec::new())
            } else {
                b.queues.delete_batch(&req.source, &deleting).await
            }
        };
        let (received, acted, deleted) = futures::future::join3(receive, send, delete).await;
        // A failed delete leaves a copy behind: a duplicate the handlers absorb, never a loss.
        if let Err(e) = deleted {
            failure.get_or_insert(e.into());
        }
        match acted {
            Ok(acted) => {
                report.moved.extend(acted.moved);
                report.failed.extend(acted.failed);
                held.extend(acted.held);
                to_delete = acted.acked;
                progress((report.moved.len() + report.failed.len() + report.skipped.len()) as u64);
            }
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
        match received {
            None => {}
            Some(Err(e)) => {
                failure.get_or_insert(e.into());
            }
            Some(Ok(batch)) if batch.is_empty() => receiving = false,
            Some(Ok(batch)) => {
                let prepared = classify(req, batch, &mut seen, report, &mut held);
                taken += prepared.values().map(Vec::len).sum::<usize>();
                if !prepared.is_empty() {
                    let file = match &mut backup {
                        Some(f) => Some(f),
                        None => match Backup::create(
                            &b.backup_dir,
                            b.wall_clock.now(),
                            req.verb(),
                            &req.source,
                        ) {
                            Ok(f) => Some(backup.insert(f)),
                            Err(e) => {
                                failure.get_or_insert(e.into());
                                None
                            }
                        },
                    };
                    let selected: Vec<&ReceivedMessage> =
                        prepared.values().flatten().map(|(m, _)| m).collect();
                    match file.map(|f| f.write(&req.source, &selected)) {
                        Some(Ok(())) => to_send = Some(prepared),
                        // Not backed up, so not moved: released with the rest.
                        Some(Err(e)) => {
                            failure.get_or_insert(e.into());
                            held.extend(prepared.into_values().flatten().map(|(m, _)| m));
                        }
                        None => held.extend(prepared.into_values().flatten().map(|(m, _)| m)),
                    }
                }
                if wanted.is_some_and(|n| taken + report.skipped.len() >= n) {
                    receiving = false;
                }
            }
        }
        if failure.is_some() {
            // Finish what was acknowledged (delete those originals), move nothing new.
            receiving = false;
            if let Some(prepared) = to_send.take() {
                held.extend(prepared.into_values().flatten().map(|(m, _)| m));
            }
        }
    }
    // Release what was held, whatever happened above.
    for m in &held {
        let _ = b
            .queues
            .change_visibility(&req.source, &m.receipt_handle, 0)
            .await;
    }
    report.backup = backup.map(|f| f.path.display().to_string());
    failure.map_or(Ok(()), Err)
}

/// Splits a received batch into what moves (by target) and what is held or skipped.
fn classify(
    req: &DisposalRequest,
    batch: Vec<ReceivedMessage>,
    seen: &mut HashSet<String>,
    report: &mut DisposalReport,
    held: &mut Vec<ReceivedMessage>,
) -> Prepared {
    let mut by_target = Prepared::new();
    for m in batch {
        if !seen.insert(m.message_id.clone()) || !req.selects(&m.message_id) {
            held.push(m);
            continue;
        }
        match req.destination(&m.body) {
            Ok((body, to)) => by_target.entry(to).or_default().push((m, body)),
            Err(reason) => {
                report.skipped.push(NotMoved {
                    message_id: m.message_id.clone(),
                    reason,
                });
                held.push(m);
            }
        }
    }
    by_target
}

/// The send stage: each target's share with SendMessageBatch (or, for a delete, the delete).
async fn act_on(b: &Backend, req: &DisposalRequest, prepared: Prepared) -> Result<Acted, DlqError> {
    let mut acted = Acted::default();
    for (to, group) in prepared {
        if req.disposal == Disposal::Delete {
            delete_group(b, &req.source, group, &mut acted).await?;
        } else {
            send_group(b, &to, group, &mut acted).await;
        }
    }
    Ok(acted)
}

/// Sends one target's share of a batch; the acknowledged originals are handed to the delete
/// stage, the rest are held.
async fn send_group(
    b: &Backend,
    to: &str,
    group: Vec<(ReceivedMessage, String)>,
    acted: &mut Acted,
) {
    let entries: Vec<OutgoingMessage> = group
        .iter()
        .enumerate()
        .map(|(i, (_, body))| OutgoingMessage {
            entry_id: i.to_string(),
            body: body.clone(),
            delay_seconds: 0,
        })
        .collect();
    let result = match b.queues.send_batch(to, &entries).await {
        Ok(r) => r,
        Err(e) => {
            for (m, _) in group {
                acted.failed.push(NotMoved {
                    message_id: m.message_id.clone(),
                    reason: e.to_string(),
                });
                acted.held.push(m);
            }
            return;
        }
    };
    let acked: HashSet<&str> = result
        .sent
        .iter()
        .map(|(entry, _)| entry.as_str())
        .collect();
    for (i, (m, _)) in group.into_iter().enumerate() {
        if acked.contains(i.to_string().as_str()) {
            acted.acked.push(m.receipt_handle.clone());
            acted.moved.push(Moved {
                message_id: m.message_id,
                to: to.to_string(),
            });
        } else {
            let reason = result
                .failed
                .iter()
                .find(|(entry, _)| *entry == i.to_string())
                .map_or_else(|| "not acknowledged".to_string(), |(_, r)| r.clone());
            acted.failed.push(NotMoved {
                message_id: m.message_id.clone(),
                reason,
            });
            acted.held.push(m);
        }
    }
}

/// Deletes one batch's selected messages (already backed up).
async fn delete_group(
    b: &Backend,
    source: &str,
    group: Vec<(ReceivedMessage, String)>,
    acted: &mut Acted,
) -> Result<(), DlqError> {
    let handles: Vec<String> = group
        .iter()
        .map(|(m, _)| m.receipt_handle.clone())
        .collect();
    let failed = b.queues.delete_batch(source, &handles).await?;
    for (m, _) in group {
        if failed.contains(&m.receipt_handle) {
            acted.failed.push(NotMoved {
                message_id: m.message_id.clone(),
                reason: "delete refused".into(),
            });
            acted.held.push(m);
        } else {
            acted.moved.push(Moved {
                message_id: m.message_id,
                to: "(deleted)".into(),
            });
        }
    }
    Ok(())
}

/// How often a native move task's progress is read.
const MOVE_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The native path: back up the whole queue (peeked), start SQS's move task, follow it with
/// ListMessageMoveTasks, and cancel it with CancelMessageMoveTask when asked.
async fn move_natively(
    b: &Backend,
    req: &DisposalRequest,
    report: &mut DisposalReport,
    progress: &mut dyn FnMut(u64),
) -> Result<(), DlqError> {
    let tasks = b.move_tasks.as_ref().ok_or(DlqError::NativeUnsupported)?;
    let messages = b.queues.peek(&req.source, usize::MAX).await?;
    let mut backup = Backup::create(&b.backup_dir, b.wall_clock.now(), "move", &req.source)?;
    backup.write(&req.source, &messages.iter().collect::<Vec<_>>())?;
    report.backup = Some(backup.path.display().to_string());
    let handle = tasks
        .start_move(&req.source, req.target(), req.rate)
        .await?;
    let mut cancel_sent = false;
    loop {
        if req.cancel.is_cancelled() && !cancel_sent {
            tasks.cancel_move(&handle).await?;
            cancel_sent = true;
            report.cancelled = true;
        }
        let task = tasks
            .list_moves(&req.source)
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        progress(task.moved);
        let finished = !task.is_running();
        report.native = Some(NativeMove {
            task_handle: Some(handle.clone()),
            ..task
        });
        if finished {
            break;
        }
        b.pacer.sleep(MOVE_POLL).await;
    }
    Ok(())
}

/// Writes the selected messages of `queue` to a JSONL file without touching them.
pub async fn export_messages(
    b: &Backend,
    queue: &str,
    selection: &Selection,
    out: &std::path::Path,
) -> Result<u64, DlqError> {
    let queue = check_queue(queue)?;
    let messages = b.queues.peek(queue, usize::MAX).await?;
    let chosen: Vec<&ReceivedMessage> = messages
        .iter()
        .filter(|m| match selection {
            Selection::All => true,
            Selection::Ids(ids) => ids.contains(&m.message_id),
        })
        .collect();
    crate::ops::safety::write_jsonl(out, queue, &chosen)?;
    append_audit(
        &b.audit_log,
        &AuditEntry {
            time: b.wall_clock.now(),
            identity: b.identity.clone(),
            action: "export".into(),
            queue: queue.to_string(),
            to: Some(out.display().to_string()),
            selected: chosen.len() as u64,
            moved: 0,
            failed: 0,
            skipped: 0,
            backup: None,
        },
    )?;
    Ok(chosen.len() as u64)
}

/// The failure queues, in the order the console lists them.
pub const FAILURE_QUEUES: [&str; 2] = [QUEUE_DLQ, QUEUE_PARKED];
