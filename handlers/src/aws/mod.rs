//! AWS (and HTTP) adapters for the ports, behind the `aws` cargo feature.
//!
//! Every adapter takes its client from one [`AwsClients`], built once from one `aws_config`
//! load ([`load_config`]) that honours the usual chain (environment, profile, region) plus an
//! explicit endpoint URL (`--endpoint-url` or `AWS_ENDPOINT_URL`), so the same code runs against
//! AWS or a local endpoint such as moto server.
//!
//! - [`sqs`]: [`QueueClient`](crowdfund_core::ports::QueueClient) and `MessageSender` over SQS.
//! - [`sns`]: [`Publisher`](crowdfund_core::ports::Publisher) over SNS.
//! - [`dynamodb`]: the `payments` [`Ledger`](crowdfund_core::ports::Ledger) and the
//!   [`IdempotencyStore`](crowdfund_core::ports::IdempotencyStore) in the same table.
//! - [`cloudwatch`]: dashboards, alarms and metric data; the
//!   [`Metrics`](crowdfund_core::ports::Metrics) port over PutMetricData.
//! - [`alarm_states`]: [`AlarmStates`](crowdfund_core::ports::AlarmStates) over DescribeAlarms:
//!   the alarms in ALARM state, for the console's health view.
//! - [`ses`]: [`Mailer`](crowdfund_core::ports::Mailer) over SES v2.
//! - [`discord`]: [`Alerter`](crowdfund_core::ports::Alerter) over a Discord webhook, its URL given
//!   or (feature `lambda`) read from Secrets Manager on the first alert.
//! - [`sandbox_gateway`]: the sandbox [`PaymentGateway`](crowdfund_core::ports::PaymentGateway)
//!   with its charges in the payments table (`PAYMENT_GATEWAY=sandbox`).
//! - [`toss`]: the Toss Payments adapter of the same port (`PAYMENT_GATEWAY=toss`), its secret
//!   key read from Secrets Manager (`secret`, feature `lambda`).
//! - [`funding_http`]: [`FundingApi`](crowdfund_core::ports::FundingApi) over crowdfund-api.
//! - [`provision`]: creates the topology from `crowdfund_core::topology` on any endpoint (and,
//!   on request, the six functions with placeholder code and their SQS triggers).
//! - [`triggers`]: [`Triggers`](crowdfund_core::ports::Triggers) over Lambda: each function's
//!   configuration and SQS trigger, paused and resumed by UpdateEventSourceMapping.
//! - [`iam_query`]: IAM's query API for the calls provisioning and the moto suites make.
//! - [`broker_http`]: `POST /broker` served over HTTP, the way API Gateway calls the broker.
//! - [`sqs_move`]: SQS's own message move tasks by queue name (the console's `--native` redrive).
//! - [`requests`]: counts the requests the clients send (the console shows its rate).
//! - [`sts`]: the caller's identity, for the audit log of operator actions.
//! - [`pipeline`]: the six functions wired to these adapters, polled by the event-source runner.
//! - `emf` (feature `lambda`): [`Metrics`](crowdfund_core::ports::Metrics) as Embedded Metric
//!   Format lines on stdout.
//! - `lambda` (feature `lambda`): the six functions as Lambda entrypoints: `lambda::env` reads
//!   the environment terraform sets, `lambda::ports` builds each function's clients, and
//!   `lambda::events` turns SQS and API Gateway events into the handlers' calls and back.

pub mod alarm_states;
pub mod broker_http;
pub mod cloudwatch;
pub mod discord;
pub mod dynamodb;
#[cfg(feature = "lambda")]
pub mod emf;
pub mod funding_http;
pub mod iam_query;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod pipeline;
pub mod provision;
pub mod requests;
pub mod sandbox_gateway;
#[cfg(feature = "lambda")]
pub mod secret;
pub mod ses;
pub mod sns;
pub mod sqs;
pub mod sqs_move;
pub mod sts;
pub mod toss;
pub mod triggers;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::config::Credentials;
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use crowdfund_core::ports::PortError;

/// Region used against a local endpoint when none is configured.
pub const LOCAL_DEFAULT_REGION: &str = "us-east-1";

/// Where the adapters point. Empty fields fall back to the standard AWS chain
/// (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, the shared config files).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no AWS region configured; pass --region or set AWS_REGION")]
    NoRegion,
    #[error(
        "endpoint URL {0:?} is not an http(s) URL; pass e.g. --endpoint-url http://127.0.0.1:5000"
    )]
    BadEndpoint(String),
}

impl AwsSettings {
    /// The explicit endpoint, else `AWS_ENDPOINT_URL` (the SDK reads that too; we need to know
    /// it to decide on local defaults).
    pub fn effective_endpoint(&self) -> Option<String> {
        self.endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|u| !u.trim().is_empty())
    }

    /// Describes the target for logs and the console: the endpoint or "aws", and the region.
    pub fn describe(&self, region: &str) -> String {
        match self.effective_endpoint() {
            Some(e) => format!("{e} ({region})"),
            None => format!("aws ({region})"),
        }
    }
}

/// How long an SDK call may take: connecting, one attempt, and the whole operation with the
/// SDK's retries (3 attempts, exponential backoff). Without them a call can hang for as long as
/// the connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkTimeouts {
    pub connect: std::time::Duration,
    pub attempt: std::time::Duration,
    pub operation: std::time::Duration,
}

impl SdkTimeouts {
    /// The console, `crowdfund-local` and the tools: generous, since a local endpoint holding
    /// 10,000 messages answers one receive in seconds, yet bounded.
    pub const CLIENT: SdkTimeouts = SdkTimeouts {
        connect: std::time::Duration::from_secs(5),
        attempt: std::time::Duration::from_secs(30),
        operation: std::time::Duration::from_secs(90),
    };
    /// The Lambda functions: a call fits well inside the deadline margin (topology's
    /// `DEADLINE_MARGIN_MILLIS`, 10 s), so a slow service fails one message (retried by SQS),
    /// not the whole batch at the function's timeout.
    pub const LAMBDA: SdkTimeouts = SdkTimeouts {
        connect: std::time::Duration::from_secs(2),
        attempt: std::time::Duration::from_secs(3),
        operation: std::time::Duration::from_secs(8),
    };

    fn config(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

/// `config` with other timeouts (the Lambdas' tighter ones).
pub fn with_timeouts(
    config: aws_config::SdkConfig,
    timeouts: SdkTimeouts,
) -> aws_config::SdkConfig {
    config
        .into_builder()
        .timeout_config(timeouts.config())
        .build()
}

/// Loads the one shared SDK configuration, with [`SdkTimeouts::CLIENT`].
///
/// Against an explicit local endpoint with no credentials in the environment and no profile,
/// fixed test credentials are used (moto accepts any), so `--endpoint-url` alone is enough.
pub async fn load_config(settings: &AwsSettings) -> Result<aws_config::SdkConfig, ConfigError> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(SdkTimeouts::CLIENT.config());
    if let Some(p) = &settings.profile {
        loader = loader.profile_name(p);
    }
    let endpoint = settings.effective_endpoint();
    if let Some(e) = &endpoint {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            return Err(ConfigError::BadEndpoint(e.clone()));
        }
        loader = loader.endpoint_url(e.trim_end_matches('/'));
        let has_env_keys = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
        if !has_env_keys && settings.profile.is_none() && std::env::var_os("AWS_PROFILE").is_none()
        {
            loader = loader.credentials_provider(Credentials::new(
                "test",
                "test",
                None,
                None,
                "crowdfund-local-endpoint",
            ));
        }
    }
    let env_region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|r| !r.is_empty()));
    match &settings.region {
        Some(r) => loader = loader.region(Region::new(r.clone())),
        // A local endpoint does not care about the region; asking the instance metadata
        // service for one would only wait for a timeout off EC2.
        None if endpoint.is_some() && !env_region && settings.profile.is_none() => {
            loader = loader.region(Region::new(LOCAL_DEFAULT_REGION));
        }
        None => {}
    }
    let mut config = loader.load().await;
    if config.region().is_none() {
        if endpoint.is_none() {
            return Err(ConfigError::NoRegion);
        }
        config = config
            .into_builder()
            .region(Region::new(LOCAL_DEFAULT_REGION))
            .build();
    }
    Ok(config)
}

/// One client per service, built once and shared by every adapter.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub sts: aws_sdk_sts::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub iam: iam_query::IamQuery,
    /// The region in use, for logs.
    pub region: String,
}

fn region_of(config: &aws_config::SdkConfig) -> String {
    config
        .region()
        .map_or_else(|| LOCAL_DEFAULT_REGION.to_string(), |r| r.to_string())
}

impl AwsClients {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        AwsClients {
            sqs: aws_sdk_sqs::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            ses: aws_sdk_sesv2::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            iam: iam_query::IamQuery::new(config),
            region: region_of(config),
        }
    }

    /// Clients whose every request attempt is counted by `counter`.
    pub fn counted(config: &aws_config::SdkConfig, counter: &requests::RequestCounter) -> Self {
        macro_rules! counted {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(config)
                        .interceptor(counter.clone())
                        .build(),
                )
            };
        }
        AwsClients {
            sqs: counted!(aws_sdk_sqs),
            sns: counted!(aws_sdk_sns),
            dynamodb: counted!(aws_sdk_dynamodb),
            ses: counted!(aws_sdk_sesv2),
            sts: counted!(aws_sdk_sts),
            cloudwatch: counted!(aws_sdk_cloudwatch),
            lambda: counted!(aws_sdk_lambda),
            iam: iam_query::IamQuery::new(config),
            region: region_of(config),
        }
    }

    pub async fn load(settings: &AwsSettings) -> Result<Self, ConfigError> {
        Ok(AwsClients::new(&load_config(settings).await?))
    }
}

/// Error codes that mean "not there" across the services we call.
const NOT_FOUND_CODES: [&str; 5] = [
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NotFound",
    "NotFoundException",
    "ResourceNotFoundException",
];

/// Error codes that mean "try again later", whatever the HTTP status says.
const RETRYABLE_CODES: [&str; 9] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalFailure",
];

/// Maps an SDK error onto the port's error: transport failures, timeouts, throttling and 5xx are
/// `Unavailable` (retryable); a missing resource is `NotFound`; anything else is `Rejected`.
pub(crate) fn port_error<E>(
    service: &'static str,
    what: &str,
    err: SdkError<E, HttpResponse>,
) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().map(str::to_string);
    let detail = format!("{what}: {}", DisplayErrorContext(&err));
    match &err {
        SdkError::ServiceError(_) => match code.as_deref() {
            Some(c) if NOT_FOUND_CODES.contains(&c) => PortError::not_found(what.to_string()),
            Some(c) if RETRYABLE_CODES.contains(&c) || c.starts_with("Internal") => {
                PortError::unavailable(service, detail)
            }
            _ if err
                .raw_response()
                .is_some_and(|r| r.status().is_server_error()) =>
            {
                PortError::unavailable(service, detail)
            }
            _ => PortError::Rejected(format!("{service}: {detail}")),
        },
        // Construction failures are our bug, not the service's: never retried.
        SdkError::ConstructionFailure(_) => PortError::Rejected(format!("{service}: {detail}")),
        _ => PortError::unavailable(service, detail),
    }
}
