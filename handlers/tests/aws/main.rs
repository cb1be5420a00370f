//! The seed flows through real AWS SDK calls against moto server:
//! HTTP → broker → SNS → SQS → handlers → DynamoDB / SES / a stand-in Discord webhook.
//!
//! Needs `CROWDFUND_MOTO_URL` (`scripts/moto.sh start` prints it). Without it the tests skip
//! loudly, except in CI, where they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alarm_states;
mod helpers;
#[cfg(feature = "lambda")]
mod lambda;
#[cfg(feature = "lambda")]
mod runtime_emulator;
mod sandbox_gateway;
mod sqs_move;
mod toss;
mod triggers;

use crowdfund_core::domain::{PaymentRecord, PaymentStatus};
use crowdfund_core::metrics::{DIM_PROJECT, MetricName, NAMESPACE};
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::ports::{Ledger, MessageSender, MetricReader, QueueClient};
use crowdfund_core::topology::{self, QUEUE_DLQ, QUEUE_PARKED, QUEUE_PAYMENT_ATTEMPT};
use crowdfund_handlers::aws::cloudwatch::{CloudWatch, MetricQuery};
use crowdfund_handlers::aws::dynamodb::DynamoLedger;
use crowdfund_handlers::aws::provision::{Change, provision};
use crowdfund_handlers::aws::requests::RequestCounter;
use crowdfund_handlers::aws::sqs::SqsQueues;
use crowdfund_testkit::{MAIL_FROM, moto_url};
use helpers::{FakeDiscord, spawn_app};
use serde_json::Value;

async fn depth(app: &helpers::TestApp, queue: &str) -> u64 {
    let s = app.pipeline.queues.stats(queue).await.unwrap();
    s.visible + s.in_flight + s.delayed
}

/// Provisioning creates every resource once; a second run changes nothing and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_creates_the_topology_and_is_idempotent() {
    let Some(moto) = moto_url() else { return };
    let app = spawn_app(&moto, None).await;
    let first = &app.provisioned;
    let expected = topology::QUEUES.len() + 2 * topology::TOPICS.len() + 1 + 1;
    assert_eq!(first.steps.len(), expected);
    assert!(
        first.steps.iter().all(|s| s.change == Change::Created),
        "{first:?}"
    );
    let second = provision(&app.clients, MAIL_FROM).await.unwrap();
    assert_eq!(second.changed(), 0, "{second:?}");
    assert!(second.steps.iter().all(|s| s.change == Change::Unchanged));

    // The redrive policy and the parked queue's retention are the topology's.
    let sqs = &app.clients.sqs;
    let url = app
        .pipeline
        .queues
        .url(topology::QUEUE_SEND_EMAIL)
        .await
        .unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    let policy: Value =
        serde_json::from_str(&attrs[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy])
            .unwrap();
    assert!(
        policy["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with(":etc_dlq")
    );
    assert_eq!(policy["maxReceiveCount"].to_string().trim_matches('"'), "3");
    let url = app.pipeline.queues.url(QUEUE_PARKED).await.unwrap();
    let parked = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod)
        .send()
        .await
        .unwrap();
    assert_eq!(
        parked.attributes().unwrap()
            [&aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod],
        "1209600"
    );
}

/// An approved payment ends as one ledger item, one SES mail and one funding raise, and a
/// duplicate checkout (same payment id) changes none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_payment_reaches_dynamodb_ses_and_funding_once() {
    let Some(moto) = moto_url() else { return };
    let app = spawn_app(&moto, None).await;
    let (status, answer) = app.pay("pay-1", "prj-1", "tok_approve").await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["destination"], "payment_attempt");
    assert!(answer["messageId"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(
        app.drain().await >= 3,
        "pg, send_email and funding_update ran"
    );
    let (status, _) = app.pay("pay-1", "prj-1", "tok_approve").await;
    assert_eq!(status, 202);
    app.drain().await;

    let record = app
        .pipeline
        .ledger
        .get_payment("pay-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, PaymentStatus::Approved);
    assert_eq!(record.amount.amount, 50_000);
    let ledger = app
        .pipeline
        .ledger
        .payments_of_project("prj-1", None)
        .await
        .unwrap();
    assert_eq!(ledger.len(), 1);
    let mails = app.sent_mails().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].0, "pay-1@example.com");
    assert!(mails[0].2.contains("pay-1"));
    assert_eq!(app.raised("prj-1"), 50_000);
    for q in topology::QUEUES {
        assert_eq!(depth(&app, q.name).await, 0, "{} is empty", q.name);
    }
    // The runner put the handlers' metrics into CloudWatch: one approval, the duplicate not
    // counted again.
    let cw = CloudWatch::new(app.clients.cloudwatch.clone());
    let now = chrono::Utc::now().timestamp();
    let series = cw
        .get_metric_data(
            &[MetricQuery {
                id: "approved".into(),
                namespace: NAMESPACE.into(),
                metric: MetricName::PaymentsApproved.as_str().into(),
                dimensions: vec![(DIM_PROJECT.into(), "prj-1".into())],
                stat: "Sum".into(),
                period_seconds: 60,
            }],
            now - 600,
            now + 60,
        )
        .await
        .unwrap();
    let approvals: f64 = series[0].points.iter().map(|(_, v)| v).sum();
    assert_eq!(approvals, 1.0, "{series:?}");
}

/// A declined card is recorded, its backer mailed once, and parked at once (`attempts` 0,
/// `declined`) with no alert. A fault (a body that is not JSON) is parked and alerted through
/// Discord, after a 429 the alerter waits out, with its count; nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_is_parked_unpaged_and_a_fault_is_alerted() {
    let Some(moto) = moto_url() else { return };
    let (discord, webhook) = FakeDiscord::start(1).await;
    let app = spawn_app(&moto, Some(webhook)).await;
    let (status, _) = app.pay("pay-declined", "prj-1", "tok_decline").await;
    assert_eq!(status, 202);
    app.drain().await;

    let record = app
        .pipeline
        .ledger
        .get_payment("pay-declined")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, PaymentStatus::Declined);
    assert_eq!(depth(&app, QUEUE_DLQ).await, 0);
    let parked = app.pipeline.queues.peek(QUEUE_PARKED, 10).await.unwrap();
    assert_eq!(parked.len(), 1, "exactly one parked copy");
    let body: Value = serde_json::from_str(&parked[0].body).unwrap();
    assert_eq!(body["payload"]["paymentId"], "pay-declined");
    assert_eq!(
        (&body["attempts"], &body["declined"]),
        (&serde_json::json!(0), &serde_json::json!(true))
    );
    assert!(discord.bodies().is_empty(), "a decline pages nobody");
    let mails = app.sent_mails().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].1.contains("did not go through"), "{mails:?}");
    assert_eq!(app.raised("prj-1"), 0);

    app.pipeline
        .queues
        .send(QUEUE_PAYMENT_ATTEMPT, "<xml>not json</xml>", 0)
        .await
        .unwrap();
    app.drain().await;
    assert_eq!(depth(&app, QUEUE_PARKED).await, 2);
    let alerts = discord.bodies();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        *discord.requests.lock().unwrap(),
        2,
        "one 429, then the alert"
    );
    let embed = &alerts[0]["embeds"][0];
    let field = |name: &str| {
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["value"].clone())
            .unwrap()
    };
    assert_eq!(field("kind"), "unreadable");
    assert_eq!(field("parkedIn"), "etc_parked");
    assert_eq!(field("parked since the last alert"), "1");
    assert!(
        alerts[0]["content"]
            .as_str()
            .unwrap()
            .contains("etc_parked")
    );
}

/// A goal check cancels exactly the payments made after `achievedAt` (Query on the index),
/// mails a refund notice for each, reverses their funding, and a second check cancels nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goal_check_cancels_only_later_payments_once() {
    let Some(moto) = moto_url() else { return };
    let app = spawn_app(&moto, None).await;
    app.pay("pay-early", "prj-2", "tok_approve").await;
    app.pay("pay-other-project", "prj-1", "tok_approve").await;
    app.drain().await;
    let achieved_at = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.pay("pay-late-1", "prj-2", "tok_approve").await;
    app.pay("pay-late-2", "prj-2", "tok_approve").await;
    app.drain().await;
    assert_eq!(app.raised("prj-2"), 150_000);

    let goal = serde_json::json!({
        "destination": "goal_achievement",
        "projectId": "prj-2",
        "achievedAt": achieved_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
    .to_string();
    for _ in 0..2 {
        let (status, answer) = app.post_broker(&goal).await;
        assert_eq!(status, 202, "{answer}");
        app.drain().await;
    }
    let status_of = |id: &'static str| {
        let ledger = app.pipeline.ledger.clone();
        async move { ledger.get_payment(id).await.unwrap().unwrap().status }
    };
    assert_eq!(status_of("pay-early").await, PaymentStatus::Approved);
    assert_eq!(
        status_of("pay-other-project").await,
        PaymentStatus::Approved
    );
    assert_eq!(status_of("pay-late-1").await, PaymentStatus::Cancelled);
    assert_eq!(status_of("pay-late-2").await, PaymentStatus::Cancelled);
    let after = app
        .pipeline
        .ledger
        .payments_of_project("prj-2", Some(achieved_at))
        .await
        .unwrap();
    assert_eq!(after.len(), 2);
    assert_eq!(app.raised("prj-2"), 50_000);
    assert_eq!(app.raised("prj-1"), 50_000);
    let mails = app.sent_mails().await;
    let refunds = mails.iter().filter(|m| m.1.contains("refunded")).count();
    assert_eq!(refunds, 2, "{mails:?}");
    assert_eq!(
        mails.len(),
        6,
        "four receipts and two refund notices: {mails:?}"
    );
}

/// Many payments in one `get_payments`: 250 written are read back whole over three
/// BatchGetItem requests (100 keys each at most), repeated ids are read once, and ids the
/// ledger does not hold (or that name other items of the table) are absent from the map.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_reads_many_payments_in_batches() {
    use futures::{StreamExt, TryStreamExt};
    let Some(moto) = moto_url() else { return };
    let app = spawn_app(&moto, None).await;
    let ledger = app.pipeline.ledger.clone();
    let paid_at: chrono::DateTime<chrono::Utc> = "2026-11-20T12:00:00Z".parse().unwrap();
    let records: Vec<PaymentRecord> = (0..250)
        .map(|i| PaymentRecord {
            payment_id: format!("pay-{i:04}"),
            project_id: "prj-1".into(),
            backer_email: format!("backer-{i}@example.com"),
            amount: Money::new(1_000 + i64::from(i), Currency::KRW),
            status: if i % 10 == 0 {
                PaymentStatus::Declined
            } else {
                PaymentStatus::Approved
            },
            paid_at: paid_at + chrono::Duration::seconds(i64::from(i)),
            charge_id: (i % 10 != 0).then(|| format!("ch_pay-{i:04}")),
            decline_reason: (i % 10 == 0).then(|| "card declined".to_string()),
            cancel_id: None,
            cancelled_at: None,
        })
        .collect();
    futures::stream::iter(records.iter().map(|r| ledger.put_payment(r)))
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();

    let mut ids: Vec<String> = records.iter().map(|r| r.payment_id.clone()).collect();
    ids.extend(
        [
            "pay-missing-1",
            "pay-missing-2",
            "idem#mail#receipt#pay-0001",
            "pay-0001",
        ]
        .map(String::from),
    );
    // Its own client, whose requests are counted: 252 distinct payment ids are 3 requests.
    let counter = RequestCounter::new();
    let client = aws_sdk_dynamodb::Client::from_conf(
        app.clients
            .dynamodb
            .config()
            .to_builder()
            .interceptor(counter.clone())
            .build(),
    );
    let counted = DynamoLedger::new(client, topology::TABLE_PAYMENTS);
    let found = counted.get_payments(&ids).await.unwrap();
    assert_eq!(
        counter.total(),
        3,
        "BatchGetItem requests of at most 100 keys"
    );
    assert_eq!(found.len(), 250);
    for r in &records {
        assert_eq!(found.get(&r.payment_id), Some(r), "{}", r.payment_id);
    }
    for absent in [
        "pay-missing-1",
        "pay-missing-2",
        "idem#mail#receipt#pay-0001",
    ] {
        assert!(!found.contains_key(absent), "{absent}");
    }
    assert!(counted.get_payments(&[]).await.unwrap().is_empty());
    assert_eq!(counter.total(), 3, "no ids, no request");
}

/// A bad body is refused with 400 naming the field, and nothing reaches any queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_refuses_bad_bodies_and_publishes_nothing() {
    let Some(moto) = moto_url() else { return };
    let app = spawn_app(&moto, None).await;
    let bad = [
        (r#"{"destination":"nowhere"}"#, "destination"),
        ("not json", ""),
        (
            r#"{"destination":"payment_attempt","paymentId":"p","projectId":"prj-1","backerEmail":"b@example.com","amount":-5,"currency":"KRW","card":"tok_approve"}"#,
            "amount",
        ),
    ];
    for (body, field) in bad {
        let (status, answer) = app.post_broker(body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
        if !field.is_empty() {
            assert_eq!(answer["field"], field, "{body}");
        }
    }
    for q in topology::QUEUES {
        assert_eq!(depth(&app, q.name).await, 0, "{} is empty", q.name);
    }
}

/// The SQS adapter: batch send, peek without consuming, stats, batch delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_adapter_peeks_without_consuming() {
    let Some(moto) = moto_url() else { return };
    let app = spawn_app(&moto, None).await;
    let q = SqsQueues::new(app.clients.sqs.clone());
    let entries: Vec<_> = (0..12)
        .map(|i| crowdfund_core::ports::OutgoingMessage {
            entry_id: i.to_string(),
            body: format!("{{\"n\":{i}}}"),
            delay_seconds: 0,
        })
        .collect();
    assert!(
        q.send_batch(QUEUE_PARKED, &entries).await.is_err(),
        "11+ refused"
    );
    let sent = q.send_batch(QUEUE_PARKED, &entries[..10]).await.unwrap();
    assert_eq!(sent.sent.len(), 10);
    q.send(QUEUE_PARKED, "{\"n\":10}", 0).await.unwrap();
    let peeked = q.peek(QUEUE_PARKED, 100).await.unwrap();
    assert_eq!(peeked.len(), 11);
    let stats = q.stats(QUEUE_PARKED).await.unwrap();
    assert_eq!(
        (stats.visible, stats.in_flight),
        (11, 0),
        "peek released them"
    );
    let got = q.receive(QUEUE_PARKED, 10, 30).await.unwrap();
    let handles: Vec<String> = got.iter().map(|m| m.receipt_handle.clone()).collect();
    assert!(
        q.delete_batch(QUEUE_PARKED, &handles)
            .await
            .unwrap()
            .is_empty()
    );
    let stats = q.stats(QUEUE_PARKED).await.unwrap();
    assert_eq!(stats.visible + stats.in_flight, 11 - got.len() as u64);
    assert!(matches!(
        q.stats("no_such_queue").await,
        Err(crowdfund_core::ports::PortError::NotFound { .. })
    ));
}

/// The funding API client against a stub crowdfund-api: 201 applied, 200 duplicate, 404 not
/// found, 503 retryable, 400 rejected, and the project list. Needs no moto.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn funding_api_client_maps_statuses() {
    use axum::extract::Path;
    use axum::http::StatusCode;
    use axum::routing::{delete, get, post};
    use crowdfund_core::money::{Currency, Money};
    use crowdfund_core::ports::{FundingApi, FundingOutcome, PortError};
    use crowdfund_handlers::aws::funding_http::HttpFundingApi;
    use serde_json::json;

    async fn fund(
        Path(project): Path<String>,
        axum::Json(body): axum::Json<Value>,
    ) -> (StatusCode, axum::Json<Value>) {
        match (project.as_str(), body["paymentId"].as_str()) {
            ("prj-1", Some("pay-new")) => {
                assert_eq!(body["amount"], 50_000);
                assert_eq!(body["currency"], "KRW");
                (
                    StatusCode::CREATED,
                    axum::Json(json!({"raised": 50_000, "levels": {"goal": 100_000,
                        "raised": 50_000, "backers": 1, "reversed": 0, "reversals": 0}})),
                )
            }
            ("prj-1", Some(_)) => (
                StatusCode::OK,
                axum::Json(json!({"project": {"raised": 50_000}})),
            ),
            ("prj-down", _) => (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"error": "db down"})),
            ),
            ("prj-eur", _) => (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": "currency mismatch"})),
            ),
            _ => (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": "no such project"})),
            ),
        }
    }
    let app = axum::Router::new()
        .route("/projects/{id}/fundings", post(fund))
        .route(
            "/projects/{id}/fundings/{payment}",
            delete(|| async { axum::Json(json!({"raised": 0})) }),
        )
        .route(
            "/projects",
            get(|| async {
                axum::Json(
                    json!([{"id": "prj-1", "title": "t", "goal": 100, "currency": "KRW",
                    "raised": 5, "backers": 1, "deadline": "2026-12-01T00:00:00Z"}]),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let api = HttpFundingApi::new(&base).unwrap();
    let krw = Money::new(50_000, Currency::KRW);
    assert_eq!(
        api.raise("prj-1", "pay-new", krw, None).await.unwrap(),
        FundingOutcome::Applied {
            raised: 50_000,
            levels: Some(crowdfund_core::domain::ProjectLevels {
                goal: 100_000,
                raised: 50_000,
                backers: 1,
                reversed: 0,
                reversals: 0
            })
        }
    );
    assert_eq!(
        api.raise("prj-1", "pay-old", krw, None).await.unwrap(),
        FundingOutcome::Duplicate { raised: 50_000 }
    );
    let down = api.raise("prj-down", "p", krw, None).await.unwrap_err();
    assert!(down.is_retryable(), "{down}");
    assert!(matches!(
        api.raise("prj-x", "p", krw, None).await,
        Err(PortError::NotFound { .. })
    ));
    assert!(matches!(
        api.raise("prj-eur", "p", krw, None).await,
        Err(PortError::Rejected(_))
    ));
    assert_eq!(
        api.reverse("prj-1", "pay-new").await.unwrap(),
        FundingOutcome::Applied {
            raised: 0,
            levels: None
        },
        "an API that does not say leaves the levels unknown"
    );
    let projects = api.projects().await.unwrap();
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0].raised, 5);
    // Nothing listening: a transport failure is retryable.
    let gone = HttpFundingApi::new("http://127.0.0.1:9").unwrap();
    assert!(gone.projects().await.unwrap_err().is_retryable());
}
