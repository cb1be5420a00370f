//! The simulated AWS world: SQS, SNS, the DynamoDB ledger, SES, Discord, the funding API and the
//! sandbox payment gateway, in memory, behind the same ports as the real adapters.
//!
//! It behaves like the real services where the pipeline's correctness depends on it: visibility
//! timeouts, receive counts, redrive to the DLQ after maxReceiveCount, delays, batches of 10,
//! SNS fan-out with raw delivery, conditional writes, and at-least-once delivery (a configurable
//! share of sends is delivered twice). Time is virtual and randomness seeded, so a run is
//! reproducible, and the whole world serializes to one JSON file.
//!
//! The world is one [`WorldState`] behind one lock ([`SimWorld`]); each port is implemented in
//! its own module, next to the state types and the inspection methods that only it needs:
//!
//! - [`queue`]: one SQS queue.
//! - `queues`: `MessageSender` and `QueueClient` over all the topology's queues.
//! - `publisher`: `Publisher`, SNS fan-out to the subscribed queues.
//! - `ledger`: `Ledger` and `IdempotencyStore`, the DynamoDB `payments` table.
//! - `funding`: `FundingApi`, the funding API's projects and fundings.
//! - `gateway`: `PaymentGateway`, the sandbox gateway's charges and refunds.
//! - `notify`: `Mailer` (SES's sent-mail store) and `Alerter` (the Discord webhook).
//! - `metrics`: `Metrics`, per-minute counters and Lambda function counters.
//! - `clock`: `Clock`, the virtual clock and how it moves.
//! - `triggers`: `Triggers`, the functions' SQS triggers, which an operator can pause.
//! - `state`: [`WorldState`] and its state file.
//! - [`rng`]: the seeded random source.
//! - [`traffic`]: backers, projects and bad producers.

mod clock;
mod funding;
mod gateway;
mod ledger;
mod metrics;
mod notify;
mod publisher;
pub mod queue;
mod queues;
pub mod rng;
mod state;
pub mod traffic;
mod triggers;

pub use funding::FundingProject;
pub use metrics::{FunctionCounters, MetricBuckets};
pub use state::{STATE_VERSION, StateFileError, WorldState};

use crate::domain::Timestamp;
use rng::SimRng;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, MutexGuard};

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

/// Shared handle on the world; every port is implemented on it.
#[derive(Debug, Clone)]
pub struct SimWorld {
    state: Arc<Mutex<WorldState>>,
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

    /// The lock is never held across an await, so a poisoned lock only means a panic elsewhere
    /// mid-update; the state is still the best we have, so keep using it.
    pub fn lock(&self) -> MutexGuard<'_, WorldState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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
}

impl WorldState {
    /// True with probability `rate`: an injected transient failure.
    fn inject_failure(&mut self, rate: impl Fn(&WorldConfig) -> f64) -> bool {
        let rate = rate(&self.config);
        self.rng.chance(rate)
    }
}
