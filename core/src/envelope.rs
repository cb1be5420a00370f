//! The queue envelope every queued message travels in:
//! `{"kind": ..., "from": "<queue name>", "attempts": 0, "toDiscord": false, "payload": {...}}`.
//!
//! `lastError` is added (and only then) when a message fails, so the DLQ browser can say why.

use crate::topology;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    PaymentAttempt,
    PaymentCancel,
    SendEmail,
    ApprovePayment,
    ReverseFunding,
    GoalAchievement,
}

impl MessageKind {
    pub const ALL: [MessageKind; 6] = [
        MessageKind::PaymentAttempt,
        MessageKind::PaymentCancel,
        MessageKind::SendEmail,
        MessageKind::ApprovePayment,
        MessageKind::ReverseFunding,
        MessageKind::GoalAchievement,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            MessageKind::PaymentAttempt => "payment_attempt",
            MessageKind::PaymentCancel => "payment_cancel",
            MessageKind::SendEmail => "send_email",
            MessageKind::ApprovePayment => "approve_payment",
            MessageKind::ReverseFunding => "reverse_funding",
            MessageKind::GoalAchievement => "goal_achievement",
        }
    }

    /// The SNS topic a message of this kind is published to.
    pub fn topic(&self) -> &'static str {
        match self {
            MessageKind::PaymentAttempt | MessageKind::PaymentCancel => {
                topology::TOPIC_PAYMENT_ATTEMPT
            }
            MessageKind::SendEmail => topology::TOPIC_SEND_EMAIL,
            MessageKind::ApprovePayment | MessageKind::ReverseFunding => {
                topology::TOPIC_APPROVE_PAYMENT
            }
            MessageKind::GoalAchievement => topology::TOPIC_GOAL_ACHIEVEMENT,
        }
    }

    /// The queue the topic delivers to, which becomes the envelope's `from`.
    pub fn queue(&self) -> &'static str {
        // Every topic in the topology has exactly one subscriber (tested there).
        topology::queue_of_topic(self.topic()).unwrap_or(topology::QUEUE_DLQ)
    }
}

/// The payload stays raw JSON until a handler asks for it typed: parsing it into a generic
/// value first would cost more than the rest of a message's handling.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub kind: MessageKind,
    pub from: String,
    pub attempts: u32,
    pub to_discord: bool,
    pub payload: Box<RawValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message body is not an envelope: {0}")]
    NotAnEnvelope(serde_json::Error),
    #[error("{kind} payload is malformed: {source}")]
    BadPayload {
        kind: &'static str,
        source: serde_json::Error,
    },
    #[error("expected a {expected} message, got {got}")]
    WrongKind {
        expected: &'static str,
        got: &'static str,
    },
}

impl PartialEq for Envelope {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.from == other.from
            && self.attempts == other.attempts
            && self.to_discord == other.to_discord
            && self.payload.get() == other.payload.get()
            && self.last_error == other.last_error
    }
}

impl Envelope {
    /// A fresh envelope addressed to the queue behind `kind`'s topic.
    pub fn new<P: Serialize>(kind: MessageKind, payload: &P) -> Self {
        Envelope {
            kind,
            from: kind.queue().to_string(),
            attempts: 0,
            to_discord: false,
            // Serializing our own payload types cannot fail (no maps with non-string keys).
            payload: serde_json::value::to_raw_value(payload)
                .unwrap_or_else(|_| RawValue::NULL.to_owned()),
            last_error: None,
        }
    }

    pub fn parse(body: &str) -> Result<Self, EnvelopeError> {
        serde_json::from_str(body).map_err(EnvelopeError::NotAnEnvelope)
    }

    /// The payload as a generic JSON value (for display and tests).
    pub fn payload_value(&self) -> Value {
        serde_json::from_str(self.payload.get()).unwrap_or(Value::Null)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The typed payload, checking that the kind is the one expected.
    pub fn payload_as<P: DeserializeOwned>(
        &self,
        expected: MessageKind,
    ) -> Result<P, EnvelopeError> {
        if self.kind != expected {
            return Err(EnvelopeError::WrongKind {
                expected: expected.as_str(),
                got: self.kind.as_str(),
            });
        }
        serde_json::from_str(self.payload.get()).map_err(|source| EnvelopeError::BadPayload {
            kind: self.kind.as_str(),
            source,
        })
    }
}

/// The envelope fields that matter to the DLQ handler and the console, read leniently from any
/// body so that even a message with an unknown kind or a broken payload can be routed or parked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvelopeHeader {
    pub kind: Option<String>,
    pub from: Option<String>,
    pub attempts: u32,
    pub to_discord: bool,
    /// `declined: true`: a business outcome (a declined card) that is parked at once, unretried
    /// and unpaged.
    pub declined: bool,
    pub last_error: Option<String>,
    /// `payload.paymentId` when there is one.
    pub payment_id: Option<String>,
    pub project_id: Option<String>,
}

impl EnvelopeHeader {
    /// `None` when the body is not a JSON object at all.
    pub fn read(body: &str) -> Option<(EnvelopeHeader, serde_json::Map<String, Value>)> {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
            return None;
        };
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let payload = map.get("payload");
        let header = EnvelopeHeader {
            kind: text(map.get("kind")),
            from: text(map.get("from")),
            attempts: map
                .get("attempts")
                .and_then(Value::as_u64)
                .map_or(0, |a| a.min(u64::from(u32::MAX)) as u32),
            to_discord: map
                .get("toDiscord")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            declined: map
                .get("declined")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            last_error: text(map.get("lastError")),
            payment_id: text(payload.and_then(|p| p.get("paymentId"))),
            project_id: text(payload.and_then(|p| p.get("projectId"))),
        };
        Some((header, map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::GoalAchievement;

    /// The wire shape is exactly the one in DESIGN §1, field order included.
    #[test]
    fn envelope_serializes_exactly_as_designed() {
        let e = Envelope::new(
            MessageKind::GoalAchievement,
            &GoalAchievement {
                project_id: "prj-1".into(),
                achieved_at: "2026-11-20T12:00:00Z".parse().unwrap(),
                second_check: false,
            },
        );
        assert_eq!(
            e.to_json(),
            r#"{"kind":"goal_achievement","from":"goal_achievement_queue","attempts":0,"toDiscord":false,"payload":{"projectId":"prj-1","achievedAt":"2026-11-20T12:00:00Z"}}"#
        );
        let back = Envelope::parse(&e.to_json()).unwrap();
        assert_eq!(back, e);
        let g: GoalAchievement = back.payload_as(MessageKind::GoalAchievement).unwrap();
        assert_eq!(g.project_id, "prj-1");
        assert!(matches!(
            back.payload_as::<GoalAchievement>(MessageKind::SendEmail),
            Err(EnvelopeError::WrongKind { .. })
        ));
    }

    #[test]
    fn header_reads_what_it_can_from_any_body() {
        assert!(EnvelopeHeader::read("not json").is_none());
        assert!(EnvelopeHeader::read("[1,2]").is_none());
        let (h, _) = EnvelopeHeader::read(
            r#"{"kind":"mystery","from":"send_email_queue","attempts":2,"payload":{"paymentId":"p"}}"#,
        )
        .unwrap();
        assert_eq!(h.kind.as_deref(), Some("mystery"));
        assert_eq!(h.from.as_deref(), Some("send_email_queue"));
        assert_eq!(h.attempts, 2);
        assert!(!h.to_discord);
        assert_eq!(h.payment_id.as_deref(), Some("p"));
    }

    #[test]
    fn every_kind_routes_to_a_real_queue() {
        for k in MessageKind::ALL {
            assert!(topology::queue(k.queue()).is_some());
            assert_ne!(k.queue(), topology::QUEUE_DLQ);
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
    }
}
