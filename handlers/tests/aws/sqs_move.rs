//! The move-task adapter against a local stub that speaks SQS's JSON protocol: moto answers
//! StartMessageMoveTask with a 500, so this is where the native path's calls are checked.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use crowdfund_core::ports::{MessageMoveTasks, PortError};
use crowdfund_handlers::aws::AwsClients;
use crowdfund_handlers::aws::sqs::SqsQueues;
use crowdfund_testkit::endpoint_settings;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const ACCOUNT: &str = "123456789012";

/// What the stub was asked, and how far its one task has got.
#[derive(Default)]
struct Stub {
    calls: Vec<(String, Value)>,
    moved: u64,
    cancelled: bool,
}

const TO_MOVE: u64 = 12;

fn answer(stub: &Mutex<Stub>, base: &str, target: &str, body: Value) -> (StatusCode, String) {
    let Ok(mut s) = stub.lock() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, String::new());
    };
    s.calls.push((target.to_string(), body.clone()));
    let arn = |name: &str| format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}");
    let reply = match target {
        "GetQueueUrl" => {
            json!({"QueueUrl": format!("{base}/{ACCOUNT}/{}", body["QueueName"].as_str().unwrap_or(""))})
        }
        "GetQueueAttributes" => {
            let name = body["QueueUrl"]
                .as_str()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or("");
            json!({"Attributes": {"QueueArn": arn(name)}})
        }
        "StartMessageMoveTask" => json!({"TaskHandle": "handle-1"}),
        "ListMessageMoveTasks" => {
            if !s.cancelled {
                s.moved = (s.moved + 5).min(TO_MOVE);
            }
            let status = match (s.cancelled, s.moved == TO_MOVE) {
                (true, _) => "CANCELLED",
                (false, true) => "COMPLETED",
                (false, false) => "RUNNING",
            };
            let mut entry = json!({
                "Status": status,
                "SourceArn": body["SourceArn"],
                "ApproximateNumberOfMessagesMoved": s.moved,
                "ApproximateNumberOfMessagesToMove": TO_MOVE,
                "StartedTimestamp": 1_700_000_000_000_u64
            });
            if status == "RUNNING" {
                entry["TaskHandle"] = json!("handle-1");
            }
            json!({"Results": [entry]})
        }
        "CancelMessageMoveTask" if body["TaskHandle"] == "handle-1" => {
            s.cancelled = true;
            json!({"ApproximateNumberOfMessagesMoved": s.moved})
        }
        "CancelMessageMoveTask" => {
            return (
                StatusCode::BAD_REQUEST,
                json!({"__type": "com.amazonaws.sqs#ResourceNotFoundException", "message": "no such task"})
                    .to_string(),
            );
        }
        other => {
            return (
                StatusCode::BAD_REQUEST,
                json!({"__type": "com.amazonaws.sqs#InvalidAction", "message": format!("stub does not do {other}")})
                    .to_string(),
            );
        }
    };
    (StatusCode::OK, reply.to_string())
}

async fn spawn_stub() -> (String, Arc<Mutex<Stub>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let stub = Arc::new(Mutex::new(Stub::default()));
    let (s, b) = (stub.clone(), base.clone());
    let app = Router::new().route(
        "/",
        post(move |headers: HeaderMap, body: String| async move {
            let target = headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .and_then(|t| t.strip_prefix("AmazonSQS."))
                .unwrap_or("")
                .to_string();
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let (status, reply) = answer(&s, &b, &target, body);
            (
                status,
                [("content-type", "application/x-amz-json-1.0")],
                reply,
            )
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, stub)
}

async fn queues(endpoint: &str) -> SqsQueues {
    let clients = AwsClients::load(&endpoint_settings(endpoint))
        .await
        .expect("config");
    SqsQueues::new(clients.sqs)
}

#[tokio::test]
async fn a_move_task_is_started_by_arn_followed_and_cancelled() {
    let (base, stub) = spawn_stub().await;
    let sqs = queues(&base).await;

    let handle = sqs
        .start_move("etc_dlq", Some("payment_attempt"), Some(50))
        .await
        .expect("start");
    assert_eq!(handle, "handle-1");
    let first = sqs.list_moves("etc_dlq").await.expect("list");
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].status.as_str(), first[0].moved, first[0].to_move),
        ("RUNNING", 5, Some(TO_MOVE))
    );
    assert_eq!(first[0].task_handle.as_deref(), Some("handle-1"));
    assert_eq!(sqs.cancel_move(&handle).await.expect("cancel"), 5);
    let after = sqs.list_moves("etc_dlq").await.expect("list");
    assert_eq!(
        (after[0].status.as_str(), after[0].task_handle.as_deref()),
        ("CANCELLED", None)
    );

    let calls = stub.lock().map(|s| s.calls.clone()).unwrap_or_default();
    let start = calls
        .iter()
        .find(|(t, _)| t == "StartMessageMoveTask")
        .map(|(_, b)| b.clone())
        .expect("StartMessageMoveTask was called");
    assert_eq!(
        start["SourceArn"],
        format!("arn:aws:sqs:us-east-1:{ACCOUNT}:etc_dlq")
    );
    assert_eq!(
        start["DestinationArn"],
        format!("arn:aws:sqs:us-east-1:{ACCOUNT}:payment_attempt")
    );
    assert_eq!(start["MaxNumberOfMessagesPerSecond"], 50);
}

#[tokio::test]
async fn without_a_destination_sqs_moves_back_to_the_sources() {
    let (base, stub) = spawn_stub().await;
    let sqs = queues(&base).await;
    sqs.start_move("etc_dlq", None, None).await.expect("start");
    let calls = stub.lock().map(|s| s.calls.clone()).unwrap_or_default();
    let (_, start) = calls
        .iter()
        .find(|(t, _)| t == "StartMessageMoveTask")
        .expect("started");
    assert!(start.get("DestinationArn").is_none(), "{start}");
    assert!(
        start.get("MaxNumberOfMessagesPerSecond").is_none(),
        "{start}"
    );
}

#[tokio::test]
async fn cancelling_an_unknown_task_says_not_found() {
    let (base, _stub) = spawn_stub().await;
    let sqs = queues(&base).await;
    let err = sqs.cancel_move("nope").await.expect_err("unknown task");
    assert!(
        matches!(err, PortError::NotFound { .. } | PortError::Rejected(_)),
        "{err}"
    );
}
