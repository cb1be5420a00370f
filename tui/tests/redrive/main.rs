//! Redrive mechanics over the in-memory world: the rate cap, cancelling, the batched path's
//! overlap keeping "delete only what was copied", and the native move-task path (with a fake
//! move-task port; the SQS adapter of that port has its own test against a local SQS stub).

use async_trait::async_trait;
use crowdfund_console::backend::Backend;
use crowdfund_console::ops::dlq::{
    Disposal, DisposalRequest, DlqError, Selection, dispose, pace_delay,
};
use crowdfund_core::ports::{
    BatchSendResult, MessageMoveTasks, MessageSender, MoveTask, OutgoingMessage, PortError,
    PortResult, QueueClient, QueueStats, ReceivedMessage, VirtualPacer,
};
use crowdfund_core::sim::{SimWorld, WorldConfig};
use crowdfund_core::topology::{QUEUE_DLQ, QUEUE_PARKED, QUEUE_PAYMENT_ATTEMPT};
use futures::executor::block_on;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn envelope(i: usize) -> String {
    serde_json::json!({
        "kind": "payment_attempt",
        "from": QUEUE_PAYMENT_ATTEMPT,
        "attempts": 4,
        "toDiscord": true,
        "payload": {"paymentId": format!("p-{i}")},
        "lastError": "declined"
    })
    .to_string()
}

struct Setup {
    backend: Backend,
    world: Arc<SimWorld>,
    pacer: Arc<VirtualPacer>,
    _dir: tempfile::TempDir,
}

fn setup(parked: usize) -> Setup {
    let world = Arc::new(SimWorld::new(3, WorldConfig::default()));
    for i in 0..parked {
        block_on(world.send(QUEUE_PARKED, &envelope(i), 0)).expect("send to the sim");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let pacer = Arc::new(VirtualPacer::default());
    let mut backend = Backend::over_world(world.clone(), dir.path());
    backend.pacer = pacer.clone();
    Setup {
        backend,
        world,
        pacer,
        _dir: dir,
    }
}

/// The audit log's lines, oldest first, as JSON.
fn audit_lines(b: &Backend) -> Vec<serde_json::Value> {
    std::fs::read_to_string(&b.audit_log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
        .collect()
}

fn depth(world: &SimWorld, queue: &str) -> u64 {
    let s = block_on(world.stats(queue)).expect("stats");
    s.visible + s.in_flight + s.delayed
}

#[test]
fn pace_delay_keeps_the_average_under_the_cap() {
    let s = Duration::from_secs;
    assert_eq!(pace_delay(None, 1_000, s(0)), s(0));
    assert_eq!(pace_delay(Some(10), 0, s(0)), s(0));
    assert_eq!(pace_delay(Some(10), 20, s(1)), s(1));
    assert_eq!(pace_delay(Some(10), 20, s(5)), s(0));
    assert_eq!(
        pace_delay(Some(4), 10, Duration::ZERO),
        Duration::from_millis(2_500)
    );
}

#[test]
fn a_rate_cap_spaces_the_batches_and_still_moves_everything() {
    let t = setup(25);
    let req =
        DisposalRequest::redrive(QUEUE_PARKED, Selection::All, None, false).with_rate(Some(10));
    let report = block_on(dispose(&t.backend, &req, &mut |_| {})).expect("redrive");
    assert_eq!(report.moved.len(), 25);
    // 10 go at once, the next 10 one second later, the last 5 a second after that.
    assert_eq!(
        t.pacer.sleeps(),
        vec![Duration::from_secs(1), Duration::from_secs(1)]
    );
    assert_eq!(depth(&t.world, QUEUE_PARKED), 0);
    assert_eq!(depth(&t.world, QUEUE_PAYMENT_ATTEMPT), 25);
}

#[test]
fn a_cap_below_a_batch_receives_smaller_batches() {
    let t = setup(6);
    let req =
        DisposalRequest::redrive(QUEUE_PARKED, Selection::All, None, false).with_rate(Some(2));
    let report = block_on(dispose(&t.backend, &req, &mut |_| {})).expect("redrive");
    assert_eq!(report.moved.len(), 6);
    // Batches of 2: the second waits 1 s, the third another 1 s.
    assert_eq!(
        t.pacer.sleeps(),
        vec![Duration::from_secs(1), Duration::from_secs(1)]
    );
}

#[test]
fn a_zero_rate_is_refused_before_anything_moves() {
    let t = setup(3);
    let req =
        DisposalRequest::redrive(QUEUE_PARKED, Selection::All, None, false).with_rate(Some(0));
    let err = block_on(dispose(&t.backend, &req, &mut |_| {})).expect_err("refused");
    assert!(matches!(err, DlqError::ZeroRate), "{err}");
    assert_eq!(depth(&t.world, QUEUE_PARKED), 3);
}

#[test]
fn cancelling_stops_after_the_batch_in_flight_and_loses_nothing() {
    let t = setup(50);
    let req = DisposalRequest::redrive(QUEUE_PARKED, Selection::All, None, false);
    let cancel = req.cancel.clone();
    let report = block_on(dispose(&t.backend, &req, &mut |done| {
        if done >= 10 {
            cancel.cancel();
        }
    }))
    .expect("redrive");
    assert!(report.cancelled);
    let audit = audit_lines(&t.backend);
    assert_eq!(
        audit
            .iter()
            .map(|l| (l["phase"].clone(), l["outcome"].clone()))
            .collect::<Vec<_>>(),
        vec![
            ("intent".into(), serde_json::Value::Null),
            ("result".into(), "cancelled".into())
        ]
    );
    let moved = report.moved.len() as u64;
    assert!((10..50).contains(&moved), "moved {moved}");
    // Everything is in exactly one place: moved to its source, or still parked.
    assert_eq!(depth(&t.world, QUEUE_PAYMENT_ATTEMPT), moved);
    assert_eq!(depth(&t.world, QUEUE_PARKED), 50 - moved);
    assert!(report.failed.is_empty());
}

#[test]
fn native_is_refused_where_it_does_not_fit() {
    let t = setup(2);
    let mut by_id =
        DisposalRequest::redrive(QUEUE_DLQ, Selection::Ids(vec!["x".into()]), None, false);
    by_id.native = true;
    assert!(matches!(
        block_on(dispose(&t.backend, &by_id, &mut |_| {})),
        Err(DlqError::NativeNeedsAll)
    ));
    // etc_parked is not a queue SQS dead-letters into.
    let mut parked = DisposalRequest::redrive(QUEUE_PARKED, Selection::All, None, false);
    parked.native = true;
    assert!(matches!(
        block_on(dispose(&t.backend, &parked, &mut |_| {})),
        Err(DlqError::NativeNotADlq(_))
    ));
    // The local world has no move tasks.
    let mut dlq = DisposalRequest::redrive(QUEUE_DLQ, Selection::All, None, false);
    dlq.native = true;
    assert!(matches!(
        block_on(dispose(&t.backend, &dlq, &mut |_| {})),
        Err(DlqError::NativeUnsupported)
    ));
    assert_eq!(depth(&t.world, QUEUE_PARKED), 2);
}

/// (source, destination, rate) of each StartMessageMoveTask.
type Started = Vec<(String, Option<String>, Option<u32>)>;

/// A move task that moves `per_poll` messages each time it is listed, and records calls.
#[derive(Default)]
struct FakeMoves {
    total: u64,
    per_poll: u64,
    moved: Mutex<u64>,
    cancelled: Mutex<bool>,
    started: Mutex<Started>,
}

#[async_trait]
impl MessageMoveTasks for FakeMoves {
    async fn start_move(&self, s: &str, d: Option<&str>, r: Option<u32>) -> PortResult<String> {
        if let Ok(mut v) = self.started.lock() {
            v.push((s.to_string(), d.map(str::to_string), r));
        }
        Ok("task-1".into())
    }
    async fn list_moves(&self, _source: &str) -> PortResult<Vec<MoveTask>> {
        let cancelled = self.cancelled.lock().map(|c| *c).unwrap_or(false);
        let mut moved = self
            .moved
            .lock()
            .map_err(|_| crowdfund_core::ports::PortError::Rejected("poisoned".into()))?;
        if !cancelled {
            *moved = (*moved + self.per_poll).min(self.total);
        }
        let status = if cancelled {
            "CANCELLED"
        } else if *moved == self.total {
            "COMPLETED"
        } else {
            "RUNNING"
        };
        Ok(vec![MoveTask {
            task_handle: (status == "RUNNING").then(|| "task-1".to_string()),
            status: status.into(),
            moved: *moved,
            to_move: Some(self.total),
            failure_reason: None,
        }])
    }
    async fn cancel_move(&self, _handle: &str) -> PortResult<u64> {
        if let Ok(mut c) = self.cancelled.lock() {
            *c = true;
        }
        Ok(self.moved.lock().map(|m| *m).unwrap_or(0))
    }
}

fn with_moves(t: &mut Setup, total: u64, per_poll: u64) -> Arc<FakeMoves> {
    for i in 0..total as usize {
        block_on(t.world.send(QUEUE_DLQ, &envelope(i), 0)).expect("send");
    }
    let moves = Arc::new(FakeMoves {
        total,
        per_poll,
        ..FakeMoves::default()
    });
    t.backend.move_tasks = Some(moves.clone());
    moves
}

#[test]
fn native_backs_up_the_queue_then_follows_the_task_to_its_end() {
    let mut t = setup(0);
    let moves = with_moves(&mut t, 30, 10);
    let mut req =
        DisposalRequest::redrive(QUEUE_DLQ, Selection::All, None, false).with_rate(Some(50));
    req.native = true;
    let mut seen = Vec::new();
    let report = block_on(dispose(&t.backend, &req, &mut |n| seen.push(n))).expect("native");
    assert_eq!(seen, vec![10, 20, 30]);
    let task = report.native.as_ref().expect("task");
    assert_eq!((task.status.as_str(), task.moved), ("COMPLETED", 30));
    assert_eq!(report.moved_count(), 30);
    assert_eq!(
        moves.started.lock().map(|v| v.clone()).unwrap_or_default(),
        vec![(QUEUE_DLQ.to_string(), None, Some(50))]
    );
    // The whole queue was backed up first, one line per message, and the audit says so.
    let backup = std::fs::read_to_string(report.backup.as_deref().expect("backup")).expect("read");
    assert_eq!(backup.lines().count(), 30);
    let audit = audit_lines(&t.backend);
    assert_eq!(audit.len(), 2, "an intent and a result: {audit:?}");
    assert_eq!(
        (audit[0]["phase"].as_str(), audit[0]["action"].as_str()),
        (Some("intent"), Some("redrive-native"))
    );
    let line = &audit[1];
    assert_eq!(
        (line["phase"].as_str(), line["outcome"].as_str()),
        (Some("result"), Some("ok"))
    );
    assert_eq!(
        (line["moved"].as_u64(), line["selected"].as_u64()),
        (Some(30), Some(30))
    );
    // Polls were paced, not spun.
    assert_eq!(t.pacer.sleeps(), vec![Duration::from_secs(1); 2]);
}

#[test]
fn cancelling_a_native_move_cancels_the_sqs_task() {
    let mut t = setup(0);
    let moves = with_moves(&mut t, 100, 10);
    let mut req = DisposalRequest::redrive(QUEUE_DLQ, Selection::All, None, false);
    req.native = true;
    let cancel = req.cancel.clone();
    let report = block_on(dispose(&t.backend, &req, &mut |n| {
        if n >= 20 {
            cancel.cancel();
        }
    }))
    .expect("native");
    assert!(report.cancelled);
    assert!(moves.cancelled.lock().map(|c| *c).unwrap_or(false));
    let audit = audit_lines(&t.backend);
    assert_eq!(
        audit.last().map(|l| l["outcome"].clone()),
        Some("cancelled".into())
    );
    let task = report.native.as_ref().expect("task");
    assert_eq!((task.status.as_str(), task.moved), ("CANCELLED", 20));
}

#[test]
fn deleting_natively_is_refused() {
    let mut t = setup(0);
    with_moves(&mut t, 3, 3);
    let mut req = DisposalRequest::new(QUEUE_DLQ, Selection::All, Disposal::Delete, false);
    req.native = true;
    assert!(matches!(
        block_on(dispose(&t.backend, &req, &mut |_| {})),
        Err(DlqError::NativeNeedsAll)
    ));
    assert_eq!(depth(&t.world, QUEUE_DLQ), 3);
}

/// The in-memory queues, but DeleteMessageBatch keeps the messages in `refuse` (by message id,
/// answered as failed entries), or, with `fail_calls`, the whole call fails.
struct StubbornDeletes {
    inner: Arc<SimWorld>,
    refuse: HashSet<String>,
    fail_calls: bool,
    /// Receipt handle → message id, from the receives.
    handles: Mutex<HashMap<String, String>>,
}

impl StubbornDeletes {
    fn install(t: &mut Setup, refuse: HashSet<String>, fail_calls: bool) {
        t.backend.queues = Arc::new(StubbornDeletes {
            inner: t.world.clone(),
            refuse,
            fail_calls,
            handles: Mutex::new(HashMap::new()),
        });
    }
}

#[async_trait]
impl MessageSender for StubbornDeletes {
    async fn send(&self, queue: &str, body: &str, delay_seconds: u32) -> PortResult<String> {
        self.inner.send(queue, body, delay_seconds).await
    }
}

#[async_trait]
impl QueueClient for StubbornDeletes {
    async fn send_batch(&self, queue: &str, m: &[OutgoingMessage]) -> PortResult<BatchSendResult> {
        self.inner.send_batch(queue, m).await
    }
    async fn receive(&self, queue: &str, max: usize, vis: u32) -> PortResult<Vec<ReceivedMessage>> {
        let got = self.inner.receive(queue, max, vis).await?;
        if let Ok(mut h) = self.handles.lock() {
            h.extend(
                got.iter()
                    .map(|m| (m.receipt_handle.clone(), m.message_id.clone())),
            );
        }
        Ok(got)
    }
    async fn delete_batch(&self, queue: &str, handles: &[String]) -> PortResult<Vec<String>> {
        if self.fail_calls {
            return Err(PortError::unavailable("SQS", "connection reset (injected)"));
        }
        let ids = self.handles.lock().map(|h| h.clone()).unwrap_or_default();
        let (kept, go): (Vec<String>, Vec<String>) = handles
            .iter()
            .cloned()
            .partition(|h| ids.get(h).is_some_and(|id| self.refuse.contains(id)));
        let mut not_deleted = self.inner.delete_batch(queue, &go).await?;
        not_deleted.extend(kept);
        Ok(not_deleted)
    }
    async fn change_visibility(&self, queue: &str, handle: &str, vis: u32) -> PortResult<()> {
        self.inner.change_visibility(queue, handle, vis).await
    }
    async fn peek(&self, queue: &str, max: usize) -> PortResult<Vec<ReceivedMessage>> {
        self.inner.peek(queue, max).await
    }
    async fn stats(&self, queue: &str) -> PortResult<QueueStats> {
        self.inner.stats(queue).await
    }
}

/// Every third parked message's id.
fn every_third(world: &SimWorld) -> HashSet<String> {
    block_on(world.peek(QUEUE_PARKED, 100))
        .expect("peek")
        .into_iter()
        .step_by(3)
        .map(|m| m.message_id)
        .collect()
}

/// A delete that DeleteMessageBatch partly refuses: the refused messages are failed, not
/// deleted, in the report, its summary and the audit's result line, and they are still there.
#[test]
fn a_partly_refused_batch_delete_counts_the_refused_as_failed() {
    let mut t = setup(12);
    let refused = every_third(&t.world);
    assert_eq!(refused.len(), 4);
    StubbornDeletes::install(&mut t, refused.clone(), false);
    let req = DisposalRequest::new(QUEUE_PARKED, Selection::All, Disposal::Delete, false);
    let report = block_on(dispose(&t.backend, &req, &mut |_| {})).expect("delete");
    assert_eq!(
        (report.moved.len(), report.failed.len()),
        (8, 4),
        "{report:?}"
    );
    let failed: HashSet<String> = report.failed.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(failed, refused);
    assert!(
        report
            .moved
            .iter()
            .all(|m| !refused.contains(&m.message_id))
    );
    assert_eq!(
        depth(&t.world, QUEUE_PARKED),
        4,
        "the refused are still parked"
    );
    let summary = crowdfund_console::render::disposal(&report);
    assert!(summary.contains("delete: 8 deleted, 4 failed"), "{summary}");
    let result = audit_lines(&t.backend).pop().expect("a result line");
    assert_eq!(
        (
            result["moved"].as_u64(),
            result["failed"].as_u64(),
            result["selected"].as_u64()
        ),
        (Some(8), Some(4), Some(12)),
        "{result}"
    );
}

/// A redrive whose deletes of the originals DeleteMessageBatch partly refuses: every copy
/// reached its target, and the originals left behind are counted as duplicates and named.
#[test]
fn a_redrive_whose_original_is_not_deleted_counts_the_duplicate() {
    let mut t = setup(12);
    let refused = every_third(&t.world);
    StubbornDeletes::install(&mut t, refused.clone(), false);
    let req = DisposalRequest::redrive(QUEUE_PARKED, Selection::All, None, false);
    let report = block_on(dispose(&t.backend, &req, &mut |_| {})).expect("redrive");
    assert_eq!(report.moved.len(), 12, "every copy was sent");
    assert!(report.failed.is_empty());
    let duplicated: HashSet<String> = report
        .duplicated
        .iter()
        .map(|m| m.message_id.clone())
        .collect();
    assert_eq!(duplicated, refused);
    assert_eq!(depth(&t.world, QUEUE_PAYMENT_ATTEMPT), 12);
    assert_eq!(
        depth(&t.world, QUEUE_PARKED),
        4,
        "the originals are still there"
    );
    let summary = crowdfund_console::render::disposal(&report);
    assert!(
        summary.contains("4 of the moved message(s) are still in etc_parked too"),
        "{summary}"
    );
    let result = audit_lines(&t.backend).pop().expect("a result line");
    assert_eq!(
        (
            result["outcome"].as_str(),
            result["moved"].as_u64(),
            result["duplicated"].as_u64()
        ),
        (Some("ok"), Some(12), Some(4)),
        "{result}"
    );
}

/// A delete whose DeleteMessageBatch call fails: the batch is failed (none counted deleted),
/// the run stops, and the audit's result line says it failed and why.
#[test]
fn a_failed_delete_call_fails_its_batch_and_the_audit_says_why() {
    let mut t = setup(12);
    StubbornDeletes::install(&mut t, HashSet::new(), true);
    let req = DisposalRequest::new(QUEUE_PARKED, Selection::All, Disposal::Delete, false);
    let err = block_on(dispose(&t.backend, &req, &mut |_| {})).expect_err("the call failed");
    assert!(err.to_string().contains("connection reset"), "{err}");
    assert_eq!(depth(&t.world, QUEUE_PARKED), 12, "nothing was deleted");
    let lines = audit_lines(&t.backend);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let result = &lines[1];
    assert_eq!(
        (
            result["phase"].as_str(),
            result["outcome"].as_str(),
            result["moved"].as_u64(),
            result["failed"].as_u64()
        ),
        (Some("result"), Some("failed"), Some(0), Some(10)),
        "{result}"
    );
    assert!(
        result["error"]
            .as_str()
            .is_some_and(|e| e.contains("connection reset")),
        "{result}"
    );
}
