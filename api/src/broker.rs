//! The broker (API Gateway `POST /broker`) as an HTTP client.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Could not connect, timed out, or answered 5xx/429: retry later.
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// Answered another non-2xx status: the message as sent will not be accepted.
    #[error("broker refused the message with {status}: {body}")]
    Refused { status: u16, body: String },
}

impl BrokerError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, BrokerError::Unavailable(_))
    }
}

/// What the broker answered a message it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub message_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BrokerClient {
    http: reqwest::Client,
    url: String,
}

impl BrokerClient {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, BrokerError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| BrokerError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(BrokerClient {
            http,
            url: url.to_string(),
        })
    }

    /// Posts a JSON body (one that carries its `destination`).
    pub async fn send(&self, body: String) -> Result<Accepted, BrokerError> {
        let response = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| BrokerError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            let message_id = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("messageId")
                        .and_then(|m| m.as_str())
                        .map(String::from)
                });
            return Ok(Accepted { message_id });
        }
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(BrokerError::Unavailable(format!("status {status}")));
        }
        let body: String = text.chars().take(300).collect();
        Err(BrokerError::Refused {
            status: status.as_u16(),
            body,
        })
    }
}
