use crate::helpers::*;
use crowdfund_core::domain::{PaymentStatus, SEED_STATUS_FAILED};
use crowdfund_core::envelope::{Envelope, MessageKind};
use crowdfund_core::ports::Ledger;
use crowdfund_core::sim::WorldConfig;
use crowdfund_core::topology::{self, QUEUE_DLQ, QUEUE_PARKED, QUEUE_PAYMENT_ATTEMPT};
use futures::executor::block_on;
use serde_json::{Value, json};

/// An approved payment gives exactly one mail, one funding raise and one ledger record.
#[test]
fn approved_payment_mails_raises_and_records_once() {
    let t = spawn_world(WorldConfig::default());
    let r = t.pay("pay-1", 50_000, "tok_approve");
    assert_eq!(r.body["destination"], "payment_attempt");
    assert!(
        r.body["messageId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    t.drain();

    let rec = t.record("pay-1").expect("ledger record");
    assert_eq!(rec.status, PaymentStatus::Approved);
    assert_eq!(rec.amount.amount, 50_000);
    assert_eq!(t.world.ledger_records().len(), 1);
    assert_eq!(t.mails_for("pay-1"), 1);
    let mail = &t.world.mails()[0];
    assert_eq!(mail.to, "pay-1@example.com");
    assert!(mail.text.contains("50,000 KRW"), "{}", mail.text);
    let p = t.project(PROJECT);
    assert_eq!((p.raised, p.backers), (50_000, 1));
    assert!(t.world.alerts().is_empty());
    assert_eq!(t.total_depth(), 0, "nothing left in any queue");
}

/// A declined card is an outcome: recorded, mailed once, sent to etc_dlq marked declined and
/// parked at once, with no retries and no page.
#[test]
fn declined_payment_is_parked_at_once_mailed_once_and_pages_nobody() {
    let t = spawn_world(WorldConfig::default());
    t.pay("pay-no", 30_000, "tok_decline");
    t.drain();

    assert_eq!(t.record("pay-no").unwrap().status, PaymentStatus::Declined);
    assert_eq!(t.world.charge_attempts("pay-no"), 1);
    let parked = t.parked_headers();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].attempts, 0, "parked as it came: never retried");
    assert!(parked[0].declined);
    assert_eq!(parked[0].from.as_deref(), Some(QUEUE_PAYMENT_ATTEMPT));
    assert!(
        parked[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("card declined")
    );
    assert!(t.world.alerts().is_empty(), "a decline pages nobody");
    assert_eq!(t.mails_for("pay-no"), 1, "the backer is told once");
    let mail = &t.world.mails()[0];
    assert!(
        mail.idempotency_key.starts_with("mail#declined#"),
        "{mail:?}"
    );
    assert!(mail.text.contains("declined"), "{}", mail.text);
    assert_eq!(t.project(PROJECT).raised, 0);
    assert_eq!(t.total_depth(), 1, "only the parked message remains");
}

/// A burst of 1,000 declines, 50 of them delivered twice: every delivery parked (the duplicates
/// too, nothing is swallowed), each backer mailed once, not one alert.
#[test]
fn a_burst_of_declines_is_parked_per_payment_and_alerts_nobody() {
    let t = spawn_world(WorldConfig::default());
    for i in 0..1_000 {
        let id = format!("pay-d{i:04}");
        t.pay(&id, 1_000, "tok_decline");
        if i % 20 == 0 {
            t.pay(&id, 1_000, "tok_decline");
        }
    }
    t.drain();
    let parked = t.parked_headers();
    assert_eq!(parked.len(), 1_050);
    assert!(parked.iter().all(|h| h.declined && h.attempts == 0));
    let ids: std::collections::BTreeSet<_> =
        parked.iter().filter_map(|h| h.payment_id.clone()).collect();
    assert_eq!(ids.len(), 1_000);
    assert_eq!(t.world.mails().len(), 1_000, "one mail per backer");
    let alerts = t.world.alerts();
    println!("alerts for a burst of 1,000 declines: {}", alerts.len());
    assert!(alerts.is_empty(), "{alerts:?}");
}

/// 1,000 raises the funding API refuses (503) are retried, then parked: Discord gets one alert
/// per cause per 5 minutes, and the alerts' counts add up to the 1,000.
#[test]
fn a_burst_of_faults_is_one_alert_per_five_minutes_with_its_count() {
    let t = spawn_world(WorldConfig {
        funding_failure_rate: 1.0,
        ..WorldConfig::default()
    });
    for i in 0..1_000 {
        t.pay(&format!("pay-f{i:04}"), 1_000, "tok_approve");
    }
    t.drain();
    let parked = t.parked_headers();
    assert_eq!(parked.len(), 1_000);
    assert!(parked.iter().all(|h| h.attempts == 4 && !h.declined));
    let alerts = t.world.alerts();
    let counts: Vec<u64> = alerts.iter().map(|a| a.count).collect();
    println!(
        "alerts for a burst of 1,000 funding API failures: {} (counts {counts:?})",
        alerts.len()
    );
    assert_eq!(
        counts.iter().sum::<u64>(),
        1_000,
        "every parked fault is counted"
    );
    for pair in alerts.windows(2) {
        assert!(
            (pair[1].at - pair[0].at).num_seconds() >= 300,
            "two alerts of one cause within 5 minutes: {} and {}",
            pair[0].at,
            pair[1].at
        );
    }
    let first = parked.iter().filter_map(|h| h.last_error.clone()).next();
    assert!(
        alerts.iter().all(|a| a.title.contains("funding API")),
        "{alerts:?} (parked with {first:?})"
    );
}

/// Faults of one cause arriving one a minute for 12 minutes: an alert per 5-minute window,
/// never two within 5 minutes, and their counts add up to the 12.
#[test]
fn faults_spread_over_minutes_alert_once_per_window() {
    let t = spawn_world(WorldConfig::default());
    for _ in 0..12 {
        t.world.inject_raw(QUEUE_DLQ, "not json at all").unwrap();
        t.pipeline.poll_once().unwrap();
        t.world.advance(chrono::Duration::seconds(60));
    }
    t.drain();
    let alerts = t.world.alerts();
    let counts: Vec<u64> = alerts.iter().map(|a| a.count).collect();
    println!(
        "alerts for 12 faults over 12 minutes: {} (counts {counts:?})",
        alerts.len()
    );
    assert_eq!(counts.iter().sum::<u64>(), 12);
    assert!((2..=3).contains(&alerts.len()), "{alerts:?}");
    for pair in alerts.windows(2) {
        assert!((pair[1].at - pair[0].at).num_seconds() >= 300, "{pair:?}");
    }
    assert_eq!(t.parked().len(), 12);
}

/// A DLQ handler batch that Lambda runs twice (a timeout after the sends) sends each message
/// back to its queue once.
#[test]
fn a_replayed_dlq_batch_sends_nothing_twice() {
    use crowdfund_core::ports::{NoMetrics, QueueClient};
    use crowdfund_handlers::sqs::handle_batch;
    let t = spawn_world(WorldConfig::default());
    for i in 0..3 {
        let attempt = Envelope::new(
            MessageKind::PaymentAttempt,
            &serde_json::from_slice::<Value>(&payment_body(
                &format!("pay-r{i}"),
                PROJECT,
                1_000,
                "tok_approve",
            ))
            .unwrap(),
        );
        t.world.inject_raw(QUEUE_DLQ, &attempt.to_json()).unwrap();
    }
    let batch = block_on(t.world.receive(QUEUE_DLQ, 10, 30)).unwrap();
    assert_eq!(batch.len(), 3);
    let dlq_handler = &t.pipeline.functions.dlq_handler;
    for _ in 0..2 {
        let response = block_on(handle_batch(
            dlq_handler,
            &t.world,
            &NoMetrics,
            None,
            &batch,
        ));
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(t.depth(QUEUE_PAYMENT_ATTEMPT), 3, "one copy each, not two");
}

/// The seed's `status: 2` fails the attempt without charging, and ends parked as a decline.
#[test]
fn seed_status_two_fails_without_charging() {
    let t = spawn_world(WorldConfig::default());
    let mut body: Value =
        serde_json::from_slice(&payment_body("pay-s2", PROJECT, 1_000, "tok_approve")).unwrap();
    body["status"] = json!(SEED_STATUS_FAILED);
    assert_eq!(t.pipeline.submit(body.to_string().as_bytes()).status, 202);
    t.drain();
    assert_eq!(t.world.charge_attempts("pay-s2"), 0);
    assert_eq!(t.record("pay-s2").unwrap().status, PaymentStatus::Declined);
    assert_eq!((t.parked().len(), t.world.alerts().len()), (1, 0));
}

/// A transient gateway error is retried by SQS, redriven to the DLQ, sent back, and approved.
#[test]
fn transient_gateway_error_recovers_through_the_dlq() {
    let t = spawn_world(WorldConfig::default());
    t.pay("pay-flaky", 20_000, "tok_error");
    t.drain();
    assert_eq!(
        t.record("pay-flaky").unwrap().status,
        PaymentStatus::Approved
    );
    assert_eq!(
        t.world.charge_attempts("pay-flaky"),
        4,
        "3 failing calls, then approved"
    );
    assert_eq!(t.mails_for("pay-flaky"), 1);
    assert_eq!(t.project(PROJECT).raised, 20_000);
    assert!(t.world.alerts().is_empty());
    assert!(t.parked().is_empty());
}

/// `toDiscord: true` alerts and parks at once, without going back to its queue.
#[test]
fn to_discord_alerts_at_once() {
    let t = spawn_world(WorldConfig::default());
    let body = json!({"kind": "payment_attempt", "from": QUEUE_PAYMENT_ATTEMPT, "attempts": 0,
        "toDiscord": true, "payload": serde_json::from_slice::<Value>(
            &payment_body("pay-d", PROJECT, 1_000, "tok_approve")).unwrap()});
    t.world.inject_raw(QUEUE_DLQ, &body.to_string()).unwrap();
    t.drain();
    assert_eq!(t.world.alerts().len(), 1);
    assert_eq!(t.parked_headers()[0].attempts, 1);
    assert!(t.record("pay-d").is_none(), "never sent back to be charged");
}

/// A body that is not JSON is parked as it was and alerted on, never dropped.
#[test]
fn non_json_body_is_parked_verbatim_and_alerted() {
    let t = spawn_world(WorldConfig::default());
    t.world
        .inject_raw(QUEUE_PAYMENT_ATTEMPT, "<xml>oops</xml>")
        .unwrap();
    t.drain();
    let parked = t.parked();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].body, "<xml>oops</xml>");
    let alerts = t.world.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, "unreadable");
    assert_eq!(t.total_depth(), 1);
}

/// A well-formed envelope with a broken payload is dead-lettered with the reason, then parked.
#[test]
fn malformed_payload_is_dead_lettered_with_its_reason() {
    let t = spawn_world(WorldConfig::default());
    let body = json!({"kind": "send_email", "from": topology::QUEUE_SEND_EMAIL, "attempts": 0,
        "toDiscord": false, "payload": {"paymentId": 7}});
    t.inject_and_expect_parked(
        topology::QUEUE_SEND_EMAIL,
        &body.to_string(),
        "payload is malformed",
    );
    assert_eq!(t.world.alerts().len(), 1);
}

/// A goal check cancels and refunds exactly the payments after achievedAt; a second check
/// cancels nothing more.
#[test]
fn goal_check_cancels_exactly_the_late_payments_once() {
    let t = spawn_world(WorldConfig::default());
    for i in 0..3 {
        t.pay(&format!("early-{i}"), 10_000, "tok_approve");
    }
    t.drain();
    t.world.advance(chrono::Duration::seconds(60));
    let achieved_at = t.world.now();
    t.world.advance(chrono::Duration::seconds(1));
    for i in 0..2 {
        t.pay(&format!("late-{i}"), 7_000, "tok_approve");
    }
    t.pay("late-declined", 7_000, "tok_decline");
    t.drain();
    let parked_before = t.parked().len();

    let check = json!({"destination": "goal_achievement", "projectId": PROJECT,
        "achievedAt": achieved_at.to_rfc3339()});
    for round in 0..2 {
        assert_eq!(t.pipeline.submit(check.to_string().as_bytes()).status, 202);
        t.drain();
        let statuses: Vec<(String, PaymentStatus)> = t
            .world
            .ledger_records()
            .into_iter()
            .map(|r| (r.payment_id, r.status))
            .collect();
        for (id, status) in &statuses {
            let expected = match id.as_str() {
                id if id.starts_with("early") => PaymentStatus::Approved,
                "late-declined" => PaymentStatus::Declined,
                _ => PaymentStatus::Cancelled,
            };
            assert_eq!(*status, expected, "{id} after check {round}");
        }
        assert_eq!(t.world.refund_count(), 2, "refunds after check {round}");
        assert_eq!(t.project(PROJECT).raised, 30_000);
        assert_eq!(t.project(PROJECT).backers, 3);
        for i in 0..2 {
            assert_eq!(
                t.mails_for(&format!("late-{i}")),
                2,
                "receipt and refund notice"
            );
        }
        assert_eq!(
            t.parked().len(),
            parked_before,
            "a goal check parks nothing"
        );
    }
    let late = block_on(t.world.payments_of_project(PROJECT, Some(achieved_at))).unwrap();
    assert_eq!(
        late.len(),
        3,
        "the index query returns only payments after achievedAt"
    );
}

/// Under a backlog (funding_update paused while three payments are charged a minute apart), the
/// goal is achieved at the `paidAt` of the payment whose raise crossed it, not when the raise
/// was applied, so the payment made after it is cancelled; the second check cancels nothing more.
#[test]
fn the_goal_is_achieved_when_the_crossing_payment_was_made() {
    use crowdfund_core::ports::Triggers;
    let t = spawn_world(WorldConfig::default());
    t.world.create_project(
        "prj-backlog",
        "Backlog",
        crowdfund_core::money::Money::new(100_000, crowdfund_core::money::Currency::KRW),
        t.world.now() + chrono::Duration::days(1),
    );
    block_on(
        t.world
            .set_trigger_enabled(topology::FN_FUNDING_UPDATE, false),
    )
    .unwrap();
    for (id, amount) in [("b-1", 60_000), ("b-2", 60_000), ("b-3", 10_000)] {
        let body = payment_body(id, "prj-backlog", amount, "tok_approve");
        assert_eq!(t.pipeline.submit(&body).status, 202);
        t.drain();
        t.world.advance(chrono::Duration::seconds(60));
    }
    let crossing_paid_at = t.record("b-2").unwrap().paid_at;
    block_on(
        t.world
            .set_trigger_enabled(topology::FN_FUNDING_UPDATE, true),
    )
    .unwrap();
    t.drain();

    let project = t.project("prj-backlog");
    assert_eq!(project.goal_achieved_at, Some(crossing_paid_at));
    assert!(t.world.now() > crossing_paid_at + chrono::Duration::seconds(60));
    assert_eq!(t.record("b-1").unwrap().status, PaymentStatus::Approved);
    assert_eq!(t.record("b-2").unwrap().status, PaymentStatus::Approved);
    assert_eq!(
        t.record("b-3").unwrap().status,
        PaymentStatus::Cancelled,
        "paid after the crossing payment"
    );
    assert_eq!(
        t.world.refund_count(),
        1,
        "the second check cancelled nothing more"
    );
    assert_eq!(project.raised, 120_000);
    assert_eq!(t.total_depth(), 0);
}

/// Reaching the goal through payments records the moment and triggers the check by itself.
#[test]
fn reaching_the_goal_triggers_the_check_automatically() {
    let t = spawn_world(WorldConfig::default());
    t.world.create_project(
        "prj-small",
        "Small goal",
        crowdfund_core::money::Money::new(20_000, crowdfund_core::money::Currency::KRW),
        t.world.now() + chrono::Duration::days(1),
    );
    let pay = |id: &str| {
        let body = payment_body(id, "prj-small", 10_000, "tok_approve");
        assert_eq!(t.pipeline.submit(&body).status, 202);
        t.drain();
        t.world.advance(chrono::Duration::seconds(5));
    };
    pay("s-1");
    pay("s-2");
    assert!(t.project("prj-small").goal_achieved_at.is_some());
    pay("s-3");
    // s-3 was approved after the achievement, but the check already ran: it stays approved
    // until someone checks again, which is what the console's goal-check is for.
    assert_eq!(t.record("s-3").unwrap().status, PaymentStatus::Approved);
    assert_eq!(t.project("prj-small").raised, 30_000);
    let achieved = t.project("prj-small").goal_achieved_at.unwrap();
    let check = json!({"destination": "goal_achievement", "projectId": "prj-small",
        "achievedAt": achieved.to_rfc3339()});
    t.pipeline.submit(check.to_string().as_bytes());
    t.drain();
    assert_eq!(t.record("s-3").unwrap().status, PaymentStatus::Cancelled);
    assert_eq!(t.project("prj-small").raised, 20_000);
}

/// Every at-least-once duplicate is absorbed: one charge, one mail, one raise, one record.
#[test]
fn duplicate_deliveries_change_nothing() {
    let t = spawn_world(WorldConfig {
        duplicate_rate: 1.0,
        ..WorldConfig::default()
    });
    t.pay("pay-dup", 40_000, "tok_approve");
    t.drain();
    assert_eq!(t.world.ledger_records().len(), 1);
    assert_eq!(t.mails_for("pay-dup"), 1);
    assert_eq!(t.project(PROJECT).raised, 40_000);
    assert_eq!(t.project(PROJECT).backers, 1);
}

/// Bad broker bodies are refused with the field named, and nothing is published.
#[test]
fn broker_refuses_bad_bodies_and_publishes_nothing() {
    let t = spawn_world(WorldConfig::default());
    let good: Value =
        serde_json::from_slice(&payment_body("p", PROJECT, 1, "tok_approve")).unwrap();
    let with = |field: &str, v: Value| {
        let mut b = good.clone();
        b[field] = v;
        b.to_string().into_bytes()
    };
    let without = |field: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(field);
        b.to_string().into_bytes()
    };
    let cases: Vec<(Vec<u8>, Option<&str>)> = vec![
        (
            with("destination", json!("send_email")),
            Some("destination"),
        ),
        (with("destination", json!("nowhere")), Some("destination")),
        (without("paymentId"), Some("paymentId")),
        (without("backerEmail"), Some("backerEmail")),
        (with("amount", json!(0)), Some("amount")),
        (with("amount", json!(-100)), Some("amount")),
        (with("amount", json!(99.5)), Some("amount")),
        (with("currency", json!("won")), Some("currency")),
        (vec![b'{'; 20_000], None),
        (b"not json".to_vec(), None),
    ];
    for (body, field) in cases {
        let r = t.pipeline.submit(&body);
        assert_eq!(
            r.status,
            400,
            "{}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
        assert_eq!(r.body["field"].as_str(), field, "{}", r.body);
        assert!(r.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    assert_eq!(t.total_depth(), 0, "nothing was published");
}

/// A message of the wrong kind for its queue is dead-lettered, never silently acknowledged.
#[test]
fn wrong_kind_on_a_queue_is_dead_lettered() {
    let t = spawn_world(WorldConfig::default());
    let mut env = Envelope::new(
        MessageKind::GoalAchievement,
        &crowdfund_core::domain::GoalAchievement {
            project_id: PROJECT.into(),
            achieved_at: t.world.now(),
            second_check: false,
        },
    );
    env.from = QUEUE_PAYMENT_ATTEMPT.to_string();
    t.inject_and_expect_parked(QUEUE_PAYMENT_ATTEMPT, &env.to_json(), "do not belong");
    assert_eq!(t.depth(QUEUE_PARKED), 1);
}

/// A paused trigger holds its queue: the payment waits in payment_attempt_queue (nothing is
/// charged, nothing dead-lettered, and draining does not wait for it), then is charged once
/// the trigger is resumed.
#[test]
fn a_paused_trigger_holds_its_queue_until_resumed() {
    use crowdfund_core::ports::Triggers;
    let t = spawn_world(WorldConfig::default());
    block_on(t.world.set_trigger_enabled(topology::FN_PG, false)).unwrap();
    t.pay("pay-held", 50_000, "tok_approve");
    t.drain();
    assert_eq!(t.depth(QUEUE_PAYMENT_ATTEMPT), 1, "held, not handled");
    assert!(
        t.record("pay-held").is_none(),
        "nothing charged while paused"
    );
    assert_eq!(t.depth(QUEUE_DLQ) + t.depth(QUEUE_PARKED), 0);

    block_on(t.world.set_trigger_enabled(topology::FN_PG, true)).unwrap();
    t.drain();
    assert_eq!(
        t.record("pay-held").map(|r| r.status),
        Some(PaymentStatus::Approved)
    );
    assert_eq!(t.total_depth(), 0);
}
