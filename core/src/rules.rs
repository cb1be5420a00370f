//! The pipeline's rules as pure functions: broker body validation, the DLQ decision, and the
//! selection of late payments for a goal check. No I/O here, so each rule is tested directly.

use crate::domain::{GoalAchievement, PaymentAttempt, PaymentRecord, PaymentStatus, Timestamp};
use crate::envelope::EnvelopeHeader;
use crate::money::Currency;
use crate::topology::{self, MAX_DLQ_ATTEMPTS, SQS_MAX_DELAY_SECONDS};
use serde::Serialize;
use serde_json::{Map, Value};

/// API Gateway accepts 10 MB, SNS 256 KiB; a checkout is well under 1 KiB. Anything larger is
/// a mistake or an attack, refused before parsing.
pub const MAX_BROKER_BODY_BYTES: usize = 16 * 1024;
/// Upper bound for one payment, in minor units (10^12: ₩1 trillion or $10 billion).
pub const MAX_PAYMENT_AMOUNT: i64 = 1_000_000_000_000;
/// Longest payment or project id.
pub const MAX_ID_LEN: usize = 64;
/// Longest card token: a Toss Payments `paymentKey` may have 200 characters.
pub const MAX_CARD_TOKEN_LEN: usize = 200;
const MAX_EMAIL_LEN: usize = 254;

/// Destinations the broker publishes to on behalf of callers. The other topics are internal.
pub const BROKER_DESTINATIONS: [&str; 2] = [
    topology::TOPIC_PAYMENT_ATTEMPT,
    topology::TOPIC_GOAL_ACHIEVEMENT,
];

/// A refusal that names the offending field, answered as HTTP 400 `{"error", "field"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error}")]
pub struct FieldError {
    pub error: String,
    pub field: Option<String>,
}

impl FieldError {
    pub fn new(field: &str, error: impl Into<String>) -> Self {
        FieldError {
            error: error.into(),
            field: Some(field.to_string()),
        }
    }
    pub fn body(error: impl Into<String>) -> Self {
        FieldError {
            error: error.into(),
            field: None,
        }
    }
}

/// A broker body that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerRequest {
    PaymentAttempt(PaymentAttempt),
    GoalAchievement(GoalAchievement),
}

impl BrokerRequest {
    pub fn destination(&self) -> &'static str {
        match self {
            BrokerRequest::PaymentAttempt(_) => topology::TOPIC_PAYMENT_ATTEMPT,
            BrokerRequest::GoalAchievement(_) => topology::TOPIC_GOAL_ACHIEVEMENT,
        }
    }
}

/// Validates a `POST /broker` body. Every refusal names the field and what would be accepted.
pub fn validate_broker_body(body: &[u8]) -> Result<BrokerRequest, FieldError> {
    if body.len() > MAX_BROKER_BODY_BYTES {
        return Err(FieldError::body(format!(
            "body is {} bytes; the broker accepts at most {MAX_BROKER_BODY_BYTES}",
            body.len()
        )));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| FieldError::body(format!("body is not valid JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(FieldError::body("body must be a JSON object"));
    };
    let destination = required_str(&obj, "destination")?;
    match destination {
        d if d == topology::TOPIC_PAYMENT_ATTEMPT => {
            validate_payment_attempt(&obj).map(BrokerRequest::PaymentAttempt)
        }
        d if d == topology::TOPIC_GOAL_ACHIEVEMENT => {
            validate_goal_achievement(&obj).map(BrokerRequest::GoalAchievement)
        }
        other => Err(FieldError::new(
            "destination",
            format!(
                "unknown destination {other:?}; accepted: {}",
                BROKER_DESTINATIONS.join(", ")
            ),
        )),
    }
}

fn validate_payment_attempt(obj: &Map<String, Value>) -> Result<PaymentAttempt, FieldError> {
    let payment_id = identifier(obj, "paymentId")?;
    let project_id = identifier(obj, "projectId")?;
    let backer_email = email(obj, "backerEmail")?;
    let amount = minor_units(obj, "amount")?;
    let currency = required_str(obj, "currency")?
        .parse::<Currency>()
        .map_err(|e| FieldError::new("currency", e.to_string()))?;
    let card = required_str(obj, "card")?;
    if card.is_empty() || card.len() > MAX_CARD_TOKEN_LEN {
        return Err(FieldError::new(
            "card",
            format!("card must be a token of 1 to {MAX_CARD_TOKEN_LEN} characters"),
        ));
    }
    let status = match obj.get("status") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| FieldError::new("status", "status must be an integer"))?,
        ),
    };
    Ok(PaymentAttempt {
        payment_id,
        project_id,
        backer_email,
        amount,
        currency,
        card: card.to_string(),
        status,
    })
}

fn validate_goal_achievement(obj: &Map<String, Value>) -> Result<GoalAchievement, FieldError> {
    let project_id = identifier(obj, "projectId")?;
    let at = required_str(obj, "achievedAt")?;
    let achieved_at = chrono::DateTime::parse_from_rfc3339(at)
        .map_err(|e| {
            FieldError::new(
                "achievedAt",
                format!("achievedAt must be an RFC 3339 time such as 2026-11-20T12:00:00Z ({e})"),
            )
        })?
        .to_utc();
    Ok(GoalAchievement {
        project_id,
        achieved_at,
        second_check: false,
    })
}

/// A required string field: missing or `null` is "required", another JSON type "must be a string".
pub fn required_str<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a str, FieldError> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(FieldError::new(field, format!("{field} is required"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(FieldError::new(field, format!("{field} must be a string"))),
    }
}

/// Ids are idempotency keys and DynamoDB keys: short, printable, no spaces.
pub fn is_valid_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// A required id field (payment, project) that passes [`is_valid_identifier`].
pub fn identifier(obj: &Map<String, Value>, field: &str) -> Result<String, FieldError> {
    let s = required_str(obj, field)?;
    if !is_valid_identifier(s) {
        return Err(FieldError::new(
            field,
            format!("{field} must be 1 to {MAX_ID_LEN} characters of letters, digits, - _ . :"),
        ));
    }
    Ok(s.to_string())
}

fn email(obj: &Map<String, Value>, field: &str) -> Result<String, FieldError> {
    let s = required_str(obj, field)?;
    let ok = s.len() <= MAX_EMAIL_LEN
        && !s.chars().any(char::is_whitespace)
        && matches!(s.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.contains('@')
                && !domain.starts_with('.') && !domain.ends_with('.'));
    if !ok {
        return Err(FieldError::new(
            field,
            format!("{field} must be an e-mail address"),
        ));
    }
    Ok(s.to_string())
}

/// A positive whole number of minor units. Floats are refused even when whole (`50000.0`),
/// because a float on the wire means someone computed money in floating point.
pub fn minor_units(obj: &Map<String, Value>, field: &str) -> Result<i64, FieldError> {
    let v = obj
        .get(field)
        .filter(|v| !v.is_null())
        .ok_or_else(|| FieldError::new(field, format!("{field} is required")))?;
    let Value::Number(n) = v else {
        return Err(FieldError::new(
            field,
            format!(
                "{field} must be a JSON integer of minor units, not {}",
                json_type(v)
            ),
        ));
    };
    let amount = if let Some(i) = n.as_i64() {
        i
    } else if n.as_u64().is_some() {
        i64::MAX
    } else {
        return Err(FieldError::new(
            field,
            format!("{field} must be a whole number of minor units, got {n}"),
        ));
    };
    if amount <= 0 {
        return Err(FieldError::new(
            field,
            format!("{field} must be greater than zero"),
        ));
    }
    if amount > MAX_PAYMENT_AMOUNT {
        return Err(FieldError::new(
            field,
            format!("{field} must be at most {MAX_PAYMENT_AMOUNT} minor units"),
        ));
    }
    Ok(amount)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Why the DLQ handler stops retrying a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ParkReason {
    /// The body is not a JSON object: nothing says where it came from.
    Unreadable,
    /// `toDiscord: true` asks for a person at once.
    ToDiscordRequested,
    /// More than `MAX_DLQ_ATTEMPTS` retries failed.
    RetriesExhausted,
    /// `from` names no queue that a function drains.
    UnknownSource,
    /// A declined card: a business outcome, recorded in the ledger and mailed to the backer.
    /// Retrying cannot change it and nobody needs paging for it.
    Declined,
}

impl ParkReason {
    pub fn describe(&self) -> &'static str {
        match self {
            ParkReason::Unreadable => "body is not a JSON envelope",
            ParkReason::ToDiscordRequested => "toDiscord was set",
            ParkReason::RetriesExhausted => "retries exhausted",
            ParkReason::UnknownSource => "from names no work queue",
            ParkReason::Declined => "card declined",
        }
    }

    /// Whether a person is paged for it: faults yes, business outcomes no.
    pub fn pages(&self) -> bool {
        !matches!(self, ParkReason::Declined)
    }
}

/// What the DLQ handler does with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DlqDecision {
    /// Send back to `queue` with `attempts` and a delay.
    Retry {
        queue: String,
        attempts: u32,
        delay_seconds: u32,
    },
    /// Alert on Discord and keep the message in `etc_parked`.
    Park { attempts: u32, reason: ParkReason },
}

/// The DLQ rule: a declined payment is parked as it is; otherwise count this failure; up to
/// `MAX_DLQ_ATTEMPTS` go back to `from` with exponential backoff; beyond that, or when
/// `toDiscord` is set, alert and park.
pub fn dlq_decision(header: &EnvelopeHeader) -> DlqDecision {
    let (from, to_discord) = (header.from.as_deref(), header.to_discord);
    if header.declined && !to_discord {
        return DlqDecision::Park {
            attempts: header.attempts,
            reason: ParkReason::Declined,
        };
    }
    let attempts = header.attempts.saturating_add(1);
    if to_discord {
        return DlqDecision::Park {
            attempts,
            reason: ParkReason::ToDiscordRequested,
        };
    }
    if attempts > MAX_DLQ_ATTEMPTS {
        return DlqDecision::Park {
            attempts,
            reason: ParkReason::RetriesExhausted,
        };
    }
    match from.filter(|q| topology::function_of_queue(q).is_some() && *q != topology::QUEUE_DLQ) {
        Some(queue) => DlqDecision::Retry {
            queue: queue.to_string(),
            attempts,
            delay_seconds: retry_backoff_seconds(attempts),
        },
        None => DlqDecision::Park {
            attempts,
            reason: ParkReason::UnknownSource,
        },
    }
}

/// 30 s, 60 s, 120 s, … capped at SQS's 900 s maximum delay.
pub fn retry_backoff_seconds(attempt: u32) -> u32 {
    let exp = attempt.saturating_sub(1).min(10);
    (30u32 << exp).min(SQS_MAX_DELAY_SECONDS)
}

/// The payments a goal check cancels: approved payments to `project_id` made strictly after
/// `achieved_at`. Cancelled and declined ones are left alone, so a second check cancels nothing.
pub fn select_late_payments<'a>(
    payments: &'a [PaymentRecord],
    project_id: &str,
    achieved_at: Timestamp,
) -> Vec<&'a PaymentRecord> {
    payments
        .iter()
        .filter(|p| {
            p.project_id == project_id
                && p.status == PaymentStatus::Approved
                && p.paid_at > achieved_at
        })
        .collect()
}

/// The cancel for a payment has one id, whoever asks and however often: its idempotency key.
pub fn cancel_id_for(payment_id: &str) -> String {
    format!("cancel-{payment_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use serde_json::json;

    fn payment_body(amount: Value) -> Vec<u8> {
        serde_json::to_vec(
            &json!({"destination": "payment_attempt", "paymentId": "pay-1",
            "projectId": "prj-1", "backerEmail": "backer@example.com", "amount": amount,
            "currency": "KRW", "card": "tok_approve"}),
        )
        .unwrap()
    }

    fn refused(body: &[u8]) -> FieldError {
        validate_broker_body(body).expect_err("should be refused")
    }

    /// The design's two example bodies pass.
    #[test]
    fn accepts_the_documented_bodies() {
        let p = validate_broker_body(&payment_body(json!(50000))).unwrap();
        let BrokerRequest::PaymentAttempt(p) = p else {
            panic!("wrong kind")
        };
        assert_eq!(p.money(), Money::new(50_000, Currency::KRW));
        let g = validate_broker_body(
            br#"{"destination": "goal_achievement", "projectId": "prj-1", "achievedAt": "2026-11-20T12:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(g.destination(), "goal_achievement");
    }

    /// Zero, negative, fractional, float-whole, string and huge amounts are refused on `amount`.
    #[test]
    fn refuses_bad_amounts_naming_the_field() {
        for amount in [
            json!(0),
            json!(-5),
            json!(10.5),
            json!(50000.0),
            json!("50000"),
            json!(null),
            json!(u64::MAX),
            json!(MAX_PAYMENT_AMOUNT + 1),
        ] {
            let e = refused(&payment_body(amount.clone()));
            assert_eq!(e.field.as_deref(), Some("amount"), "{amount}: {e}");
        }
    }

    #[test]
    fn refuses_unknown_destination_missing_fields_and_oversize_bodies() {
        let e = refused(br#"{"destination": "send_email"}"#);
        assert_eq!(e.field.as_deref(), Some("destination"));
        assert!(
            e.error.contains("payment_attempt"),
            "lists what is accepted: {e}"
        );
        assert_eq!(refused(br#"{}"#).field.as_deref(), Some("destination"));
        for field in [
            "paymentId",
            "projectId",
            "backerEmail",
            "amount",
            "currency",
            "card",
        ] {
            let mut v: Map<String, Value> =
                serde_json::from_slice(&payment_body(json!(1))).unwrap();
            v.remove(field);
            let e = refused(&serde_json::to_vec(&v).unwrap());
            assert_eq!(e.field.as_deref(), Some(field));
            assert_eq!(e.error, format!("{field} is required"));
        }
        let big = vec![b' '; MAX_BROKER_BODY_BYTES + 1];
        assert!(refused(&big).error.contains("at most"));
        assert_eq!(refused(b"nope").field, None);
        assert_eq!(refused(b"[]").error, "body must be a JSON object");
        let e = refused(
            br#"{"destination": "goal_achievement", "projectId": "p", "achievedAt": "yesterday"}"#,
        );
        assert_eq!(e.field.as_deref(), Some("achievedAt"));
    }

    #[test]
    fn refuses_bad_ids_emails_and_currencies() {
        let mut v: Map<String, Value> = serde_json::from_slice(&payment_body(json!(1))).unwrap();
        v.insert("paymentId".into(), json!("has space"));
        assert_eq!(
            refused(&serde_json::to_vec(&v).unwrap()).field.as_deref(),
            Some("paymentId")
        );
        v.insert("paymentId".into(), json!("ok-1"));
        for bad in [
            "no-at",
            "a@b",
            "@example.com",
            "a@@example.com",
            "a b@example.com",
        ] {
            v.insert("backerEmail".into(), json!(bad));
            assert_eq!(
                refused(&serde_json::to_vec(&v).unwrap()).field.as_deref(),
                Some("backerEmail"),
                "{bad}"
            );
        }
        v.insert("backerEmail".into(), json!("a@example.com"));
        v.insert("currency".into(), json!("krw"));
        assert_eq!(
            refused(&serde_json::to_vec(&v).unwrap()).field.as_deref(),
            Some("currency")
        );
    }

    fn header(from: Option<&str>, attempts: u32, to_discord: bool) -> EnvelopeHeader {
        EnvelopeHeader {
            from: from.map(str::to_string),
            attempts,
            to_discord,
            ..EnvelopeHeader::default()
        }
    }

    /// attempts 0,1,2 go back with growing delays; the fourth failure parks; toDiscord parks at once.
    #[test]
    fn dlq_retries_three_times_then_parks() {
        let q = Some(topology::QUEUE_PAYMENT_ATTEMPT);
        let delays: Vec<u32> = (0..3)
            .map(|a| match dlq_decision(&header(q, a, false)) {
                DlqDecision::Retry {
                    queue,
                    attempts,
                    delay_seconds,
                } => {
                    assert_eq!(queue, topology::QUEUE_PAYMENT_ATTEMPT);
                    assert_eq!(attempts, a + 1);
                    delay_seconds
                }
                other => panic!("attempt {a}: {other:?}"),
            })
            .collect();
        assert_eq!(delays, [30, 60, 120]);
        assert_eq!(
            dlq_decision(&header(q, 3, false)),
            DlqDecision::Park {
                attempts: 4,
                reason: ParkReason::RetriesExhausted
            }
        );
        assert_eq!(
            dlq_decision(&header(q, 0, true)),
            DlqDecision::Park {
                attempts: 1,
                reason: ParkReason::ToDiscordRequested
            }
        );
        for bad in [
            None,
            Some("nowhere"),
            Some(topology::QUEUE_DLQ),
            Some(topology::QUEUE_PARKED),
        ] {
            assert!(
                matches!(
                    dlq_decision(&header(bad, 0, false)),
                    DlqDecision::Park {
                        reason: ParkReason::UnknownSource,
                        ..
                    }
                ),
                "{bad:?}"
            );
        }
        assert_eq!(retry_backoff_seconds(u32::MAX), SQS_MAX_DELAY_SECONDS);
    }

    /// A declined payment is parked as it came, unretried and unpaged; toDiscord still pages.
    #[test]
    fn declines_park_at_once_without_a_page() {
        let declined = EnvelopeHeader {
            declined: true,
            ..header(Some(topology::QUEUE_PAYMENT_ATTEMPT), 0, false)
        };
        let decision = dlq_decision(&declined);
        assert_eq!(
            decision,
            DlqDecision::Park {
                attempts: 0,
                reason: ParkReason::Declined
            }
        );
        assert!(!ParkReason::Declined.pages() && ParkReason::RetriesExhausted.pages());
        let asked = EnvelopeHeader {
            to_discord: true,
            ..declined
        };
        assert!(matches!(
            dlq_decision(&asked),
            DlqDecision::Park {
                reason: ParkReason::ToDiscordRequested,
                ..
            }
        ));
    }

    #[test]
    fn late_payments_are_approved_ones_strictly_after_the_achievement() {
        let t0: Timestamp = "2026-11-20T12:00:00Z".parse().unwrap();
        let rec = |id: &str, project: &str, secs: i64, status| PaymentRecord {
            payment_id: id.into(),
            project_id: project.into(),
            backer_email: "b@example.com".into(),
            amount: Money::new(1, Currency::KRW),
            status,
            paid_at: t0 + chrono::Duration::seconds(secs),
            charge_id: None,
            decline_reason: None,
            cancel_id: None,
            cancelled_at: None,
        };
        let all = [
            rec("before", "p", -1, PaymentStatus::Approved),
            rec("exact", "p", 0, PaymentStatus::Approved),
            rec("late", "p", 1, PaymentStatus::Approved),
            rec("late-declined", "p", 2, PaymentStatus::Declined),
            rec("late-cancelled", "p", 3, PaymentStatus::Cancelled),
            rec("other-project", "q", 4, PaymentStatus::Approved),
        ];
        let ids: Vec<&str> = select_late_payments(&all, "p", t0)
            .iter()
            .map(|p| p.payment_id.as_str())
            .collect();
        assert_eq!(ids, ["late"]);
        assert_eq!(cancel_id_for("late"), "cancel-late");
    }
}
