//! The console's `--aws` backend against moto server: redrive over real SQS, killed between
//! send and delete at several points, loses nothing; the subcommands answer in JSON; the
//! interactive console redrives a parked payment in a real terminal ([`terminal`]); and
//! `dashboards deploy` / `report` over moto's CloudWatch ([`dashboards`]).
//!
//! Needs `CROWDFUND_MOTO_URL` (`scripts/moto.sh start` prints it); without it the test skips
//! loudly, except in CI, where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dashboards;
mod iam;
mod terminal;
#[path = "../support/tmux.rs"]
mod tmux;

use async_trait::async_trait;
use crowdfund_console::aws::{AwsTarget, backend};
use crowdfund_console::ops::dlq::{DisposalRequest, Selection, dispose};
use crowdfund_core::ports::{
    BatchSendResult, MessageSender, OutgoingMessage, PortError, PortResult, QueueClient,
    QueueStats, ReceivedMessage,
};
use crowdfund_core::topology::{QUEUE_PARKED, QUEUE_PAYMENT_ATTEMPT};
use crowdfund_handlers::aws::sqs::SqsQueues;
use crowdfund_testkit::{ProvisionedMoto, endpoint_settings, moto_url, provisioned_moto};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Topology names are fixed, so tests take turns on the one moto server (reset before each).
pub(crate) static SUITE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where the redrive "dies".
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The target acknowledged the batch, but the answer never arrived.
    SendAckLost,
    /// Died after the send, before the delete.
    BeforeDelete,
    /// The delete happened, but the answer never arrived.
    DeleteAckLost,
}

/// SQS that fails once, at the `at`-th send or delete of the redrive.
struct Faulty {
    inner: SqsQueues,
    fault: Fault,
    at: u32,
    calls: Mutex<u32>,
    /// Receipt handles handed out by receives, so the test can end the "dead" run's
    /// invisibility (what the visibility timeout does after a real crash).
    handles: Mutex<Vec<(String, String)>>,
}

impl Faulty {
    fn trips(&self) -> bool {
        let mut c = self.calls.lock().unwrap();
        *c += 1;
        *c == self.at
    }
}

fn crash() -> PortError {
    PortError::unavailable("SQS", "connection reset (injected crash)")
}

#[async_trait]
impl MessageSender for Faulty {
    async fn send(&self, queue: &str, body: &str, delay_seconds: u32) -> PortResult<String> {
        self.inner.send(queue, body, delay_seconds).await
    }
}

#[async_trait]
impl QueueClient for Faulty {
    async fn send_batch(&self, queue: &str, m: &[OutgoingMessage]) -> PortResult<BatchSendResult> {
        let result = self.inner.send_batch(queue, m).await?;
        if matches!(self.fault, Fault::SendAckLost) && self.trips() {
            return Err(crash());
        }
        Ok(result)
    }
    async fn receive(&self, queue: &str, max: usize, vis: u32) -> PortResult<Vec<ReceivedMessage>> {
        let got = self.inner.receive(queue, max, vis).await?;
        self.handles.lock().unwrap().extend(
            got.iter()
                .map(|m| (queue.to_string(), m.receipt_handle.clone())),
        );
        Ok(got)
    }
    async fn delete_batch(&self, queue: &str, handles: &[String]) -> PortResult<Vec<String>> {
        match self.fault {
            Fault::BeforeDelete if self.trips() => Err(crash()),
            Fault::DeleteAckLost if self.trips() => {
                self.inner.delete_batch(queue, handles).await?;
                Err(crash())
            }
            _ => self.inner.delete_batch(queue, handles).await,
        }
    }
    async fn change_visibility(&self, queue: &str, handle: &str, vis: u32) -> PortResult<()> {
        self.inner.change_visibility(queue, handle, vis).await
    }
    async fn peek(&self, queue: &str, max: usize) -> PortResult<Vec<ReceivedMessage>> {
        self.inner.peek(queue, max).await
    }
    async fn stats(&self, queue: &str) -> PortResult<QueueStats> {
        self.inner.stats(queue).await
    }
}

fn payment_ids(messages: &[ReceivedMessage]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            let v: serde_json::Value = serde_json::from_str(&m.body).unwrap();
            v["payload"]["paymentId"].as_str().unwrap().to_string()
        })
        .collect()
}

/// A redrive of 23 parked messages killed at each of three points (a lost send acknowledgement,
/// a crash before the delete, a lost delete acknowledgement), in the first or second batch,
/// then run again: every message ends in its `from` queue (duplicates allowed, the handlers are
/// idempotent), none is lost, and the source ends empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_killed_between_send_and_delete_loses_nothing() {
    let Some(moto) = moto_url() else { return };
    let _suite = SUITE.lock().await;
    const N: usize = 23;
    let dir = tempfile::tempdir().unwrap();
    let target = AwsTarget {
        settings: endpoint_settings(&moto),
        ..AwsTarget::default()
    };
    for fault in [
        Fault::SendAckLost,
        Fault::BeforeDelete,
        Fault::DeleteAckLost,
    ] {
        for at in [1, 2] {
            let ProvisionedMoto { clients, .. } = provisioned_moto(&moto).await;
            let sqs = SqsQueues::new(clients.sqs.clone());
            let wanted: HashSet<String> = (0..N).map(|i| format!("pay-{i}")).collect();
            for id in &wanted {
                let body = serde_json::json!({
                    "kind": "payment_attempt", "from": QUEUE_PAYMENT_ATTEMPT, "attempts": 4,
                    "toDiscord": false, "lastError": "card declined",
                    "payload": {"paymentId": id, "projectId": "prj-1"},
                });
                sqs.send(QUEUE_PARKED, &body.to_string(), 0).await.unwrap();
            }
            let faulty = Arc::new(Faulty {
                inner: SqsQueues::new(clients.sqs.clone()),
                fault,
                at,
                calls: Mutex::new(0),
                handles: Mutex::new(Vec::new()),
            });
            let mut b = backend(&target, dir.path()).await.unwrap();
            b.queues = faulty.clone();
            let request = DisposalRequest::redrive(QUEUE_PARKED, Selection::All, None, false);
            // A lost send acknowledgement is reported as failed entries and the run goes on
            // (the copies exist: duplicates); a failed delete stops the run.
            let first = dispose(&b, &request, &mut |_| {}).await;
            match fault {
                Fault::SendAckLost => {
                    let r = first.unwrap();
                    assert!(!r.failed.is_empty(), "{fault:?} at {at}: {r:?}");
                }
                _ => assert!(first.is_err(), "{fault:?} at {at}: the crash stops the run"),
            }

            // What the visibility timeout does after a real crash: the messages the dead run
            // received become visible again.
            let handles: Vec<_> = faulty.handles.lock().unwrap().drain(..).collect();
            for (queue, handle) in handles {
                let _ = sqs.change_visibility(&queue, &handle, 0).await;
            }
            let b = backend(&target, dir.path()).await.unwrap();
            let second = dispose(&b, &request, &mut |_| {}).await.unwrap();
            assert!(second.failed.is_empty(), "{fault:?} at {at}: {second:?}");

            let source = sqs.stats(QUEUE_PARKED).await.unwrap();
            assert_eq!(
                source.visible + source.in_flight,
                0,
                "{fault:?} at {at}: source empty"
            );
            let moved = sqs.peek(QUEUE_PAYMENT_ATTEMPT, 1000).await.unwrap();
            let ids = payment_ids(&moved);
            let arrived: HashSet<String> = ids.iter().cloned().collect();
            assert_eq!(arrived, wanted, "{fault:?} at {at}: every message arrived");
            assert!(
                ids.len() <= N + 10,
                "{fault:?} at {at}: at most one batch duplicated, got {}",
                ids.len()
            );
            for m in &moved {
                let v: serde_json::Value = serde_json::from_str(&m.body).unwrap();
                assert_eq!(v["attempts"], 0, "a fresh retry budget");
            }
        }
    }
}

/// A stand-in for crowdfund-api's project list (the console's `--api-url`) answering `body`
/// to `GET /projects`; its base URL.
async fn serve_project_list(body: serde_json::Value) -> String {
    let app = axum::Router::new().route(
        "/projects",
        axum::routing::get(move || {
            let body = body.clone();
            async move { axum::Json(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn console(moto: &str, state: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crowdfund-console"))
        .arg("--state")
        .arg(state)
        .args(["--aws", "--endpoint-url", moto])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `crowdfund-console --aws` answers status, dlq list and dlq redrive with the local world's
/// JSON shapes, and the redrive leaves a backup and an audit line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_status_list_and_redrive_over_aws() {
    let Some(moto) = moto_url() else { return };
    let _suite = SUITE.lock().await;
    let ProvisionedMoto { clients, .. } = provisioned_moto(&moto).await;
    let sqs = SqsQueues::new(clients.sqs.clone());
    for id in ["pay-a", "pay-b"] {
        let body = serde_json::json!({
            "kind": "payment_attempt", "from": QUEUE_PAYMENT_ATTEMPT, "attempts": 4,
            "toDiscord": false, "payload": {"paymentId": id, "projectId": "prj-1"},
        });
        sqs.send(QUEUE_PARKED, &body.to_string(), 0).await.unwrap();
    }
    sqs.send(QUEUE_PARKED, "not json", 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("world.json");

    let status = console(&moto, &state, &["status", "--json"]);
    assert_eq!(status["backend"], "aws");
    assert_eq!(status["queues"].as_array().unwrap().len(), 6);
    let parked = status["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == QUEUE_PARKED)
        .unwrap();
    assert_eq!(parked["visible"], 3);
    assert_eq!(status["payments"]["parked"], 3);
    for key in ["approved", "declined", "cancelled"] {
        assert!(status["payments"][key].is_u64(), "{key}");
    }

    let list = console(&moto, &state, &["dlq", "list", QUEUE_PARKED, "--json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert!(
        list.iter()
            .any(|m| m["paymentId"] == "pay-a" && m["ledgerState"] == "none")
    );

    let moved = console(
        &moto,
        &state,
        &["dlq", "redrive", QUEUE_PARKED, "--all", "--yes", "--json"],
    );
    assert_eq!(moved["moved"], 2);
    assert_eq!(moved["skipped"], 1, "the non-JSON body has no `from`");
    let backup = moved["report"]["backup"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(backup).unwrap().lines().count(), 2);
    let audit = std::fs::read_to_string(dir.path().join("aws-audit.jsonl")).unwrap();
    let phases: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["phase"].clone())
        .collect();
    assert_eq!(phases, ["intent", "result"], "{audit}");
    let target = sqs.stats(QUEUE_PAYMENT_ATTEMPT).await.unwrap();
    assert_eq!(target.visible, 2);
    assert_eq!(sqs.stats(QUEUE_PARKED).await.unwrap().visible, 1);
}

/// A browse of SQS reads each message once with concurrent receivers, tells the sink as it
/// goes, stops at its cap, and releases everything it held: afterwards nothing is in flight and
/// each message was received exactly once per browse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browse_reads_each_message_once_and_releases_them_all() {
    let Some(moto) = moto_url() else { return };
    let _suite = SUITE.lock().await;
    let ProvisionedMoto { clients, .. } = provisioned_moto(&moto).await;
    let sqs = SqsQueues::new(clients.sqs.clone());
    const PARKED: usize = 230;
    for chunk in (0..PARKED).collect::<Vec<_>>().chunks(10) {
        let batch: Vec<OutgoingMessage> = chunk
            .iter()
            .map(|i| OutgoingMessage {
                entry_id: i.to_string(),
                body: format!(
                    r#"{{"kind":"payment_attempt","payload":{{"paymentId":"pay-{i}"}}}}"#
                ),
                delay_seconds: 0,
            })
            .collect();
        sqs.send_batch(QUEUE_PARKED, &batch).await.unwrap();
    }
    let options = |max| crowdfund_console::ops::dlq::browse_options(QUEUE_PARKED, max);

    let told = Mutex::new(0usize);
    let read = sqs
        .browse(QUEUE_PARKED, options(1_000), &|batch| {
            *told.lock().unwrap() += batch.len();
            true
        })
        .await
        .unwrap();
    let ids: HashSet<&str> = read.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), PARKED, "every message, once");
    assert_eq!(read.len(), PARKED);
    assert_eq!(
        *told.lock().unwrap(),
        PARKED,
        "the sink heard of each one once"
    );
    // One receive each. A standard queue delivers at least once: under load moto's threaded
    // server, like SQS now and then, hands one message to two concurrent receives, and the
    // browse keeps it once; that may show as a second receive, never as a third.
    let twice = read.iter().filter(|m| m.receive_count == 2).count();
    assert!(
        read.iter().all(|m| m.receive_count <= 2) && twice <= PARKED / 20,
        "one receive each (a few at most twice, by the endpoint); twice: {twice}"
    );
    let stats = sqs.stats(QUEUE_PARKED).await.unwrap();
    assert_eq!(
        (stats.visible, stats.in_flight),
        (PARKED as u64, 0),
        "all released"
    );

    // A cap stops it, and what it read is released as well.
    let capped = sqs
        .browse(QUEUE_PARKED, options(25), &|_| true)
        .await
        .unwrap();
    assert_eq!(capped.len(), 25);
    // A sink that says stop ends it early.
    let stopped = sqs
        .browse(QUEUE_PARKED, options(1_000), &|_| false)
        .await
        .unwrap();
    assert!(stopped.len() < PARKED, "{} read after stop", stopped.len());
    let stats = sqs.stats(QUEUE_PARKED).await.unwrap();
    assert_eq!(
        (stats.visible, stats.in_flight),
        (PARKED as u64, 0),
        "all released"
    );
}

/// `dlq groups` on SQS names each cause with its count (the unreadable body a group of its
/// own), and `dlq redrive --reason … --skip-done` moves exactly the group's messages whose
/// payment the ledger has not decided, leaving the done ones parked; the question's ledger
/// line and the audit line say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_then_a_cause_redriven_without_its_done_payments() {
    use crowdfund_core::domain::{PaymentRecord, PaymentStatus};
    use crowdfund_core::money::{Currency, Money};
    use crowdfund_core::ports::Ledger;
    use crowdfund_core::topology::TABLE_PAYMENTS;
    use crowdfund_handlers::aws::dynamodb::DynamoLedger;
    let Some(moto) = moto_url() else { return };
    let _suite = SUITE.lock().await;
    let ProvisionedMoto { clients, .. } = provisioned_moto(&moto).await;
    let sqs = SqsQueues::new(clients.sqs.clone());
    let park = |id: &str, reason: &str| {
        serde_json::json!({"kind": "payment_attempt", "from": QUEUE_PAYMENT_ATTEMPT,
            "attempts": 3, "lastError": reason, "payload": {"paymentId": id, "projectId": "prj-1"}})
        .to_string()
    };
    for i in 0..6 {
        let id = format!("pay-t{i}");
        let body = park(&id, &format!("PSP timed out after {} ms on {id}", 9000 + i));
        sqs.send(QUEUE_PARKED, &body, 0).await.unwrap();
    }
    for i in 0..3 {
        let id = format!("pay-d{i}");
        let body = park(&id, &format!("payment {id} was declined: card declined"));
        sqs.send(QUEUE_PARKED, &body, 0).await.unwrap();
    }
    sqs.send(QUEUE_PARKED, "not json", 0).await.unwrap();
    // Two of the timed-out payments were approved after all: a redrive would do nothing.
    let ledger = DynamoLedger::new(clients.dynamodb.clone(), TABLE_PAYMENTS);
    for id in ["pay-t1", "pay-t4"] {
        let record = PaymentRecord {
            payment_id: id.into(),
            project_id: "prj-1".into(),
            backer_email: "b@example.com".into(),
            amount: Money::new(50_000, Currency::KRW),
            status: PaymentStatus::Approved,
            paid_at: "2026-11-20T12:00:00Z".parse().unwrap(),
            charge_id: Some(format!("ch-{id}")),
            decline_reason: None,
            cancel_id: None,
            cancelled_at: None,
        };
        ledger.put_payment(&record).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("world.json");

    let groups = console(&moto, &state, &["dlq", "groups", QUEUE_PARKED, "--json"]);
    let counts: Vec<(String, u64)> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["cause"].as_str().unwrap().to_string(),
                g["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("PSP timed out after <n> ms on <id>".to_string(), 6),
            ("payment <id> was declined: card declined".to_string(), 3),
            ("(unreadable body: not a JSON envelope)".to_string(), 1),
        ]
    );

    let moved = console(
        &moto,
        &state,
        &[
            "dlq",
            "redrive",
            QUEUE_PARKED,
            "--reason",
            "PSP timed out after 1 ms on pay-x9",
            "--skip-done",
            "--yes",
            "--json",
        ],
    );
    assert_eq!(moved["moved"], 4, "{moved}");
    let mut arrived = payment_ids(&sqs.peek(QUEUE_PAYMENT_ATTEMPT, 10).await.unwrap());
    arrived.sort();
    assert_eq!(arrived, ["pay-t0", "pay-t2", "pay-t3", "pay-t5"]);
    let parked = sqs.peek(QUEUE_PARKED, 10).await.unwrap();
    let readable: Vec<ReceivedMessage> = parked
        .into_iter()
        .filter(|m| m.body.starts_with('{'))
        .collect();
    let mut left = payment_ids(&readable);
    left.sort();
    assert_eq!(left, ["pay-d0", "pay-d1", "pay-d2", "pay-t1", "pay-t4"]);
    let audit = std::fs::read_to_string(dir.path().join("aws-audit.jsonl")).unwrap();
    assert!(audit.contains("done ones left out"), "{audit}");
}
