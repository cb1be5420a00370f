//! Health, readiness, roles, request ids, the schema check, 503s, shutdown.

use crate::helpers::{Spawn, TestDb, spawn, spawn_app};
use axum::http::StatusCode;
use crowdfund_api::config::{Role, Settings};
use crowdfund_api::{Application, Dependencies, StartError, db::DbError};
use serde_json::json;

/// Every role answers /healthz and /readyz.
#[tokio::test]
async fn every_role_is_healthy_and_ready() {
    for role in [Role::Funding, Role::FundingRw, Role::Payment] {
        let app = spawn_app(role).await;
        let (status, body) = app.get("/healthz").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"status": "ok", "role": role.as_str()}));
        let (status, body) = app.get("/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "ready");
    }
}

/// With the database down, /healthz still says the process is up, /readyz and the data routes
/// answer 503 with a JSON reason that tells nothing about the internals.
#[tokio::test]
async fn database_down_is_503_without_internals() {
    let app =
        spawn(Spawn::role(Role::FundingRw).with_database_url("mysql://root@127.0.0.1:1/nowhere"))
            .await;
    assert_eq!(app.get("/healthz").await.0, StatusCode::OK);
    for (status, body) in [
        app.get("/readyz").await,
        app.get("/projects").await,
        app.get("/projects/prj-1").await,
        app.fund("prj-1", "pay-1", 100).await,
        app.delete("/projects/prj-1/fundings/pay-1").await,
    ] {
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"], "database unavailable, retry later");
        assert!(body.get("field").is_some(), "{body}");
    }
}

/// Each role serves only its own routes; unknown routes are a JSON 404.
#[tokio::test]
async fn roles_serve_only_their_routes() {
    let funding = spawn_app(Role::Funding).await;
    assert_eq!(funding.get("/projects").await.0, StatusCode::OK);
    let (status, _) = funding
        .post("/projects", &json!({"title": "x", "goal": 1, "currency": "KRW", "deadline": "2999-01-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        funding.fund("prj-1", "pay-1", 1).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        funding.post("/payments", &json!({})).await.0,
        StatusCode::NOT_FOUND
    );

    let payment = spawn_app(Role::Payment).await;
    let (status, body) = payment.get("/projects").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string(), "{body}");
}

/// Responses carry an x-request-id; one sent by the caller (the ALB's) is kept.
#[tokio::test]
async fn request_ids_are_set_and_propagated() {
    let app = spawn_app(Role::Funding).await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    let id = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert_eq!(id.len(), 36, "a UUID, got {id:?}");
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "alb-trace-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap(), "alb-trace-1");
}

/// The server refuses to start on a reachable database whose schema is not migrated.
#[tokio::test]
async fn start_up_checks_migrations() {
    let db = TestDb::empty().await;
    let settings = Settings::new(Role::FundingRw, &db.url, &db.url);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let built = Application::build(settings, listener, Dependencies::default()).await;
    match built {
        Err(StartError::Db(DbError::NotMigrated(m))) => assert!(m.contains("no migration"), "{m}"),
        Err(e) => panic!("expected NotMigrated, got {e}"),
        Ok(_) => panic!("started on an unmigrated database"),
    }
    crowdfund_api::db::migrate(&db.pool).await.unwrap();
    crowdfund_api::db::migrate(&db.pool).await.unwrap(); // idempotent
    let settings = Settings::new(Role::FundingRw, &db.url, &db.url);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    assert!(
        Application::build(settings, listener, Dependencies::default())
            .await
            .is_ok()
    );
}

/// With MIGRATE_ON_START, funding-rw applies the schema itself instead of refusing to start.
#[tokio::test]
async fn funding_rw_can_migrate_on_start() {
    let db = TestDb::empty().await;
    let mut settings = Settings::new(Role::FundingRw, &db.url, &db.url);
    settings.migrate_on_start = true;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    assert!(
        Application::build(settings, listener, Dependencies::default())
            .await
            .is_ok()
    );
    crowdfund_api::db::check_migrations(&db.pool).await.unwrap();
}

/// Bodies over the limit are refused with 413 and a JSON reason; broken JSON with 400.
#[tokio::test]
async fn oversized_and_broken_bodies_are_refused() {
    let app = spawn_app(Role::FundingRw).await;
    let huge = json!({"title": "x".repeat(100_000), "goal": 1, "currency": "KRW", "deadline": "2999-01-01T00:00:00Z"});
    let (status, body) = app.post("/projects", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("larger than"),
        "{body}"
    );
    for raw in ["{", "[1,2]", "\"text\"", ""] {
        let (status, body) = app.post_raw("/projects", raw.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw:?}: {body}");
        assert_eq!(body["field"], serde_json::Value::Null);
    }
}

/// Graceful shutdown: the server stops when told (as on SIGTERM) and run() returns Ok.
#[tokio::test]
async fn stops_gracefully() {
    let mut app = spawn(Spawn::role(Role::FundingRw).with_broker(0)).await;
    assert_eq!(app.get("/healthz").await.0, StatusCode::OK);
    app.stop().await.expect("clean stop");
    assert!(
        app.client.get(app.url("/healthz")).send().await.is_err(),
        "still serving"
    );
}
