//! The ports one function needs, built from its environment: the shared SDK configuration, the
//! clock and the metrics sink, and a client only for each service the function asks for
//! ([`PortSource`]); a missing setting stops the function at start-up.

use super::env::{GatewayChoice, LambdaEnv, SetupError};
use super::events::SqsLambda;
use crate::aws::discord::SecretWebhookAlerter;
use crate::aws::dynamodb::DynamoLedger;
use crate::aws::emf::EmfMetrics;
use crate::aws::funding_http::HttpFundingApi;
use crate::aws::sandbox_gateway::DynamoSandboxGateway;
use crate::aws::ses::SesMailer;
use crate::aws::sns::SnsPublisher;
use crate::aws::sqs::SqsQueues;
use crate::aws::toss;
use crate::aws::{AwsSettings, SdkTimeouts, load_config, with_timeouts};
use crate::sqs::SqsFunction;
use crate::wiring::PortSource;
use crowdfund_core::ports::{
    AlertWindows, Alerter, Clock, FundingApi, IdempotencyStore, Ledger, Mailer, MessageSender,
    Metrics, PaymentGateway, Publisher, SystemClock,
};
use std::sync::Arc;
use std::time::Duration;

/// One function's wiring: its configuration, the shared SDK configuration, the clock and the
/// metrics sink. Clients are built only for the services the function uses.
pub struct Lambda {
    pub env: LambdaEnv,
    config: aws_config::SdkConfig,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn Metrics>,
}

/// One of the queue functions' builders in [`crate::wiring`] ([`crate::wiring::pg`], ...).
pub type QueueFunctionBuilder<F> = fn(&Lambda) -> Result<F, SetupError>;

impl Lambda {
    /// The production wiring: the process environment, the standard AWS chain (Lambda's
    /// credentials and region), the system clock, EMF on stdout.
    pub async fn load(function: &'static str) -> Result<Self, SetupError> {
        let env = LambdaEnv::from_env(function)?;
        let config = with_timeouts(
            load_config(&AwsSettings::default()).await?,
            SdkTimeouts::LAMBDA,
        );
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

    fn dynamo_ledger(&self) -> Result<Arc<DynamoLedger>, SetupError> {
        let table = self
            .env
            .require("PAYMENTS_TABLE", &self.env.payments_table)?;
        Ok(Arc::new(DynamoLedger::new(
            aws_sdk_dynamodb::Client::new(&self.config),
            table,
        )))
    }

    /// The function `build` makes, as Lambda's SQS event-source mapping invokes it. Each binary
    /// names its own builder, so the others' clients are not linked into its zip.
    pub fn sqs_lambda<F: SqsFunction + 'static>(
        &self,
        build: QueueFunctionBuilder<F>,
    ) -> Result<SqsLambda, SetupError> {
        Ok(SqsLambda::new(
            Arc::new(build(self)?),
            self.queues(),
            self.metrics.clone(),
            self.clock.clone(),
        ))
    }
}

/// How long pg waits for the PSP: within the deadline margin (10 s of the function's 25 s), so
/// a slow call fails one message as retryable instead of killing the batch. The repeat carries
/// the same idempotency key, so a charge the PSP finished is not made twice.
pub const PSP_TIMEOUT: Duration = Duration::from_secs(8);

impl PortSource for Lambda {
    type Error = SetupError;

    /// `PAYMENT_GATEWAY`: the sandbox with its charges in the payments table, or Toss Payments
    /// with its secret key in Secrets Manager (`PSP_SECRET_ARN`, base URL `PSP_BASE_URL`).
    fn gateway(&self) -> Result<Arc<dyn PaymentGateway>, SetupError> {
        match self.env.gateway_choice()? {
            GatewayChoice::Sandbox => {
                let table = self
                    .env
                    .require("PAYMENTS_TABLE", &self.env.payments_table)?;
                Ok(Arc::new(DynamoSandboxGateway::new(
                    aws_sdk_dynamodb::Client::new(&self.config),
                    table,
                )))
            }
            GatewayChoice::Toss => {
                let secret = self
                    .env
                    .require(toss::PSP_SECRET_ARN, &self.env.psp_secret_arn)?;
                let base = self
                    .env
                    .psp_base_url
                    .as_deref()
                    .unwrap_or(toss::DEFAULT_BASE_URL);
                let keys = Arc::new(toss::SecretsManagerKey::new(
                    aws_sdk_secretsmanager::Client::new(&self.config),
                    secret,
                ));
                let gateway = toss::TossGateway::new(base, keys, PSP_TIMEOUT)
                    .map_err(|e| SetupError::Toss(e.to_string()))?;
                Ok(Arc::new(gateway))
            }
        }
    }

    fn ledger(&self) -> Result<Arc<dyn Ledger>, SetupError> {
        Ok(self.dynamo_ledger()?)
    }

    /// The idempotency store lives in the payments table.
    fn idempotency(&self) -> Result<Arc<dyn IdempotencyStore>, SetupError> {
        Ok(self.dynamo_ledger()?)
    }

    fn publisher(&self, topics: &[&'static str]) -> Result<Arc<dyn Publisher>, SetupError> {
        self.env.require_topics(topics)?;
        Ok(Arc::new(SnsPublisher::with_arns(
            aws_sdk_sns::Client::new(&self.config),
            self.env.topic_arns.clone(),
        )))
    }

    /// SES, from `SES_FROM_ADDRESS`.
    fn mailer(&self) -> Result<Arc<dyn Mailer>, SetupError> {
        let env = &self.env;
        let from = env.require("SES_FROM_ADDRESS", &env.ses_from_address)?;
        Ok(Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(&self.config),
            from,
        )))
    }

    /// crowdfund-api over HTTP, at `FUNDING_API_URL`.
    fn funding(&self) -> Result<Arc<dyn FundingApi>, SetupError> {
        let env = &self.env;
        let url = env.require("FUNDING_API_URL", &env.funding_api_url)?;
        let funding = HttpFundingApi::new(url).map_err(|source| SetupError::Http {
            what: "crowdfund-api",
            source,
        })?;
        Ok(Arc::new(funding))
    }

    fn retry_sender(&self) -> Arc<dyn MessageSender> {
        self.queues()
    }

    /// The alert windows live in the payments table too.
    fn alert_windows(&self) -> Result<Arc<dyn AlertWindows>, SetupError> {
        Ok(self.dynamo_ledger()?)
    }

    /// The Discord webhook whose URL is in the secret `DISCORD_WEBHOOK_SECRET_ARN`.
    fn alerter(&self) -> Result<Arc<dyn Alerter>, SetupError> {
        let env = &self.env;
        let secret = env.require(
            "DISCORD_WEBHOOK_SECRET_ARN",
            &env.discord_webhook_secret_arn,
        )?;
        Ok(Arc::new(SecretWebhookAlerter::new(
            aws_sdk_secretsmanager::Client::new(&self.config),
            secret,
        )))
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    fn metrics(&self) -> Arc<dyn Metrics> {
        self.metrics.clone()
    }
}
