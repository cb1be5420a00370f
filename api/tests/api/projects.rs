//! Projects: create, read, list, validation, and reads going to the replica.

use crate::helpers::{Spawn, spawn, spawn_app};
use axum::http::StatusCode;
use crowdfund_api::config::Role;
use serde_json::{Value, json};

/// POST /projects answers 201 with the project and its id; GET shows it with its progress.
#[tokio::test]
async fn create_then_read_a_project() {
    let app = spawn_app(Role::FundingRw).await;
    let (status, created) = app
        .post(
            "/projects",
            &json!({"title": "Fountain pens", "goal": 100000, "currency": "KRW", "deadline": "2027-01-31T12:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("prj-"));
    assert_eq!(created["raised"], 0);
    assert_eq!(created["backers"], 0);
    assert_eq!(created["goalAchievedAt"], Value::Null);
    assert_eq!(created["deadline"], "2027-01-31T12:00:00Z");

    let (status, read) = app.get(&format!("/projects/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, created);
    let (_, body) = app.fund(id, "pay-1", 25000).await;
    assert_eq!(body["raised"], 25000);
    let (_, read) = app.get(&format!("/projects/{id}")).await;
    assert_eq!(read["raised"], 25000);
    assert_eq!(read["backers"], 1);
    assert_eq!(read["progress"], 0.25);
    assert_eq!(read["currency"], "KRW");
    assert_eq!(read["goal"], 100000);

    let (status, list) = app.get("/projects").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], id);
}

/// Unknown and malformed project ids are 404 with a JSON reason.
#[tokio::test]
async fn unknown_project_is_404() {
    let app = spawn_app(Role::Funding).await;
    for path in ["/projects/prj-missing", "/projects/has%20space"] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            body["error"].as_str().unwrap_or("").contains("not found"),
            "{body}"
        );
    }
}

/// Bad project bodies get 400 naming the field, and nothing is written.
#[tokio::test]
async fn bad_project_bodies_are_400() {
    let app = spawn_app(Role::FundingRw).await;
    let good = json!({"title": "Pens", "goal": 1000, "currency": "KRW", "deadline": "2999-01-01T00:00:00Z"});
    let cases = [
        ("title", json!(null)),
        ("title", json!(42)),
        ("goal", json!("1000")),
        ("goal", json!(0)),
        ("goal", json!(-1000)),
        ("goal", json!(10.5)),
        ("currency", json!("won")),
        ("currency", json!(null)),
        ("deadline", json!("next week")),
        ("deadline", json!("2001-01-01T00:00:00Z")),
    ];
    for (field, value) in cases {
        let mut body = good.clone();
        body[field] = value.clone();
        let (status, answer) = app.post("/projects", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value}: {answer}");
        assert_eq!(answer["field"], field, "{answer}");
        assert!(answer["error"].is_string());
    }
    let (_, list) = app.get("/projects").await;
    assert_eq!(list, json!([]));
}

/// Reads go to the replica pool and writes to the primary: with two databases, a project
/// written through the API is not seen by GET until it exists on the replica.
#[tokio::test]
async fn reads_use_the_replica_and_writes_the_primary() {
    let app = spawn(Spawn::role(Role::FundingRw).with_replica()).await;
    let id = app.create_project(5000, "KRW").await;
    let on_primary: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE id = ?")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(on_primary, 1);
    assert_eq!(
        app.get(&format!("/projects/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/projects").await.1, json!([]));

    // "Replication": the replica gets the row, with a title that shows where the read came from.
    let replica = &app.replica.as_ref().unwrap().pool;
    sqlx::query(
        "INSERT INTO projects (id, title, goal, currency, deadline, created_at) \
         VALUES (?, 'from the replica', 5000, 'KRW', '2999-01-01', NOW(6))",
    )
    .bind(&id)
    .execute(replica)
    .await
    .unwrap();
    let (status, body) = app.get(&format!("/projects/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["title"], "from the replica");

    // A funding is a write: it goes to the primary and shows in the primary only.
    assert_eq!(app.fund(&id, "pay-1", 100).await.0, StatusCode::CREATED);
    assert_eq!(raised(&app.db.pool, &id).await, 100);
    assert_eq!(raised(replica, &id).await, 0);
}

async fn raised(pool: &sqlx::MySqlPool, id: &str) -> i64 {
    sqlx::query_scalar("SELECT raised FROM projects WHERE id = ?")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}
