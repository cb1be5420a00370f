//! The whole pipeline on the simulated world: the broker and the five queue-triggered functions
//! wired to one [`SimWorld`], driven by the event-source runner, with traffic from the sim's
//! generator. Synchronous on the outside: the sim never waits, so futures complete at once.

use crate::broker::{BrokerFunction, BrokerResponse};
use crate::runner::{PollReport, Runner};
use crate::wiring::{self, Functions, Ports};
use crowdfund_core::ports::PortError;
use crowdfund_core::sim::SimWorld;
use crowdfund_core::sim::traffic::{self, TrafficItem};
use futures::executor::block_on;
use std::sync::Arc;

/// Virtual time between two generated payments (20 payments per second).
const INTERARRIVAL_MS: i64 = 50;
/// Generated payments between two polling rounds.
const SUBMISSIONS_PER_ROUND: u64 = 10;
/// A drain that needs more rounds than this is stuck, not busy.
const MAX_DRAIN_ROUNDS: u64 = 50_000_000;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("a simulated service failed: {0}")]
    Port(#[from] PortError),
    #[error("the pipeline did not go idle within {0} polling rounds")]
    NotIdle(u64),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub rounds: u64,
    pub messages: u64,
    pub failures: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrafficReport {
    pub submitted: u64,
    pub accepted: u64,
    pub refused: u64,
    pub raw_injected: u64,
    /// Messages the functions handled, while traffic ran and while draining.
    pub messages_processed: u64,
    pub drain: DrainReport,
}

pub struct LocalPipeline {
    pub world: SimWorld,
    pub broker: BrokerFunction,
    pub functions: Functions,
}

impl LocalPipeline {
    pub fn new(world: SimWorld) -> Self {
        // The world plays every port.
        let w = Arc::new(world.clone());
        let ports = Ports {
            gateway: w.clone(),
            ledger: w.clone(),
            idempotency: w.clone(),
            publisher: w.clone(),
            mailer: w.clone(),
            funding: w.clone(),
            retry_sender: w.clone(),
            alerter: w.clone(),
            alert_windows: w.clone(),
            clock: w.clone(),
            metrics: w,
        };
        let Ok(broker) = wiring::broker(&ports);
        let Ok(functions) = Functions::wire(&ports);
        LocalPipeline {
            world,
            broker,
            functions,
        }
    }

    /// `POST /broker`, as API Gateway would call it.
    pub fn submit(&self, body: &[u8]) -> BrokerResponse {
        block_on(self.broker.handle(body))
    }

    /// One batch from the queue of every function whose trigger is not paused.
    pub fn poll_once(&self) -> Result<PollReport, PipelineError> {
        let paused = self.world.paused_triggers();
        let runner = Runner {
            queues: &self.world,
            dead_letters: &self.world,
            metrics: &self.world,
            functions: &self.functions,
            paused: &paused,
        };
        Ok(block_on(runner.poll_once())?)
    }

    /// Polls until no queue a function drains holds a message (a paused function's queue
    /// keeps its messages), moving the virtual clock over
    /// visibility timeouts and retry delays. Parked messages stay parked.
    pub fn drain(&self) -> Result<DrainReport, PipelineError> {
        let mut report = DrainReport::default();
        while report.rounds < MAX_DRAIN_ROUNDS {
            report.rounds += 1;
            let polled = self.poll_once()?;
            report.messages += polled.received;
            report.failures += polled.failed;
            if polled.received == 0 && !self.world.advance_to_next_event() {
                return Ok(report);
            }
        }
        Err(PipelineError::NotIdle(MAX_DRAIN_ROUNDS))
    }

    /// One item from the traffic generator, through the broker or straight onto a queue.
    fn submit_generated(
        &self,
        failure_rate: f64,
        report: &mut TrafficReport,
    ) -> Result<(), PipelineError> {
        match traffic::next_item(&self.world, failure_rate) {
            TrafficItem::Broker(body) => {
                if self.submit(body.as_bytes()).status == 202 {
                    report.accepted += 1;
                } else {
                    report.refused += 1;
                }
            }
            TrafficItem::Raw { queue, body } => {
                self.world.inject_raw(queue, &body)?;
                report.raw_injected += 1;
            }
        }
        Ok(())
    }

    /// One step of live traffic: `items` generated, one polling round, the clock moved on by
    /// `advance`. What the console's live local world runs on every tick.
    pub fn step(
        &self,
        items: u64,
        failure_rate: f64,
        advance: chrono::Duration,
    ) -> Result<TrafficReport, PipelineError> {
        let mut report = TrafficReport::default();
        for _ in 0..items {
            self.submit_generated(failure_rate, &mut report)?;
            report.submitted += 1;
        }
        report.messages_processed += self.poll_once()?.received;
        self.world.advance(advance);
        Ok(report)
    }

    /// Generates `payments` items of traffic (a `failure_rate` share goes wrong somehow),
    /// interleaved with polling as live traffic would be, then drains. `progress` is told how
    /// many items were submitted so far.
    pub fn run_traffic(
        &self,
        payments: u64,
        failure_rate: f64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<TrafficReport, PipelineError> {
        let mut report = TrafficReport::default();
        for i in 1..=payments {
            self.submit_generated(failure_rate, &mut report)?;
            report.submitted += 1;
            self.world
                .advance(chrono::Duration::milliseconds(INTERARRIVAL_MS));
            if i % SUBMISSIONS_PER_ROUND == 0 {
                report.messages_processed += self.poll_once()?.received;
                progress(i);
            }
        }
        progress(payments);
        report.drain = self.drain()?;
        report.messages_processed += report.drain.messages;
        Ok(report)
    }
}
