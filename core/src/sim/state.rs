//! [`WorldState`], everything in the world as plain data, and the state file it serializes to.

use super::funding::FundingProject;
use super::gateway::SandboxCharge;
use super::ledger::IdempotencyItem;
use super::metrics::{FunctionCounters, MetricBuckets};
use super::queue::{QueueSettings, SimQueue};
use super::rng::SimRng;
use super::{SimWorld, WorldConfig};
use crate::domain::{Alert, Mail, PaymentRecord, Timestamp};
use crate::ports::AlertWindow;
use crate::topology;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Format version of the state file; a file of another version is refused, not guessed at.
pub const STATE_VERSION: u32 = 1;

/// Everything in the world. Serialized as the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorldState {
    pub version: u32,
    pub now: Timestamp,
    pub config: WorldConfig,
    pub(crate) rng: SimRng,
    pub(super) next_message_id: u64,
    pub(super) queues: BTreeMap<String, SimQueue>,
    pub(super) ledger: HashMap<String, PaymentRecord>,
    /// (projectId, paidAt, paymentId): the `project_paid_at` index. Rebuilt on load.
    #[serde(skip)]
    pub(super) ledger_index: BTreeSet<(String, Timestamp, String)>,
    pub(super) idempotency: HashMap<String, IdempotencyItem>,
    pub(super) projects: BTreeMap<String, FundingProject>,
    pub(super) charges: HashMap<String, SandboxCharge>,
    pub(super) charge_attempts: HashMap<String, u32>,
    pub(super) refunds: HashMap<String, String>,
    /// SES's sent-mail store.
    pub mails: Vec<Mail>,
    /// What reached the Discord webhook.
    pub alerts: Vec<Alert>,
    pub metrics: MetricBuckets,
    /// The metrics with a `ProjectId` dimension, per project, the last 7 days of minutes.
    #[serde(default)]
    pub project_metrics: BTreeMap<String, MetricBuckets>,
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionCounters>,
    /// Messages per queue at each minute boundary the clock crossed (for depth charts).
    #[serde(default)]
    pub depth_history: BTreeMap<i64, BTreeMap<String, u64>>,
    /// Counter for generated payment ids, so runs on one state file never reuse an id.
    pub next_payment_number: u64,
    /// Functions whose SQS trigger an operator paused: their queues are not polled.
    #[serde(default)]
    pub(super) paused_triggers: BTreeSet<String>,
    /// The DLQ handler's open alert windows, by cause key.
    #[serde(default)]
    pub(super) alert_windows: BTreeMap<String, AlertWindow>,
}

impl WorldState {
    pub(super) fn new(seed: u64, now: Timestamp, config: WorldConfig) -> Self {
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
            project_metrics: BTreeMap::new(),
            functions: BTreeMap::new(),
            depth_history: BTreeMap::new(),
            next_payment_number: 1,
            paused_triggers: BTreeSet::new(),
            alert_windows: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("state file is not a crowdfund world: {0}")]
    Malformed(serde_json::Error),
    #[error("state file has format version {found}; this build reads version {expected}")]
    Version { found: u32, expected: u32 },
}

impl SimWorld {
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
}
