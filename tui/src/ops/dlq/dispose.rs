//! Running a disposal: receive in batches, back up, send, delete only what the target
//! acknowledged; or, natively, SQS's own move task.

use super::DlqError;
use super::request::{
    Chosen, Disposal, DisposalReport, DisposalRequest, Moved, NativeMove, NotMoved, Selection,
};
use crate::backend::Backend;
use crate::ops::safety::{AuditEntry, AuditTrail, Backup, Ending};
use crowdfund_core::ports::{OutgoingMessage, ReceivedMessage, hold_for};
use crowdfund_core::topology::SQS_BATCH_LIMIT;
use std::collections::{BTreeMap, HashSet};

/// The audit log's name for a redrive by SQS's own move task.
pub const NATIVE_ACTION: &str = "redrive-native";

/// How long unselected messages stay hidden while a redrive runs, at first (see `hold_for`).
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
        let mut intent = AuditEntry::intent(
            b.wall_clock.now(),
            &b.identity,
            if req.native {
                NATIVE_ACTION
            } else {
                req.verb()
            },
            &req.source,
        );
        intent.to = req.target().map(str::to_string);
        intent.filter.clone_from(&req.chosen_by);
        if let Selection::Ids(ids) = &req.selection {
            intent.selected = ids.len() as u64;
        }
        let trail = AuditTrail::begin(&b.audit_log, intent)?;
        let run = if req.native {
            move_natively(b, req, &mut report, progress).await
        } else {
            move_messages(b, req, &mut report, progress).await
        };
        let ending = match &run {
            Err(e) => Ending::Failed(e),
            Ok(()) if report.cancelled => Ending::Cancelled,
            Ok(()) => Ending::Ok,
        };
        let audited = trail.finish(b.wall_clock.now(), ending, |e| {
            e.selected = report.native.as_ref().and_then(|t| t.to_move).unwrap_or(
                (report.moved.len() + report.failed.len() + report.skipped.len()) as u64,
            );
            e.moved = report.moved_count();
            e.failed = report.failed.len() as u64;
            e.skipped = report.skipped.len() as u64;
            e.duplicated = report.duplicated.len() as u64;
            e.backup.clone_from(&report.backup);
        });
        // The action's own failure is the news; a result line that could not be written after
        // it comes second.
        run?;
        audited?;
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
    let chosen = req.chosen();
    for m in b.queues.peek(&req.source, usize::MAX).await? {
        if !chosen.contains(&m.message_id) {
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
    acked: Vec<Acked>,
}

/// An original whose copy the target acknowledged, waiting for the delete stage.
struct Acked {
    receipt_handle: String,
    message_id: String,
    to: String,
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
    let chosen = req.chosen();
    let wanted = match &req.selection {
        Selection::All => None,
        Selection::Ids(ids) => Some(ids.len()),
    };
    // Below 10 per second a full batch would be a burst over the cap.
    let batch_size = req
        .rate
        .map_or(SQS_BATCH_LIMIT, |r| (r as usize).clamp(1, SQS_BATCH_LIMIT));
    // Also what the holds grow with: a pass that outlasts its first hold meets the messages
    // it held again; holding them longer each time keeps it from going round them for ever.
    let started = b.pacer.elapsed();
    let mut sent_so_far: u64 = 0;
    let mut taken = 0usize;
    let mut receiving = true;
    let mut to_send: Option<Prepared> = None;
    let mut to_delete: Vec<Acked> = Vec::new();
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
        let handles: Vec<String> = deleting.iter().map(|a| a.receipt_handle.clone()).collect();
        let wait = pace_delay(req.rate, sent_so_far, b.pacer.elapsed() - started);
        sent_so_far += sending
            .as_ref()
            .map_or(0, |p| p.values().map(Vec::len).sum::<usize>()) as u64;
        let receive = async {
            if receiving {
                Some(
                    b.queues
                        .receive(
                            &req.source,
                            batch_size,
                            hold_for(HOLD_SECONDS, b.pacer.elapsed() - started),
                        )
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
                None => (Acted::default(), None),
            }
        };
        let delete = async {
            if handles.is_empty() {
                Ok(Vec::new())
            } else {
                b.queues.delete_batch(&req.source, &handles).await
            }
        };
        let (received, (acted, act_failure), deleted) =
            futures::future::join3(receive, send, delete).await;
        // An original that was not deleted is still in the source beside its copy at the
        // target: a duplicate the handlers absorb, never a loss. Counted and named, so the
        // operator can delete it; a failed call also stops the run.
        let (kept, why) = match deleted {
            Ok(refused) => (refused, "DeleteMessageBatch refused it".to_string()),
            Err(e) => {
                let why = format!("the delete failed ({e})");
                failure.get_or_insert(e.into());
                (handles, why)
            }
        };
        report.duplicated.extend(
            deleting
                .into_iter()
                .filter(|a| kept.contains(&a.receipt_handle))
                .map(|a| NotMoved {
                    reason: format!(
                        "copied to {}, but the original is still in {}: {why}",
                        a.to, req.source
                    ),
                    message_id: a.message_id,
                }),
        );
        report.moved.extend(acted.moved);
        report.failed.extend(acted.failed);
        held.extend(acted.held);
        to_delete = acted.acked;
        progress((report.moved.len() + report.failed.len() + report.skipped.len()) as u64);
        if let Some(e) = act_failure {
            failure.get_or_insert(e);
        }
        match received {
            None => {}
            Some(Err(e)) => {
                failure.get_or_insert(e.into());
            }
            Some(Ok(batch)) if batch.is_empty() => receiving = false,
            Some(Ok(batch)) => {
                let prepared = classify(req, &chosen, batch, &mut seen, report, &mut held);
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
    // Release what was held, whatever happened above; a message whose release failed comes
    // back by itself when its hold runs out.
    let handles: Vec<String> = held.into_iter().map(|m| m.receipt_handle).collect();
    let _ = b.queues.release_all(&req.source, &handles).await;
    report.backup = backup.map(|f| f.path.display().to_string());
    failure.map_or(Ok(()), Err)
}

/// Splits a received batch into what moves (by target) and what is held or skipped.
fn classify(
    req: &DisposalRequest,
    chosen: &Chosen<'_>,
    batch: Vec<ReceivedMessage>,
    seen: &mut HashSet<String>,
    report: &mut DisposalReport,
    held: &mut Vec<ReceivedMessage>,
) -> Prepared {
    let mut by_target = Prepared::new();
    for m in batch {
        if !seen.insert(m.message_id.clone()) || !chosen.contains(&m.message_id) {
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
/// What was done is returned even when a call failed (the failure beside it), so every
/// message is accounted for.
async fn act_on(
    b: &Backend,
    req: &DisposalRequest,
    prepared: Prepared,
) -> (Acted, Option<DlqError>) {
    let mut acted = Acted::default();
    let mut failure = None;
    for (to, group) in prepared {
        if req.disposal == Disposal::Delete {
            if let Err(e) = delete_group(b, &req.source, group, &mut acted).await {
                failure.get_or_insert(e);
            }
        } else {
            send_group(b, &to, group, &mut acted).await;
        }
    }
    (acted, failure)
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
            acted.acked.push(Acked {
                receipt_handle: m.receipt_handle.clone(),
                message_id: m.message_id.clone(),
                to: to.to_string(),
            });
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

/// Deletes one batch's selected messages (already backed up). A message DeleteMessageBatch
/// did not delete is failed, not deleted, and is released with the rest; when the call itself
/// fails, the whole batch is failed (some may have gone: the backup has them all) and the
/// error is returned to stop the run.
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
    let (refused, error) = match b.queues.delete_batch(source, &handles).await {
        Ok(refused) => (refused, None),
        Err(e) => (handles, Some(e)),
    };
    let reason = match &error {
        Some(e) => format!("not deleted, or not confirmed: {e}"),
        None => "DeleteMessageBatch refused it".to_string(),
    };
    for (m, _) in group {
        if refused.contains(&m.receipt_handle) {
            acted.failed.push(NotMoved {
                message_id: m.message_id.clone(),
                reason: reason.clone(),
            });
            acted.held.push(m);
        } else {
            acted.moved.push(Moved {
                message_id: m.message_id,
                to: "(deleted)".into(),
            });
        }
    }
    error.map_or(Ok(()), |e| Err(e.into()))
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
