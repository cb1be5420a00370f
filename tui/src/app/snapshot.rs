//! What the TUI draws: a snapshot of the system, collected off the UI thread. The local world
//! sends it whole at each refresh; on AWS each source sends its part as it arrives
//! ([`Update`]), so nothing waits on the slowest source, and each part says whether it is
//! still loading ([`Parts`], [`ListLoad`]).

pub use crate::metrics::{
    ERROR_WINDOW_MINUTES, FunctionHealth, THROUGHPUT_MINUTES, ThroughputPoint,
};

use crate::backend::{Backend, LocalWorld};
use crate::ops::dlq::{self, DlqMessage, FAILURE_QUEUES};
use crate::ops::safety::{AuditEntry, read_audit};
use crate::ops::status::{PaymentCounts, ProjectStatus, Status, collect_status};
use crowdfund_core::domain::Timestamp;
use crowdfund_core::metrics::MetricName;
use crowdfund_core::ports::{FiringAlarm, FunctionTrigger, QueueStats};
use crowdfund_core::sim::SimWorld;
use crowdfund_core::topology;
use crowdfund_handlers::transaction_check::plan_goal_check;
use futures::executor::block_on;
use std::collections::BTreeMap;

/// Messages listed per queue of the local world (the browser draws only the visible rows).
pub const LIST_LIMIT: usize = 10_000;

/// Where one part of the snapshot stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Part {
    #[default]
    Loading,
    Ready,
    Failed(String),
}

impl Part {
    pub fn is_ready(&self) -> bool {
        *self == Part::Ready
    }
}

/// The parts that come from different sources, each with its own loading state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parts {
    /// Queue depths (GetQueueAttributes).
    pub queues: Part,
    /// Function health, throughput, queue ages (CloudWatch).
    pub metrics: Part,
    /// Projects and the ledger's payment counts (crowdfund-api, DynamoDB).
    pub projects: Part,
    /// The functions and their SQS triggers (Lambda).
    pub triggers: Part,
    /// The alarms in ALARM state (CloudWatch DescribeAlarms).
    pub alarms: Part,
}

impl Parts {
    pub fn ready() -> Self {
        Parts {
            queues: Part::Ready,
            metrics: Part::Ready,
            projects: Part::Ready,
            triggers: Part::Ready,
            alarms: Part::Ready,
        }
    }
}

/// How far a queue's message list has loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LoadState {
    /// Not asked for yet.
    #[default]
    NotLoaded,
    Loading,
    /// Every message the queue held was read.
    Complete,
    /// `--max-messages` was reached before the queue was done.
    Capped(usize),
    /// On AWS a work queue is not browsed: reading a message there means receiving it.
    NotBrowsed,
    /// A work queue looked into once, on the operator's word, at this time.
    LookedOnce(Timestamp),
    Failed(String),
}

/// A queue's message list: how far it has loaded, against the queue's own count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListLoad {
    pub state: LoadState,
    /// Messages the queue held when its depth was last read (approximate on SQS).
    pub queue_count: Option<u64>,
}

/// One part of the snapshot, as a source sends it.
#[derive(Debug, Clone)]
pub enum Update {
    Queues(Result<Vec<QueueStats>, String>),
    Metrics(Result<MetricsPart, String>),
    Projects(Result<ProjectsPart, String>),
    Audit(Vec<AuditEntry>),
    /// Messages of one queue: added (new to the list), removed (by id), and the load state.
    Messages {
        queue: String,
        added: Vec<DlqMessage>,
        removed: Vec<String>,
        /// The whole list is replaced by `added` (a work queue looked into once).
        replace: bool,
        state: LoadState,
    },
    /// Ledger states by payment id, for the listed messages.
    Ledger(Vec<(String, String)>),
    /// Requests the console sent in the last minute.
    Requests(u64),
    Triggers(Result<Vec<FunctionTrigger>, String>),
    /// The alarms in ALARM state.
    Alarms(Result<Vec<FiringAlarm>, String>),
}

#[derive(Debug, Clone, Default)]
pub struct MetricsPart {
    pub functions: Vec<FunctionHealth>,
    pub throughput: Vec<ThroughputPoint>,
    /// Age of the oldest message by queue.
    pub ages: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default)]
pub struct ProjectsPart {
    pub projects: Vec<ProjectStatus>,
    pub payments: PaymentCounts,
    pub late_payments: BTreeMap<String, usize>,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub status: Status,
    pub parts: Parts,
    /// Listed messages by queue: the failure queues, and the queue being browsed.
    pub lists: BTreeMap<String, Vec<DlqMessage>>,
    /// How far each listed queue has loaded.
    pub loads: BTreeMap<String, ListLoad>,
    /// Requests sent to the backend in the last minute, where they cost something (AWS).
    pub requests_per_minute: Option<u64>,
    pub throughput: Vec<ThroughputPoint>,
    pub functions: Vec<FunctionHealth>,
    /// Each function's configuration and SQS trigger, in topology order.
    pub triggers: Vec<FunctionTrigger>,
    /// The environment's alarms in ALARM state (none on the local world, which has no alarms).
    pub alarms: Vec<FiringAlarm>,
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

    pub fn load(&self, queue: &str) -> ListLoad {
        let mut load = self.loads.get(queue).cloned().unwrap_or_default();
        if let Some(q) = self
            .status
            .queue(queue)
            .filter(|_| self.parts.queues.is_ready())
        {
            load.queue_count = Some(q.visible + q.in_flight + q.delayed);
        }
        load
    }

    /// Nothing yet but who and where: what the console draws before the first answers.
    pub fn empty(backend: &str, target: &str, now: Timestamp) -> Self {
        Snapshot {
            status: Status {
                backend: backend.to_string(),
                target: target.to_string(),
                now,
                queues: Vec::new(),
                projects: Vec::new(),
                payments: PaymentCounts::default(),
            },
            parts: Parts::default(),
            lists: BTreeMap::new(),
            loads: BTreeMap::new(),
            requests_per_minute: None,
            throughput: Vec::new(),
            functions: Vec::new(),
            triggers: Vec::new(),
            alarms: Vec::new(),
            late_payments: BTreeMap::new(),
            audit: Vec::new(),
            collected_at: now,
        }
    }

    /// Takes in one part as its source sent it, at wall-clock time `now`.
    pub fn apply(&mut self, update: Update, now: Timestamp) {
        match update {
            Update::Queues(Ok(mut queues)) => {
                // Ages come from CloudWatch; keep the last ones until it answers again.
                for q in &mut queues {
                    if let Some(old) = self.status.queue(&q.name) {
                        q.oldest_age_seconds = old.oldest_age_seconds;
                    }
                }
                self.status.payments.parked = queues
                    .iter()
                    .find(|q| q.name == topology::QUEUE_PARKED)
                    .map_or(0, |q| q.visible + q.in_flight + q.delayed);
                self.status.queues = queues;
                self.parts.queues = Part::Ready;
                self.status.now = now;
                self.collected_at = now;
            }
            Update::Queues(Err(e)) => self.parts.queues = Part::Failed(e),
            Update::Metrics(Ok(m)) => {
                for q in &mut self.status.queues {
                    if let Some(age) = m.ages.get(&q.name) {
                        q.oldest_age_seconds = *age;
                    }
                }
                self.functions = m.functions;
                self.throughput = m.throughput;
                self.parts.metrics = Part::Ready;
            }
            Update::Metrics(Err(e)) => self.parts.metrics = Part::Failed(e),
            Update::Projects(Ok(p)) => {
                let parked = self.status.payments.parked;
                self.status.projects = p.projects;
                self.status.payments = PaymentCounts {
                    parked,
                    ..p.payments
                };
                self.late_payments = p.late_payments;
                self.parts.projects = Part::Ready;
            }
            Update::Projects(Err(e)) => self.parts.projects = Part::Failed(e),
            Update::Audit(audit) => self.audit = audit,
            Update::Messages {
                queue,
                added,
                removed,
                replace,
                state,
            } => {
                let list = self.lists.entry(queue.clone()).or_default();
                if replace {
                    list.clear();
                }
                if !removed.is_empty() {
                    let gone: std::collections::HashSet<&String> = removed.iter().collect();
                    list.retain(|m| !gone.contains(&m.message_id));
                }
                if !added.is_empty() {
                    list.extend(added);
                    // Oldest first, as the queue would hand them out.
                    list.sort_by_key(|m| m.sent_at);
                }
                self.loads.entry(queue).or_default().state = state;
            }
            Update::Ledger(states) => {
                let states: BTreeMap<String, String> = states.into_iter().collect();
                for m in self.lists.values_mut().flatten() {
                    if let Some(state) = m.payment_id.as_ref().and_then(|p| states.get(p)) {
                        m.ledger_state = Some(state.clone());
                    }
                }
            }
            Update::Requests(n) => self.requests_per_minute = Some(n),
            Update::Triggers(Ok(triggers)) => {
                self.triggers = triggers;
                self.parts.triggers = Part::Ready;
            }
            Update::Triggers(Err(e)) => self.parts.triggers = Part::Failed(e),
            Update::Alarms(Ok(alarms)) => {
                self.alarms = alarms;
                self.parts.alarms = Part::Ready;
            }
            // The alarms last read stay: a failed read says nothing about them.
            Update::Alarms(Err(e)) => self.parts.alarms = Part::Failed(e),
        }
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
        let list = dlq::list_messages(b, q, LIST_LIMIT, true, &|_| {})
            .await
            .map_err(|e| e.to_string())?;
        lists.insert(q.to_string(), list);
    }
    let late_payments = late_payments(b, &status.projects).await?;
    let audit = audit_newest_first(b)?;
    let mut parts = Parts::ready();
    // Lambda not answering (not allowed, not there) leaves the rest of the snapshot standing.
    let triggers = b.triggers.list_triggers().await.unwrap_or_else(|e| {
        parts.triggers = Part::Failed(e.to_string());
        Vec::new()
    });
    let loads = lists
        .keys()
        .map(|q| {
            let load = ListLoad {
                state: LoadState::Complete,
                queue_count: None,
            };
            (q.clone(), load)
        })
        .collect();
    Ok(Snapshot {
        status,
        parts,
        lists,
        loads,
        requests_per_minute: None,
        throughput: Vec::new(),
        functions: Vec::new(),
        triggers,
        alarms: Vec::new(),
        late_payments,
        audit,
        collected_at: wall,
    })
}

/// The audit log, newest line first.
pub fn audit_newest_first(b: &Backend) -> Result<Vec<AuditEntry>, String> {
    let mut audit = read_audit(&b.audit_log).map_err(|e| e.to_string())?;
    audit.reverse();
    Ok(audit)
}

/// Approved payments after each achieved project's goal (what a goal check would cancel).
pub async fn late_payments(
    b: &Backend,
    projects: &[ProjectStatus],
) -> Result<BTreeMap<String, usize>, String> {
    let mut late = BTreeMap::new();
    for p in projects {
        if let Some(at) = p.goal_achieved_at {
            let payments = plan_goal_check(&*b.ledger, &p.id, at)
                .await
                .map_err(|e| e.to_string())?;
            late.insert(p.id.clone(), payments.len());
        }
    }
    Ok(late)
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
