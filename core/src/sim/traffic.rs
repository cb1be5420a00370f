//! Traffic for the simulated world: backers paying projects with the sandbox cards, and the
//! failures production sees — declines, transient gateway errors, the seed's `status: 2`, and
//! producers that put broken bodies straight on a queue.

use super::SimWorld;
use crate::domain::{PaymentAttempt, Timestamp};
use crate::envelope::MessageKind;
use crate::money::{Currency, Money};
use crate::sandbox;
use crate::topology;
use serde::Serialize;
use serde_json::json;

/// What the generator produced: a request for the broker, or a body put on a queue directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrafficItem {
    Broker(String),
    Raw { queue: &'static str, body: String },
}

/// The projects a new world starts with: goals spread so that some are reached in a short demo.
pub fn seed_demo_projects(world: &SimWorld) {
    let deadline: Timestamp = world.now() + chrono::Duration::days(30);
    let projects = [
        ("prj-solar-kiosk", "Solar kiosk for Jeju", 3_000_000),
        ("prj-board-game", "Hangul board game", 5_000_000),
        ("prj-indie-film", "Indie film: Night Market", 12_000_000),
        ("prj-robot-kit", "Robot kit for schools", 20_000_000),
        ("prj-cafe-books", "Book cafe in Busan", 40_000_000),
    ];
    for (id, title, goal) in projects {
        world.create_project(id, title, Money::new(goal, Currency::KRW), deadline);
    }
}

/// Share of payments that go to a project whose goal was already reached.
const LATE_PAYMENT_SHARE: f64 = 0.05;

/// Shares of the failure budget by kind, in the order drawn.
const FAILURE_MIX: [(FailureKind, f64); 5] = [
    (FailureKind::Decline, 0.40),
    (FailureKind::TransientError, 0.25),
    (FailureKind::SeedStatusFailed, 0.15),
    (FailureKind::NotJson, 0.10),
    (FailureKind::BadPayload, 0.10),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    Decline,
    TransientError,
    SeedStatusFailed,
    NotJson,
    BadPayload,
}

/// Draws the next item; `failure_rate` (0..=1) is the share of items that go wrong somehow.
pub fn next_item(world: &SimWorld, failure_rate: f64) -> TrafficItem {
    let mut s = world.lock();
    let n = s.next_payment_number;
    s.next_payment_number += 1;
    // Backers pay projects still raising; a few arrive late, after the goal was reached (the
    // payments a goal check cancels). When every project is funded, anything goes.
    let open = s.project_ids(false);
    let funded = s.project_ids(true);
    let pool = if open.is_empty() || (!funded.is_empty() && s.rng.chance(LATE_PAYMENT_SHARE)) {
        if funded.is_empty() { open } else { funded }
    } else {
        open
    };
    let project = match pool.len() {
        0 => "prj-missing".to_string(),
        n => pool[s.rng.range(0, n as u64 - 1) as usize].clone(),
    };
    let amount = s.rng.range(10, 100) as i64 * 1_000;
    let failure = if s.rng.chance(failure_rate) {
        let mut pick = s.rng.next_f64();
        FAILURE_MIX
            .iter()
            .find(|(_, share)| {
                pick -= share;
                pick < 0.0
            })
            .map_or(Some(FailureKind::Decline), |(k, _)| Some(*k))
    } else {
        None
    };
    let payment_id = format!("pay-{n:06}");
    let card = match failure {
        Some(FailureKind::Decline) => sandbox::CARD_DECLINE,
        Some(FailureKind::TransientError) => sandbox::CARD_TRANSIENT_ERROR,
        _ => sandbox::CARD_APPROVE,
    };
    let mut body = BrokerBody {
        destination: topology::TOPIC_PAYMENT_ATTEMPT,
        attempt: PaymentAttempt {
            payment_id: payment_id.clone(),
            project_id: project,
            backer_email: format!("backer{n}@example.com"),
            amount,
            currency: Currency::KRW,
            card: card.to_string(),
            status: None,
        },
    };
    match failure {
        Some(FailureKind::SeedStatusFailed) => {
            body.attempt.status = Some(crate::domain::SEED_STATUS_FAILED);
        }
        Some(FailureKind::NotJson) => {
            return TrafficItem::Raw {
                queue: topology::QUEUE_PAYMENT_ATTEMPT,
                body: format!("<xml>payment {payment_id}</xml>"),
            };
        }
        Some(FailureKind::BadPayload) => {
            let envelope = json!({
                "kind": MessageKind::PaymentAttempt.as_str(),
                "from": topology::QUEUE_PAYMENT_ATTEMPT,
                "attempts": 0,
                "toDiscord": false,
                "payload": {"paymentId": payment_id, "amount": "lots"},
            });
            return TrafficItem::Raw {
                queue: topology::QUEUE_PAYMENT_ATTEMPT,
                body: envelope.to_string(),
            };
        }
        _ => {}
    }
    TrafficItem::Broker(serde_json::to_string(&body).unwrap_or_default())
}

/// A broker request body: the destination and the attempt's fields side by side.
#[derive(Serialize)]
struct BrokerBody {
    destination: &'static str,
    #[serde(flatten)]
    attempt: PaymentAttempt,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::WorldConfig;

    /// Same seed, same traffic; failure rate zero gives only approving broker requests.
    #[test]
    fn traffic_is_reproducible_and_honours_the_failure_rate() {
        let draw = |seed, rate| {
            let w = SimWorld::new(seed, WorldConfig::default());
            seed_demo_projects(&w);
            (0..200).map(|_| next_item(&w, rate)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, 0.3), draw(7, 0.3));
        assert!(draw(7, 0.0).iter().all(
            |i| matches!(i, TrafficItem::Broker(b) if b.contains("tok_approve") && !b.contains("status"))
        ));
        let failing = draw(7, 1.0);
        assert!(failing.iter().any(|i| matches!(i, TrafficItem::Raw { .. })));
        assert!(
            failing
                .iter()
                .any(|i| matches!(i, TrafficItem::Broker(b) if b.contains("tok_decline")))
        );
        assert!(failing.iter().all(|i| !matches!(i, TrafficItem::Broker(b) if b.contains("tok_approve") && !b.contains("status"))));
    }
}
