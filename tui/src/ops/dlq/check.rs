//! What a redrive of chosen messages would do, told from the ledger before anything moves.
//!
//! A payment message's fate on redelivery is decided by pg (`handlers/src/pg.rs`), which reads
//! the ledger before it charges or refunds anything:
//!
//! | message | ledger state | pg on redelivery | class |
//! |---|---|---|---|
//! | `payment_attempt` | approved | no charge; announces the receipt mail and the funding raise again, which send_email and funding_update skip when they were done (a mail and a raise happen once per payment) | done |
//! | `payment_attempt` | cancelled | nothing | done |
//! | `payment_attempt` | declined | no charge: dead-letters it again ("was declined"), so it goes round the DLQ retries and is parked again | declined |
//! | `payment_attempt` | none | charges the card (the payment id is the gateway's idempotency key) | unknown |
//! | `payment_cancel` | cancelled | nothing, or (same cancel id) announces the reversal and refund mail again, skipped downstream when done | done |
//! | `payment_cancel` | declined | nothing: there is nothing to refund | done |
//! | `payment_cancel` | approved | refunds the charge and marks the payment cancelled | refund |
//! | `payment_cancel` | none | dead-letters it again ("not in the ledger") | unknown |
//! | any other kind, or unreadable | — | not pg's: the ledger has no verdict | other |
//!
//! So a declined card is not tried again: the ledger records the decline on first sight and
//! every later delivery reads it. And "done" means no money moves; for an approved attempt
//! the redrive still re-announces, which matters only if the message failed while announcing
//! (its `reason` then names the publish): dropping such a message instead of redriving it
//! could lose that receipt or raise.

use super::{DlqError, DlqMessage, ledger_states};
use crate::backend::Backend;
use crate::render::thousands;
use crowdfund_core::domain::PaymentStatus;
use crowdfund_core::envelope::MessageKind;
use serde::Serialize;
use std::collections::HashMap;

/// What the ledger says a redrive would do with each message, by message id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerCheck {
    /// The ledger has decided them: the redrive charges and refunds nothing.
    pub done: Vec<String>,
    /// Attempts of declined payments: not charged again, they come back to the DLQ.
    pub declined: Vec<String>,
    /// Cancels of approved payments: the redrive refunds them.
    pub refunds: Vec<String>,
    /// Payment messages whose payment is not in the ledger (or that name none): an attempt
    /// is charged, a cancel comes back to the DLQ.
    pub unknown: Vec<String>,
    /// Not payment messages (other kinds, unreadable bodies): no ledger verdict.
    pub other: Vec<String>,
}

/// The class of one message (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Done,
    Declined,
    Refund,
    Unknown,
    Other,
}

/// The class of `m` from its kind and its `ledger_state` (`None` or `none`: not in the ledger).
pub fn verdict(m: &DlqMessage) -> Verdict {
    let kind = m.kind.as_deref();
    let attempt = kind == Some(MessageKind::PaymentAttempt.as_str());
    let cancel = kind == Some(MessageKind::PaymentCancel.as_str());
    if !attempt && !cancel {
        return Verdict::Other;
    }
    let state = m.ledger_state.as_deref().and_then(status_of);
    match (attempt, state) {
        (_, None) => Verdict::Unknown,
        (true, Some(PaymentStatus::Approved | PaymentStatus::Cancelled)) => Verdict::Done,
        (true, Some(PaymentStatus::Declined)) => Verdict::Declined,
        (false, Some(PaymentStatus::Cancelled | PaymentStatus::Declined)) => Verdict::Done,
        (false, Some(PaymentStatus::Approved)) => Verdict::Refund,
    }
}

fn status_of(state: &str) -> Option<PaymentStatus> {
    [
        PaymentStatus::Approved,
        PaymentStatus::Declined,
        PaymentStatus::Cancelled,
    ]
    .into_iter()
    .find(|s| s.as_str() == state)
}

/// True for the messages pg handles, whose payment the ledger can speak for.
fn is_payment_message(m: &DlqMessage) -> bool {
    m.payment_id.is_some()
        && [MessageKind::PaymentAttempt, MessageKind::PaymentCancel]
            .iter()
            .any(|k| m.kind.as_deref() == Some(k.as_str()))
}

/// A payment message whose ledger state is missing, or was `none` when it was looked up.
fn needs_lookup(m: &DlqMessage) -> bool {
    is_payment_message(m) && m.ledger_state.as_deref().is_none_or(|s| s == "none")
}

impl LedgerCheck {
    /// Classifies `messages` by their ledger states as they are.
    pub fn of(messages: &[DlqMessage]) -> Self {
        let mut check = LedgerCheck::default();
        for m in messages {
            let class = match verdict(m) {
                Verdict::Done => &mut check.done,
                Verdict::Declined => &mut check.declined,
                Verdict::Refund => &mut check.refunds,
                Verdict::Unknown => &mut check.unknown,
                Verdict::Other => &mut check.other,
            };
            class.push(m.message_id.clone());
        }
        check
    }

    /// How many messages were checked.
    pub fn total(&self) -> usize {
        self.done.len()
            + self.declined.len()
            + self.refunds.len()
            + self.unknown.len()
            + self.other.len()
    }

    /// One line for a confirmation, the classes that have messages, e.g. "1,204 already done
    /// (a redrive charges or refunds nothing), 37 declined (not charged again: they come back
    /// to the DLQ), 3 not in the ledger (an attempt is charged, a cancel comes back)".
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            (
                &self.done,
                "already done (a redrive charges or refunds nothing)",
            ),
            (
                &self.declined,
                "declined (not charged again: they come back to the DLQ)",
            ),
            (
                &self.refunds,
                "cancel(s) of approved payments (the redrive refunds them)",
            ),
            (
                &self.unknown,
                "not in the ledger (an attempt is charged, a cancel comes back)",
            ),
            (&self.other, "not payments (no ledger verdict)"),
        ]
        .into_iter()
        .filter(|(ids, _)| !ids.is_empty())
        .map(|(ids, what)| format!("{} {what}", thousands(ids.len() as u64)))
        .collect();
        if parts.is_empty() {
            "no messages to check".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Classifies the messages chosen for a redrive. Payment messages whose ledger state is
/// missing, or was `none` when it was looked up (the payment may have been decided since),
/// are looked up first, in one batch read, and their `ledger_state` filled in; a known
/// approved, declined or cancelled state is final for this check and not read again.
pub async fn check_before_redrive(
    b: &Backend,
    messages: &mut [DlqMessage],
) -> Result<LedgerCheck, DlqError> {
    let ids: Vec<String> = messages
        .iter()
        .filter(|m| needs_lookup(m))
        .filter_map(|m| m.payment_id.clone())
        .collect();
    if !ids.is_empty() {
        let states: HashMap<String, String> = ledger_states(b, ids.iter().map(String::as_str))
            .await?
            .into_iter()
            .collect();
        for m in messages.iter_mut().filter(|m| needs_lookup(m)) {
            if let Some(state) = m.payment_id.as_ref().and_then(|p| states.get(p)) {
                m.ledger_state = Some(state.clone());
            }
        }
    }
    Ok(LedgerCheck::of(messages))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::dlq::list_messages;
    use crowdfund_core::domain::PaymentRecord;
    use crowdfund_core::money::{Currency, Money};
    use crowdfund_core::ports::{Ledger, MessageSender};
    use crowdfund_core::sim::{SimWorld, WorldConfig};
    use crowdfund_core::topology::{QUEUE_PARKED, QUEUE_PAYMENT_ATTEMPT};
    use futures::executor::block_on;
    use std::sync::Arc;

    fn record(id: &str, status: PaymentStatus) -> PaymentRecord {
        PaymentRecord {
            payment_id: id.into(),
            project_id: "prj-1".into(),
            backer_email: "b@example.com".into(),
            amount: Money::new(50_000, Currency::KRW),
            status,
            paid_at: "2026-11-20T12:00:00Z".parse().expect("a time"),
            charge_id: None,
            decline_reason: None,
            cancel_id: None,
            cancelled_at: None,
        }
    }

    fn envelope(kind: &str, payment: Option<&str>) -> String {
        let payload = match payment {
            Some(p) => serde_json::json!({"paymentId": p, "cancelId": format!("cancel-{p}")}),
            None => serde_json::json!({}),
        };
        serde_json::json!({"kind": kind, "from": QUEUE_PAYMENT_ATTEMPT, "attempts": 4,
            "toDiscord": false, "payload": payload})
        .to_string()
    }

    /// A world whose ledger holds one payment in each state, and whose etc_parked holds the
    /// given bodies (in order); the parked messages as listed, without ledger states.
    fn parked(bodies: &[String]) -> (Backend, Vec<DlqMessage>, tempfile::TempDir) {
        let world = Arc::new(SimWorld::new(1, WorldConfig::default()));
        for (id, status) in [
            ("pay-approved", PaymentStatus::Approved),
            ("pay-declined", PaymentStatus::Declined),
            ("pay-cancelled", PaymentStatus::Cancelled),
        ] {
            block_on(world.put_payment(&record(id, status))).expect("a sim write");
        }
        for body in bodies {
            block_on(world.send(QUEUE_PARKED, body, 0)).expect("a sim send");
        }
        let dir = tempfile::tempdir().expect("a temp dir");
        let b = Backend::over_world(world, dir.path());
        let listed = block_on(list_messages(&b, QUEUE_PARKED, 100, false, &|_| {}))
            .expect("the list of the sim");
        (b, listed, dir)
    }

    /// Each kind and ledger state lands in the class pg's behaviour gives it, the missing
    /// states are filled in from the ledger, and the ids are the messages'.
    #[test]
    fn messages_are_classed_by_what_pg_would_do() {
        let attempt = MessageKind::PaymentAttempt.as_str();
        let cancel = MessageKind::PaymentCancel.as_str();
        let bodies = [
            envelope(attempt, Some("pay-approved")),
            envelope(attempt, Some("pay-cancelled")),
            envelope(attempt, Some("pay-declined")),
            envelope(attempt, Some("pay-new")),
            envelope(cancel, Some("pay-cancelled")),
            envelope(cancel, Some("pay-declined")),
            envelope(cancel, Some("pay-approved")),
            envelope(cancel, Some("pay-new")),
            envelope(attempt, None),
            envelope(MessageKind::SendEmail.as_str(), Some("pay-approved")),
            "not json at all".to_string(),
        ];
        let (b, mut listed, _dir) = parked(&bodies);
        assert_eq!(listed.len(), bodies.len());
        assert!(listed.iter().all(|m| m.ledger_state.is_none()));
        let check = block_on(check_before_redrive(&b, &mut listed)).expect("a check");
        let id = |i: usize| listed[i].message_id.clone();
        assert_eq!(check.done, [id(0), id(1), id(4), id(5)]);
        assert_eq!(check.declined, [id(2)]);
        assert_eq!(check.refunds, [id(6)]);
        assert_eq!(check.unknown, [id(3), id(7), id(8)]);
        assert_eq!(check.other, [id(9), id(10)]);
        assert_eq!(check.total(), bodies.len());
        let states: Vec<Option<&str>> = listed.iter().map(|m| m.ledger_state.as_deref()).collect();
        assert_eq!(
            states,
            [
                Some("approved"),
                Some("cancelled"),
                Some("declined"),
                Some("none"),
                Some("cancelled"),
                Some("declined"),
                Some("approved"),
                Some("none"),
                None,
                None,
                None
            ],
            "payment messages looked up, the others left alone"
        );
        let json = serde_json::to_value(&check).expect("JSON");
        assert_eq!(json["refunds"][0], id(6));
        assert_eq!(json["other"].as_array().map(Vec::len), Some(2));
    }

    /// A known state is kept, a `none` is asked again: the payment may have been decided since.
    #[test]
    fn a_known_state_is_kept_and_none_is_looked_up_again() {
        let attempt = MessageKind::PaymentAttempt.as_str();
        let bodies = [
            envelope(attempt, Some("pay-declined")),
            envelope(attempt, Some("pay-approved")),
        ];
        let (b, mut listed, _dir) = parked(&bodies);
        listed[0].ledger_state = Some("approved".into());
        listed[1].ledger_state = Some("none".into());
        let check = block_on(check_before_redrive(&b, &mut listed)).expect("a check");
        assert_eq!(listed[0].ledger_state.as_deref(), Some("approved"));
        assert_eq!(listed[1].ledger_state.as_deref(), Some("approved"));
        assert_eq!(check.done.len(), 2);
    }

    /// The confirmation's line: counts grouped by thousands, the empty classes left out.
    #[test]
    fn the_summary_names_each_class_that_has_messages() {
        let ids = |n: usize| (0..n).map(|i| format!("m-{i}")).collect::<Vec<_>>();
        let check = LedgerCheck {
            done: ids(1_204),
            declined: ids(37),
            refunds: Vec::new(),
            unknown: ids(3),
            other: Vec::new(),
        };
        assert_eq!(
            check.summary(),
            "1,204 already done (a redrive charges or refunds nothing), 37 declined (not \
             charged again: they come back to the DLQ), 3 not in the ledger (an attempt is \
             charged, a cancel comes back)"
        );
        assert_eq!(LedgerCheck::default().summary(), "no messages to check");
    }
}
