//! The Lambda entrypoints, driven with the JSON AWS sends (SQS event-source batches, API Gateway
//! REST proxy requests; fixtures in `fixtures/`) through the same code the `lambda-*` binaries
//! run, configured the way terraform configures them, against moto.

use crate::depth;
use crate::helpers::{FakeDiscord, TestApp, payment_body, spawn_app};
use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::sqs::SqsEvent;
use base64::Engine;
use crowdfund_core::domain::PaymentStatus;
use crowdfund_core::metrics::NAMESPACE;
use crowdfund_core::ports::{Clock, Ledger, Metrics, QueueClient, SystemClock};
use crowdfund_core::topology::{
    FN_BROKER, FN_DLQ_HANDLER, FN_PG, QUEUE_APPROVE_PAYMENT, QUEUE_DLQ, QUEUE_PARKED,
    QUEUE_PAYMENT_ATTEMPT, QUEUE_SEND_EMAIL, TOPIC_APPROVE_PAYMENT, TOPIC_GOAL_ACHIEVEMENT,
    TOPIC_PAYMENT_ATTEMPT, TOPIC_SEND_EMAIL,
};
use crowdfund_handlers::aws::emf::EmfMetrics;
use crowdfund_handlers::aws::lambda::{Lambda, LambdaEnv, broker_response};
use crowdfund_handlers::aws::load_config;
use crowdfund_handlers::wiring;
use crowdfund_testkit::{endpoint_settings, moto_url};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

const SQS_EVENT: &str = include_str!("fixtures/sqs-event.json");
const APIGW_REQUEST: &str = include_str!("fixtures/apigw-rest-request.json");

/// EMF lines the function wrote, readable by the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The environment terraform gives `function` (terraform/modules/lambdas), with moto's ARNs and
/// URLs, plus `extra`.
async fn terraform_env(
    app: &TestApp,
    function: &'static str,
    topics: &[&str],
    queues: &[&str],
    extra: &[(&str, String)],
) -> LambdaEnv {
    let mut arns = serde_json::Map::new();
    for t in topics {
        arns.insert(
            t.to_string(),
            app.pipeline.publisher.arn(t).await.unwrap().into(),
        );
    }
    let mut urls = serde_json::Map::new();
    for q in queues {
        urls.insert(
            q.to_string(),
            app.pipeline.queues.url(q).await.unwrap().into(),
        );
    }
    let mut vars: HashMap<String, String> = HashMap::from([
        ("CROWDFUND_FUNCTION".into(), function.into()),
        ("TOPIC_ARNS".into(), Value::Object(arns).to_string()),
        ("QUEUE_URLS".into(), Value::Object(urls).to_string()),
        ("PAYMENTS_TABLE".into(), "payments".into()),
        ("PAYMENTS_INDEX".into(), "project_paid_at".into()),
        ("METRICS_NAMESPACE".into(), NAMESPACE.into()),
        ("PAYMENT_GATEWAY".into(), "sandbox".into()),
        ("CROWDFUND_STAGE".into(), "dev".into()),
    ]);
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    LambdaEnv::from_lookup(function, |k| vars.get(k).cloned()).unwrap()
}

/// The SDK configuration a function gets, pointed at moto.
async fn moto_config(app: &TestApp) -> aws_config::SdkConfig {
    load_config(&endpoint_settings(&app.moto)).await.unwrap()
}

/// The function's wiring on moto; its EMF lines go to the returned capture.
async fn lambda_on_moto(app: &TestApp, env: LambdaEnv) -> (Lambda, Captured) {
    let config = moto_config(app).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let captured = Captured::default();
    let metrics: Arc<dyn Metrics> = Arc::new(EmfMetrics::new(
        env.metrics_namespace.clone(),
        clock.clone(),
        Box::new(captured.clone()),
    ));
    (Lambda::new(env, config, clock, metrics), captured)
}

/// An SQS event as the event-source mapping delivers it: the fixture's record once per
/// (message id, body).
fn sqs_event(messages: &[(&str, String)]) -> SqsEvent {
    let fixture: Value = serde_json::from_str(SQS_EVENT).unwrap();
    let template = &fixture["Records"][0];
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = json!(id);
            r["body"] = json!(body);
            r
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// A `POST /broker` as API Gateway's REST proxy integration hands it over.
fn apigw_request(body: &str, base64: bool) -> ApiGatewayProxyRequest {
    let mut request: Value = serde_json::from_str(APIGW_REQUEST).unwrap();
    request["body"] = if base64 {
        json!(base64::engine::general_purpose::STANDARD.encode(body))
    } else {
        json!(body)
    };
    request["isBase64Encoded"] = json!(base64);
    serde_json::from_value(request).unwrap()
}

fn payment_envelope(payment_id: &str, card: &str) -> String {
    json!({
        "kind": "payment_attempt", "from": QUEUE_PAYMENT_ATTEMPT, "attempts": 0, "toDiscord": false,
        "payload": {
            "paymentId": payment_id, "projectId": "prj-1", "backerEmail": "backer@example.com",
            "amount": 50000, "currency": "KRW", "card": card,
        },
    })
    .to_string()
}

/// `pg` on one batch: the approved payment is recorded and published on, the declined one goes
/// to etc_dlq, and only the transient gateway failure is in `batchItemFailures`; the batch's
/// EMF lines carry the approval and the failure count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_lambda_reports_only_the_transient_failure() {
    let Some(moto) = moto_url() else { return };
    let app = spawn_app(&moto, None).await;
    let env = terraform_env(
        &app,
        FN_PG,
        &[TOPIC_SEND_EMAIL, TOPIC_APPROVE_PAYMENT],
        &[QUEUE_DLQ],
        &[],
    )
    .await;
    let (lambda, emf) = lambda_on_moto(&app, env).await;
    let pg = lambda.sqs_lambda(wiring::pg).unwrap();

    let event = sqs_event(&[
        ("m-approve", payment_envelope("pay-ok", "tok_approve")),
        ("m-error", payment_envelope("pay-later", "tok_error")),
        ("m-decline", payment_envelope("pay-no", "tok_decline")),
    ]);
    let response = pg.handle(event, None).await.unwrap();

    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "m-error"}]})
    );
    let ledger = &app.pipeline.ledger;
    let ok = ledger.get_payment("pay-ok").await.unwrap().unwrap();
    assert_eq!(ok.status, PaymentStatus::Approved);
    let no = ledger.get_payment("pay-no").await.unwrap().unwrap();
    assert_eq!(no.status, PaymentStatus::Declined);
    assert!(ledger.get_payment("pay-later").await.unwrap().is_none());
    assert_eq!(
        depth(&app, QUEUE_SEND_EMAIL).await,
        2,
        "the receipt and the decline notice"
    );
    assert_eq!(depth(&app, QUEUE_APPROVE_PAYMENT).await, 1);
    let dead = app.pipeline.queues.peek(QUEUE_DLQ, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    let dead: Value = serde_json::from_str(&dead[0].body).unwrap();
    assert_eq!(dead["payload"]["paymentId"], "pay-no");
    assert!(dead["lastError"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(dead["declined"], true, "a decline, parked at once");

    let lines = emf.lines();
    let approved = lines
        .iter()
        .find(|l| l.get("PaymentsApproved").is_some())
        .expect("an EMF line for the approval");
    assert_eq!(
        (&approved["ProjectId"], &approved["AmountRaised"]),
        (&json!("prj-1"), &json!(50000))
    );
    let batch = lines
        .iter()
        .find(|l| l.get("MessagesFailed").is_some())
        .expect("an EMF line for the batch");
    assert_eq!(batch["FunctionName"], "pg");
    assert_eq!(
        (&batch["MessagesProcessed"], &batch["MessagesFailed"]),
        (&json!(2), &json!(1))
    );
}

/// The broker behind API Gateway: 202 with the SNS message id for a good body (text or
/// base64), 400 with `{"error", "field"}` for a bad one, which publishes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_lambda_answers_api_gateway() {
    let Some(moto) = moto_url() else { return };
    let app = spawn_app(&moto, None).await;
    let env = terraform_env(
        &app,
        FN_BROKER,
        &[TOPIC_PAYMENT_ATTEMPT, TOPIC_GOAL_ACHIEVEMENT],
        &[],
        &[],
    )
    .await;
    let (lambda, _emf) = lambda_on_moto(&app, env).await;
    let broker = wiring::broker(&lambda).unwrap();

    for (payment_id, base64) in [("pay-text", false), ("pay-base64", true)] {
        let request = apigw_request(&payment_body(payment_id, "prj-1", "tok_approve"), base64);
        let response = broker_response(&broker, &request).await;
        let wire = serde_json::to_value(&response).unwrap();
        assert_eq!(wire["statusCode"], 202, "{wire}");
        assert_eq!(wire["headers"]["content-type"], "application/json");
        let body: Value = serde_json::from_str(wire["body"].as_str().unwrap()).unwrap();
        assert!(body["messageId"].as_str().is_some_and(|id| !id.is_empty()));
        assert_eq!(body["destination"], "payment_attempt");
    }
    assert_eq!(depth(&app, QUEUE_PAYMENT_ATTEMPT).await, 2);

    let float = payment_body("pay-float", "prj-1", "tok_approve").replace("50000", "50000.0");
    let response = broker_response(&broker, &apigw_request(&float, false)).await;
    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(wire["statusCode"], 400);
    let body: Value = serde_json::from_str(wire["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["field"], "amount", "{body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(depth(&app, QUEUE_PAYMENT_ATTEMPT).await, 2);
}

/// `dlq_handler` reads the webhook URL from Secrets Manager when it first alerts. While the
/// secret does not exist the message is parked and reported failed (SQS redelivers it); once
/// the secret is set, the redelivery alerts once and parks no second copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_handler_lambda_alerts_through_the_webhook_secret() {
    let Some(moto) = moto_url() else { return };
    let (discord, webhook_url) = FakeDiscord::start(0).await;
    let app = spawn_app(&moto, None).await;
    let secret = "crowdfund-test/discord-webhook-url";
    let env = terraform_env(
        &app,
        FN_DLQ_HANDLER,
        &[],
        &[QUEUE_PARKED, QUEUE_PAYMENT_ATTEMPT],
        &[("DISCORD_WEBHOOK_SECRET_ARN", secret.to_string())],
    )
    .await;
    let (lambda, _emf) = lambda_on_moto(&app, env).await;
    let dlq_handler = lambda.sqs_lambda(wiring::dlq_handler).unwrap();
    let body = json!({
        "kind": "payment_attempt", "from": QUEUE_PAYMENT_ATTEMPT, "attempts": 0,
        "toDiscord": true, "lastError": "card declined",
        "payload": {"paymentId": "pay-x"},
    })
    .to_string();
    let event = || sqs_event(&[("m-dlq", body.clone())]);

    let first = dlq_handler.handle(event(), None).await.unwrap();
    assert_eq!(
        serde_json::to_value(&first).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "m-dlq"}]})
    );
    assert_eq!(depth(&app, QUEUE_PARKED).await, 1);
    assert!(discord.bodies().is_empty());

    aws_sdk_secretsmanager::Client::new(&moto_config(&app).await)
        .create_secret()
        .name(secret)
        .secret_string(&webhook_url)
        .send()
        .await
        .unwrap();

    let second = dlq_handler.handle(event(), None).await.unwrap();
    assert!(second.batch_item_failures.is_empty(), "{second:?}");
    assert_eq!(depth(&app, QUEUE_PARKED).await, 1);
    let alerts = discord.bodies();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].to_string().contains("m-dlq"), "{}", alerts[0]);
}
