//! The functions on AWS Lambda. The `lambda-*` binaries are one call into here; the tests drive
//! the same [`SqsLambda`] and [`broker_response`] with the JSON AWS sends.
//!
//! - `env`: configuration from the environment terraform sets (`terraform/modules/lambdas`)
//!   ([`LambdaEnv`], [`SetupError`]).
//! - `ports`: the clients each function needs and nothing more ([`Lambda`], a
//!   [`PortSource`](crate::wiring::PortSource) for the builders in [`crate::wiring`]).
//! - `events`: queue-triggered functions take an `SqsEvent` and answer an `SqsBatchResponse`
//!   (ReportBatchItemFailures) from [`handle_batch`](crate::sqs::handle_batch)'s per-message
//!   outcomes ([`SqsLambda`]); the broker takes API Gateway REST API proxy events (payload format
//!   1.0) and answers with [`BrokerFunction::handle`](crate::broker::BrokerFunction::handle)'s
//!   status and JSON body ([`broker_response`]).
//! - Metrics are EMF lines on stdout ([`EmfMetrics`](crate::aws::emf::EmfMetrics)); logs are
//!   tracing lines on stdout, JSON when the function's log format is JSON
//!   (`AWS_LAMBDA_LOG_FORMAT`, set by Lambda).
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
//! | `PAYMENT_GATEWAY` | `sandbox` (test cards, charges in the payments table) or `toss` | pg |
//! | `CROWDFUND_STAGE` | the stage; `prod` refuses `PAYMENT_GATEWAY=sandbox` at start-up | pg |
//! | `PSP_SECRET_ARN`, `PSP_BASE_URL` | Toss Payments: the secret key's secret; the API (default `https://api.tosspayments.com`) | pg with `toss` |
//!
//! The Discord webhook URL and the Toss secret key are read from Secrets Manager on first use
//! ([`SecretWebhookAlerter`](crate::aws::discord::SecretWebhookAlerter),
//! [`SecretsManagerKey`](crate::aws::toss::SecretsManagerKey)).

mod env;
mod events;
mod ports;

pub use env::{GatewayChoice, LambdaEnv, PRODUCTION_STAGES, SetupError};
pub use events::{EventError, SqsLambda, broker_response};
pub use ports::{Lambda, QueueFunctionBuilder};

use crate::sqs::SqsFunction;
use crate::wiring;
use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::sqs::SqsEvent;
use crowdfund_core::topology::FN_BROKER;
use lambda_runtime::{LambdaEvent, service_fn};

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
pub async fn run_queue_function<F: SqsFunction + 'static>(
    function: &'static str,
    build: QueueFunctionBuilder<F>,
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
        lambda.handle(event.payload, Some(event.context.deadline))
    }))
    .await
}

/// `main` of the broker's binary.
pub async fn run_broker() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let broker = started(
        FN_BROKER,
        Lambda::load(FN_BROKER)
            .await
            .and_then(|l| wiring::broker(&l)),
    )?;
    tracing::info!(function = FN_BROKER, "ready");
    lambda_runtime::run(service_fn(|event: LambdaEvent<ApiGatewayProxyRequest>| {
        let broker = &broker;
        async move { Ok::<_, EventError>(broker_response(broker, &event.payload).await) }
    }))
    .await
}
