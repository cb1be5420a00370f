//! Fundings: raised exactly once per payment id, reversed exactly once, tombstones.

use crate::helpers::spawn_app;
use axum::http::StatusCode;
use crowdfund_api::config::Role;
use serde_json::{Value, json};

async fn project(app: &crate::helpers::TestApp, id: &str) -> Value {
    let (status, body) = app.get(&format!("/projects/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    body
}

/// The first funding is 201; the same paymentId again is 200 with the first result, and the
/// project is raised once. Both carry the project's levels (of now: they are not kept per
/// funding).
#[tokio::test]
async fn a_duplicate_funding_returns_the_first_result() {
    let app = spawn_app(Role::FundingRw).await;
    let id = app.create_project(100_000, "KRW").await;
    let (status, first) = app.fund(&id, "pay-1", 30_000).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        first,
        json!({"paymentId": "pay-1", "projectId": id, "amount": 30000, "currency": "KRW",
            "raised": 30000, "reversed": false,
            "levels": {"goal": 100000, "raised": 30000, "backers": 1, "reversed": 0, "reversals": 0}})
    );
    app.fund(&id, "pay-2", 5_000).await;
    let (status, again) = app.fund(&id, "pay-1", 30_000).await;
    assert_eq!(status, StatusCode::OK);
    let mut expected = first.clone();
    expected["levels"]["backers"] = json!(2);
    expected["levels"]["raised"] = json!(35000);
    assert_eq!(again, expected);
    let p = project(&app, &id).await;
    assert_eq!(
        (p["raised"].clone(), p["backers"].clone()),
        (json!(35000), json!(2))
    );
}

/// Payment ids are case-sensitive: `pay-A` and `pay-a` are two payments.
#[tokio::test]
async fn payment_ids_are_case_sensitive() {
    let app = spawn_app(Role::FundingRw).await;
    let id = app.create_project(100_000, "KRW").await;
    assert_eq!(app.fund(&id, "pay-A", 100).await.0, StatusCode::CREATED);
    assert_eq!(app.fund(&id, "pay-a", 100).await.0, StatusCode::CREATED);
    assert_eq!(project(&app, &id).await["raised"], 200);
}

/// 50 identical fundings sent at once raise the project once: one 201, 49 × 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_duplicates_raise_once() {
    let app = spawn_app(Role::FundingRw).await;
    let id = app.create_project(1_000_000, "KRW").await;
    let requests = (0..50).map(|_| app.fund(&id, "pay-same", 1_234));
    let answers = futures::future::join_all(requests).await;
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let repeated = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!((created, repeated), (1, 49), "{answers:?}");
    assert!(
        answers.iter().all(|(_, b)| b["raised"] == 1234),
        "{answers:?}"
    );
    let p = project(&app, &id).await;
    assert_eq!(
        (p["raised"].clone(), p["backers"].clone()),
        (json!(1234), json!(1))
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fundings")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

/// Concurrent distinct payments all count (the project row lock loses no update).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_distinct_fundings_all_count() {
    let app = spawn_app(Role::FundingRw).await;
    let id = app.create_project(1_000_000, "KRW").await;
    let ids: Vec<String> = (0..40).map(|i| format!("pay-{i}")).collect();
    let answers = futures::future::join_all(ids.iter().map(|p| app.fund(&id, p, 10))).await;
    assert!(
        answers.iter().all(|(s, _)| *s == StatusCode::CREATED),
        "{answers:?}"
    );
    let p = project(&app, &id).await;
    assert_eq!(
        (p["raised"].clone(), p["backers"].clone()),
        (json!(400), json!(40))
    );
}

/// DELETE takes a funding back out once; repeating it changes nothing.
#[tokio::test]
async fn a_reversal_applies_once() {
    let app = spawn_app(Role::FundingRw).await;
    let id = app.create_project(100_000, "KRW").await;
    app.fund(&id, "pay-1", 7_000).await;
    app.fund(&id, "pay-2", 3_000).await;
    let path = format!("/projects/{id}/fundings/pay-1");
    let (status, first) = app.delete(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        first,
        json!({"paymentId": "pay-1", "projectId": id, "outcome": "applied", "amount": 7000,
            "raised": 3000, "beforeRaise": false,
            "levels": {"goal": 100000, "raised": 3000, "backers": 1, "reversed": 7000, "reversals": 1}})
    );
    let (status, again) = app.delete(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["outcome"], "duplicate");
    assert_eq!(again["raised"], 3000);
    assert_eq!(
        again["levels"],
        json!({"goal": 100000, "raised": 3000, "backers": 1, "reversed": 7000, "reversals": 1})
    );
    let p = project(&app, &id).await;
    assert_eq!(
        (p["raised"].clone(), p["backers"].clone()),
        (json!(3000), json!(1))
    );
    // The payment id stays used: raising it again is a duplicate that shows it reversed.
    let (status, raised_again) = app.fund(&id, "pay-1", 7_000).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(raised_again["reversed"], true);
    assert_eq!(project(&app, &id).await["raised"], 3000);
}

/// A reversal that overtakes its raise leaves a tombstone: the late raise changes nothing.
#[tokio::test]
async fn a_reversal_before_its_raise_makes_the_raise_a_no_op() {
    let app = spawn_app(Role::FundingRw).await;
    let id = app.create_project(100_000, "KRW").await;
    let (status, body) = app
        .delete(&format!("/projects/{id}/fundings/pay-late"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["outcome"], "applied");
    assert_eq!(body["beforeRaise"], true);
    assert_eq!(
        body["levels"],
        json!({"goal": 100000, "raised": 0, "backers": 0, "reversed": 0, "reversals": 0}),
        "a tombstone takes nothing out"
    );
    let (status, late) = app.fund(&id, "pay-late", 9_000).await;
    assert_eq!(status, StatusCode::OK, "{late}");
    assert_eq!(late["reversed"], true);
    assert_eq!(late["amount"], 0);
    let p = project(&app, &id).await;
    assert_eq!(
        (p["raised"].clone(), p["backers"].clone()),
        (json!(0), json!(0))
    );
    let (_, again) = app
        .delete(&format!("/projects/{id}/fundings/pay-late"))
        .await;
    assert_eq!(again["outcome"], "duplicate");
}

/// Wrong types, zero/negative/fractional amounts and currency mismatches are 400 naming the
/// field; an unknown project is 404; nothing is written.
#[tokio::test]
async fn bad_fundings_are_refused_and_change_nothing() {
    let app = spawn_app(Role::FundingRw).await;
    let id = app.create_project(100_000, "KRW").await;
    let path = format!("/projects/{id}/fundings");
    let good = json!({"paymentId": "pay-1", "amount": 1000, "currency": "KRW"});
    let cases = [
        ("amount", json!(0)),
        ("amount", json!(-1000)),
        ("amount", json!(10.5)),
        ("amount", json!(1000.0)),
        ("amount", json!("1000")),
        ("amount", json!(null)),
        ("amount", json!(1e300)),
        ("paymentId", json!(12)),
        ("paymentId", json!("has space")),
        ("paymentId", json!("")),
        ("currency", json!("USD")),
        ("currency", json!("usd")),
        ("currency", json!(true)),
    ];
    for (field, value) in cases {
        let mut body = good.clone();
        body[field] = value.clone();
        let (status, answer) = app.post(&path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value}: {answer}");
        assert_eq!(answer["field"], field, "{answer}");
    }
    let (status, answer) = app.post(&path, &json!([good.clone()])).await;
    assert_eq!(
        (status, answer["field"].clone()),
        (StatusCode::BAD_REQUEST, Value::Null)
    );
    let (status, answer) = app.post("/projects/prj-nope/fundings", &good).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, _) = app.delete("/projects/prj-nope/fundings/pay-1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, answer) = app
        .delete(&format!("/projects/{id}/fundings/bad%20id"))
        .await;
    assert_eq!(
        (status, answer["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("paymentId"))
    );

    let p = project(&app, &id).await;
    assert_eq!(
        (p["raised"].clone(), p["backers"].clone()),
        (json!(0), json!(0))
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fundings")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

/// A payment id reused with another amount or for another project is a 409, not a duplicate.
#[tokio::test]
async fn a_reused_payment_id_with_other_content_is_409() {
    let app = spawn_app(Role::FundingRw).await;
    let a = app.create_project(100_000, "KRW").await;
    let b = app.create_project(100_000, "KRW").await;
    assert_eq!(app.fund(&a, "pay-1", 1_000).await.0, StatusCode::CREATED);
    let (status, body) = app.fund(&a, "pay-1", 2_000).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app.fund(&b, "pay-1", 1_000).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = app.delete(&format!("/projects/{b}/fundings/pay-1")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(project(&app, &a).await["raised"], 1000);
    assert_eq!(project(&app, &b).await["raised"], 0);
}

/// A raise and its reversal racing each other end the same whichever runs first: the project
/// is back where it started (reversed after the raise, or the raise is a no-op after a tombstone).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_raises_and_reversals_cancel_out() {
    let app = spawn_app(Role::FundingRw).await;
    let id = app.create_project(1_000_000, "KRW").await;
    app.fund(&id, "pay-keep", 500).await;
    let pairs = (0..20).map(|i| {
        let (app, id) = (&app, &id);
        async move {
            let payment = format!("pay-race-{i}");
            let path = format!("/projects/{id}/fundings/{payment}");
            let (raise, reverse) = tokio::join!(app.fund(id, &payment, 1_000), app.delete(&path));
            assert!(
                raise.0.is_success() && reverse.0.is_success(),
                "{raise:?} {reverse:?}"
            );
        }
    });
    futures::future::join_all(pairs).await;
    let p = project(&app, &id).await;
    assert_eq!(
        (p["raised"].clone(), p["backers"].clone()),
        (json!(500), json!(1))
    );
}

/// A raise and a reversal answer with the project's levels right after: goal, raised and
/// backers, and the reversal totals that make raised + reversed and backers + reversals only
/// grow, which funding_update reports as the project's gauges.
#[tokio::test]
async fn raises_and_reversals_answer_the_projects_levels() {
    let app = spawn_app(Role::FundingRw).await;
    let id = app.create_project(50_000, "KRW").await;
    let mut raised_ever = Vec::new();
    for (n, payment) in ["pay-1", "pay-2", "pay-3"].into_iter().enumerate() {
        let (status, raised) = app.fund(&id, payment, 10_000).await;
        assert_eq!(status, StatusCode::CREATED, "{raised}");
        let levels = &raised["levels"];
        assert_eq!(levels["goal"], 50_000);
        assert_eq!(levels["backers"], n + 1, "{raised}");
        raised_ever.push(levels["raised"].as_i64().unwrap() + levels["reversed"].as_i64().unwrap());
    }
    let (status, reversed) = app.delete(&format!("/projects/{id}/fundings/pay-2")).await;
    assert_eq!(status, StatusCode::OK, "{reversed}");
    assert_eq!(
        reversed["levels"],
        json!({"goal": 50000, "raised": 20000, "backers": 2, "reversed": 10000, "reversals": 1})
    );
    let levels = &reversed["levels"];
    raised_ever.push(levels["raised"].as_i64().unwrap() + levels["reversed"].as_i64().unwrap());
    assert_eq!(raised_ever, [10_000, 20_000, 30_000, 30_000], "only grows");
    let p = project(&app, &id).await;
    assert_eq!(
        (p["raised"].clone(), p["backers"].clone()),
        (json!(20000), json!(2))
    );
}
