//! `spawn_app()`: a real server on 127.0.0.1:0 over a fresh database, and a stub broker.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use crowdfund_api::broker::Signer;
use crowdfund_api::config::{OutboxSettings, Role, Settings};
use crowdfund_api::{Application, Dependencies};
use crowdfund_core::ports::Ledger;
use crowdfund_testkit::sigv4::{Received, Verifier};
use serde_json::{Value, json};
use sqlx::mysql::MySqlPool;
use sqlx::{Connection, MySqlConnection};
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::oneshot;

/// The moto tests of this suite take turns: they reset the one moto server, and one of them
/// switches its IAM enforcement on.
pub static MOTO_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The server the tests use; override with TEST_MYSQL_URL.
pub fn server_url() -> String {
    std::env::var("TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        crowdfund_api::telemetry::init("debug");
    }
});

/// A database made for one test and dropped when it is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: MySqlPool,
}

impl TestDb {
    /// A new, empty database (no migrations).
    pub async fn empty() -> TestDb {
        let name = format!("cf_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = MySqlConnection::connect(&server_url())
            .await
            .expect("MariaDB on 127.0.0.1:3306 (root, no password) is needed for these tests");
        sqlx::raw_sql(&format!("CREATE DATABASE `{name}`"))
            .execute(&mut conn)
            .await
            .expect("create database");
        let url = format!("{}/{name}", server_url());
        let pool = MySqlPool::connect(&url)
            .await
            .expect("connect to the test database");
        TestDb { name, url, pool }
    }

    /// A new database with the API's migrations applied.
    pub async fn migrated() -> TestDb {
        let db = TestDb::empty().await;
        crowdfund_api::db::migrate(&db.pool).await.expect("migrate");
        db
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a runtime of our own on another thread.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = MySqlConnection::connect(&server_url()).await.ok()?;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS `{name}`"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// The region the stub broker's API lives in, and the task role's test credentials.
pub const BROKER_REGION: &str = "ap-northeast-2";
pub const TASK_ACCESS_KEY: &str = "AKIDCROWDFUNDTASK";
pub const TASK_SECRET: &str = "task-role-secret";

/// The signer a task with the test credentials uses.
pub fn task_signer(secret: &str) -> Signer {
    let credentials = Credentials::new(
        TASK_ACCESS_KEY,
        secret,
        Some("session".into()),
        None,
        "test",
    );
    Signer::new(SharedCredentialsProvider::new(credentials), BROKER_REGION)
}

/// A broker behind API Gateway's AWS_IAM check (the SigV4 verifier): it refuses what is not
/// signed by the task's credentials with 403, records what it accepts, and fails the first
/// `fail_first` signed requests with 503.
#[derive(Clone)]
pub struct StubBroker {
    pub url: String,
    received: Arc<Mutex<Vec<Value>>>,
    failures_left: Arc<Mutex<u32>>,
    attempts: Arc<Mutex<u32>>,
    refused: Arc<Mutex<Vec<String>>>,
}

type StubState = (
    Arc<Mutex<Vec<Value>>>,
    Arc<Mutex<u32>>,
    Arc<Mutex<u32>>,
    Arc<Mutex<Vec<String>>>,
);

impl StubBroker {
    pub async fn start(fail_first: u32) -> StubBroker {
        let received = Arc::new(Mutex::new(Vec::new()));
        let failures_left = Arc::new(Mutex::new(fail_first));
        let attempts = Arc::new(Mutex::new(0));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let state: StubState = (
            received.clone(),
            failures_left.clone(),
            attempts.clone(),
            refused.clone(),
        );
        async fn broker(
            State((rec, fail, att, refused)): State<StubState>,
            request: axum::extract::Request,
        ) -> (StatusCode, Json<Value>) {
            *att.lock().unwrap() += 1;
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            let headers: Vec<(String, String)> = parts
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                .collect();
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let verifier =
                Verifier::new("execute-api", BROKER_REGION).allow(TASK_ACCESS_KEY, TASK_SECRET);
            let received = Received {
                method: parts.method.as_str(),
                path_and_query: path,
                headers: &headers,
                body: &body,
            };
            if let Err(why) = verifier.verify(&received, SystemTime::now()) {
                refused.lock().unwrap().push(why.clone());
                return (StatusCode::FORBIDDEN, Json(json!({"message": why})));
            }
            let body: Value = serde_json::from_slice(&body).unwrap();
            {
                let mut f = fail.lock().unwrap();
                if *f > 0 {
                    *f -= 1;
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({"error": "stub says later"})),
                    );
                }
            }
            let destination = body.get("destination").cloned().unwrap_or(Value::Null);
            let mut r = rec.lock().unwrap();
            r.push(body);
            (
                StatusCode::ACCEPTED,
                Json(json!({"messageId": format!("msg-{}", r.len()), "destination": destination})),
            )
        }
        let app = axum::Router::new()
            .route("/prod/broker", post(broker))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StubBroker {
            url: format!("http://{addr}/prod/broker"),
            received,
            failures_left,
            attempts,
            refused,
        }
    }

    pub fn received(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }

    /// Requests seen, refused ones included.
    pub fn attempts(&self) -> u32 {
        *self.attempts.lock().unwrap()
    }

    /// Why each refused request was refused (the verifier's words).
    pub fn refused(&self) -> Vec<String> {
        self.refused.lock().unwrap().clone()
    }

    pub fn failures_left(&self) -> u32 {
        *self.failures_left.lock().unwrap()
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The primary's database (the replica's too unless the app was spawned with one).
    pub db: TestDb,
    pub replica: Option<TestDb>,
    pub broker: Option<StubBroker>,
    shutdown: Option<oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// How to spawn: role, replica, broker, ledger, database URL override.
pub struct Spawn {
    pub role: Role,
    pub replica: bool,
    pub broker_failures: Option<u32>,
    pub ledger: Option<Arc<dyn Ledger>>,
    /// Point both pools here instead of a fresh database (e.g. a port nobody listens on).
    pub database_url: Option<String>,
    /// The secret the app signs with (the broker knows [`TASK_SECRET`]).
    pub broker_secret: &'static str,
    /// The ledger as DynamoDB: (AWS settings, table).
    pub ledger_table: Option<(crowdfund_handlers::aws::AwsSettings, String)>,
}

impl Spawn {
    pub fn role(role: Role) -> Spawn {
        Spawn {
            role,
            replica: false,
            broker_failures: None,
            ledger: None,
            database_url: None,
            broker_secret: TASK_SECRET,
            ledger_table: None,
        }
    }
    pub fn with_broker(mut self, fail_first: u32) -> Spawn {
        self.broker_failures = Some(fail_first);
        self
    }
    pub fn with_replica(mut self) -> Spawn {
        self.replica = true;
        self
    }
    pub fn with_ledger(mut self, ledger: Arc<dyn Ledger>) -> Spawn {
        self.ledger = Some(ledger);
        self
    }
    pub fn with_ledger_table(
        mut self,
        aws: crowdfund_handlers::aws::AwsSettings,
        table: &str,
    ) -> Spawn {
        self.ledger_table = Some((aws, table.to_string()));
        self
    }
    pub fn signing_with(mut self, secret: &'static str) -> Spawn {
        self.broker_secret = secret;
        self
    }
    pub fn with_database_url(mut self, url: &str) -> Spawn {
        self.database_url = Some(url.to_string());
        self
    }
}

/// Fast outbox timings for tests: retries within milliseconds, no real waiting.
pub fn test_outbox() -> OutboxSettings {
    OutboxSettings {
        poll_interval: Duration::from_millis(20),
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        lease: Duration::from_secs(30),
        send_timeout: Duration::from_secs(5),
    }
}

pub async fn spawn_app(role: Role) -> TestApp {
    spawn(Spawn::role(role)).await
}

pub async fn spawn(spec: Spawn) -> TestApp {
    LazyLock::force(&TRACING);
    let db = TestDb::migrated().await;
    let replica = if spec.replica {
        Some(TestDb::migrated().await)
    } else {
        None
    };
    let broker = match spec.broker_failures {
        Some(n) => Some(StubBroker::start(n).await),
        None => None,
    };
    let primary_url = spec.database_url.clone().unwrap_or_else(|| db.url.clone());
    let read_url = match (&spec.database_url, &replica) {
        (Some(u), _) => u.clone(),
        (None, Some(r)) => r.url.clone(),
        (None, None) => db.url.clone(),
    };
    let mut settings = Settings::new(spec.role, &primary_url, &read_url);
    settings.broker_url = broker.as_ref().map(|b| b.url.clone());
    settings.db_acquire_timeout = Duration::from_millis(500);
    settings.outbox = test_outbox();
    if let Some((aws, table)) = spec.ledger_table.clone() {
        settings.aws = aws;
        settings.payments_table = Some(table);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let deps = Dependencies {
        ledger: spec.ledger,
        broker_signer: Some(task_signer(spec.broker_secret)),
        ..Dependencies::default()
    };
    let app = Application::build(settings, listener, deps)
        .await
        .expect("build the app");
    let addr: SocketAddr = app.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = rx.await;
    }));
    TestApp {
        address: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        db,
        replica,
        broker,
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.client.get(self.url(path)).send().await.expect("GET");
        status_and_json(r).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.post_raw(path, body.to_string()).await
    }

    pub async fn post_raw(&self, path: &str, body: String) -> (StatusCode, Value) {
        let r = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST");
        status_and_json(r).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .client
            .delete(self.url(path))
            .send()
            .await
            .expect("DELETE");
        status_and_json(r).await
    }

    /// Creates a project (goal in KRW unless said) and returns its id.
    pub async fn create_project(&self, goal: i64, currency: &str) -> String {
        let (status, body) = self
            .post(
                "/projects",
                &json!({"title": "Fountain pens", "goal": goal, "currency": currency, "deadline": "2999-12-31T00:00:00Z"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().expect("project id").to_string()
    }

    pub async fn fund(&self, project: &str, payment: &str, amount: i64) -> (StatusCode, Value) {
        self.post(
            &format!("/projects/{project}/fundings"),
            &json!({"paymentId": payment, "amount": amount, "currency": "KRW"}),
        )
        .await
    }

    /// Stops the server as SIGTERM would, and waits for it to finish.
    pub async fn stop(&mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(h) => h.await.expect("server task"),
            None => Ok(()),
        }
    }
}

pub async fn status_and_json(r: reqwest::Response) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
    let text = r.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Polls `check` until it returns Some, for at most `limit`; panics with `what` otherwise.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
