//! A disposal as asked for: which messages of which queue, redriven where or deleted, how fast,
//! and the report of what became of each.

use super::{DlqError, check_queue};
use crowdfund_core::envelope::EnvelopeHeader;
use crowdfund_core::topology::{self, QUEUE_DLQ};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// How the ids were chosen when a filter chose them (a cause, a text), for the
    /// confirmation and the audit line.
    pub chosen_by: Option<String>,
    /// A function whose SQS trigger is paused while this runs and resumed at its end
    /// (dlq_handler, so it does not retry and re-park what is being redriven meanwhile).
    pub pause_trigger: Option<String>,
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
    /// Redriven (they are in `moved`: the target has the copy) but the original could not be
    /// deleted, so it is also still in the source: a duplicate, to delete by id.
    pub duplicated: Vec<NotMoved>,
    /// Requested ids that were not in the queue.
    pub not_found: Vec<String>,
    pub backup: Option<String>,
    /// Stopped on request before the queue was done.
    pub cancelled: bool,
    /// The SQS move task, on the native path (it moves without naming messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeMove>,
    /// The function whose trigger was paused while this ran, and resumed after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_trigger: Option<String>,
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
            chosen_by: None,
            pause_trigger: None,
        }
    }

    /// A redrive that is not a dry run can hold dlq_handler's trigger while it runs.
    pub fn offers_pausing_handler(&self) -> bool {
        matches!(self.disposal, Disposal::Redrive { .. }) && !self.dry_run
    }

    /// Names the filter that chose the ids (`None` when they were picked one by one).
    pub fn chosen_by(mut self, filter: Option<String>) -> Self {
        self.chosen_by = filter;
        self
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
    pub(super) fn destination(&self, body: &str) -> Result<(String, String), String> {
        match &self.disposal {
            Disposal::Redrive { to } => redrive_body(body, to.as_deref()),
            Disposal::Delete => Ok((String::new(), "(deleted)".into())),
        }
    }

    pub(super) fn validate(&self) -> Result<(), DlqError> {
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

    /// The chosen ids as a set, built once: a disposal tests every message it receives, and a
    /// group can be thousands of ids.
    pub(super) fn chosen(&self) -> Chosen<'_> {
        match &self.selection {
            Selection::All => Chosen(None),
            Selection::Ids(ids) => Chosen(Some(ids.iter().map(String::as_str).collect())),
        }
    }
}

/// Which message ids a disposal takes (`None`: all).
pub(super) struct Chosen<'a>(Option<std::collections::HashSet<&'a str>>);

impl Chosen<'_> {
    pub(super) fn contains(&self, id: &str) -> bool {
        self.0.as_ref().is_none_or(|ids| ids.contains(id))
    }
}
