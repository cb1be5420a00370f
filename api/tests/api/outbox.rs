//! Goal achievement: recorded once and sent to the broker once, through the outbox, with retry.

use crate::helpers::{Spawn, eventually, spawn, test_outbox};
use crate::helpers::{TASK_SECRET, task_signer};
use axum::http::StatusCode;
use crowdfund_api::broker::{BrokerAuth, BrokerClient};
use crowdfund_api::config::Role;
use crowdfund_api::outbox::OutboxSender;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Reaching the goal records goalAchievedAt and sends one goal_achievement to the broker, even
/// when the broker fails the first two attempts; later fundings send nothing more.
#[tokio::test]
async fn goal_achievement_is_sent_once_despite_broker_failures() {
    let app = spawn(Spawn::role(Role::FundingRw).with_broker(2)).await;
    let broker = app.broker.clone().unwrap();
    let id = app.create_project(10_000, "KRW").await;
    assert_eq!(app.fund(&id, "pay-1", 6_000).await.0, StatusCode::CREATED);
    let (_, p) = app.get(&format!("/projects/{id}")).await;
    assert_eq!(p["goalAchievedAt"], Value::Null);
    assert_eq!(app.fund(&id, "pay-2", 4_000).await.0, StatusCode::CREATED);
    let (_, p) = app.get(&format!("/projects/{id}")).await;
    let achieved_at = p["goalAchievedAt"]
        .as_str()
        .expect("goalAchievedAt recorded")
        .to_string();

    let sent = eventually(
        "the outbox row to be marked sent",
        Duration::from_secs(20),
        || async {
            let row: Option<(u32,)> =
                sqlx::query_as("SELECT attempts FROM outbox WHERE sent_at IS NOT NULL")
                    .fetch_optional(&app.db.pool)
                    .await
                    .ok()?;
            row
        },
    )
    .await;
    assert_eq!(sent.0, 3, "two refused attempts, then accepted");
    assert_eq!(broker.attempts(), 3);
    assert_eq!(broker.failures_left(), 0);
    let received = broker.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["destination"], "goal_achievement");
    assert_eq!(received[0]["projectId"], id.as_str());
    let sent_at =
        chrono::DateTime::parse_from_rfc3339(received[0]["achievedAt"].as_str().unwrap()).unwrap();
    assert_eq!(
        sent_at,
        chrono::DateTime::parse_from_rfc3339(&achieved_at).unwrap()
    );

    // Over-funding, duplicates, falling below the goal and crossing it again queue nothing new.
    assert_eq!(app.fund(&id, "pay-3", 5_000).await.1["raised"], 15_000);
    assert_eq!(app.fund(&id, "pay-2", 4_000).await.0, StatusCode::OK);
    app.delete(&format!("/projects/{id}/fundings/pay-2")).await;
    let (_, below) = app.delete(&format!("/projects/{id}/fundings/pay-3")).await;
    assert_eq!(below["raised"], 6_000);
    assert_eq!(app.fund(&id, "pay-4", 9_000).await.1["raised"], 15_000);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    let (_, p) = app.get(&format!("/projects/{id}")).await;
    assert_eq!(p["goalAchievedAt"].as_str(), Some(achieved_at.as_str()));
    let reached_by: String =
        sqlx::query_scalar("SELECT CAST(goal_reached_by AS CHAR) FROM projects WHERE id = ?")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(reached_by, "pay-2");

    // Another sender (a second task) finds nothing left to send.
    let other = OutboxSender::new(
        app.db.pool.clone(),
        BrokerClient::new(
            &broker.url,
            Duration::from_secs(5),
            BrokerAuth::SigV4(task_signer(TASK_SECRET)),
        )
        .unwrap(),
        test_outbox(),
        Arc::new(tokio::sync::Notify::new()),
    );
    assert_eq!(other.send_due().await.unwrap(), 0);
    assert_eq!(broker.received().len(), 1);
}

/// Without a broker the message waits in the outbox (nothing lost); a sender started later
/// delivers it.
#[tokio::test]
async fn without_a_broker_the_message_waits_in_the_outbox() {
    let app = spawn(Spawn::role(Role::FundingRw)).await;
    let id = app.create_project(1_000, "KRW").await;
    assert_eq!(app.fund(&id, "pay-1", 1_000).await.0, StatusCode::CREATED);
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(pending, 1);

    let broker = crate::helpers::StubBroker::start(0).await;
    let sender = OutboxSender::new(
        app.db.pool.clone(),
        BrokerClient::new(
            &broker.url,
            Duration::from_secs(5),
            BrokerAuth::SigV4(task_signer(TASK_SECRET)),
        )
        .unwrap(),
        test_outbox(),
        Arc::new(tokio::sync::Notify::new()),
    );
    assert_eq!(sender.send_due().await.unwrap(), 1);
    assert_eq!(sender.send_due().await.unwrap(), 0);
    assert_eq!(broker.received().len(), 1);
    assert_eq!(broker.received()[0]["projectId"], id.as_str());
}

/// The goal is achieved when the crossing payment was made (`paidAt`, from the ledger), not when
/// its raise arrives; a paidAt that is not a time is refused naming the field and changes
/// nothing, and one in the future is capped at the API's now.
#[tokio::test]
async fn the_goal_is_dated_by_the_crossing_payments_paid_at() {
    let app = spawn(Spawn::role(Role::FundingRw).with_broker(0)).await;
    let broker = app.broker.clone().unwrap();
    let id = app.create_project(10_000, "KRW").await;
    let path = format!("/projects/{id}/fundings");
    let paid_at = "2026-11-30T09:15:00.250Z";

    let (status, refused) = app
        .post(
            &path,
            &serde_json::json!({"paymentId": "pay-1", "amount": 10_000, "currency": "KRW", "paidAt": "yesterday"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["field"], "paidAt", "{refused}");
    let (_, p) = app.get(&format!("/projects/{id}")).await;
    assert_eq!(
        (p["raised"].as_i64(), &p["goalAchievedAt"]),
        (Some(0), &Value::Null)
    );

    let (status, _) = app
        .post(
            &path,
            &serde_json::json!({"paymentId": "pay-1", "amount": 10_000, "currency": "KRW", "paidAt": paid_at}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, p) = app.get(&format!("/projects/{id}")).await;
    let recorded = p["goalAchievedAt"]
        .as_str()
        .expect("goalAchievedAt recorded");
    let expected = chrono::DateTime::parse_from_rfc3339(paid_at).unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(recorded).unwrap(),
        expected
    );
    let received = eventually(
        "the goal to reach the broker",
        Duration::from_secs(20),
        || {
            let broker = broker.clone();
            async move { broker.received().first().cloned() }
        },
    )
    .await;
    let sent = chrono::DateTime::parse_from_rfc3339(received["achievedAt"].as_str().unwrap());
    assert_eq!(sent.unwrap(), expected);

    // A payment "made" in the future dates the goal no later than now.
    let other = app.create_project(1_000, "KRW").await;
    let before = chrono::Utc::now();
    app.post(
        &format!("/projects/{other}/fundings"),
        &serde_json::json!({"paymentId": "pay-2", "amount": 1_000, "currency": "KRW", "paidAt": "2099-01-01T00:00:00Z"}),
    )
    .await;
    let (_, p) = app.get(&format!("/projects/{other}")).await;
    let recorded =
        chrono::DateTime::parse_from_rfc3339(p["goalAchievedAt"].as_str().unwrap()).unwrap();
    assert!(recorded <= chrono::Utc::now() && recorded >= before - chrono::Duration::seconds(1));
}
