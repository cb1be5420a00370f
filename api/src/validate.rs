//! Request bodies to typed values, with core's rules: every refusal is a 400 naming its field.

use crate::error::{ApiError, Result};
use crate::store::NewProject;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use crowdfund_core::domain::{PaymentAttempt, Timestamp};
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::rules::{self, BrokerRequest, FieldError};
use crowdfund_core::topology::TOPIC_PAYMENT_ATTEMPT;
use serde_json::{Map, Value};

pub const MAX_TITLE_CHARS: usize = 200;

/// The body as a JSON object, or the 400/413 that says why not.
pub fn json_object(body: std::result::Result<Bytes, BytesRejection>) -> Result<Map<String, Value>> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!(
                "body is larger than {} bytes",
                crate::MAX_BODY_BYTES
            ))
        } else {
            ApiError::BadRequest(FieldError::body(format!(
                "could not read the body: {rejection}"
            )))
        }
    })?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| FieldError::body(format!("body is not valid JSON: {e}")))?;
    match value {
        Value::Object(obj) => Ok(obj),
        _ => Err(FieldError::body("body must be a JSON object").into()),
    }
}

fn currency(obj: &Map<String, Value>) -> Result<Currency> {
    rules::required_str(obj, "currency")?
        .parse::<Currency>()
        .map_err(|e| ApiError::field("currency", e.to_string()))
}

/// `POST /projects`: `{title, goal, currency, deadline}`; the deadline must be in the future.
pub fn new_project(obj: &Map<String, Value>, now: Timestamp) -> Result<NewProject> {
    let title = rules::required_str(obj, "title")?.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::field(
            "title",
            format!("title must be 1 to {MAX_TITLE_CHARS} characters"),
        ));
    }
    if title.chars().any(char::is_control) {
        return Err(ApiError::field(
            "title",
            "title must not contain control characters",
        ));
    }
    let goal = rules::minor_units(obj, "goal")?;
    let currency = currency(obj)?;
    let deadline_text = rules::required_str(obj, "deadline")?;
    let deadline = chrono::DateTime::parse_from_rfc3339(deadline_text)
        .map_err(|_| {
            ApiError::field(
                "deadline",
                "deadline must be an RFC 3339 time such as 2026-12-31T23:59:59Z",
            )
        })?
        .with_timezone(&chrono::Utc);
    if deadline <= now {
        return Err(ApiError::field(
            "deadline",
            "deadline must be in the future",
        ));
    }
    Ok(NewProject {
        title: title.to_string(),
        goal,
        currency,
        deadline,
    })
}

/// `POST /projects/{id}/fundings`: `{paymentId, amount, currency}`.
pub fn funding(obj: &Map<String, Value>) -> Result<(String, Money, Option<Timestamp>)> {
    let payment_id = rules::identifier(obj, "paymentId")?;
    let amount = rules::minor_units(obj, "amount")?;
    let currency = currency(obj)?;
    let paid_at = match obj.get("paidAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| {
                    ApiError::field(
                        "paidAt",
                        "paidAt must be an RFC 3339 time such as 2026-11-20T12:00:00.250Z",
                    )
                })?
                .with_timezone(&chrono::Utc),
        ),
        Some(_) => return Err(ApiError::field("paidAt", "paidAt must be a string")),
    };
    Ok((payment_id, Money::new(amount, currency), paid_at))
}

/// `POST /payments`: the broker's `payment_attempt` body without `destination` (or with it set
/// to `payment_attempt`), validated exactly as the broker will. A missing `paymentId` is made up.
pub fn payment(
    mut obj: Map<String, Value>,
    new_payment_id: impl FnOnce() -> String,
) -> Result<PaymentAttempt> {
    match obj.get("destination") {
        None | Some(Value::Null) => {}
        Some(Value::String(d)) if d == TOPIC_PAYMENT_ATTEMPT => {}
        Some(_) => {
            return Err(ApiError::field(
                "destination",
                format!("destination may only be {TOPIC_PAYMENT_ATTEMPT:?} here"),
            ));
        }
    }
    obj.insert(
        "destination".into(),
        Value::String(TOPIC_PAYMENT_ATTEMPT.into()),
    );
    if matches!(obj.get("paymentId"), None | Some(Value::Null)) {
        obj.insert("paymentId".into(), Value::String(new_payment_id()));
    }
    let body = serde_json::to_vec(&Value::Object(obj))
        .map_err(|e| ApiError::Internal(format!("re-encoding a payment: {e}")))?;
    match rules::validate_broker_body(&body)? {
        BrokerRequest::PaymentAttempt(p) => Ok(p),
        BrokerRequest::GoalAchievement(_) => Err(ApiError::field(
            "destination",
            format!("destination may only be {TOPIC_PAYMENT_ATTEMPT:?} here"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => panic!("not an object"),
        }
    }

    fn field_of(r: Result<impl std::fmt::Debug>) -> Option<String> {
        match r {
            Err(ApiError::BadRequest(f)) => f.field,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    /// Amounts are positive whole numbers of minor units: zero, negatives, fractions and strings are refused.
    #[test]
    fn funding_amounts_are_positive_integers() {
        for bad in [
            json!(0),
            json!(-5),
            json!(1.5),
            json!(50000.0),
            json!("100"),
            json!(null),
        ] {
            let body = obj(json!({"paymentId": "pay-1", "amount": bad, "currency": "KRW"}));
            assert_eq!(field_of(funding(&body)).as_deref(), Some("amount"), "{bad}");
        }
        let ok = obj(json!({"paymentId": "pay-1", "amount": 100, "currency": "KRW"}));
        assert_eq!(
            funding(&ok).ok(),
            Some(("pay-1".into(), Money::new(100, Currency::KRW), None))
        );
    }

    /// A project needs a title, a positive goal, a currency code and a future deadline.
    #[test]
    fn new_project_names_the_bad_field() {
        let now = chrono::Utc::now();
        let good = json!({"title": "Pens", "goal": 1000, "currency": "KRW", "deadline": "2999-01-01T00:00:00Z"});
        assert!(new_project(&obj(good.clone()), now).is_ok());
        for (field, value) in [
            ("title", json!("  ")),
            ("title", json!(5)),
            ("goal", json!(-1)),
            ("currency", json!("krw")),
            ("deadline", json!("tomorrow")),
            ("deadline", json!("2000-01-01T00:00:00Z")),
        ] {
            let mut body = obj(good.clone());
            body.insert(field.into(), value);
            assert_eq!(field_of(new_project(&body, now)).as_deref(), Some(field));
        }
    }

    /// A checkout is validated like the broker's payment_attempt; a missing paymentId is made up.
    #[test]
    fn payment_uses_the_broker_rules() {
        let body = obj(
            json!({"projectId": "prj-1", "backerEmail": "a@b.co", "amount": 10, "currency": "KRW", "card": "tok_approve"}),
        );
        let p = payment(body.clone(), || "pay-new".into()).ok();
        assert_eq!(p.map(|p| p.payment_id).as_deref(), Some("pay-new"));
        let mut bad = body.clone();
        bad.insert("destination".into(), json!("goal_achievement"));
        assert_eq!(
            field_of(payment(bad, || "x".into())).as_deref(),
            Some("destination")
        );
        let mut bad = body;
        bad.insert("backerEmail".into(), json!("nope"));
        assert_eq!(
            field_of(payment(bad, || "x".into())).as_deref(),
            Some("backerEmail")
        );
    }
}
