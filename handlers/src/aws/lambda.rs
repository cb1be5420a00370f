//! The functions on AWS Lambda: configuration from the environment terraform sets
//! (`terraform/modules/lambdas`), the clients each function needs and nothing more, and the glue
//! between lambda_runtime's events and the handlers. The `lambda-*` binaries are one call into
//! here; the tests drive the same [`SqsLambda`] and [`broker_response`] with the JSON AWS sends.
//!
//! - Queue-triggered functions take an [`SqsEvent`] and answer an [`SqsBatchResponse`]
//!   (ReportBatchItemFailures) from [`handle_batch`]'s per-message outcomes.
//! - The broker takes API Gateway REST API proxy events (payload format 1.0) and answers with
//!   [`BrokerFunction::handle`]'s status and JSON body.
//! - Metrics are EMF lines on stdout ([`EmfMetrics`]); logs are tracing lines on stdout, JSON when
//!   the function's log format is JSON (`AWS_LAMBDA_LOG_FORMAT`, set by Lambda).
//!
//! | environment variable | what | needed by |
//! |---|---|---|
//! | `CROWDFUND_FUNCTION` | the function's name; a zip deployed to another function refuses to start | all (optional) |
//! | `TOPIC_ARNS` | JSON `{"topic": "arn", ...}` of the topics it publishes to | broker, pg, transaction_check |
//! | `QUEUE_URLS` | JSON `{"queue": "url", ...}` of the queues it sends to (else GetQueueUrl) | queue functions |
//! | `PAYMENTS_TABLE`, `PAYMENTS_INDEX` | the ledger table; the index must be `project_paid_at` | pg, send_email, transaction_check, dlq_handler |
//! | `METRICS_NAMESPACE` | EMF namespace (default `Crowdfund`) | all |
//! | `SES_FROM_ADDRESS` | sender of receipts | send_email |
//! | `FUNDING_API_URL` | crowdfund-api base URL | funding_update |
//! | `DISCORD_WEBHOOK_SECRET_ARN` | Secrets Manager secret holding the webhook URL | dlq_handler |
//!
//! The payment gateway is the sandbox one, in process (per execution environment), until a real
//! gateway adapter replaces it.

use super::discord::DiscordAlerter;
use super::dynamodb::DynamoLedger;
use super::emf::EmfMetrics;
use super::funding_http::HttpFundingApi;
use super::ses::SesMailer;
use super::sns::SnsPublisher;
use super::sqs::SqsQueues;
use super::{AwsSettings, ConfigError, load_config, port_error};
use crate::broker::{BrokerFunction, BrokerResponse};
use crate::dlq_handler::DlqHandlerFunction;
use crate::funding_update::FundingUpdateFunction;
use crate::pg::PaymentFunction;
use crate::send_email::SendEmailFunction;
use crate::sqs::{MessageOutcome, SqsFunction, handle_batch};
use crate::transaction_check::TransactionCheckFunction;
use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, header::CONTENT_TYPE};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use base64::Engine;
use chrono::TimeZone;
use crowdfund_core::domain::Alert;
use crowdfund_core::metrics::NAMESPACE;
use crowdfund_core::ports::{
    Alerter, Clock, MessageSender, Metrics, PortError, PortResult, ReceivedMessage, SystemClock,
};
use crowdfund_core::sim::{SimWorld, WorldConfig};
use crowdfund_core::topology::{
    FN_BROKER, INDEX_PROJECT_PAID_AT, TOPIC_APPROVE_PAYMENT, TOPIC_GOAL_ACHIEVEMENT,
    TOPIC_PAYMENT_ATTEMPT, TOPIC_SEND_EMAIL,
};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Why a function cannot start. Each names the variable (or setting) to fix.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "environment variable {var} is not set; function {function} needs it (terraform/modules/lambdas sets it)"
    )]
    Missing {
        var: &'static str,
        function: &'static str,
    },
    #[error("environment variable {var} is not a JSON object of names to strings: {detail}")]
    BadMap { var: &'static str, detail: String },
    #[error(
        "environment variable {var} has no entry for {name}; function {function} publishes there (add it to the function's grants in terraform/modules/lambdas)"
    )]
    MissingEntry {
        var: &'static str,
        name: &'static str,
        function: &'static str,
    },
    #[error(
        "this is the {binary} binary but CROWDFUND_FUNCTION says {configured}: deploy {configured}.zip to this function"
    )]
    WrongFunction {
        binary: &'static str,
        configured: String,
    },
    #[error(
        "PAYMENTS_INDEX is {0:?}, but the ledger queries the index {INDEX_PROJECT_PAID_AT:?}; align terraform's table with crowdfund_core::topology"
    )]
    WrongIndex(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot build the HTTP client for {what}: {source}")]
    Http {
        what: &'static str,
        source: reqwest::Error,
    },
}

/// The function's configuration, as terraform sets it. Empty values count as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LambdaEnv {
    pub function: &'static str,
    pub topic_arns: HashMap<String, String>,
    pub queue_urls: HashMap<String, String>,
    pub payments_table: Option<String>,
    pub metrics_namespace: String,
    pub ses_from_address: Option<String>,
    pub funding_api_url: Option<String>,
    pub discord_webhook_secret_arn: Option<String>,
}

impl LambdaEnv {
    /// Reads the process environment.
    pub fn from_env(function: &'static str) -> Result<Self, SetupError> {
        LambdaEnv::from_lookup(function, |var| std::env::var(var).ok())
    }

    /// Reads variables through `get` (the process environment, or a map in tests).
    pub fn from_lookup(
        function: &'static str,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SetupError> {
        let get = |var: &str| get(var).filter(|v| !v.trim().is_empty());
        if let Some(configured) = get("CROWDFUND_FUNCTION")
            && configured != function
        {
            return Err(SetupError::WrongFunction {
                binary: function,
                configured,
            });
        }
        if let Some(index) = get("PAYMENTS_INDEX")
            && index != INDEX_PROJECT_PAID_AT
        {
            return Err(SetupError::WrongIndex(index));
        }
        Ok(LambdaEnv {
            function,
            topic_arns: name_map("TOPIC_ARNS", get("TOPIC_ARNS"))?,
            queue_urls: name_map("QUEUE_URLS", get("QUEUE_URLS"))?,
            payments_table: get("PAYMENTS_TABLE"),
            metrics_namespace: get("METRICS_NAMESPACE").unwrap_or_else(|| NAMESPACE.to_string()),
            ses_from_address: get("SES_FROM_ADDRESS"),
            funding_api_url: get("FUNDING_API_URL"),
            discord_webhook_secret_arn: get("DISCORD_WEBHOOK_SECRET_ARN"),
        })
    }

    fn require<'a>(
        &self,
        var: &'static str,
        value: &'a Option<String>,
    ) -> Result<&'a str, SetupError> {
        value.as_deref().ok_or(SetupError::Missing {
            var,
            function: self.function,
        })
    }

    /// Every topic the function publishes to must have its ARN: a Lambda may not list topics.
    fn require_topics(&self, topics: &[&'static str]) -> Result<(), SetupError> {
        match topics.iter().find(|t| !self.topic_arns.contains_key(**t)) {
            Some(name) => Err(SetupError::MissingEntry {
                var: "TOPIC_ARNS",
                name,
                function: self.function,
            }),
            None => Ok(()),
        }
    }
}

fn name_map(
    var: &'static str,
    value: Option<String>,
) -> Result<HashMap<String, String>, SetupError> {
    match value {
        None => Ok(HashMap::new()),
        Some(v) => serde_json::from_str(&v).map_err(|e| SetupError::BadMap {
            var,
            detail: e.to_string(),
        }),
    }
}

/// One function's wiring: its configuration, the shared SDK configuration, the clock and the
/// metrics sink. Clients are built only for the services the function uses.
pub struct Lambda {
    pub env: LambdaEnv,
    config: aws_config::SdkConfig,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn Metrics>,
}

impl Lambda {
    /// The production wiring: the process environment, the standard AWS chain (Lambda's
    /// credentials and region), the system clock, EMF on stdout.
    pub async fn load(function: &'static str) -> Result<Self, SetupError> {
        let env = LambdaEnv::from_env(function)?;
        let config = load_config(&AwsSettings::default()).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let metrics = Arc::new(EmfMetrics::stdout(
            env.metrics_namespace.clone(),
            clock.clone(),
        ));
        Ok(Lambda::new(env, config, clock, metrics))
    }

    pub fn new(
        env: LambdaEnv,
        config: aws_config::SdkConfig,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn Metrics>,
    ) -> Self {
        Lambda {
            env,
            config,
            clock,
            metrics,
        }
    }

    fn queues(&self) -> Arc<SqsQueues> {
        Arc::new(SqsQueues::with_urls(
            aws_sdk_sqs::Client::new(&self.config),
            self.env.queue_urls.clone(),
        ))
    }

    fn publisher(&self, topics: &[&'static str]) -> Result<Arc<SnsPublisher>, SetupError> {
        self.env.require_topics(topics)?;
        Ok(Arc::new(SnsPublisher::with_arns(
            aws_sdk_sns::Client::new(&self.config),
            self.env.topic_arns.clone(),
        )))
    }

    fn ledger(&self) -> Result<Arc<DynamoLedger>, SetupError> {
        let table = self
            .env
            .require("PAYMENTS_TABLE", &self.env.payments_table)?;
        Ok(Arc::new(DynamoLedger::new(
            aws_sdk_dynamodb::Client::new(&self.config),
            table,
        )))
    }

    /// The broker behind API Gateway.
    pub fn broker(&self) -> Result<BrokerFunction, SetupError> {
        let publisher = self.publisher(&[TOPIC_PAYMENT_ATTEMPT, TOPIC_GOAL_ACHIEVEMENT])?;
        Ok(BrokerFunction::new(publisher))
    }

    /// `pg`: charges and refunds through the (sandbox) gateway, the ledger, publishes on.
    pub fn pg(&self) -> Result<Arc<dyn SqsFunction>, SetupError> {
        Ok(Arc::new(PaymentFunction {
            gateway: Arc::new(SimWorld::new(1, WorldConfig::default())),
            ledger: self.ledger()?,
            publisher: self.publisher(&[TOPIC_SEND_EMAIL, TOPIC_APPROVE_PAYMENT])?,
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
        }))
    }

    /// `send_email`: SES, guarded by the idempotency store in the payments table.
    pub fn send_email(&self) -> Result<Arc<dyn SqsFunction>, SetupError> {
        let env = &self.env;
        let from = env.require("SES_FROM_ADDRESS", &env.ses_from_address)?;
        Ok(Arc::new(SendEmailFunction {
            mailer: Arc::new(SesMailer::new(
                aws_sdk_sesv2::Client::new(&self.config),
                from,
            )),
            idempotency: self.ledger()?,
            clock: self.clock.clone(),
        }))
    }

    /// `funding_update`: crowdfund-api over HTTP.
    pub fn funding_update(&self) -> Result<Arc<dyn SqsFunction>, SetupError> {
        let env = &self.env;
        let url = env.require("FUNDING_API_URL", &env.funding_api_url)?;
        let funding = HttpFundingApi::new(url).map_err(|source| SetupError::Http {
            what: "crowdfund-api",
            source,
        })?;
        Ok(Arc::new(FundingUpdateFunction {
            funding: Arc::new(funding),
        }))
    }

    /// `transaction_check`: a Query on the project/time index, a cancel per late payment.
    pub fn transaction_check(&self) -> Result<Arc<dyn SqsFunction>, SetupError> {
        Ok(Arc::new(TransactionCheckFunction {
            ledger: self.ledger()?,
            publisher: self.publisher(&[TOPIC_PAYMENT_ATTEMPT])?,
        }))
    }

    /// `dlq_handler`: retries to `from`, parks, alerts through the webhook in Secrets Manager.
    pub fn dlq_handler(&self) -> Result<Arc<dyn SqsFunction>, SetupError> {
        let env = &self.env;
        let secret = env.require(
            "DISCORD_WEBHOOK_SECRET_ARN",
            &env.discord_webhook_secret_arn,
        )?;
        Ok(Arc::new(DlqHandlerFunction {
            sender: self.queues(),
            alerter: Arc::new(SecretWebhookAlerter::new(
                aws_sdk_secretsmanager::Client::new(&self.config),
                secret,
            )),
            idempotency: self.ledger()?,
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
        }))
    }

    /// The function `build` makes, as Lambda's SQS event-source mapping invokes it. Each binary
    /// names its own builder, so the others' clients are not linked into its zip.
    pub fn sqs_lambda(&self, build: QueueFunctionBuilder) -> Result<SqsLambda, SetupError> {
        Ok(SqsLambda {
            function: Arc::new(Logged(build(self)?)),
            dead_letters: self.queues(),
            metrics: self.metrics.clone(),
            clock: self.clock.clone(),
        })
    }
}

/// One of [`Lambda`]'s queue-function builders ([`Lambda::pg`], ...).
pub type QueueFunctionBuilder = fn(&Lambda) -> Result<Arc<dyn SqsFunction>, SetupError>;

/// Why an invocation failed as a whole (Lambda then retries the whole batch).
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error(
        "record {index} of the event has no messageId: the function is triggered by something other than an SQS event-source mapping"
    )]
    NoMessageId { index: usize },
}

impl From<EventError> for lambda_runtime::Diagnostic {
    fn from(e: EventError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "EventError".into(),
            error_message: e.to_string(),
        }
    }
}

/// A queue-triggered function as Lambda invokes it.
pub struct SqsLambda {
    function: Arc<dyn SqsFunction>,
    dead_letters: Arc<dyn MessageSender>,
    metrics: Arc<dyn Metrics>,
    clock: Arc<dyn Clock>,
}

impl SqsLambda {
    /// One SQS batch: messages that failed transiently are listed in `batchItemFailures`, so
    /// SQS keeps them; everything else (done, or dead-lettered to `etc_dlq`) is deleted.
    pub async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, EventError> {
        let now = self.clock.now();
        let batch = event
            .records
            .iter()
            .enumerate()
            .map(|(index, record)| received(record, now).ok_or(EventError::NoMessageId { index }))
            .collect::<Result<Vec<_>, _>>()?;
        let outcome =
            handle_batch(&*self.function, &*self.dead_letters, &*self.metrics, &batch).await;
        let mut response = SqsBatchResponse::default();
        for failure in outcome.batch_item_failures {
            response.add_failure(failure.item_identifier);
        }
        tracing::info!(
            function = self.function.name(),
            received = batch.len(),
            failed = response.batch_item_failures.len(),
            "batch handled"
        );
        Ok(response)
    }
}

/// The message as the handlers know it. `None` without a message id: such a record could be
/// neither deleted nor reported.
fn received(
    record: &SqsMessage,
    now: crowdfund_core::domain::Timestamp,
) -> Option<ReceivedMessage> {
    let attribute = |name: &str| {
        record
            .attributes
            .get(name)
            .and_then(|v| v.parse::<i64>().ok())
    };
    Some(ReceivedMessage {
        message_id: record.message_id.clone()?,
        receipt_handle: record.receipt_handle.clone().unwrap_or_default(),
        body: record.body.clone().unwrap_or_default(),
        receive_count: attribute("ApproximateReceiveCount")
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1),
        sent_at: attribute("SentTimestamp")
            .and_then(|ms| chrono::Utc.timestamp_millis_opt(ms).single())
            .unwrap_or(now),
    })
}

/// Logs why a message is retried or dead-lettered: the batch response carries only its id.
struct Logged(Arc<dyn SqsFunction>);

#[async_trait]
impl SqsFunction for Logged {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    async fn handle(&self, message: &ReceivedMessage) -> MessageOutcome {
        let outcome = self.0.handle(message).await;
        match &outcome {
            MessageOutcome::Done => {}
            MessageOutcome::Retry(reason) => tracing::warn!(
                message_id = %message.message_id, receive_count = message.receive_count,
                %reason, "reported as a batch item failure: SQS redelivers it"
            ),
            MessageOutcome::DeadLetter(reason) => tracing::warn!(
                message_id = %message.message_id, %reason, "sent to etc_dlq: it can never succeed"
            ),
        }
        outcome
    }
}

/// The broker's answer to an API Gateway proxy request: the body (decoded if API Gateway
/// base64-encoded it) goes through [`BrokerFunction::handle`], whose status and JSON body are
/// the response.
pub async fn broker_response(
    broker: &BrokerFunction,
    request: &ApiGatewayProxyRequest,
) -> ApiGatewayProxyResponse {
    let body = request.body.as_deref().unwrap_or_default();
    let answer = if request.is_base64_encoded {
        match base64::engine::general_purpose::STANDARD.decode(body) {
            Ok(bytes) => broker.handle(&bytes).await,
            Err(e) => BrokerResponse {
                status: 400,
                body: json!({"error": format!("the body is marked base64 but is not: {e}"), "field": null}),
            },
        }
    } else {
        broker.handle(body.as_bytes()).await
    };
    tracing::info!(status = answer.status, "broker answered");
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(answer.status);
    response.headers = headers;
    response.body = Some(Body::Text(answer.body.to_string()));
    response
}

/// [`Alerter`] for Lambda: the Discord webhook URL is read from Secrets Manager on the first
/// alert (not at start-up, so a function whose secret is not set yet still retries and parks),
/// then kept for the life of the execution environment. A failed read is retryable: the message
/// is parked already and the alert is tried again on redelivery. The URL is never logged.
pub struct SecretWebhookAlerter {
    secrets: aws_sdk_secretsmanager::Client,
    secret_id: String,
    discord: tokio::sync::OnceCell<DiscordAlerter>,
}

const SECRETS: &str = "Secrets Manager";

impl SecretWebhookAlerter {
    pub fn new(secrets: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        SecretWebhookAlerter {
            secrets,
            secret_id: secret_id.into(),
            discord: tokio::sync::OnceCell::new(),
        }
    }

    async fn resolve(&self) -> PortResult<DiscordAlerter> {
        let what = format!("the Discord webhook URL in secret {}", self.secret_id);
        let hint = "set it with `aws secretsmanager put-secret-value --secret-id <arn> --secret-string <url>`";
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| {
                let e = port_error(SECRETS, &what, e);
                PortError::unavailable(SECRETS, format!("{e}; {hint}"))
            })?;
        let url = out
            .secret_string()
            .map(str::trim)
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .ok_or_else(|| {
                PortError::unavailable(SECRETS, format!("{what} is not an http(s) URL; {hint}"))
            })?;
        DiscordAlerter::new(url).map_err(|e| {
            PortError::unavailable(SECRETS, format!("HTTP client for the Discord webhook: {e}"))
        })
    }
}

#[async_trait]
impl Alerter for SecretWebhookAlerter {
    async fn alert(&self, alert: &Alert) -> PortResult<()> {
        let discord = self.discord.get_or_try_init(|| self.resolve()).await?;
        discord.alert(alert).await
    }
}

/// Lambda's logging: tracing lines on stdout, JSON when the function's log format is JSON
/// (`AWS_LAMBDA_LOG_FORMAT`), at `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO).
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// The set-up's result, its error logged first: the log line carries the message that names
/// the variable to fix (the runtime prints only the error's structure).
fn started<T>(function: &'static str, setup: Result<T, SetupError>) -> Result<T, SetupError> {
    setup.inspect_err(|e| tracing::error!(function, error = %e, "cannot start"))
}

/// `main` of a queue-triggered function's binary.
pub async fn run_queue_function(
    function: &'static str,
    build: QueueFunctionBuilder,
) -> Result<(), lambda_runtime::Error> {
    init_logging();
    let lambda = started(
        function,
        Lambda::load(function)
            .await
            .and_then(|l| l.sqs_lambda(build)),
    )?;
    tracing::info!(function, "ready");
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        lambda.handle(event.payload)
    }))
    .await
}

/// `main` of the broker's binary.
pub async fn run_broker() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let broker = started(
        FN_BROKER,
        Lambda::load(FN_BROKER).await.and_then(|l| l.broker()),
    )?;
    tracing::info!(function = FN_BROKER, "ready");
    lambda_runtime::run(service_fn(|event: LambdaEvent<ApiGatewayProxyRequest>| {
        let broker = &broker;
        async move { Ok::<_, EventError>(broker_response(broker, &event.payload).await) }
    }))
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crowdfund_core::topology::FN_PG;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// Terraform's variables are read as it writes them: JSON maps, empty values as unset.
    #[test]
    fn reads_terraforms_environment() {
        let env = LambdaEnv::from_lookup(
            FN_PG,
            env_of(&[
                ("CROWDFUND_FUNCTION", "pg"),
                (
                    "TOPIC_ARNS",
                    r#"{"send_email":"arn:aws:sns:r:1:send_email"}"#,
                ),
                ("QUEUE_URLS", "{}"),
                ("PAYMENTS_TABLE", "payments"),
                ("PAYMENTS_INDEX", "project_paid_at"),
                ("METRICS_NAMESPACE", "Crowdfund"),
                ("FUNDING_API_URL", ""),
            ]),
        )
        .unwrap();
        assert_eq!(env.topic_arns["send_email"], "arn:aws:sns:r:1:send_email");
        assert!(env.queue_urls.is_empty());
        assert_eq!(env.payments_table.as_deref(), Some("payments"));
        assert_eq!(env.funding_api_url, None);
    }

    /// A zip deployed to the wrong function, a foreign index or a malformed map stop the
    /// function at start-up with the variable named.
    #[test]
    fn refuses_a_wrong_environment_naming_the_variable() {
        let wrong = LambdaEnv::from_lookup(FN_PG, env_of(&[("CROWDFUND_FUNCTION", "broker")]));
        assert!(wrong.unwrap_err().to_string().contains("deploy broker.zip"));
        let index = LambdaEnv::from_lookup(FN_PG, env_of(&[("PAYMENTS_INDEX", "by_project")]));
        assert!(index.unwrap_err().to_string().contains("PAYMENTS_INDEX"));
        let map = LambdaEnv::from_lookup(FN_PG, env_of(&[("TOPIC_ARNS", "[1]")]));
        assert!(map.unwrap_err().to_string().contains("TOPIC_ARNS"));
        let env = LambdaEnv::from_lookup(FN_PG, env_of(&[])).unwrap();
        let missing = env.require_topics(&[TOPIC_SEND_EMAIL]).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("TOPIC_ARNS has no entry for send_email")
        );
        let table = env
            .require("PAYMENTS_TABLE", &env.payments_table)
            .unwrap_err();
        assert!(
            table
                .to_string()
                .contains("PAYMENTS_TABLE is not set; function pg")
        );
    }

    /// SQS's attributes become the receive count and sent time; a record without a message id
    /// cannot be reported and is refused.
    #[test]
    fn sqs_records_become_received_messages() {
        let event: SqsEvent = serde_json::from_value(json!({"Records": [{
            "messageId": "m-1", "receiptHandle": "rh", "body": "{}",
            "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1764115200000"},
            "messageAttributes": {}, "eventSource": "aws:sqs"
        }, {"body": "{}"}]}))
        .unwrap();
        let now = chrono::Utc::now();
        let m = received(&event.records[0], now).unwrap();
        assert_eq!((m.message_id.as_str(), m.receive_count), ("m-1", 2));
        assert_eq!(m.sent_at.timestamp_millis(), 1_764_115_200_000);
        assert!(received(&event.records[1], now).is_none());
    }
}
