//! Redrive mechanics over the in-memory world: the rate cap, cancelling, the batched path's
//! overlap keeping "delete only what was copied", and the native move-task path (with a fake
//! move-task port; the SQS adapter of that port has its own test against a local SQS stub).

use async_trait::async_trait;
use crowdfund_console::backend::Backend;
use crowdfund_console::ops::dlq::{
    Disposal, DisposalRequest, DlqError, Selection, dispose, pace_delay,
};
use crowdfund_core::ports::{
    MessageMoveTasks, MessageSender, MoveTask, PortResult, QueueClient, SystemClock, VirtualPacer,
};
use crowdfund_core::sim::{SimWorld, WorldConfig};
use crowdfund_core::topology::{QUEUE_DLQ, QUEUE_PARKED, QUEUE_PAYMENT_ATTEMPT};
use futures::executor::block_on;
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
    let backend = Backend {
        name: "local",
        target: "test".into(),
        queues: world.clone(),
        ledger: world.clone(),
        funding: world.clone(),
        publisher: world.clone(),
        clock: world.clone(),
        wall_clock: Arc::new(SystemClock),
        identity: "test".into(),
        audit_log: dir.path().join("audit.jsonl"),
        backup_dir: dir.path().join("backups"),
        pacer: pacer.clone(),
        move_tasks: None,
        metrics: None,
    };
    Setup {
        backend,
        world,
        pacer,
        _dir: dir,
    }
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
    let audit = std::fs::read_to_string(&t.backend.audit_log).expect("audit");
    let line: serde_json::Value = serde_json::from_str(audit.trim()).expect("json");
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
