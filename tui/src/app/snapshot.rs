//! What the TUI draws: one immutable snapshot of the system, collected off the UI thread.

pub use crate::metrics::{
    ERROR_WINDOW_MINUTES, FunctionHealth, THROUGHPUT_MINUTES, ThroughputPoint,
};

use crate::backend::{Backend, LocalWorld};
use crate::ops::dlq::{self, DlqMessage, FAILURE_QUEUES};
use crate::ops::safety::{AuditEntry, read_audit};
use crate::ops::status::{Status, collect_status};
use crowdfund_core::domain::Timestamp;
use crowdfund_core::metrics::MetricName;
use crowdfund_core::sim::SimWorld;
use crowdfund_core::topology;
use crowdfund_handlers::transaction_check::plan_goal_check;
use futures::executor::block_on;
use std::collections::BTreeMap;

/// Messages listed per queue (the browser draws only the visible rows of these).
pub const LIST_LIMIT: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub status: Status,
    /// Listed messages by queue: the failure queues, and the queue being browsed.
    pub lists: BTreeMap<String, Vec<DlqMessage>>,
    pub throughput: Vec<ThroughputPoint>,
    pub functions: Vec<FunctionHealth>,
    /// Approved payments after each achieved project's goal (what a goal check would cancel).
    pub late_payments: BTreeMap<String, usize>,
    /// Newest first.
    pub audit: Vec<AuditEntry>,
    /// Wall-clock time of collection.
    pub collected_at: Timestamp,
}

impl Snapshot {
    pub fn list(&self, queue: &str) -> &[DlqMessage] {
        self.lists.get(queue).map_or(&[], Vec::as_slice)
    }
}

/// Collects what any backend can answer: queues, projects, listed messages, late payments and
/// the audit log. Throughput and function health are left empty for the caller to fill from
/// its metrics source.
pub async fn collect(b: &Backend, browsed: &str, wall: Timestamp) -> Result<Snapshot, String> {
    let status = collect_status(b).await.map_err(|e| e.to_string())?;
    let mut lists = BTreeMap::new();
    for q in FAILURE_QUEUES
        .iter()
        .copied()
        .chain(std::iter::once(browsed))
    {
        if lists.contains_key(q) || topology::queue(q).is_none() {
            continue;
        }
        let list = dlq::list_messages(b, q, LIST_LIMIT)
            .await
            .map_err(|e| e.to_string())?;
        lists.insert(q.to_string(), list);
    }
    let mut late_payments = BTreeMap::new();
    for p in &status.projects {
        if let Some(at) = p.goal_achieved_at {
            let late = plan_goal_check(&*b.ledger, &p.id, at)
                .await
                .map_err(|e| e.to_string())?;
            late_payments.insert(p.id.clone(), late.len());
        }
    }
    let mut audit = read_audit(&b.audit_log).map_err(|e| e.to_string())?;
    audit.reverse();
    Ok(Snapshot {
        status,
        lists,
        throughput: Vec::new(),
        functions: Vec::new(),
        late_payments,
        audit,
        collected_at: wall,
    })
}

/// Collects a snapshot of the local world, with its metric history and function counters.
pub fn collect_local(
    world: &LocalWorld,
    browsed: &str,
    wall: Timestamp,
) -> Result<Snapshot, String> {
    let mut snapshot = block_on(collect(&world.backend(), browsed, wall))?;
    fill_from_world(world.world(), &mut snapshot);
    Ok(snapshot)
}

/// Sets throughput and function health from the simulated world's own counters.
pub fn fill_from_world(sim: &SimWorld, snapshot: &mut Snapshot) {
    let buckets = sim.metric_buckets();
    let now_minute = snapshot.status.now.timestamp().div_euclid(60);
    snapshot.throughput = (now_minute - THROUGHPUT_MINUTES as i64 + 1..=now_minute)
        .map(|minute| {
            let b = buckets.get(&minute);
            let get = |m| b.and_then(|b| b.get(&m)).copied().unwrap_or(0).max(0) as u64;
            ThroughputPoint {
                minute,
                approved: get(MetricName::PaymentsApproved),
                declined: get(MetricName::PaymentsDeclined),
                cancelled: get(MetricName::PaymentsCancelled),
            }
        })
        .collect();
    let counters = sim.function_counters();
    snapshot.functions = topology::FUNCTIONS
        .iter()
        .map(|f| {
            let c = counters.get(f.name).cloned().unwrap_or_default();
            FunctionHealth {
                name: f.name.to_string(),
                invocations: c.invocations,
                messages: c.messages,
                errors: c.recent_errors(now_minute, ERROR_WINDOW_MINUTES),
                throttles: 0,
                duration_p99_micros: c.duration_p99_micros(),
            }
        })
        .collect();
}
