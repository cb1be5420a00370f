//! The `lambda-*` binaries themselves, run as Lambda runs a `bootstrap`: a process that asks a
//! Lambda Runtime API for the next event and posts its answer back. The Runtime API is
//! cargo-lambda's emulator (`cargo lambda watch --only-lambda-apis`); the process gets the
//! environment terraform gives the function (`terraform/modules/lambdas`) plus the variables
//! Lambda sets, with moto as the AWS endpoint; events go in through the emulator's Invoke
//! endpoint (`POST /2015-03-31/functions/{name}/invocations`, what `aws lambda invoke` calls).
//! The binaries are this build's (host architecture); `lambda.rs` drives the same code in-process.
//! The emulator sends a deadline of 600000 ms (1970); the functions ignore a deadline that has
//! passed before the batch starts, so they run as under Lambda.
//!
//! Needs moto (`CROWDFUND_MOTO_URL`; without it the test skips loudly, like the suite) and
//! cargo-lambda: `CROWDFUND_CARGO_LAMBDA`, which `scripts/cargo-lambda.sh` installs and prints
//! (else the place that script installs to). Without cargo-lambda the test fails.

use crate::depth;
use crate::helpers::{TestApp, payment_body, spawn_app};
use crowdfund_core::domain::PaymentStatus;
use crowdfund_core::metrics::NAMESPACE;
use crowdfund_core::ports::{Ledger, QueueClient};
use crowdfund_core::topology::{
    FN_BROKER, FN_PG, INDEX_PROJECT_PAID_AT, QUEUE_APPROVE_PAYMENT, QUEUE_DLQ,
    QUEUE_PAYMENT_ATTEMPT, QUEUE_SEND_EMAIL, TABLE_PAYMENTS, TOPIC_APPROVE_PAYMENT,
    TOPIC_GOAL_ACHIEVEMENT, TOPIC_PAYMENT_ATTEMPT, TOPIC_SEND_EMAIL,
};
use crowdfund_handlers::aws::LOCAL_DEFAULT_REGION;
use crowdfund_testkit::{MAIL_FROM, moto_url};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SQS_EVENT: &str = include_str!("fixtures/sqs-event.json");
const APIGW_REQUEST: &str = include_str!("fixtures/apigw-rest-request.json");

/// How long a process may take to get ready, and an invocation to be answered.
const START_WITHIN: Duration = Duration::from_secs(60);
const INVOKE_WITHIN: Duration = Duration::from_secs(60);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crowdfund-handlers is a member of the workspace")
        .to_path_buf()
}

/// cargo-lambda: `CROWDFUND_CARGO_LAMBDA`, else where `scripts/cargo-lambda.sh` installs it.
/// Missing, the test fails saying how to install it: a skipped test would pass without having run.
fn cargo_lambda() -> PathBuf {
    let configured = std::env::var_os("CROWDFUND_CARGO_LAMBDA").filter(|v| !v.is_empty());
    let path = configured.clone().map_or_else(
        || workspace_root().join("target/cargo-lambda/venv/bin/cargo-lambda"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "cargo-lambda is not installed at {} ({}): run `export CROWDFUND_CARGO_LAMBDA=$(scripts/cargo-lambda.sh)` first (it installs the pinned version from PyPI into target/cargo-lambda)",
        path.display(),
        if configured.is_some() {
            "CROWDFUND_CARGO_LAMBDA"
        } else {
            "CROWDFUND_CARGO_LAMBDA is not set, and this is where scripts/cargo-lambda.sh installs it"
        },
    );
    path
}

/// A loopback port nobody listens on (the OS's pick, released for the child to bind).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A child process, killed when dropped. Its stdout and stderr lines are kept (and echoed to the
/// test's output, prefixed with its name).
struct Process {
    name: &'static str,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn spawn(name: &'static str, mut command: Command) -> Process {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        for stream in [stdout, stderr].into_iter().flatten() {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    eprintln!("[{name}] {line}");
                    lines.lock().expect("output lines").push(line);
                }
            });
        }
        Process { name, child, lines }
    }

    fn output(&self) -> String {
        self.lines.lock().expect("output lines").join("\n")
    }

    fn find_line(&self, wanted: &dyn Fn(&str) -> bool) -> Option<String> {
        let lines = self.lines.lock().expect("output lines");
        lines.iter().find(|l| wanted(l)).cloned()
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Fails, with the process's output, if it has exited.
    fn assert_running(&mut self, while_doing: &str) {
        if let Some(status) = self.exited() {
            panic!(
                "{} exited ({status}) {while_doing}; its output:\n{}",
                self.name,
                self.output()
            );
        }
    }

    /// The first line of its output that `wanted` accepts, waiting for it at most `within`.
    async fn wait_for_line(
        &mut self,
        what: &str,
        within: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(line) = self.find_line(&wanted) {
                return line;
            }
            self.assert_running(&format!("before it {what}"));
            assert!(
                Instant::now() < deadline,
                "{} did not {what} within {within:?}; its output:\n{}",
                self.name,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// cargo-lambda's Runtime API emulator on a free loopback port, with no function of its own.
struct Emulator {
    process: Process,
    port: u16,
    http: reqwest::Client,
}

impl Emulator {
    async fn start() -> Emulator {
        let port = free_port();
        let mut command = Command::new(cargo_lambda());
        command
            .args(["lambda", "watch", "--only-lambda-apis", "--invoke-address"])
            .arg("127.0.0.1")
            .arg("--invoke-port")
            .arg(port.to_string())
            // It takes invokes for the workspace's binaries: `cargo metadata` runs here.
            .current_dir(workspace_root())
            .env("NO_COLOR", "1");
        let mut process = Process::spawn("cargo-lambda", command);
        let deadline = Instant::now() + START_WITHIN;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            process.assert_running("before listening");
            assert!(
                Instant::now() < deadline,
                "cargo-lambda did not listen on 127.0.0.1:{port} within {START_WITHIN:?}; its output:\n{}",
                process.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Emulator {
            process,
            port,
            http: reqwest::Client::new(),
        }
    }

    /// `AWS_LAMBDA_RUNTIME_API` for `binary`: the emulator's runtime routes, under the name the
    /// invokes use.
    fn runtime_api(&self, binary: &str) -> String {
        format!("http://127.0.0.1:{}/.rt/{binary}", self.port)
    }

    /// Invokes `binary` (synchronously, as `aws lambda invoke` does) with `event`; the answer is
    /// the function's response JSON.
    async fn invoke(&mut self, function: &mut Process, binary: &str, event: &Value) -> Value {
        let url = format!(
            "http://127.0.0.1:{}/2015-03-31/functions/{binary}/invocations",
            self.port
        );
        let answer = self
            .http
            .post(&url)
            .json(event)
            .timeout(INVOKE_WITHIN)
            .send()
            .await;
        function.assert_running("during the invocation");
        self.process.assert_running("during the invocation");
        let answer = answer.unwrap_or_else(|e| {
            panic!(
                "invoking {binary} through the emulator: {e}\n{binary}'s output:\n{}\ncargo-lambda's output:\n{}",
                function.output(),
                self.process.output()
            )
        });
        let status = answer.status();
        let text = answer.text().await.expect("the invocation's response body");
        assert_eq!(
            status,
            200,
            "the invocation of {binary} failed: {text}\n{binary}'s output:\n{}",
            function.output()
        );
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{binary} answered with no JSON ({e}): {text}"))
    }
}

/// Starts the `binary` (a `lambda-*` executable of this build) as Lambda would start function
/// `function`, and waits until it logs that it is ready (set-up done, asking for events).
/// `topics` and `queues` are the function's grants in terraform (`TOPIC_ARNS`, `QUEUE_URLS`).
async fn bootstrap(
    app: &TestApp,
    emulator: &Emulator,
    function: &'static str,
    binary: &'static str,
    executable: &str,
    topics: &[&str],
    queues: &[&str],
) -> Process {
    let mut arns = serde_json::Map::new();
    for t in topics {
        let arn = app.pipeline.publisher.arn(t).await.expect("topic ARN");
        arns.insert(t.to_string(), arn.into());
    }
    let mut urls = serde_json::Map::new();
    for q in queues {
        let url = app.pipeline.queues.url(q).await.expect("queue URL");
        urls.insert(q.to_string(), url.into());
    }
    let mut command = Command::new(executable);
    // Lambda's environment has nothing of the machine's: no profile, no home, no region.
    command.env_clear().envs([
        // What terraform sets (terraform/modules/lambdas, aws_lambda_function.fn).
        ("CROWDFUND_FUNCTION", function.to_string()),
        ("TOPIC_ARNS", Value::Object(arns).to_string()),
        ("QUEUE_URLS", Value::Object(urls).to_string()),
        ("PAYMENTS_TABLE", TABLE_PAYMENTS.to_string()),
        ("PAYMENTS_INDEX", INDEX_PROJECT_PAID_AT.to_string()),
        ("METRICS_NAMESPACE", NAMESPACE.to_string()),
        ("SES_FROM_ADDRESS", MAIL_FROM.to_string()),
        ("SES_CONFIGURATION_SET", String::new()),
        ("FUNDING_API_URL", String::new()),
        (
            "DISCORD_WEBHOOK_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:crowdfund-dev/discord-webhook-url"
                .to_string(),
        ),
        ("CROWDFUND_STAGE", "dev".to_string()),
        ("PAYMENT_GATEWAY", "sandbox".to_string()),
        ("PSP_SECRET_ARN", String::new()),
        // What Lambda sets: the Runtime API, the function's identity, JSON logs (terraform's
        // logging_config), the role's credentials and the region; moto stands in for AWS.
        ("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api(binary)),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "1".to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_string()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "runtime-emulator".to_string()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_SESSION_TOKEN", "test".to_string()),
        ("AWS_REGION", LOCAL_DEFAULT_REGION.to_string()),
        ("AWS_DEFAULT_REGION", LOCAL_DEFAULT_REGION.to_string()),
        ("AWS_ENDPOINT_URL", app.moto.clone()),
    ]);
    let mut process = Process::spawn(binary, command);
    process
        .wait_for_line("log that it is ready", START_WITHIN, |line| {
            serde_json::from_str::<Value>(line)
                .is_ok_and(|l| l["fields"]["message"] == "ready" || l["message"] == "ready")
        })
        .await;
    process
}

/// An SQS event-source batch of one message (the fixture's record, with `body`).
fn sqs_event(message_id: &str, body: &str) -> Value {
    let mut event: Value = serde_json::from_str(SQS_EVENT).expect("SQS event fixture");
    event["Records"][0]["messageId"] = json!(message_id);
    event["Records"][0]["body"] = json!(body);
    event
}

/// A `POST /broker` as API Gateway's REST proxy integration hands it over.
fn apigw_request(body: &str) -> Value {
    let mut request: Value = serde_json::from_str(APIGW_REQUEST).expect("API Gateway fixture");
    request["body"] = json!(body);
    request["isBase64Encoded"] = json!(false);
    request
}

/// `lambda-pg` takes an SQS batch through the Runtime API: an approved payment is answered with
/// no batch item failures, lands in the ledger, is published on to send_email and
/// approve_payment, and its EMF line is on the function's stdout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_bootstrap_handles_an_sqs_batch_from_the_runtime_api() {
    let Some(moto) = moto_url() else { return };
    cargo_lambda();
    let app = spawn_app(&moto, None).await;
    let mut emulator = Emulator::start().await;
    let mut pg = bootstrap(
        &app,
        &emulator,
        FN_PG,
        "lambda-pg",
        env!("CARGO_BIN_EXE_lambda-pg"),
        &[TOPIC_SEND_EMAIL, TOPIC_APPROVE_PAYMENT],
        &[QUEUE_DLQ],
    )
    .await;

    let envelope = json!({
        "kind": "payment_attempt", "from": QUEUE_PAYMENT_ATTEMPT, "attempts": 0, "toDiscord": false,
        "payload": {
            "paymentId": "pay-emulator", "projectId": "prj-1", "backerEmail": "backer@example.com",
            "amount": 50000, "currency": "KRW", "card": "tok_approve",
        },
    })
    .to_string();
    let response = emulator
        .invoke(&mut pg, "lambda-pg", &sqs_event("m-emulator", &envelope))
        .await;
    assert_eq!(response, json!({"batchItemFailures": []}));

    let record = app
        .pipeline
        .ledger
        .get_payment("pay-emulator")
        .await
        .expect("read the ledger")
        .expect("the payment is in the ledger");
    assert_eq!(record.status, PaymentStatus::Approved);
    assert_eq!(
        (record.project_id.as_str(), record.amount.amount),
        ("prj-1", 50_000)
    );
    assert_eq!(depth(&app, QUEUE_SEND_EMAIL).await, 1);
    assert_eq!(depth(&app, QUEUE_APPROVE_PAYMENT).await, 1);
    assert_eq!(depth(&app, QUEUE_DLQ).await, 0);
    let emf = pg
        .wait_for_line(
            "write the approval's EMF line",
            Duration::from_secs(10),
            |line| line.contains("\"PaymentsApproved\""),
        )
        .await;
    let emf: Value = serde_json::from_str(&emf).expect("an EMF line is JSON");
    assert_eq!(emf["ProjectId"], "prj-1", "{emf}");
}

/// `lambda-broker` answers API Gateway proxy events through the Runtime API: 202 with the SNS
/// message id for a good body (on payment_attempt_queue in moto), then, from the same process,
/// 400 naming the field for a bad one, which publishes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_bootstrap_answers_api_gateway_events_from_the_runtime_api() {
    let Some(moto) = moto_url() else { return };
    cargo_lambda();
    let app = spawn_app(&moto, None).await;
    let mut emulator = Emulator::start().await;
    let mut broker = bootstrap(
        &app,
        &emulator,
        FN_BROKER,
        "lambda-broker",
        env!("CARGO_BIN_EXE_lambda-broker"),
        &[TOPIC_PAYMENT_ATTEMPT, TOPIC_GOAL_ACHIEVEMENT],
        &[],
    )
    .await;

    let body_of = |response: &Value| -> Value {
        let body = response["body"].as_str().expect("a proxy response body");
        serde_json::from_str(body).expect("the broker answers JSON")
    };
    let good = apigw_request(&payment_body("pay-emulator", "prj-1", "tok_approve"));
    let response = emulator.invoke(&mut broker, "lambda-broker", &good).await;
    assert_eq!(response["statusCode"], 202, "{response}");
    assert_eq!(response["headers"]["content-type"], "application/json");
    let body = body_of(&response);
    assert!(
        body["messageId"].as_str().is_some_and(|id| !id.is_empty()),
        "{body}"
    );
    assert_eq!(body["destination"], "payment_attempt");
    let queued = app
        .pipeline
        .queues
        .peek(QUEUE_PAYMENT_ATTEMPT, 10)
        .await
        .expect("peek payment_attempt_queue");
    assert_eq!(queued.len(), 1);
    assert!(
        queued[0].body.contains("pay-emulator"),
        "{}",
        queued[0].body
    );

    let bad = apigw_request(r#"{"destination":"nowhere"}"#);
    let response = emulator.invoke(&mut broker, "lambda-broker", &bad).await;
    assert_eq!(response["statusCode"], 400, "{response}");
    let body = body_of(&response);
    assert_eq!(body["field"], "destination", "{body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(depth(&app, QUEUE_PAYMENT_ATTEMPT).await, 1);
}
