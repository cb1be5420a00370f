//! The broker: API Gateway `POST /broker` → validation → the SNS topic named by `destination`.
//! A refused body publishes nothing.

use crowdfund_core::envelope::{Envelope, MessageKind};
use crowdfund_core::ports::Publisher;
use crowdfund_core::rules::{self, BrokerRequest};
use serde_json::{Value, json};
use std::sync::Arc;

/// An HTTP answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerResponse {
    pub status: u16,
    pub body: Value,
}

pub struct BrokerFunction {
    pub publisher: Arc<dyn Publisher>,
}

impl BrokerFunction {
    pub fn new(publisher: Arc<dyn Publisher>) -> Self {
        BrokerFunction { publisher }
    }

    /// 202 `{"messageId", "destination"}`; 400 `{"error", "field"}` for a bad body;
    /// 503 `{"error"}` when SNS cannot be reached (the caller may retry: ids are idempotency keys).
    pub async fn handle(&self, body: &[u8]) -> BrokerResponse {
        let request = match rules::validate_broker_body(body) {
            Ok(r) => r,
            Err(e) => {
                return BrokerResponse {
                    status: 400,
                    body: json!({"error": e.error, "field": e.field}),
                };
            }
        };
        let destination = request.destination();
        let envelope = match &request {
            BrokerRequest::PaymentAttempt(p) => Envelope::new(MessageKind::PaymentAttempt, p),
            BrokerRequest::GoalAchievement(g) => Envelope::new(MessageKind::GoalAchievement, g),
        };
        match self
            .publisher
            .publish(destination, &envelope.to_json())
            .await
        {
            Ok(message_id) => BrokerResponse {
                status: 202,
                body: json!({"messageId": message_id, "destination": destination}),
            },
            Err(e) => BrokerResponse {
                status: 503,
                body: json!({"error": format!("could not publish to {destination}: {e}; retry with the same ids")}),
            },
        }
    }
}
