//! The simulated AWS world: SQS, SNS, the DynamoDB ledger, SES, Discord, the funding API and the
//! sandbox payment gateway, in memory, behind the same ports as the real adapters.
//!
//! It behaves like the real services where the pipeline's correctness depends on it: visibility
//! timeouts, receive counts, redrive to the DLQ after maxReceiveCount, delays, batches of 10,
//! SNS fan-out with raw delivery, conditional writes, and at-least-once delivery (a configurable
//! share of sends is delivered twice). Time is virtual and randomness seeded, so a run is
//! reproducible, and the whole world serializes to one JSON file.
//!
//! - [`queue`]: one SQS queue.
//! - [`rng`]: the seeded random source.
//! - [`traffic`]: backers, projects and bad producers.

pub mod queue;
pub mod rng;
pub mod traffic;

use crate::domain::{Alert, Mail, PaymentRecord, PaymentStatus, Project, Timestamp};
use crate::envelope::{Envelope, MessageKind};
use crate::metrics::{MetricEvent, MetricName};
use crate::money::Money;
use crate::ports::*;
use crate::sandbox::{self, CardBehaviour};
use crate::topology;
use async_trait::async_trait;
use queue::{QueueSettings, SimMessage, SimQueue};
use rng::SimRng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Format version of the state file; a file of another version is refused, not guessed at.
pub const STATE_VERSION: u32 = 1;
/// Per-minute metric buckets kept for charts (one day).
const METRIC_MINUTES_KEPT: usize = 24 * 60;

/// Failure injection and delivery semantics of the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorldConfig {
    /// Share of queue sends delivered twice (SQS is at-least-once).
    pub duplicate_rate: f64,
    /// Share of mail sends that fail transiently (SES throttling).
    pub mail_failure_rate: f64,
    /// Share of funding API calls that fail transiently (a 503 from the API).
    pub funding_failure_rate: f64,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            duplicate_rate: 0.0,
            mail_failure_rate: 0.0,
            funding_failure_rate: 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FundingEntry {
    amount: i64,
    reversed: bool,
}

/// A project in the funding API's database, with the fundings that make up its amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FundingProject {
    pub project: Project,
    fundings: HashMap<String, FundingEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum IdempotencyItem {
    InProgress { expires_at: Timestamp },
    Done { at: Timestamp },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum SandboxCharge {
    Approved { charge_id: String, amount: Money },
    Declined { reason: String },
}

/// Invocations of one function, as CloudWatch's Lambda metrics would count them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCounters {
    pub invocations: u64,
    pub messages: u64,
    /// Messages reported as batch item failures.
    pub errors: u64,
    /// Recent batch durations in microseconds (the last 256), for a p99.
    pub recent_durations: std::collections::VecDeque<u64>,
    /// Failed messages per minute (minutes since the epoch), the last quarter hour.
    #[serde(default)]
    pub errors_by_minute: BTreeMap<i64, u64>,
}

impl FunctionCounters {
    const KEPT: usize = 256;

    /// Failed messages in the `minutes` up to and including `now_minute`.
    pub fn recent_errors(&self, now_minute: i64, minutes: i64) -> u64 {
        self.errors_by_minute
            .range(now_minute - minutes + 1..=now_minute)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn duration_p99_micros(&self) -> Option<u64> {
        let mut d: Vec<u64> = self.recent_durations.iter().copied().collect();
        if d.is_empty() {
            return None;
        }
        d.sort_unstable();
        d.get((d.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
    }
}

/// Counters per minute, for throughput charts.
pub type MetricBuckets = BTreeMap<i64, BTreeMap<MetricName, i64>>;

/// Everything in the world. Serialized as the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorldState {
    pub version: u32,
    pub now: Timestamp,
    pub config: WorldConfig,
    pub(crate) rng: SimRng,
    next_message_id: u64,
    queues: BTreeMap<String, SimQueue>,
    ledger: HashMap<String, PaymentRecord>,
    /// (projectId, paidAt, paymentId): the `project_paid_at` index. Rebuilt on load.
    #[serde(skip)]
    ledger_index: BTreeSet<(String, Timestamp, String)>,
    idempotency: HashMap<String, IdempotencyItem>,
    projects: BTreeMap<String, FundingProject>,
    charges: HashMap<String, SandboxCharge>,
    charge_attempts: HashMap<String, u32>,
    refunds: HashMap<String, String>,
    /// SES's sent-mail store.
    pub mails: Vec<Mail>,
    /// What reached the Discord webhook.
    pub alerts: Vec<Alert>,
    pub metrics: MetricBuckets,
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionCounters>,
    /// Messages per queue at each minute boundary the clock crossed (for depth charts).
    #[serde(default)]
    pub depth_history: BTreeMap<i64, BTreeMap<String, u64>>,
    /// Counter for generated payment ids, so runs on one state file never reuse an id.
    pub next_payment_number: u64,
}

impl WorldState {
    fn new(seed: u64, now: Timestamp, config: WorldConfig) -> Self {
        let queues = topology::QUEUES
            .iter()
            .map(|q| {
                let settings = QueueSettings {
                    name: q.name.to_string(),
                    visibility_timeout_seconds: q.visibility_timeout_seconds,
                    redrive: q
                        .redrive
                        .map(|r| (r.target.to_string(), r.max_receive_count)),
                };
                (q.name.to_string(), SimQueue::new(settings))
            })
            .collect();
        WorldState {
            version: STATE_VERSION,
            now,
            config,
            rng: SimRng::new(seed),
            next_message_id: 0,
            queues,
            ledger: HashMap::new(),
            ledger_index: BTreeSet::new(),
            idempotency: HashMap::new(),
            projects: BTreeMap::new(),
            charges: HashMap::new(),
            charge_attempts: HashMap::new(),
            refunds: HashMap::new(),
            mails: Vec::new(),
            alerts: Vec::new(),
            metrics: BTreeMap::new(),
            functions: BTreeMap::new(),
            depth_history: BTreeMap::new(),
            next_payment_number: 1,
        }
    }

    fn rebuild_indices(&mut self) {
        self.ledger_index = self
            .ledger
            .values()
            .map(|p| (p.project_id.clone(), p.paid_at, p.payment_id.clone()))
            .collect();
    }

    fn queue_mut(&mut self, name: &str) -> PortResult<&mut SimQueue> {
        self.queues
            .get_mut(name)
            .ok_or_else(|| PortError::not_found(format!("queue {name}")))
    }

    fn new_message_id(&mut self) -> String {
        self.next_message_id += 1;
        format!("m-{:08}", self.next_message_id)
    }

    /// Sends to a queue; with `duplicate_rate` the queue gets a second copy (at-least-once).
    fn enqueue(&mut self, queue: &str, body: &str, delay_seconds: u32) -> PortResult<String> {
        if !self.queues.contains_key(queue) {
            return Err(PortError::not_found(format!("queue {queue}")));
        }
        let copies =
            if queue != topology::QUEUE_PARKED && self.rng.chance(self.config.duplicate_rate) {
                2
            } else {
                1
            };
        let visible_at = self.now
            + chrono::Duration::seconds(i64::from(
                delay_seconds.min(topology::SQS_MAX_DELAY_SECONDS),
            ));
        let mut first = String::new();
        for _ in 0..copies {
            let id = self.new_message_id();
            let message = SimMessage {
                id: id.clone(),
                body: body.to_string(),
                sent_at: self.now,
                receive_count: 0,
                visible_at,
            };
            self.queue_mut(queue)?.insert(message);
            if first.is_empty() {
                first = id;
            }
        }
        Ok(first)
    }

    fn publish(&mut self, topic: &str, body: &str) -> PortResult<String> {
        let spec =
            topology::topic(topic).ok_or_else(|| PortError::not_found(format!("topic {topic}")))?;
        for queue in spec.subscribers {
            self.enqueue(queue, body, 0)?;
        }
        self.next_message_id += 1;
        Ok(format!("sns-{:08}", self.next_message_id))
    }

    /// Ids of the projects whose goal was (or was not yet) reached.
    pub fn project_ids(&self, goal_reached: bool) -> Vec<String> {
        self.projects
            .values()
            .filter(|p| p.project.goal_achieved_at.is_some() == goal_reached)
            .map(|p| p.project.id.clone())
            .collect()
    }

    /// Moves the clock, sampling every queue's depth when a minute boundary is crossed.
    fn set_now(&mut self, now: Timestamp) {
        let before = self.now.timestamp().div_euclid(60);
        self.now = now;
        let minute = now.timestamp().div_euclid(60);
        if minute != before {
            let sample = self
                .queues
                .iter()
                .map(|(n, q)| (n.clone(), q.len() as u64))
                .collect();
            self.depth_history.insert(minute, sample);
            while self.depth_history.len() > METRIC_MINUTES_KEPT {
                self.depth_history.pop_first();
            }
        }
    }

    /// True with probability `rate`: an injected transient failure.
    fn inject_failure(&mut self, rate: impl Fn(&WorldConfig) -> f64) -> bool {
        let rate = rate(&self.config);
        self.rng.chance(rate)
    }

    fn count(&mut self, name: MetricName, value: i64) {
        let minute = self.now.timestamp().div_euclid(60);
        *self
            .metrics
            .entry(minute)
            .or_default()
            .entry(name)
            .or_default() += value;
        while self.metrics.len() > METRIC_MINUTES_KEPT {
            self.metrics.pop_first();
        }
    }

    fn receive(
        &mut self,
        queue: &str,
        max: usize,
        visibility: u32,
    ) -> PortResult<Vec<ReceivedMessage>> {
        let now = self.now;
        let q = self.queue_mut(queue)?;
        let target = q.settings.redrive.as_ref().map(|(t, _)| t.clone());
        let receipt = q.receive(now, max.clamp(1, topology::SQS_BATCH_LIMIT), visibility);
        if let Some(target) = target {
            for moved in receipt.redriven {
                self.queue_mut(&target)?.insert(moved);
            }
        }
        Ok(receipt.delivered)
    }
}

/// Shared handle on the world; every port is implemented on it.
#[derive(Debug, Clone)]
pub struct SimWorld {
    state: Arc<Mutex<WorldState>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("state file is not a crowdfund world: {0}")]
    Malformed(serde_json::Error),
    #[error("state file has format version {found}; this build reads version {expected}")]
    Version { found: u32, expected: u32 },
}

/// The simulated clock starts here in a new world: a fixed instant, so runs are reproducible.
pub fn epoch() -> Timestamp {
    chrono::DateTime::from_timestamp(1_763_640_000, 0).unwrap_or_default() // 2025-11-20T12:00:00Z
}

impl SimWorld {
    pub fn new(seed: u64, config: WorldConfig) -> Self {
        Self::from_state(WorldState::new(seed, epoch(), config))
    }

    pub fn from_state(mut state: WorldState) -> Self {
        state.rebuild_indices();
        SimWorld {
            state: Arc::new(Mutex::new(state)),
        }
    }

    pub fn from_json(json: &str) -> Result<Self, StateFileError> {
        Self::read_json(json.as_bytes())
    }

    /// Reads a state file as a stream (a large world never exists twice in memory).
    pub fn read_json<R: std::io::Read>(reader: R) -> Result<Self, StateFileError> {
        let state: WorldState = serde_json::from_reader(std::io::BufReader::new(reader))
            .map_err(StateFileError::Malformed)?;
        if state.version != STATE_VERSION {
            return Err(StateFileError::Version {
                found: state.version,
                expected: STATE_VERSION,
            });
        }
        Ok(Self::from_state(state))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&*self.lock()).unwrap_or_default()
    }

    /// Streams the state as JSON (a large world never exists twice in memory).
    pub fn write_json<W: std::io::Write>(&self, writer: W) -> serde_json::Result<()> {
        serde_json::to_writer(writer, &*self.lock())
    }

    /// The lock is never held across an await, so a poisoned lock only means a panic elsewhere
    /// mid-update; the state is still the best we have, so keep using it.
    pub fn lock(&self) -> MutexGuard<'_, WorldState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now(&self) -> Timestamp {
        self.lock().now
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut s = self.lock();
        let now = s.now + by;
        s.set_now(now);
    }

    /// Moves the clock to when the next consumable message becomes visible. False when nothing
    /// waits (etc_parked has no consumer, so its messages never count).
    pub fn advance_to_next_event(&self) -> bool {
        let mut s = self.lock();
        let now = s.now;
        let next = s
            .queues
            .iter()
            .filter(|(name, _)| topology::function_of_queue(name).is_some())
            .filter_map(|(_, q)| q.next_visible_at(now))
            .min();
        match next {
            Some(at) if at > now => {
                s.set_now(at);
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    /// True when no queue a function drains holds a message.
    pub fn is_idle(&self) -> bool {
        self.lock()
            .queues
            .iter()
            .all(|(name, q)| q.is_empty() || topology::function_of_queue(name).is_none())
    }

    pub fn config(&self) -> WorldConfig {
        self.lock().config.clone()
    }

    pub fn set_config(&self, config: WorldConfig) {
        self.lock().config = config;
    }

    /// Restarts the random source from `seed` (the rest of the world stays as it is).
    pub fn reseed(&self, seed: u64) {
        self.lock().rng = SimRng::new(seed);
    }

    pub fn random_u64(&self) -> u64 {
        self.lock().rng.next_u64()
    }

    /// Creates a project in the funding API's store (what `POST /projects` does).
    pub fn create_project(&self, id: &str, title: &str, goal: Money, deadline: Timestamp) {
        let mut s = self.lock();
        s.projects
            .entry(id.to_string())
            .or_insert_with(|| FundingProject {
                project: Project {
                    id: id.to_string(),
                    title: title.to_string(),
                    goal: goal.amount,
                    currency: goal.currency,
                    raised: 0,
                    backers: 0,
                    deadline,
                    goal_achieved_at: None,
                },
                fundings: HashMap::new(),
            });
    }

    pub fn project_list(&self) -> Vec<Project> {
        self.lock()
            .projects
            .values()
            .map(|p| p.project.clone())
            .collect()
    }

    pub fn queue_stats(&self) -> Vec<QueueStats> {
        let s = self.lock();
        topology::QUEUES
            .iter()
            .filter_map(|spec| s.queues.get(spec.name).map(|q| q.stats(s.now)))
            .collect()
    }

    /// Messages of a queue in arrival order, untouched.
    pub fn peek_queue(&self, queue: &str, max: usize) -> PortResult<Vec<ReceivedMessage>> {
        let s = self.lock();
        let q = s
            .queues
            .get(queue)
            .ok_or_else(|| PortError::not_found(format!("queue {queue}")))?;
        Ok(q.peek(max)
            .map(|(_, m)| ReceivedMessage {
                message_id: m.id.clone(),
                receipt_handle: String::new(),
                body: m.body.clone(),
                receive_count: m.receive_count,
                sent_at: m.sent_at,
            })
            .collect())
    }

    /// Puts a raw body on a queue as a misbehaving producer would (no broker, no envelope check).
    pub fn inject_raw(&self, queue: &str, body: &str) -> PortResult<String> {
        self.lock().enqueue(queue, body, 0)
    }

    pub fn ledger_records(&self) -> Vec<PaymentRecord> {
        let mut v: Vec<PaymentRecord> = self.lock().ledger.values().cloned().collect();
        v.sort_by(|a, b| {
            a.paid_at
                .cmp(&b.paid_at)
                .then(a.payment_id.cmp(&b.payment_id))
        });
        v
    }

    /// Sum of approved (not cancelled) amounts per project, as the ledger has them.
    pub fn ledger_net_by_project(&self) -> BTreeMap<String, i64> {
        let s = self.lock();
        let mut net: BTreeMap<String, i64> = s.projects.keys().map(|k| (k.clone(), 0)).collect();
        for p in s
            .ledger
            .values()
            .filter(|p| p.status == PaymentStatus::Approved)
        {
            *net.entry(p.project_id.clone()).or_default() += p.amount.amount;
        }
        net
    }

    pub fn ledger_counts(&self) -> BTreeMap<PaymentStatus, u64> {
        let mut counts = BTreeMap::new();
        for p in self.lock().ledger.values() {
            *counts.entry(p.status).or_default() += 1;
        }
        counts
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.lock().mails.clone()
    }

    pub fn alerts(&self) -> Vec<Alert> {
        self.lock().alerts.clone()
    }

    pub fn function_counters(&self) -> BTreeMap<String, FunctionCounters> {
        self.lock().functions.clone()
    }

    pub fn depth_history(&self) -> BTreeMap<i64, BTreeMap<String, u64>> {
        self.lock().depth_history.clone()
    }

    pub fn metric_buckets(&self) -> MetricBuckets {
        self.lock().metrics.clone()
    }

    /// Number of times the gateway was asked to charge each payment.
    pub fn charge_attempts(&self, payment_id: &str) -> u32 {
        self.lock()
            .charge_attempts
            .get(payment_id)
            .copied()
            .unwrap_or(0)
    }

    /// Ids of refunds made, by idempotency key.
    pub fn refund_count(&self) -> usize {
        self.lock().refunds.len()
    }
}

impl Clock for SimWorld {
    fn now(&self) -> Timestamp {
        self.lock().now
    }
}

impl Metrics for SimWorld {
    fn record(&self, event: MetricEvent) {
        let mut s = self.lock();
        if let MetricEvent::Batch {
            function,
            processed,
            failed,
            duration_micros,
        } = &event
        {
            let f = s.functions.entry(function.to_string()).or_default();
            f.invocations += 1;
            f.messages += u64::from(processed + failed);
            f.errors += u64::from(*failed);
            f.recent_durations.push_back(*duration_micros);
            if f.recent_durations.len() > FunctionCounters::KEPT {
                f.recent_durations.pop_front();
            }
        }
        for (name, value, _) in event.points() {
            s.count(name, value);
        }
    }
}

#[async_trait]
impl MessageSender for SimWorld {
    async fn send(&self, queue: &str, body: &str, delay_seconds: u32) -> PortResult<String> {
        self.lock().enqueue(queue, body, delay_seconds)
    }
}

#[async_trait]
impl QueueClient for SimWorld {
    async fn send_batch(
        &self,
        queue: &str,
        messages: &[OutgoingMessage],
    ) -> PortResult<BatchSendResult> {
        if messages.len() > topology::SQS_BATCH_LIMIT {
            return Err(PortError::Rejected(format!(
                "a batch holds at most {} messages, got {}",
                topology::SQS_BATCH_LIMIT,
                messages.len()
            )));
        }
        let mut s = self.lock();
        let mut result = BatchSendResult::default();
        for m in messages {
            let id = s.enqueue(queue, &m.body, m.delay_seconds)?;
            result.sent.push((m.entry_id.clone(), id));
        }
        Ok(result)
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility_timeout_seconds: u32,
    ) -> PortResult<Vec<ReceivedMessage>> {
        self.lock().receive(queue, max, visibility_timeout_seconds)
    }

    async fn delete_batch(
        &self,
        queue: &str,
        receipt_handles: &[String],
    ) -> PortResult<Vec<String>> {
        let mut s = self.lock();
        let q = s.queue_mut(queue)?;
        Ok(receipt_handles
            .iter()
            .filter(|h| !q.delete(h))
            .cloned()
            .collect())
    }

    async fn change_visibility(
        &self,
        queue: &str,
        receipt_handle: &str,
        visibility_timeout_seconds: u32,
    ) -> PortResult<()> {
        let mut s = self.lock();
        let now = s.now;
        if s.queue_mut(queue)?
            .change_visibility(now, receipt_handle, visibility_timeout_seconds)
        {
            Ok(())
        } else {
            Err(PortError::Rejected(format!(
                "receipt handle {receipt_handle} is not valid"
            )))
        }
    }

    async fn peek(&self, queue: &str, max: usize) -> PortResult<Vec<ReceivedMessage>> {
        self.peek_queue(queue, max)
    }

    async fn stats(&self, queue: &str) -> PortResult<QueueStats> {
        let s = self.lock();
        s.queues
            .get(queue)
            .map(|q| q.stats(s.now))
            .ok_or_else(|| PortError::not_found(format!("queue {queue}")))
    }
}

#[async_trait]
impl Publisher for SimWorld {
    async fn publish(&self, topic: &str, body: &str) -> PortResult<String> {
        self.lock().publish(topic, body)
    }
}

#[async_trait]
impl Ledger for SimWorld {
    async fn put_payment(&self, record: &PaymentRecord) -> PortResult<PutOutcome> {
        let mut s = self.lock();
        if let Some(existing) = s.ledger.get(&record.payment_id) {
            return Ok(PutOutcome::Exists(Box::new(existing.clone())));
        }
        s.ledger_index.insert((
            record.project_id.clone(),
            record.paid_at,
            record.payment_id.clone(),
        ));
        s.ledger.insert(record.payment_id.clone(), record.clone());
        Ok(PutOutcome::Created)
    }

    async fn get_payment(&self, payment_id: &str) -> PortResult<Option<PaymentRecord>> {
        Ok(self.lock().ledger.get(payment_id).cloned())
    }

    async fn payments_of_project(
        &self,
        project_id: &str,
        after: Option<Timestamp>,
    ) -> PortResult<Vec<PaymentRecord>> {
        let s = self.lock();
        let from = (
            project_id.to_string(),
            after.unwrap_or(Timestamp::MIN_UTC),
            String::new(),
        );
        Ok(s.ledger_index
            .range(from..)
            .take_while(|(p, _, _)| p == project_id)
            .filter(|(_, at, _)| after.is_none_or(|a| *at > a))
            .filter_map(|(_, _, id)| s.ledger.get(id).cloned())
            .collect())
    }

    async fn cancel_payment(
        &self,
        payment_id: &str,
        cancel_id: &str,
        at: Timestamp,
    ) -> PortResult<CancelOutcome> {
        let mut s = self.lock();
        let Some(record) = s.ledger.get_mut(payment_id) else {
            return Ok(CancelOutcome::NotFound);
        };
        Ok(match record.status {
            PaymentStatus::Approved => {
                record.status = PaymentStatus::Cancelled;
                record.cancel_id = Some(cancel_id.to_string());
                record.cancelled_at = Some(at);
                CancelOutcome::Cancelled(Box::new(record.clone()))
            }
            PaymentStatus::Cancelled => CancelOutcome::AlreadyCancelled(Box::new(record.clone())),
            PaymentStatus::Declined => CancelOutcome::NotApproved(Box::new(record.clone())),
        })
    }
}

#[async_trait]
impl IdempotencyStore for SimWorld {
    async fn claim(&self, key: &str, now: Timestamp, lease_seconds: u32) -> PortResult<Claim> {
        let mut s = self.lock();
        let expires_at = now + chrono::Duration::seconds(i64::from(lease_seconds));
        match s.idempotency.get(key) {
            Some(IdempotencyItem::Done { .. }) => Ok(Claim::AlreadyDone),
            Some(IdempotencyItem::InProgress { expires_at: e }) if *e > now => {
                Ok(Claim::InProgress)
            }
            _ => {
                s.idempotency
                    .insert(key.to_string(), IdempotencyItem::InProgress { expires_at });
                Ok(Claim::Acquired)
            }
        }
    }

    async fn complete(&self, key: &str, now: Timestamp) -> PortResult<()> {
        self.lock()
            .idempotency
            .insert(key.to_string(), IdempotencyItem::Done { at: now });
        Ok(())
    }

    async fn release(&self, key: &str) -> PortResult<()> {
        let mut s = self.lock();
        if matches!(
            s.idempotency.get(key),
            Some(IdempotencyItem::InProgress { .. })
        ) {
            s.idempotency.remove(key);
        }
        Ok(())
    }
}

#[async_trait]
impl FundingApi for SimWorld {
    async fn raise(
        &self,
        project_id: &str,
        payment_id: &str,
        amount: Money,
    ) -> PortResult<FundingOutcome> {
        let mut s = self.lock();
        if s.inject_failure(|c| c.funding_failure_rate) {
            return Err(PortError::unavailable(
                "crowdfund-api",
                "503 Service Unavailable (injected)",
            ));
        }
        let now = s.now;
        let p = s
            .projects
            .get_mut(project_id)
            .ok_or_else(|| PortError::not_found(format!("project {project_id}")))?;
        if amount.currency != p.project.currency {
            return Err(PortError::Rejected(format!(
                "project {project_id} is funded in {}, not {}",
                p.project.currency, amount.currency
            )));
        }
        if p.fundings.contains_key(payment_id) {
            return Ok(FundingOutcome::Duplicate {
                raised: p.project.raised,
            });
        }
        p.fundings.insert(
            payment_id.to_string(),
            FundingEntry {
                amount: amount.amount,
                reversed: false,
            },
        );
        p.project.raised += amount.amount;
        p.project.backers += 1;
        let raised = p.project.raised;
        // The API records the moment the goal is first reached and tells the broker, once.
        if p.project.goal_achieved_at.is_none() && raised >= p.project.goal {
            p.project.goal_achieved_at = Some(now);
            let achievement = crate::domain::GoalAchievement {
                project_id: project_id.to_string(),
                achieved_at: now,
            };
            let body = Envelope::new(MessageKind::GoalAchievement, &achievement).to_json();
            s.publish(topology::TOPIC_GOAL_ACHIEVEMENT, &body)?;
        }
        Ok(FundingOutcome::Applied { raised })
    }

    async fn reverse(&self, project_id: &str, payment_id: &str) -> PortResult<FundingOutcome> {
        let mut s = self.lock();
        if s.inject_failure(|c| c.funding_failure_rate) {
            return Err(PortError::unavailable(
                "crowdfund-api",
                "503 Service Unavailable (injected)",
            ));
        }
        let p = s
            .projects
            .get_mut(project_id)
            .ok_or_else(|| PortError::not_found(format!("project {project_id}")))?;
        match p.fundings.get_mut(payment_id) {
            Some(entry) if entry.reversed => Ok(FundingOutcome::Duplicate {
                raised: p.project.raised,
            }),
            Some(entry) => {
                entry.reversed = true;
                p.project.raised -= entry.amount;
                p.project.backers = p.project.backers.saturating_sub(1);
                Ok(FundingOutcome::Applied {
                    raised: p.project.raised,
                })
            }
            None => {
                // The reversal overtook the raise: leave a tombstone so the late raise is a no-op.
                p.fundings.insert(
                    payment_id.to_string(),
                    FundingEntry {
                        amount: 0,
                        reversed: true,
                    },
                );
                Ok(FundingOutcome::Applied {
                    raised: p.project.raised,
                })
            }
        }
    }

    async fn projects(&self) -> PortResult<Vec<Project>> {
        Ok(self.project_list())
    }
}

#[async_trait]
impl Mailer for SimWorld {
    async fn send_mail(&self, mail: &Mail) -> PortResult<String> {
        let mut s = self.lock();
        if s.inject_failure(|c| c.mail_failure_rate) {
            return Err(PortError::unavailable(
                "SES",
                "Throttling: Maximum sending rate exceeded (injected)",
            ));
        }
        s.mails.push(mail.clone());
        Ok(format!("ses-{:08}", s.mails.len()))
    }
}

#[async_trait]
impl Alerter for SimWorld {
    async fn alert(&self, alert: &Alert) -> PortResult<()> {
        self.lock().alerts.push(alert.clone());
        Ok(())
    }
}

#[async_trait]
impl PaymentGateway for SimWorld {
    async fn charge(&self, request: &ChargeRequest) -> PortResult<ChargeOutcome> {
        let mut s = self.lock();
        let attempts = {
            let n = s
                .charge_attempts
                .entry(request.payment_id.clone())
                .or_default();
            *n += 1;
            *n
        };
        if let Some(previous) = s.charges.get(&request.payment_id) {
            return Ok(match previous {
                SandboxCharge::Approved { charge_id, .. } => ChargeOutcome::Approved {
                    charge_id: charge_id.clone(),
                },
                SandboxCharge::Declined { reason } => ChargeOutcome::Declined {
                    reason: reason.clone(),
                },
            });
        }
        let charge = match sandbox::card_behaviour(&request.card) {
            CardBehaviour::TransientError { failures } if attempts <= failures => {
                return Err(PortError::unavailable(
                    "payment gateway",
                    format!(
                        "timeout charging {} (sandbox card tok_error, call {attempts} of {failures} failing)",
                        request.payment_id
                    ),
                ));
            }
            CardBehaviour::Approve | CardBehaviour::TransientError { .. } => {
                SandboxCharge::Approved {
                    charge_id: sandbox::charge_id_for(&request.payment_id),
                    amount: request.amount,
                }
            }
            CardBehaviour::Decline => SandboxCharge::Declined {
                reason: "card declined".to_string(),
            },
            CardBehaviour::Unknown => SandboxCharge::Declined {
                reason: format!("unknown card token {:?}", request.card),
            },
        };
        s.charges.insert(request.payment_id.clone(), charge.clone());
        Ok(match charge {
            SandboxCharge::Approved { charge_id, .. } => ChargeOutcome::Approved { charge_id },
            SandboxCharge::Declined { reason } => ChargeOutcome::Declined { reason },
        })
    }

    async fn refund(&self, charge_id: &str, idempotency_key: &str) -> PortResult<RefundOutcome> {
        let mut s = self.lock();
        if let Some(id) = s.refunds.get(idempotency_key) {
            return Ok(RefundOutcome::AlreadyRefunded {
                refund_id: id.clone(),
            });
        }
        let known = sandbox::payment_id_of_charge(charge_id)
            .and_then(|payment| s.charges.get(payment))
            .is_some_and(
                |c| matches!(c, SandboxCharge::Approved { charge_id: id, .. } if id == charge_id),
            );
        if !known {
            return Err(PortError::not_found(format!("charge {charge_id}")));
        }
        let refund_id = sandbox::refund_id_for(idempotency_key);
        s.refunds
            .insert(idempotency_key.to_string(), refund_id.clone());
        Ok(RefundOutcome::Refunded { refund_id })
    }
}
