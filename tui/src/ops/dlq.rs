//! DLQ browsing and redrive.
//!
//! Listing peeks: nothing is consumed. Redrive receives in batches, writes the selected
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

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("unknown queue {0:?}; queues: {known}", known = queue_names())]
    UnknownQueue(String),
    #[error("--to {0} is the queue being redriven; pick another target or leave --to out")]
    SameQueue(String),
    #[error("say which messages: --all, or --id ID (repeatable)")]
    NoSelection,
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

/// Which messages a redrive takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    All,
    Ids(Vec<String>),
}

/// What happens to the selected messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposal {
    /// Send to `to`, or to each envelope's `from` when `None`, then delete from the source.
    Redrive { to: Option<String> },
    /// Delete (after the backup).
    Delete,
}

#[derive(Debug, Clone)]
pub struct RedriveRequest {
    pub source: String,
    pub selection: Selection,
    pub disposal: Disposal,
    pub dry_run: bool,
}

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
pub struct RedriveReport {
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

impl RedriveRequest {
    /// Redrive to `to` (or each `from`).
    pub fn redrive(source: &str, selection: Selection, to: Option<String>, dry_run: bool) -> Self {
        RedriveRequest {
            source: source.to_string(),
            selection,
            disposal: Disposal::Redrive { to },
            dry_run,
        }
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

/// Runs a redrive (or, with `dry_run`, says what it would do). `progress` gets the number of
/// messages handled so far.
pub async fn redrive(
    b: &Backend,
    req: &RedriveRequest,
    progress: &mut dyn FnMut(u64),
) -> Result<RedriveReport, DlqError> {
    req.validate()?;
    let mut report = RedriveReport {
        action: req.verb().to_string(),
        source: req.source.clone(),
        dry_run: req.dry_run,
        ..RedriveReport::default()
    };
    if req.dry_run {
        plan_dry_run(b, req, &mut report).await?;
    } else {
        move_messages(b, req, &mut report, progress).await?;
        append_audit(
            &b.audit_log,
            &AuditEntry {
                time: b.wall_clock.now(),
                identity: b.identity.clone(),
                action: req.verb().into(),
                queue: req.source.clone(),
                to: req.target().map(str::to_string),
                selected: (report.moved.len() + report.failed.len() + report.skipped.len()) as u64,
                moved: report.moved.len() as u64,
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
    req: &RedriveRequest,
    report: &mut RedriveReport,
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

async fn move_messages(
    b: &Backend,
    req: &RedriveRequest,
    report: &mut RedriveReport,
    progress: &mut dyn FnMut(u64),
) -> Result<(), DlqError> {
    let mut backup: Option<Backup> = None;
    let mut held: Vec<ReceivedMessage> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let wanted = match &req.selection {
        Selection::All => None,
        Selection::Ids(ids) => Some(ids.len()),
    };
    let result: Result<(), DlqError> = async {
        loop {
            let batch = b
                .queues
                .receive(&req.source, SQS_BATCH_LIMIT, HOLD_SECONDS)
                .await?;
            if batch.is_empty() {
                break;
            }
            // Group what moves by target; everything else is held until the end.
            let mut by_target: BTreeMap<String, Vec<(ReceivedMessage, String)>> = BTreeMap::new();
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
            if by_target.is_empty() {
                if wanted.is_some_and(|n| report.moved.len() + report.skipped.len() >= n) {
                    break;
                }
                continue;
            }
            let file = match &mut backup {
                Some(f) => f,
                None => backup.insert(Backup::create(
                    &b.backup_dir,
                    b.wall_clock.now(),
                    req.verb(),
                    &req.source,
                )?),
            };
            let selected: Vec<&ReceivedMessage> =
                by_target.values().flatten().map(|(m, _)| m).collect();
            file.write(&req.source, &selected)?;
            for (to, group) in by_target {
                if req.disposal == Disposal::Delete {
                    delete_group(b, &req.source, group, report).await?;
                } else {
                    send_group(b, &req.source, &to, group, report, &mut held).await?;
                }
            }
            progress((report.moved.len() + report.failed.len() + report.skipped.len()) as u64);
            if wanted.is_some_and(|n| {
                report.moved.len() + report.failed.len() + report.skipped.len() >= n
            }) {
                break;
            }
        }
        Ok(())
    }
    .await;
    // Release what was held, whatever happened above.
    for m in &held {
        let _ = b
            .queues
            .change_visibility(&req.source, &m.receipt_handle, 0)
            .await;
    }
    report.backup = backup.map(|f| f.path.display().to_string());
    result
}

/// Sends one target's share of a batch, then deletes exactly the acknowledged messages.
async fn send_group(
    b: &Backend,
    source: &str,
    to: &str,
    group: Vec<(ReceivedMessage, String)>,
    report: &mut RedriveReport,
    held: &mut Vec<ReceivedMessage>,
) -> Result<(), DlqError> {
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
                report.failed.push(NotMoved {
                    message_id: m.message_id.clone(),
                    reason: e.to_string(),
                });
                held.push(m);
            }
            return Ok(());
        }
    };
    let acked: HashSet<&str> = result
        .sent
        .iter()
        .map(|(entry, _)| entry.as_str())
        .collect();
    let mut delete = Vec::new();
    for (i, (m, _)) in group.into_iter().enumerate() {
        if acked.contains(i.to_string().as_str()) {
            delete.push(m.receipt_handle.clone());
            report.moved.push(Moved {
                message_id: m.message_id,
                to: to.to_string(),
            });
        } else {
            let reason = result
                .failed
                .iter()
                .find(|(entry, _)| *entry == i.to_string())
                .map_or_else(|| "not acknowledged".to_string(), |(_, r)| r.clone());
            report.failed.push(NotMoved {
                message_id: m.message_id.clone(),
                reason,
            });
            held.push(m);
        }
    }
    // A failed delete leaves a copy behind: a duplicate the handlers absorb, never a loss.
    b.queues.delete_batch(source, &delete).await?;
    Ok(())
}

/// Deletes one batch's selected messages (already backed up).
async fn delete_group(
    b: &Backend,
    source: &str,
    group: Vec<(ReceivedMessage, String)>,
    report: &mut RedriveReport,
) -> Result<(), DlqError> {
    let handles: Vec<String> = group
        .iter()
        .map(|(m, _)| m.receipt_handle.clone())
        .collect();
    let failed = b.queues.delete_batch(source, &handles).await?;
    for (m, _) in group {
        if failed.contains(&m.receipt_handle) {
            report.failed.push(NotMoved {
                message_id: m.message_id,
                reason: "delete refused".into(),
            });
        } else {
            report.moved.push(Moved {
                message_id: m.message_id,
                to: "(deleted)".into(),
            });
        }
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
