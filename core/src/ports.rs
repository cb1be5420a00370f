//! Ports: the capabilities the logic needs from the outside world, one small trait each.
//!
//! Each has an in-memory adapter in [`crate::sim`] and a real one (AWS, HTTP, MySQL) elsewhere.
//! Handlers take `Arc<dyn Port>`, so a Lambda builds only the clients it uses.

use crate::domain::{Alert, Mail, PaymentRecord, Project, Timestamp};
use crate::metrics::{MetricEvent, MetricQuery};
use crate::money::Money;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What can go wrong behind a port. `is_retryable` tells a handler whether to let SQS redeliver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The service did not answer or answered "try later" (throttling, 5xx, timeouts).
    #[error("{service} is unavailable: {message}")]
    Unavailable {
        service: &'static str,
        message: String,
    },
    /// The named thing does not exist (queue, topic, project).
    #[error("{what} not found")]
    NotFound { what: String },
    /// The request can never succeed as it is (validation, currency mismatch).
    #[error("{0}")]
    Rejected(String),
}

impl PortError {
    pub fn unavailable(service: &'static str, message: impl Into<String>) -> Self {
        PortError::Unavailable {
            service,
            message: message.into(),
        }
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        PortError::NotFound { what: what.into() }
    }
    pub fn is_retryable(&self) -> bool {
        matches!(self, PortError::Unavailable { .. })
    }
}

pub type PortResult<T> = Result<T, PortError>;

/// A message as SQS hands it to a consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// ApproximateReceiveCount, this delivery included.
    pub receive_count: u32,
    /// When the message was first sent to its queue (SentTimestamp).
    pub sent_at: Timestamp,
}

/// One entry of a SendMessageBatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Batch entry id, echoed in the result.
    pub entry_id: String,
    pub body: String,
    pub delay_seconds: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchSendResult {
    /// (entry id, new message id) for each entry the queue acknowledged.
    pub sent: Vec<(String, String)>,
    /// (entry id, reason) for each entry it refused.
    pub failed: Vec<(String, String)>,
}

/// A queue's counts as GetQueueAttributes reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    pub name: String,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
    pub oldest_age_seconds: u64,
}

/// How [`QueueClient::browse`] reads a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowseOptions {
    /// At most this many messages.
    pub max: usize,
    /// How long each received message stays hidden while the browse runs; every message is
    /// released at its end, so this bounds the hiding only if the release fails.
    pub hold_seconds: u32,
    /// Receive calls in flight at once.
    pub receivers: usize,
}

impl BrowseOptions {
    pub fn up_to(max: usize) -> Self {
        BrowseOptions {
            max,
            hold_seconds: 30,
            receivers: 8,
        }
    }
}

/// SQS's longest visibility timeout (12 hours).
const MAX_HOLD_SECONDS: u64 = 43_200;

/// How long a pass over a queue (a browse, a disposal's receives) `elapsed` into its run hides
/// what it receives now: the queue's own hold,
/// or twice the time the browse has taken so far and that hold again, whichever is longer. A
/// message received now then stays hidden past the end of a browse that runs as long again,
/// and one whose hold ran out is hidden longer each time it comes back. Everything is
/// released at the end, so a long hold only matters if the console dies mid-browse.
pub fn hold_for(base_seconds: u32, elapsed: std::time::Duration) -> u32 {
    let grown = 2 * elapsed.as_secs() + u64::from(base_seconds);
    u32::try_from(grown.min(MAX_HOLD_SECONDS)).unwrap_or(u32::MAX)
}

/// Told each batch of messages a browse sees for the first time; answering `false` stops it.
pub type BrowseSink<'a> = &'a (dyn Fn(&[ReceivedMessage]) -> bool + Send + Sync);

/// Sends to a queue by name (the DLQ handler and the payment gateway function need only this).
#[async_trait]
pub trait MessageSender: Send + Sync {
    async fn send(&self, queue: &str, body: &str, delay_seconds: u32) -> PortResult<String>;
}

/// The consumer and operator side of SQS: receive, delete, peek, counts, batches.
#[async_trait]
pub trait QueueClient: MessageSender {
    async fn send_batch(
        &self,
        queue: &str,
        messages: &[OutgoingMessage],
    ) -> PortResult<BatchSendResult>;
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility_timeout_seconds: u32,
    ) -> PortResult<Vec<ReceivedMessage>>;
    /// Deletes by receipt handle; returns the handles that could not be deleted.
    async fn delete_batch(
        &self,
        queue: &str,
        receipt_handles: &[String],
    ) -> PortResult<Vec<String>>;
    async fn change_visibility(
        &self,
        queue: &str,
        receipt_handle: &str,
        visibility_timeout_seconds: u32,
    ) -> PortResult<()>;
    /// Makes received messages visible again at once. SQS does it in batches, several at a
    /// time: a disposal that held thousands of messages it did not take must not release
    /// them one call each.
    async fn release_all(&self, queue: &str, receipt_handles: &[String]) -> PortResult<()> {
        for handle in receipt_handles {
            self.change_visibility(queue, handle, 0).await?;
        }
        Ok(())
    }
    /// Reads up to `max` messages without consuming them: visibility is restored at once.
    async fn peek(&self, queue: &str, max: usize) -> PortResult<Vec<ReceivedMessage>>;
    /// Reads each message of `queue` once, up to `options.max`, telling `sink` as they come,
    /// and releases them at the end. Where a read is free (the simulated world) this is a peek;
    /// on SQS it is concurrent receives, which raise each message's receive count.
    async fn browse(
        &self,
        queue: &str,
        options: BrowseOptions,
        sink: BrowseSink<'_>,
    ) -> PortResult<Vec<ReceivedMessage>> {
        let messages = self.peek(queue, options.max).await?;
        sink(&messages);
        Ok(messages)
    }
    async fn stats(&self, queue: &str) -> PortResult<QueueStats>;
}

/// SQS's own message move task (StartMessageMoveTask): moves a whole dead-letter queue back to
/// its sources, or to one destination, inside SQS. Only real SQS has it; the sim and moto do not,
/// so operators' tools fall back to receive/send/delete batches.
#[async_trait]
pub trait MessageMoveTasks: Send + Sync {
    /// Starts moving every message of `source`; `destination` `None` means each message's
    /// original source queue. `max_per_second` caps the rate (SQS allows up to 500).
    async fn start_move(
        &self,
        source: &str,
        destination: Option<&str>,
        max_per_second: Option<u32>,
    ) -> PortResult<String>;
    /// The most recent move tasks of `source`, newest first.
    async fn list_moves(&self, source: &str) -> PortResult<Vec<MoveTask>>;
    /// Cancels a running task; returns how many messages it had moved.
    async fn cancel_move(&self, task_handle: &str) -> PortResult<u64>;
}

/// One move task as ListMessageMoveTasks reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveTask {
    /// Present only while the task runs (it is what cancelling needs).
    pub task_handle: Option<String>,
    /// RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED.
    pub status: String,
    pub moved: u64,
    /// Messages in the source when the task started.
    pub to_move: Option<u64>,
    pub failure_reason: Option<String>,
}

impl MoveTask {
    pub fn is_running(&self) -> bool {
        matches!(self.status.as_str(), "RUNNING" | "CANCELLING")
    }
}

/// SNS publish to a topic by name; returns the message id.
#[async_trait]
pub trait Publisher: Send + Sync {
    async fn publish(&self, topic: &str, body: &str) -> PortResult<String>;
}

/// Result of a conditional write that guards against doing a thing twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    /// An item with that key existed already; here it is, unchanged.
    Exists(Box<PaymentRecord>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled(Box<PaymentRecord>),
    /// Cancelled before (by this cancel id or another): nothing changed.
    AlreadyCancelled(Box<PaymentRecord>),
    /// Declined payments have nothing to cancel.
    NotApproved(Box<PaymentRecord>),
    NotFound,
}

/// The DynamoDB `payments` table.
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Writes the record unless one with its payment id exists (attribute_not_exists).
    async fn put_payment(&self, record: &PaymentRecord) -> PortResult<PutOutcome>;
    async fn get_payment(&self, payment_id: &str) -> PortResult<Option<PaymentRecord>>;
    /// The payments with these ids, by id; an id the ledger does not hold is absent from the
    /// map (repeated ids are read once). This default asks [`Ledger::get_payment`] for each id
    /// in turn; an adapter with a batch read (DynamoDB's BatchGetItem) overrides it.
    async fn get_payments(
        &self,
        payment_ids: &[String],
    ) -> PortResult<HashMap<String, PaymentRecord>> {
        let mut found = HashMap::new();
        for id in payment_ids {
            if found.contains_key(id) {
                continue;
            }
            if let Some(record) = self.get_payment(id).await? {
                found.insert(id.clone(), record);
            }
        }
        Ok(found)
    }
    /// Payments of a project with `paidAt > after`, by the project/time index (a Query, never a
    /// Scan). `None` reads all of the project's payments.
    async fn payments_of_project(
        &self,
        project_id: &str,
        after: Option<Timestamp>,
    ) -> PortResult<Vec<PaymentRecord>>;
    /// Marks an approved payment cancelled (condition: status = approved).
    async fn cancel_payment(
        &self,
        payment_id: &str,
        cancel_id: &str,
        at: Timestamp,
    ) -> PortResult<CancelOutcome>;
}

/// State of an idempotency key, as in AWS Lambda Powertools' idempotency utility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Yours: do the work, then `complete` (or `release` on failure).
    Acquired,
    /// Done before: skip the work.
    AlreadyDone,
    /// Another delivery holds it and its lease has not expired: retry later.
    InProgress,
}

/// Guards side effects that have no idempotency of their own (sending a mail).
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` unless it is done, or claimed by someone whose lease is still running.
    async fn claim(&self, key: &str, now: Timestamp, lease_seconds: u32) -> PortResult<Claim>;
    async fn complete(&self, key: &str, now: Timestamp) -> PortResult<()>;
    async fn release(&self, key: &str) -> PortResult<()>;
}

/// The faults of one cause counted since its alert window opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertWindow {
    pub count: u64,
    pub opened_at: Timestamp,
}

/// Per-cause fault counts between Discord alerts, shared by every DLQ handler invocation, so a
/// burst of one cause is one alert that carries its count.
#[async_trait]
pub trait AlertWindows: Send + Sync {
    /// Counts one more fault of `cause_key`, opening its window at `now` if none is open, and
    /// returns the window with this fault counted.
    async fn count_fault(&self, cause_key: &str, now: Timestamp) -> PortResult<AlertWindow>;
    /// Closes the window of `cause_key` that opened at `opened_at` and returns what it
    /// counted; `None` when that window is not open (closed already by another delivery, or a
    /// newer window is open, which its own digest closes).
    async fn close_window(
        &self,
        cause_key: &str,
        opened_at: Timestamp,
    ) -> PortResult<Option<AlertWindow>>;
    /// Puts a closed window's count back (its alert failed), into whichever window is open.
    async fn reopen(&self, cause_key: &str, window: AlertWindow) -> PortResult<()>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundingOutcome {
    /// The change was applied; `raised` is the project's new amount, `levels` the project
    /// read right after (`None` from an API too old to say).
    Applied {
        raised: i64,
        levels: Option<crate::domain::ProjectLevels>,
    },
    /// This payment id was applied (or reversed) before: nothing changed.
    Duplicate { raised: i64 },
}

/// The funding side of crowdfund-api (role funding-rw): raise and reverse, once per payment.
#[async_trait]
pub trait FundingApi: Send + Sync {
    /// Raises the project by the payment approved at `paid_at` (when known): if this raise
    /// reaches the goal, the goal is achieved at `paid_at`.
    async fn raise(
        &self,
        project_id: &str,
        payment_id: &str,
        amount: Money,
        paid_at: Option<Timestamp>,
    ) -> PortResult<FundingOutcome>;
    async fn reverse(&self, project_id: &str, payment_id: &str) -> PortResult<FundingOutcome>;
    async fn projects(&self) -> PortResult<Vec<Project>>;
}

/// SES.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send_mail(&self, mail: &Mail) -> PortResult<String>;
}

/// The on-call channel (a Discord webhook).
#[async_trait]
pub trait Alerter: Send + Sync {
    async fn alert(&self, alert: &Alert) -> PortResult<()>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// Idempotency key at the gateway: the same payment is never charged twice.
    pub payment_id: String,
    pub card: String,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved { charge_id: String },
    Declined { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Refunded {
        refund_id: String,
    },
    /// Refunded before under the same idempotency key.
    AlreadyRefunded {
        refund_id: String,
    },
}

/// The card payment gateway. Transient failures are `PortError::Unavailable`.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    async fn charge(&self, request: &ChargeRequest) -> PortResult<ChargeOutcome>;
    async fn refund(&self, charge_id: &str, idempotency_key: &str) -> PortResult<RefundOutcome>;
}

/// CloudWatch's dashboards and alarms, as `dashboards deploy` reads and writes them. Alarms
/// travel as JSON in the camelCase shape of `alarms.json` (the PutMetricAlarm fields), in both
/// directions, so what is deployed compares with what is generated field by field. The sim has
/// no CloudWatch: the in-memory adapter is the dashboards crate's test store.
#[async_trait]
pub trait DashboardStore: Send + Sync {
    /// The deployed body of a dashboard, or `None` when there is no such dashboard.
    async fn get_dashboard(&self, name: &str) -> PortResult<Option<String>>;
    /// Creates or replaces a dashboard. CloudWatch may accept a body and still say what is
    /// wrong with it: those messages are returned (empty when all is well).
    async fn put_dashboard(&self, name: &str, body: &str) -> PortResult<Vec<String>>;
    /// Every alarm whose name starts with `prefix` (with the actions it notifies): metric
    /// alarms in the PutMetricAlarm shape, composite alarms in the PutCompositeAlarm shape
    /// (they carry `alarmRule`).
    async fn describe_alarms(&self, prefix: &str) -> PortResult<Vec<serde_json::Value>>;
    /// Creates or replaces one metric alarm.
    async fn put_metric_alarm(&self, alarm: &serde_json::Value) -> PortResult<()>;
    /// Creates or replaces one composite alarm (`alarmName`, `alarmRule`, ...).
    async fn put_composite_alarm(&self, alarm: &serde_json::Value) -> PortResult<()>;
}

/// An alarm in ALARM state, as the console's health view lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiringAlarm {
    pub name: String,
    /// What it means and what to do; ends with the console link
    /// ([`crate::console_view::link`]).
    pub description: String,
    /// CloudWatch's reason for the state (which datapoints crossed what).
    pub reason: String,
    /// When it went into ALARM.
    pub since: Option<crate::domain::Timestamp>,
    /// A composite alarm (its rule combines other alarms).
    pub composite: bool,
}

/// Which alarms are firing now (CloudWatch DescribeAlarms with StateValue=ALARM).
#[async_trait]
pub trait AlarmStates: Send + Sync {
    /// Every metric and composite alarm whose name starts with `prefix` that is in ALARM.
    async fn firing_alarms(&self, prefix: &str) -> PortResult<Vec<FiringAlarm>>;
}

/// A metric that exists (ListMetrics): its name and dimensions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricId {
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
}

/// A query's answer: (seconds since the epoch, value), oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricSeries {
    pub id: String,
    pub points: Vec<(i64, f64)>,
}

/// Reading CloudWatch's metrics, for the charts drawn from them (the sim counts its metrics
/// itself, so it has no adapter of this).
#[async_trait]
pub trait MetricReader: Send + Sync {
    /// The metrics of a namespace that have data, optionally only those of one name; sorted,
    /// without repeats.
    async fn list_metrics(
        &self,
        namespace: &str,
        metric: Option<&str>,
    ) -> PortResult<Vec<MetricId>>;
    /// Runs the queries over `[start, end)` (seconds since the epoch); one series per query, in
    /// order.
    async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        start: i64,
        end: i64,
    ) -> PortResult<Vec<MetricSeries>>;
}

/// Where time comes from: the system clock in production, a virtual one in the sim and tests.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// Waiting in real time, for pacing (rate caps) and polling. Apart from [`Clock`] because the
/// sim's virtual clock never waits, while a rate cap must hold in real seconds everywhere.
#[async_trait]
pub trait Pacer: Send + Sync {
    /// Monotonic time since this pacer was made.
    fn elapsed(&self) -> std::time::Duration;
    async fn sleep(&self, duration: std::time::Duration);
}

/// Sleeps the calling thread: for work run on a blocking executor (the local world).
#[derive(Debug, Clone, Copy)]
pub struct ThreadPacer {
    started: std::time::Instant,
}

impl Default for ThreadPacer {
    fn default() -> Self {
        ThreadPacer {
            started: std::time::Instant::now(),
        }
    }
}

#[async_trait]
impl Pacer for ThreadPacer {
    fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }
    async fn sleep(&self, duration: std::time::Duration) {
        std::thread::sleep(duration);
    }
}

/// Never waits; time passes only by the sleeps asked of it, which it records (for tests of
/// pacing, and for tools that must not wait).
#[derive(Debug, Default)]
pub struct VirtualPacer {
    slept: std::sync::Mutex<Vec<std::time::Duration>>,
}

impl VirtualPacer {
    /// Every sleep asked for, in order.
    pub fn sleeps(&self) -> Vec<std::time::Duration> {
        self.slept.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Pacer for VirtualPacer {
    fn elapsed(&self) -> std::time::Duration {
        self.slept
            .lock()
            .map(|s| s.iter().sum())
            .unwrap_or_default()
    }
    async fn sleep(&self, duration: std::time::Duration) {
        if let Ok(mut s) = self.slept.lock() {
            s.push(duration);
        }
    }
}

/// An SQS event-source mapping (a function's queue trigger) as Lambda reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueMapping {
    /// What UpdateEventSourceMapping needs.
    pub uuid: String,
    pub queue: String,
    /// Enabled, Disabled, or a transition (Enabling, Disabling, Creating, Updating, Deleting).
    pub state: String,
    pub batch_size: u32,
    /// "OK", "PROBLEM: ...", or "No records processed".
    pub last_processing_result: Option<String>,
    /// The mapping's own cap on concurrent invocations (ScalingConfig), when set.
    pub maximum_concurrency: Option<u32>,
}

impl QueueMapping {
    /// Polling, or about to be: the queue is drained.
    pub fn is_enabled(&self) -> bool {
        matches!(self.state.as_str(), "Enabled" | "Enabling" | "Creating")
    }
}

/// A topology function with what Lambda says of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionTrigger {
    pub function: String,
    pub runtime: Option<String>,
    pub architecture: Option<String>,
    /// As Lambda writes it (ISO 8601).
    pub last_modified: Option<String>,
    pub timeout_seconds: Option<u32>,
    /// Reserved concurrency; `None` when the function uses the account's unreserved pool.
    pub reserved_concurrency: Option<u32>,
    /// Its SQS trigger; `None` for a function without one (the broker, behind API Gateway).
    pub mapping: Option<QueueMapping>,
    /// Why Lambda could not describe the function (not deployed, access denied).
    pub error: Option<String>,
}

impl FunctionTrigger {
    /// True when the function has an SQS trigger that is not polling.
    pub fn is_paused(&self) -> bool {
        self.mapping.as_ref().is_some_and(|m| !m.is_enabled())
    }
}

/// Lambda's view of the functions and their SQS triggers; pausing a trigger holds its queue
/// (the messages wait, nothing is lost) until it is resumed.
#[async_trait]
pub trait Triggers: Send + Sync {
    /// Every function of the topology, in topology order.
    async fn list_triggers(&self) -> PortResult<Vec<FunctionTrigger>>;
    /// `function`'s SQS trigger alone (`None` when it has none): what a pause needs to know,
    /// without describing every function.
    async fn trigger_of(&self, function: &str) -> PortResult<Option<QueueMapping>>;
    /// Enables or disables `function`'s SQS trigger; returns the mapping after the change.
    async fn set_trigger_enabled(&self, function: &str, enabled: bool) -> PortResult<QueueMapping>;
}

/// Business and handler metrics (Embedded Metric Format in Lambda, counters in the sim).
pub trait Metrics: Send + Sync {
    fn record(&self, event: MetricEvent);
}

/// Discards metrics (for tools that have nowhere to send them).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn record(&self, _event: MetricEvent) {}
}

#[cfg(test)]
mod hold_tests {
    use super::*;
    use std::time::Duration;

    /// A browse's hold starts at the queue's own and always outlasts the browse so far twice
    /// over, up to SQS's 12 hours.
    #[test]
    fn a_longer_browse_holds_what_it_reads_longer() {
        assert_eq!(hold_for(120, Duration::ZERO), 120);
        assert_eq!(hold_for(120, Duration::from_secs(100)), 320);
        assert_eq!(hold_for(10, Duration::from_secs(600)), 1_210);
        assert_eq!(hold_for(120, Duration::from_secs(30 * 3600)), 43_200);
        for elapsed in [0, 1, 59, 3_600] {
            let hold = hold_for(120, Duration::from_secs(elapsed));
            assert!(u64::from(hold) > elapsed, "{hold} s held at {elapsed} s");
        }
    }
}
