//! The seam between crowdfund-api and API Gateway's AWS_IAM authorization on `POST /broker`:
//! both roles that call the broker (payment for checkouts, funding-rw for the outbox) sign with
//! SigV4, and the stand-in for API Gateway (testkit's verifier, recomputing the signature from
//! what arrived) accepts them and refuses unsigned, wrongly signed or altered requests.

use crate::helpers::{
    BROKER_REGION, Spawn, StubBroker, TASK_ACCESS_KEY, TASK_SECRET, spawn, task_signer,
};
use axum::http::StatusCode;
use crowdfund_api::broker::{BrokerAuth, BrokerClient, BrokerError};
use crowdfund_api::config::Role;
use crowdfund_testkit::sigv4::{Received, Verifier};
use serde_json::json;
use std::time::{Duration, SystemTime};

async fn open_project(app: &crate::helpers::TestApp) -> String {
    let id = "prj-signed";
    sqlx::query(
        "INSERT INTO projects (id, title, goal, currency, deadline, created_at) VALUES (?, 'Pens', 100000, 'KRW', '2999-01-01', NOW(6))",
    )
    .bind(id)
    .execute(&app.db.pool)
    .await
    .unwrap();
    id.to_string()
}

fn checkout(project: &str) -> serde_json::Value {
    json!({"paymentId": "pay-signed", "projectId": project, "backerEmail": "b@example.com",
        "amount": 50000, "currency": "KRW", "card": "tok_approve"})
}

/// The payment role's checkout reaches the broker signed; the verifier found nothing to refuse.
#[tokio::test]
async fn a_checkout_is_signed_and_accepted() {
    let app = spawn(Spawn::role(Role::Payment).with_broker(0)).await;
    let project = open_project(&app).await;
    let (status, body) = app.post("/payments", &checkout(&project)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let broker = app.broker.as_ref().unwrap();
    assert_eq!(broker.refused(), Vec::<String>::new());
    assert_eq!(broker.received().len(), 1);
}

/// Credentials the broker does not know: API Gateway answers 403, the checkout is refused with
/// 502 naming the broker's answer, and nothing is published.
#[tokio::test]
async fn a_checkout_signed_with_the_wrong_secret_is_refused() {
    let app = spawn(
        Spawn::role(Role::Payment)
            .with_broker(0)
            .signing_with("not-the-task-secret"),
    )
    .await;
    let project = open_project(&app).await;
    let (status, body) = app.post("/payments", &checkout(&project)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body.to_string().contains("403"), "{body}");
    let broker = app.broker.as_ref().unwrap();
    assert!(broker.received().is_empty());
    assert!(
        broker.refused()[0].contains("signature we calculated does not match"),
        "{:?}",
        broker.refused()
    );
}

/// The outbox of funding-rw signs too: a goal achievement is delivered through the verifier.
#[tokio::test]
async fn the_outbox_is_signed_and_accepted() {
    let app = spawn(Spawn::role(Role::FundingRw).with_broker(0)).await;
    let id = app.create_project(1_000, "KRW").await;
    assert_eq!(app.fund(&id, "pay-1", 1_000).await.0, StatusCode::CREATED);
    let broker = app.broker.clone().unwrap();
    crate::helpers::eventually(
        "the goal achievement is delivered",
        Duration::from_secs(10),
        || {
            let broker = broker.clone();
            async move { (!broker.received().is_empty()).then_some(()) }
        },
    )
    .await;
    assert_eq!(broker.refused(), Vec::<String>::new());
}

/// Unsigned (BROKER_AUTH=none against the real method) is a 403 the client reports as refused,
/// not as "retry later".
#[tokio::test]
async fn an_unsigned_call_is_refused() {
    let broker = StubBroker::start(0).await;
    let client = BrokerClient::new(&broker.url, Duration::from_secs(5), BrokerAuth::None).unwrap();
    let err = client
        .send(json!({"destination": "x"}).to_string())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BrokerError::Refused { status: 403, .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(
        broker.refused(),
        vec!["Missing Authentication Token".to_string()]
    );
}

/// The signature covers what matters: the body, the scope and the time. Each change after
/// signing is caught by the verifier.
#[tokio::test]
async fn the_signature_covers_body_scope_and_time() {
    let url = "https://abc123.execute-api.ap-northeast-2.amazonaws.com/prod/broker";
    let body = br#"{"destination":"payment_attempt"}"#;
    let now = SystemTime::now();
    let mut headers = task_signer(TASK_SECRET)
        .signed_headers(url, body, now)
        .await
        .unwrap();
    headers.push((
        "host".into(),
        "abc123.execute-api.ap-northeast-2.amazonaws.com".into(),
    ));
    headers.push(("content-type".into(), "application/json".into()));
    let verifier = Verifier::new("execute-api", BROKER_REGION).allow(TASK_ACCESS_KEY, TASK_SECRET);
    let request = |body: &'static [u8], path: &'static str| Received {
        method: "POST",
        path_and_query: path,
        headers: &headers,
        body,
    };
    let signed_body: &'static [u8] = br#"{"destination":"payment_attempt"}"#;
    assert_eq!(
        verifier.verify(&request(signed_body, "/prod/broker"), now),
        Ok(TASK_ACCESS_KEY.to_string())
    );
    let tampered: &'static [u8] = br#"{"destination":"goal_achievement"}"#;
    assert!(
        verifier
            .verify(&request(tampered, "/prod/broker"), now)
            .is_err()
    );
    assert!(
        verifier
            .verify(&request(signed_body, "/prod/other"), now)
            .is_err()
    );
    let other_region =
        Verifier::new("execute-api", "us-east-1").allow(TASK_ACCESS_KEY, TASK_SECRET);
    assert!(
        other_region
            .verify(&request(signed_body, "/prod/broker"), now)
            .unwrap_err()
            .contains("scoped")
    );
    let later = now + Duration::from_secs(600);
    assert_eq!(
        verifier.verify(&request(signed_body, "/prod/broker"), later),
        Err("Signature expired".to_string())
    );
}
