//! The moto-backed test app: one moto server for the suite, reset before each test.
//!
//! Topology names are fixed (they are the system's names), so tests cannot share an endpoint
//! at the same time. Each test takes a suite-wide lock, resets moto (`POST /moto-api/reset`),
//! provisions from scratch and runs alone: one server start for the whole suite instead of one
//! per test, and no cross-talk.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use crowdfund_core::money::{Currency, Money};
use crowdfund_handlers::aws::pipeline::{AwsPipeline, PipelineOptions};
use crowdfund_handlers::aws::provision::ProvisionReport;
use crowdfund_handlers::aws::{AwsClients, broker_http};
use crowdfund_testkit::{MAIL_FROM, ProvisionedMoto, provisioned_moto};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub static SUITE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A stand-in for the Discord webhook: records every body; answers 429 to the first
/// `rate_limit_first` requests.
#[derive(Clone, Default)]
pub struct FakeDiscord {
    pub bodies: Arc<Mutex<Vec<Value>>>,
    pub requests: Arc<Mutex<u32>>,
    pub rate_limit_first: u32,
}

impl FakeDiscord {
    pub async fn start(rate_limit_first: u32) -> (FakeDiscord, String) {
        let fake = FakeDiscord {
            rate_limit_first,
            ..FakeDiscord::default()
        };
        let app = axum::Router::new()
            .route("/api/webhooks/1/secret-token", post(webhook))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/api/webhooks/1/secret-token",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (fake, url)
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn webhook(
    State(fake): State<FakeDiscord>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let n = {
        let mut r = fake.requests.lock().unwrap();
        *r += 1;
        *r
    };
    if n <= fake.rate_limit_first {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(
                serde_json::json!({"message": "You are being rate limited.", "retry_after": 0.05, "global": false}),
            ),
        );
    }
    fake.bodies.lock().unwrap().push(body);
    (StatusCode::NO_CONTENT, Json(Value::Null))
}

pub struct TestApp {
    pub moto: String,
    pub clients: AwsClients,
    pub pipeline: AwsPipeline,
    pub broker_url: String,
    pub provisioned: ProvisionReport,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _suite: tokio::sync::MutexGuard<'static, ()>,
}

/// Resets moto, provisions, wires the pipeline (retry delays capped at 0 s) and starts the
/// broker on a free port. Projects `prj-1` and `prj-2` (KRW, large goals) exist in the
/// in-memory funding store.
pub async fn spawn_app(moto: &str, webhook_url: Option<String>) -> TestApp {
    let suite = SUITE.lock().await;
    let ProvisionedMoto {
        clients,
        report: provisioned,
        ..
    } = provisioned_moto(moto).await;
    let pipeline = AwsPipeline::new(
        &clients,
        &PipelineOptions {
            webhook_url,
            funding_api_url: None,
            mail_from: MAIL_FROM.into(),
            max_retry_delay_seconds: Some(0),
            put_metrics: true,
        },
    )
    .unwrap();
    let deadline = chrono::Utc::now() + chrono::Duration::days(30);
    for id in ["prj-1", "prj-2"] {
        pipeline.world.create_project(
            id,
            &format!("Project {id}"),
            Money::new(100_000_000, Currency::KRW),
            deadline,
        );
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, _task) = broker_http::serve(pipeline.broker.clone(), 0, async {
        let _ = stopped.await;
    })
    .await
    .unwrap();
    TestApp {
        moto: moto.to_string(),
        clients,
        pipeline,
        broker_url: format!("http://{addr}/broker"),
        provisioned,
        http: reqwest::Client::new(),
        _stop: stop,
        _suite: suite,
    }
}

impl TestApp {
    /// `POST /broker` with a JSON (or any) body: (status, JSON answer).
    pub async fn post_broker(&self, body: &str) -> (u16, Value) {
        let r = self
            .http
            .post(&self.broker_url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn pay(&self, payment_id: &str, project_id: &str, card: &str) -> (u16, Value) {
        self.post_broker(&payment_body(payment_id, project_id, card))
            .await
    }

    /// Runs the handlers until every drained queue is empty.
    pub async fn drain(&self) -> u64 {
        self.pipeline
            .run_until_idle(Duration::from_secs(60))
            .await
            .expect("pipeline goes idle")
    }

    /// Mails in moto's SES sent-mail store: (to, subject, body).
    pub async fn sent_mails(&self) -> Vec<(String, String, String)> {
        let data: Value = self
            .http
            .get(format!("{}/moto-api/data.json", self.moto))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        data["ses"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                (
                    m["destinations"]["ToAddresses"][0]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    m["subject"].as_str().unwrap_or_default().to_string(),
                    m["body"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    pub fn raised(&self, project_id: &str) -> i64 {
        self.pipeline
            .world
            .project_list()
            .into_iter()
            .find(|p| p.id == project_id)
            .map_or(0, |p| p.raised)
    }
}

pub fn payment_body(payment_id: &str, project_id: &str, card: &str) -> String {
    serde_json::json!({
        "destination": "payment_attempt",
        "paymentId": payment_id,
        "projectId": project_id,
        "backerEmail": format!("{payment_id}@example.com"),
        "amount": 50000,
        "currency": "KRW",
        "card": card,
    })
    .to_string()
}
