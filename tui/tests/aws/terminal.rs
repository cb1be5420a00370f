//! The interactive `crowdfund-console --aws` in a real terminal (tmux) against moto: what an
//! operator on call does, checked on the screen and then on SQS itself.

use super::SUITE;
use super::tmux::{self, Tmux};
use crowdfund_core::ports::{MessageSender, QueueClient, Triggers};
use crowdfund_core::topology::{self, QUEUE_PARKED, QUEUE_PAYMENT_ATTEMPT};
use crowdfund_handlers::aws::AwsClients;
use crowdfund_handlers::aws::provision::provision_functions;
use crowdfund_handlers::aws::sqs::SqsQueues;
use crowdfund_handlers::aws::triggers::LambdaTriggers;
use crowdfund_testkit::{ProvisionedMoto, endpoint_settings, moto_url, provisioned_moto};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A provisioned moto, its queues and the suite's lock, when moto and tmux are both there.
async fn moto_and_tmux() -> Option<(String, SqsQueues, tokio::sync::MutexGuard<'static, ()>)> {
    let moto = moto_url()?;
    if !tmux::available() {
        return None;
    }
    let suite = SUITE.lock().await;
    let ProvisionedMoto { clients, .. } = provisioned_moto(&moto).await;
    Some((moto, SqsQueues::new(clients.sqs.clone()), suite))
}

/// A declined payment as the DLQ handler parks it once its retries are used up.
fn parked_payment(payment_id: &str) -> String {
    serde_json::json!({
        "kind": "payment_attempt", "from": QUEUE_PAYMENT_ATTEMPT, "attempts": 3,
        "toDiscord": false,
        "lastError": format!("payment {payment_id} was declined: card declined"),
        "payload": {"paymentId": payment_id, "projectId": "prj-1", "backerEmail": "b@example.com",
            "amount": 50000, "currency": "KRW", "card": "tok_decline"},
    })
    .to_string()
}

/// What the operator saw, from launch to quitting.
struct Session {
    summary: String,
    keystrokes: u32,
}

/// Launch on `--aws` → DLQ browser → the row of `payment_id` → r → y, then back out and quit.
fn redrive_in_the_console(moto: &str, state: &Path, payment_id: &str, message_id: &str) -> Session {
    let dir = state.parent().expect("the state file has a directory");
    let mut t = Tmux::launch(
        dir,
        env!("CARGO_BIN_EXE_crowdfund-console"),
        &[
            "--state",
            &state.display().to_string(),
            "--aws",
            "--endpoint-url",
            moto,
            "--refresh",
            "500ms",
        ],
    );
    t.wait_for("the overview on aws", |s| {
        s.contains(" aws ") && s.contains("Queues") && s.contains(QUEUE_PARKED)
    });

    t.key("2");
    let reason = format!("payment {payment_id} was declined");
    let screen = t.wait_for("the three parked payments", |s| {
        s.contains("etc_parked — 3 of ~3 loaded")
            && tmux::dlq_rows(s).iter().any(|r| r.contains(&reason))
    });
    let index = tmux::dlq_rows(&screen)
        .iter()
        .position(|r| r.contains(&reason))
        .expect("the row was on the screen");
    for _ in 0..index {
        t.key("j");
    }
    // The detail pane follows the selection: redrive only once it shows the wanted payment.
    t.wait_for("the payment in the detail pane", |s| {
        s.contains(&format!("payment  {payment_id} · ledger"))
    });
    t.key("r");
    t.wait_for("the confirmation", |s| {
        s.contains("Redrive 1 message(s) from etc_parked")
    });
    t.key("y");
    let summary = t.wait_for("the result summary", |s| {
        s.contains(&format!("moved {message_id} → {QUEUE_PAYMENT_ATTEMPT}"))
    });
    let keystrokes = t.keystrokes();

    // Any key closes the summary: the redriven message has left the list at once.
    t.key("q");
    t.wait_for("the DLQ browser again", |s| {
        s.contains("etc_parked — 2 of ~")
    });
    // A work queue shows its count, and its messages are not read (a read is a receive).
    t.key(":");
    t.type_text(QUEUE_PAYMENT_ATTEMPT);
    t.key("Enter");
    t.wait_for("the work queue, not read", |s| {
        s.contains(&format!("{QUEUE_PAYMENT_ATTEMPT} — ~")) && s.contains("not read")
    });
    // q goes back to the overview; q quits.
    t.key("q");
    t.wait_for("the overview again", |s| s.contains("Lambda health"));
    t.key("q");
    assert!(t.exited(), "the console did not exit on q");
    Session {
        summary,
        keystrokes,
    }
}

/// On `--aws` against moto, an operator at a real terminal opens the DLQ browser, selects one
/// of three parked payments, and redrives it with confirmation in ≤ 10 keys: the screen names
/// the message and where it went, and SQS agrees: it left etc_parked (the other two stayed)
/// and waits on its `from` queue with a fresh retry budget, after a backup and an audit line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_a_parked_payment_in_a_real_terminal_over_aws() {
    let Some((moto, sqs, _suite)) = moto_and_tmux().await else {
        return;
    };
    let mut parked = BTreeMap::new();
    for payment_id in ["pay-a", "pay-b", "pay-c"] {
        let id = sqs
            .send(QUEUE_PARKED, &parked_payment(payment_id), 0)
            .await
            .unwrap();
        parked.insert(payment_id, id);
    }
    let chosen = "pay-b";
    let message_id = parked[chosen].clone();

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("console.json");
    let session = {
        let (moto, state, message_id) = (moto.clone(), state.clone(), message_id.clone());
        tokio::task::spawn_blocking(move || {
            redrive_in_the_console(&moto, &state, chosen, &message_id)
        })
        .await
        .unwrap()
    };
    let keys = session.keystrokes;
    eprintln!("keystrokes from launch to a redriven message on --aws: {keys}");
    assert!(keys <= 10, "{keys} keystrokes");
    assert!(
        session.summary.contains("1 moved, 0 failed, 0 skipped"),
        "{}",
        session.summary
    );

    // SQS, once the console is gone (its peeks hold nothing in flight any more).
    let left = sorted_payment_ids(&sqs.peek(QUEUE_PARKED, 10).await.unwrap());
    assert_eq!(
        left,
        ["pay-a", "pay-c"],
        "only the chosen message left etc_parked"
    );
    let arrived = sqs.peek(QUEUE_PAYMENT_ATTEMPT, 10).await.unwrap();
    assert_eq!(arrived.len(), 1, "{arrived:?}");
    assert_eq!(
        arrived[0].receive_count, 1,
        "only this peek received the redriven message: the console, shown its queue, did not"
    );
    let body: serde_json::Value = serde_json::from_str(&arrived[0].body).unwrap();
    assert_eq!(body["payload"]["paymentId"], chosen);
    assert_eq!(body["from"], QUEUE_PAYMENT_ATTEMPT);
    assert_eq!(body["attempts"], 0, "a fresh retry budget");
    assert!(body.get("lastError").is_none(), "{body}");

    let audit = std::fs::read_to_string(dir.path().join("aws-audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 2, "an intent and a result: {audit}");
    assert!(audit.contains("\"action\":\"redrive\""), "{audit}");
    assert!(audit.contains("\"outcome\":\"ok\""), "{audit}");
    let backups: Vec<PathBuf> = std::fs::read_dir(dir.path().join("aws-backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1);
    assert!(
        std::fs::read_to_string(&backups[0])
            .unwrap()
            .contains(&message_id)
    );
}

/// The payment ids of `messages`, sorted.
fn sorted_payment_ids(messages: &[crowdfund_core::ports::ReceivedMessage]) -> Vec<String> {
    let mut ids = super::payment_ids(messages);
    ids.sort();
    ids
}

/// A parked message of `kind` from `from` that failed for `reason`.
fn parked_failure(kind: &str, from: &str, payment_id: &str, reason: &str) -> String {
    serde_json::json!({
        "kind": kind, "from": from, "attempts": 3, "toDiscord": false, "lastError": reason,
        "payload": {"paymentId": payment_id, "projectId": "prj-1", "amount": 50000,
            "currency": "KRW", "card": "tok_approve"},
    })
    .to_string()
}

/// Parks messages in four causes of different sizes and one unreadable body; returns the
/// payment ids of the PSP time-outs (the second largest group).
async fn park_an_incident(sqs: &SqsQueues) -> Vec<String> {
    use crowdfund_core::topology::QUEUE_APPROVE_PAYMENT;
    let causes: [(&str, &str, &str, usize); 4] = [
        (
            "payment_attempt",
            QUEUE_PAYMENT_ATTEMPT,
            "payment {id} was declined: card declined",
            9,
        ),
        (
            "payment_attempt",
            QUEUE_PAYMENT_ATTEMPT,
            "PSP timed out after 10000 ms on {id}",
            7,
        ),
        (
            "approve_payment",
            QUEUE_APPROVE_PAYMENT,
            "funding API answered HTTP 503 for {id}",
            5,
        ),
        (
            "payment_attempt",
            QUEUE_PAYMENT_ATTEMPT,
            "payload is malformed at line 1 column {n}",
            3,
        ),
    ];
    let mut timed_out = Vec::new();
    for (c, (kind, from, reason, count)) in causes.iter().enumerate() {
        for n in 0..*count {
            let id = format!("pay-{c}{n:03}");
            let text = reason
                .replace("{id}", &id)
                .replace("{n}", &(n * 7).to_string());
            sqs.send(QUEUE_PARKED, &parked_failure(kind, from, &id, &text), 0)
                .await
                .unwrap();
            if c == 1 {
                timed_out.push(id);
            }
        }
    }
    sqs.send(QUEUE_PARKED, "not json at all", 0).await.unwrap();
    timed_out.sort();
    timed_out
}

/// The incident walk-through on `--aws` (redrives capped at 50/s): launch → DLQ → groups → the
/// PSP time-outs → open the group → mark it all → redrive → confirm with dlq_handler paused;
/// the keystrokes from launch to the redriven group.
fn redrive_a_group_in_the_console(moto: &str, state: &Path) -> (String, u32) {
    let dir = state.parent().expect("the state file has a directory");
    let state = state.display().to_string();
    let args = [
        "--state",
        &state,
        "--aws",
        "--endpoint-url",
        moto,
        "--refresh",
        "500ms",
        "--redrive-rate",
        "50",
    ];
    let mut t = Tmux::launch(dir, env!("CARGO_BIN_EXE_crowdfund-console"), &args);
    t.wait_for("the overview on aws", |s| {
        s.contains(" aws ") && s.contains(QUEUE_PARKED)
    });
    t.key("2");
    t.wait_for("the parked messages, loaded", |s| {
        s.contains("etc_parked — 25 of ~25 loaded")
    });
    t.key("c");
    t.wait_for("the groups", |s| {
        s.contains("5 cause(s)") && s.contains("PSP timed out after <n> ms on <id>")
    });
    t.key("j");
    t.key("Enter");
    t.wait_for("the group's messages", |s| s.contains("7 shown"));
    t.key("a");
    t.key("r");
    t.wait_for(
        "the confirmation naming the group and offering the pause",
        |s| s.contains("Redrive 7 message(s) where cause =") && s.contains("dlq_handler paused"),
    );
    t.key("p");
    let summary = t.wait_for("the result summary", |s| s.contains("7 moved, 0 failed"));
    let keystrokes = t.keystrokes();
    t.key("q");
    t.key("Escape");
    t.wait_for("the groups again, without the redriven one", |s| {
        s.contains("4 cause(s)") && !s.contains("PSP timed out")
    });
    t.key("q");
    t.key("q");
    t.key("q");
    (summary, keystrokes)
}

/// On moto: 25 parked messages in four causes and one unreadable body, and the six functions
/// with dlq_handler's trigger running. In a real terminal the operator groups them, opens the
/// PSP time-outs, marks them all and redrives them at a rate with dlq_handler's trigger paused
/// meanwhile; SQS then holds exactly those seven on payment_attempt_queue, the other 18 are
/// still parked, and the trigger runs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_one_cause_in_a_real_terminal_over_aws() {
    let Some((moto, sqs, _suite)) = moto_and_tmux().await else {
        return;
    };
    let timed_out = park_an_incident(&sqs).await;
    let clients = AwsClients::load(&endpoint_settings(&moto)).await.unwrap();
    provision_functions(&clients).await.unwrap();
    let lambda = LambdaTriggers::new(clients.lambda.clone());
    lambda
        .set_trigger_enabled(topology::FN_DLQ_HANDLER, true)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("console.json");
    let (summary, keys) = {
        let (moto, state) = (moto.clone(), state.clone());
        tokio::task::spawn_blocking(move || redrive_a_group_in_the_console(&moto, &state))
            .await
            .unwrap()
    };
    eprintln!("keystrokes from launch to a redriven group on --aws: {keys}");
    assert!(keys <= 12, "{keys} keystrokes");
    assert!(
        summary.contains("7 moved, 0 failed, 0 skipped"),
        "{summary}"
    );

    let arrived = sorted_payment_ids(&sqs.peek(QUEUE_PAYMENT_ATTEMPT, 20).await.unwrap());
    assert_eq!(
        arrived, timed_out,
        "exactly the group went back to its queue"
    );
    assert_eq!(sqs.stats(QUEUE_PARKED).await.unwrap().visible, 18);
    let audit = std::fs::read_to_string(dir.path().join("aws-audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"filter\":\"cause = \\\"PSP timed out after <n> ms on <id>\\\"\""),
        "{audit}"
    );
    let actions: Vec<String> = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["phase"] == "result")
        .map(|l| l["action"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(actions, ["pause-trigger", "redrive", "resume-trigger"]);
    let dlq_handler = lambda
        .list_triggers()
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.function == topology::FN_DLQ_HANDLER)
        .and_then(|f| f.mapping)
        .unwrap();
    assert_eq!(dlq_handler.state, "Enabled", "resumed after the redrive");
}

/// Puts a metric alarm on etc_parked's depth whose description links to etc_parked, and sets
/// it to ALARM (moto does not evaluate alarms), with a second one left in OK.
async fn fire_an_alarm(clients: &AwsClients, firing: &str, quiet: &str) {
    use crowdfund_core::console_view;
    let cw = &clients.cloudwatch;
    for name in [firing, quiet] {
        cw.put_metric_alarm()
            .alarm_name(name)
            .alarm_description(format!(
                "Messages are parked. {}",
                console_view::link(console_view::for_queue(QUEUE_PARKED))
            ))
            .namespace("AWS/SQS")
            .metric_name("ApproximateNumberOfMessagesVisible")
            .statistic("Maximum".into())
            .period(60)
            .evaluation_periods(1)
            .threshold(0.0)
            .comparison_operator("GreaterThanThreshold".into())
            .send()
            .await
            .unwrap();
    }
    for (name, state) in [(firing, "ALARM"), (quiet, "OK")] {
        cw.set_alarm_state()
            .alarm_name(name)
            .state_value(state.into())
            .state_reason(format!("{name} set to {state} by the test"))
            .send()
            .await
            .unwrap();
    }
}

/// An alarm of the environment in ALARM is a critical row of the health view (`--open
/// health`), an alarm in OK is not, and `enter` on the row opens etc_parked, where the
/// alarm's description links.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firing_alarm_opens_its_queue_in_a_real_terminal_over_aws() {
    let Some((moto, sqs, _suite)) = moto_and_tmux().await else {
        return;
    };
    sqs.send(QUEUE_PARKED, &parked_payment("pay-alarm"), 0)
        .await
        .unwrap();
    let clients = AwsClients::load(&endpoint_settings(&moto)).await.unwrap();
    let (firing, quiet) = (
        "crowdfund-dev-parked-new-arrivals",
        "crowdfund-dev-dlq-not-draining",
    );
    fire_an_alarm(&clients, firing, quiet).await;

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("console.json");
    tokio::task::spawn_blocking(move || {
        let mut t = Tmux::launch(
            dir.path(),
            env!("CARGO_BIN_EXE_crowdfund-console"),
            &[
                "--state",
                &state.display().to_string(),
                "--aws",
                "--endpoint-url",
                &moto,
                "--open",
                "health",
            ],
        );
        let health = t.wait_for("the firing alarm in the health view", |s| {
            s.contains(&format!(
                "alarm {firing}: {firing} set to ALARM by the test"
            ))
        });
        assert!(
            !health.contains(quiet),
            "an alarm in OK is listed:\n{health}"
        );
        t.key("Enter");
        t.wait_for("etc_parked, where the alarm links", |s| {
            s.contains("etc_parked — 1 of ~1 loaded") && s.contains("pay-alarm")
        });
        t.key("q");
        t.key("q");
        assert!(t.exited(), "the console did not exit on q");
    })
    .await
    .unwrap();
}
