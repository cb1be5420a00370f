//! The metrics port: what a backend's monitoring knows and its queues and tables do not —
//! each function's health, payments per minute, each queue's age of oldest message. On AWS it
//! is CloudWatch (`aws::metrics`); the local world keeps its own counters and needs no port.

use async_trait::async_trait;
use crowdfund_core::ports::QueueStats;

/// Minutes of payment throughput kept for the chart.
pub const THROUGHPUT_MINUTES: usize = 30;
/// The window Lambda errors are counted over, in (simulated) minutes.
pub const ERROR_WINDOW_MINUTES: i64 = 5;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThroughputPoint {
    /// Minutes since the epoch.
    pub minute: i64,
    pub approved: u64,
    pub declined: u64,
    pub cancelled: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionHealth {
    pub name: String,
    pub invocations: u64,
    pub messages: u64,
    /// Failed messages in the last [`ERROR_WINDOW_MINUTES`] (what an alarm would look at).
    pub errors: u64,
    pub throttles: u64,
    pub duration_p99_micros: Option<u64>,
}

/// One reading of the pipeline: every function, and the last [`THROUGHPUT_MINUTES`] minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineMetrics {
    pub functions: Vec<FunctionHealth>,
    pub throughput: Vec<ThroughputPoint>,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct MetricsError(pub String);

/// Reads the pipeline's metrics; `now` is seconds since the epoch.
#[async_trait]
pub trait MetricsReader: Send + Sync {
    /// Sets each queue's age of oldest message (what `status` shows).
    async fn queue_ages(&self, queues: &mut [QueueStats], now: i64) -> Result<(), MetricsError>;

    /// Function health and throughput for the minutes up to `now`, setting each queue's age of
    /// oldest message on the way (one round of questions answers all three).
    async fn pipeline(
        &self,
        queues: &mut [QueueStats],
        now: i64,
    ) -> Result<PipelineMetrics, MetricsError>;
}
