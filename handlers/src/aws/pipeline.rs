//! The six functions wired to AWS adapters, as `crowdfund-local run` drives them: the broker
//! behind `POST /broker`, the five queue-triggered functions behind the event-source
//! [`Runner`] polling real SQS.
//!
//! The payment gateway is the sandbox one with its charges in the payments table
//! ([`DynamoSandboxGateway`], as `PAYMENT_GATEWAY=sandbox` on Lambda). When no funding API URL is
//! given, the funding store stays in process: a [`SimWorld`], which the caller can reach to
//! create projects.

use super::AwsClients;
use super::cloudwatch::{CloudWatch, CloudWatchMetrics};
use super::discord::DiscordAlerter;
use super::dynamodb::DynamoLedger;
use super::funding_http::HttpFundingApi;
use super::sandbox_gateway::DynamoSandboxGateway;
use super::ses::SesMailer;
use super::sns::SnsPublisher;
use super::sqs::SqsQueues;
use crate::broker::BrokerFunction;
use crate::runner::{PollReport, Runner};
use crate::wiring::{self, Functions, Ports};
use async_trait::async_trait;
use crowdfund_core::domain::Alert;
use crowdfund_core::ports::{
    Alerter, FundingApi, MessageSender, Metrics, NoMetrics, PortResult, QueueClient, SystemClock,
};
use crowdfund_core::sim::{SimWorld, WorldConfig};
use crowdfund_core::topology::{self, TABLE_PAYMENTS, Trigger};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// How the pipeline is wired.
#[derive(Debug, Clone, Default)]
pub struct PipelineOptions {
    /// Discord webhook for alerts; without one, alerts are written to the log.
    pub webhook_url: Option<String>,
    /// crowdfund-api (funding-rw) base URL; without one, an in-memory funding store.
    pub funding_api_url: Option<String>,
    /// SES sender address.
    pub mail_from: String,
    /// Caps the DLQ handler's retry delays (SQS allows up to 900 s), so retries on a local
    /// endpoint take seconds, not minutes. `None` keeps the production backoff.
    pub max_retry_delay_seconds: Option<u32>,
    /// Put the handlers' metrics (payments, parked messages, batches) into CloudWatch with
    /// PutMetricData after each polling round, as the Lambdas' EMF lines would land there.
    pub put_metrics: bool,
}

/// Alerts into the log, for runs without a webhook.
#[derive(Debug, Default)]
pub struct LogAlerter;

#[async_trait]
impl Alerter for LogAlerter {
    async fn alert(&self, alert: &Alert) -> PortResult<()> {
        tracing::warn!(
            title = %alert.title, queue = %alert.queue, message_id = %alert.message_id,
            kind = %alert.kind, attempts = alert.attempts, parked_in = %alert.parked_in,
            reason = %alert.reason, "alert (no --webhook-url given)"
        );
        Ok(())
    }
}

/// A sender that caps delays (see [`PipelineOptions::max_retry_delay_seconds`]).
struct CappedDelay {
    inner: Arc<dyn MessageSender>,
    max: u32,
}

#[async_trait]
impl MessageSender for CappedDelay {
    async fn send(&self, queue: &str, body: &str, delay_seconds: u32) -> PortResult<String> {
        self.inner
            .send(queue, body, delay_seconds.min(self.max))
            .await
    }
}

pub struct AwsPipeline {
    pub queues: Arc<SqsQueues>,
    pub publisher: Arc<SnsPublisher>,
    pub ledger: Arc<DynamoLedger>,
    pub broker: Arc<BrokerFunction>,
    pub functions: Functions,
    /// The in-process world behind the funding store when there is no funding API URL (create
    /// projects in it).
    pub world: SimWorld,
    /// True when funding goes to the in-memory store.
    pub in_memory_funding: bool,
    /// What the handlers record; flushed by [`AwsPipeline::poll_once`] when it is CloudWatch.
    pub metrics: Arc<dyn Metrics>,
    cloudwatch_metrics: Option<Arc<CloudWatchMetrics>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineSetupError {
    #[error("cannot build the HTTP client for {what}: {source}")]
    Http {
        what: &'static str,
        source: reqwest::Error,
    },
}

impl AwsPipeline {
    pub fn new(c: &AwsClients, options: &PipelineOptions) -> Result<Self, PipelineSetupError> {
        let queues = Arc::new(SqsQueues::new(c.sqs.clone()));
        let publisher = Arc::new(SnsPublisher::new(c.sns.clone()));
        let ledger = Arc::new(DynamoLedger::new(c.dynamodb.clone(), TABLE_PAYMENTS));
        let mailer = Arc::new(SesMailer::new(c.ses.clone(), options.mail_from.clone()));
        let world = SimWorld::new(1, WorldConfig::default());
        let alerter: Arc<dyn Alerter> = match &options.webhook_url {
            Some(url) => Arc::new(DiscordAlerter::new(url.clone()).map_err(|source| {
                PipelineSetupError::Http {
                    what: "the Discord webhook",
                    source,
                }
            })?),
            None => Arc::new(LogAlerter),
        };
        let funding: Arc<dyn FundingApi> =
            match &options.funding_api_url {
                Some(url) => Arc::new(HttpFundingApi::new(url).map_err(|source| {
                    PipelineSetupError::Http {
                        what: "crowdfund-api",
                        source,
                    }
                })?),
                None => Arc::new(world.clone()),
            };
        let retry_sender: Arc<dyn MessageSender> = match options.max_retry_delay_seconds {
            Some(max) => Arc::new(CappedDelay {
                inner: queues.clone(),
                max,
            }),
            None => queues.clone(),
        };
        let clock = Arc::new(SystemClock);
        let cloudwatch_metrics = options.put_metrics.then(|| {
            Arc::new(CloudWatchMetrics::new(
                CloudWatch::new(c.cloudwatch.clone()),
                clock.clone(),
            ))
        });
        let metrics: Arc<dyn Metrics> = match &cloudwatch_metrics {
            Some(m) => m.clone(),
            None => Arc::new(NoMetrics),
        };
        let ports = Ports {
            gateway: Arc::new(DynamoSandboxGateway::new(
                c.dynamodb.clone(),
                TABLE_PAYMENTS,
            )),
            ledger: ledger.clone(),
            idempotency: ledger.clone(),
            alert_windows: ledger.clone(),
            publisher: publisher.clone(),
            mailer,
            funding,
            retry_sender,
            alerter,
            clock,
            metrics: metrics.clone(),
        };
        let Ok(broker) = wiring::broker(&ports);
        let Ok(functions) = Functions::wire(&ports);
        Ok(AwsPipeline {
            broker: Arc::new(broker),
            queues,
            publisher,
            ledger,
            functions,
            world,
            in_memory_funding: options.funding_api_url.is_none(),
            metrics,
            cloudwatch_metrics,
        })
    }

    /// One batch from every function's queue, then the round's metrics to CloudWatch (when
    /// `put_metrics`). A failed put keeps the metrics for the next round and is logged: metrics
    /// never hold up payments.
    pub async fn poll_once(&self) -> PortResult<PollReport> {
        let report = Runner {
            queues: self.queues.as_ref(),
            dead_letters: self.queues.as_ref(),
            metrics: self.metrics.as_ref(),
            functions: &self.functions,
            // Lambda's triggers on moto are records only (see `provision`): every queue is polled.
            paused: &BTreeSet::new(),
        }
        .poll_once()
        .await?;
        if let Some(m) = &self.cloudwatch_metrics
            && let Err(e) = m.flush().await
        {
            tracing::warn!("putting metrics into CloudWatch failed, kept for the next round: {e}");
        }
        Ok(report)
    }

    /// Messages in the queues the functions drain: visible, in flight or delayed.
    pub async fn pending(&self) -> PortResult<u64> {
        let mut total = 0;
        for f in topology::FUNCTIONS {
            if let Trigger::Queue { queue, .. } = f.trigger {
                let s = self.queues.stats(queue).await?;
                total += s.visible + s.in_flight + s.delayed;
            }
        }
        Ok(total)
    }

    /// Polls until every drained queue is empty (parked messages stay parked), or `timeout`.
    /// Returns the messages handled, or the pending count when it timed out.
    pub async fn run_until_idle(&self, timeout: Duration) -> Result<u64, IdleError> {
        let started = std::time::Instant::now();
        let mut handled = 0;
        loop {
            let polled = self.poll_once().await?;
            handled += polled.received;
            if polled.received == 0 {
                let pending = self.pending().await?;
                if pending == 0 {
                    return Ok(handled);
                }
                if started.elapsed() >= timeout {
                    return Err(IdleError::Timeout { pending, handled });
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdleError {
    #[error(transparent)]
    Port(#[from] crowdfund_core::ports::PortError),
    #[error(
        "{pending} message(s) still pending after handling {handled}; a message in flight waits out its visibility timeout"
    )]
    Timeout { pending: u64, handled: u64 },
}
