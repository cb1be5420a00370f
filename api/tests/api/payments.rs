//! Payments: checkout validation and forwarding to the broker; state from the ledger.

use crate::helpers::{Spawn, spawn, spawn_app};
use axum::http::StatusCode;
use crowdfund_api::config::Role;
use crowdfund_core::domain::{PaymentRecord, PaymentStatus};
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::ports::Ledger;
use crowdfund_core::sim::{SimWorld, WorldConfig};
use serde_json::{Value, json};
use std::sync::Arc;

async fn insert_project(pool: &sqlx::MySqlPool, id: &str, currency: &str, deadline: &str) {
    sqlx::query(
        "INSERT INTO projects (id, title, goal, currency, deadline, created_at) VALUES (?, 'Pens', 100000, ?, ?, NOW(6))",
    )
    .bind(id)
    .bind(currency)
    .bind(deadline)
    .execute(pool)
    .await
    .unwrap();
}

fn checkout() -> Value {
    json!({"paymentId": "pay-1", "projectId": "prj-1", "backerEmail": "backer@example.com", "amount": 50000, "currency": "KRW", "card": "tok_approve"})
}

/// A valid checkout is forwarded to the broker as a payment_attempt: 202 with the payment id.
#[tokio::test]
async fn a_checkout_is_forwarded_to_the_broker() {
    let app = spawn(Spawn::role(Role::Payment).with_broker(0)).await;
    insert_project(&app.db.pool, "prj-1", "KRW", "2999-01-01").await;
    let (status, body) = app.post("/payments", &checkout()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["paymentId"], "pay-1");
    assert_eq!(body["messageId"], "msg-1");
    let received = app.broker.as_ref().unwrap().received();
    let mut expected = checkout();
    expected["destination"] = json!("payment_attempt");
    assert_eq!(received, vec![expected]);

    // Without a paymentId the API makes one up.
    let mut body = checkout();
    body.as_object_mut().unwrap().remove("paymentId");
    let (status, answer) = app.post("/payments", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let made = answer["paymentId"].as_str().unwrap();
    assert!(made.starts_with("pay-"), "{made}");
    assert_eq!(
        app.broker.as_ref().unwrap().received()[1]["paymentId"],
        made
    );
}

/// Bad checkouts are 400 naming the field (unknown project, currency mismatch, the broker's
/// rules), a closed project is 409, and nothing reaches the broker.
#[tokio::test]
async fn bad_checkouts_are_refused_before_the_broker() {
    let app = spawn(Spawn::role(Role::Payment).with_broker(0)).await;
    insert_project(&app.db.pool, "prj-1", "KRW", "2999-01-01").await;
    insert_project(&app.db.pool, "prj-closed", "KRW", "2001-01-01").await;
    let cases = [
        ("projectId", json!("prj-unknown")),
        ("currency", json!("USD")),
        ("currency", json!("krw")),
        ("amount", json!(0)),
        ("amount", json!(-5)),
        ("amount", json!(99.5)),
        ("amount", json!("50000")),
        ("backerEmail", json!("not-an-email")),
        ("card", json!("")),
        ("paymentId", json!("no spaces allowed")),
        ("destination", json!("goal_achievement")),
    ];
    for (field, value) in cases {
        let mut body = checkout();
        body[field] = value.clone();
        let (status, answer) = app.post("/payments", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value}: {answer}");
        assert_eq!(answer["field"], field, "{answer}");
    }
    let mut closed = checkout();
    closed["projectId"] = json!("prj-closed");
    assert_eq!(app.post("/payments", &closed).await.0, StatusCode::CONFLICT);
    assert!(app.broker.as_ref().unwrap().received().is_empty());
}

/// No broker configured (or reachable) is a 503, not a lost payment.
#[tokio::test]
async fn no_broker_is_503() {
    let app = spawn_app(Role::Payment).await;
    insert_project(&app.db.pool, "prj-1", "KRW", "2999-01-01").await;
    let (status, body) = app.post("/payments", &checkout()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["error"].as_str().unwrap().contains("broker"), "{body}");
}

/// GET /payments/{id} reads the ledger port: 200 with the record, 404 when unknown.
#[tokio::test]
async fn payment_state_comes_from_the_ledger() {
    let world = Arc::new(SimWorld::new(7, WorldConfig::default()));
    let record = PaymentRecord {
        payment_id: "pay-9".into(),
        project_id: "prj-1".into(),
        backer_email: "backer@example.com".into(),
        amount: Money::new(50_000, Currency::KRW),
        status: PaymentStatus::Approved,
        paid_at: world.now(),
        charge_id: Some("ch-1".into()),
        decline_reason: None,
        cancel_id: None,
        cancelled_at: None,
    };
    world.put_payment(&record).await.unwrap();
    let app = spawn(Spawn::role(Role::Payment).with_ledger(world)).await;
    let (status, body) = app.get("/payments/pay-9").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::to_value(&record).unwrap());
    assert_eq!(body["status"], "approved");
    assert_eq!(
        app.get("/payments/pay-unknown").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = app.get("/payments/bad%20id").await;
    assert_eq!(
        (status, body["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("paymentId"))
    );
}

/// Without a ledger adapter the binary answers 503 with a clear reason.
#[tokio::test]
async fn no_ledger_is_503() {
    let app = spawn_app(Role::Payment).await;
    let (status, body) = app.get("/payments/pay-1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("payment ledger is not configured"),
        "{body}"
    );
}
