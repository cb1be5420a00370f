//! Discord webhook adapter: [`Alerter`] over HTTPS with reqwest (rustls).
//!
//! A 429 is honoured: the adapter waits `retry_after` (from the JSON body, else the
//! `Retry-After` header) and tries again, a few times, all within [`ALERT_BUDGET`]: a wait or a
//! try that would not fit is not started, and the webhook is reported unavailable so the message
//! is retried by SQS. The budget fits inside the function's deadline margin. The webhook URL is a secret
//! (whoever has it can post): it never appears in an error or a log line. On Lambda the URL is
//! read from Secrets Manager on the first alert ([`SecretWebhookAlerter`], feature `lambda`).

use async_trait::async_trait;
use crowdfund_core::domain::Alert;
use crowdfund_core::ports::{Alerter, PortError, PortResult};
use serde_json::{Value, json};
use std::time::Duration;

const SERVICE: &str = "Discord webhook";
/// Tries in all when Discord answers 429.
const MAX_TRIES: u32 = 3;
/// Longest single wait for a 429 before giving the message back to SQS.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3);
/// One alert, tries and waits included: within the DLQ handler's deadline margin (10 s).
pub const ALERT_BUDGET: Duration = Duration::from_secs(8);
/// One try; the last one gets what is left of the budget if that is less.
const TRY_TIMEOUT: Duration = Duration::from_secs(4);

pub struct DiscordAlerter {
    http: reqwest::Client,
    webhook_url: String,
}

impl std::fmt::Debug for DiscordAlerter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordAlerter")
            .field("webhook_url", &"<redacted>")
            .finish()
    }
}

/// The webhook body: a one-line summary and an embed with the details.
pub fn alert_body(alert: &Alert) -> Value {
    json!({
        "username": "crowdfund",
        "content": match alert.count {
            1 => format!("{}: {} message {} parked in {}", alert.title, alert.kind, alert.message_id, alert.parked_in),
            n => format!("{}: {n} messages parked in {}, e.g. {} message {}", alert.title, alert.parked_in, alert.kind, alert.message_id),
        },
        "embeds": [{
            "title": alert.title,
            "description": alert.reason,
            "fields": [
                {"name": "queue", "value": alert.queue, "inline": true},
                {"name": "kind", "value": alert.kind, "inline": true},
                {"name": "attempts", "value": alert.attempts.to_string(), "inline": true},
                {"name": "parked since the last alert", "value": alert.count.to_string(), "inline": true},
                {"name": "messageId", "value": alert.message_id, "inline": false},
                {"name": "parkedIn", "value": alert.parked_in, "inline": true},
            ],
            "timestamp": alert.at.to_rfc3339(),
        }],
    })
}

impl DiscordAlerter {
    pub fn new(webhook_url: impl Into<String>) -> Result<Self, reqwest::Error> {
        Ok(DiscordAlerter {
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .build()?,
            webhook_url: webhook_url.into(),
        })
    }
}

/// Seconds to wait from a 429: the body's `retry_after`, else the header, else one second.
fn retry_after(header: Option<&str>, body: &str) -> Duration {
    let from_body = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("retry_after").and_then(Value::as_f64));
    let secs = from_body
        .or_else(|| header.and_then(|h| h.trim().parse::<f64>().ok()))
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs).min(MAX_RETRY_AFTER)
}

#[async_trait]
impl Alerter for DiscordAlerter {
    async fn alert(&self, alert: &Alert) -> PortResult<()> {
        let body = alert_body(alert);
        let ends = tokio::time::Instant::now() + ALERT_BUDGET;
        let left = || ends.saturating_duration_since(tokio::time::Instant::now());
        for attempt in 1..=MAX_TRIES {
            let response = self
                .http
                .post(&self.webhook_url)
                .timeout(TRY_TIMEOUT.min(left()))
                .json(&body)
                .send()
                .await
                // without_url: reqwest's errors name the URL, which is the secret.
                .map_err(|e| PortError::unavailable(SERVICE, e.without_url().to_string()))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            if status.as_u16() == 429 {
                let header = response
                    .headers()
                    .get("retry-after")
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string);
                let text = response.text().await.unwrap_or_default();
                let wait = retry_after(header.as_deref(), &text);
                // Another try needs the wait and at least a second to answer.
                if attempt == MAX_TRIES || wait + Duration::from_secs(1) > left() {
                    break;
                }
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_server_error() {
                return Err(PortError::unavailable(SERVICE, format!("HTTP {status}")));
            }
            let text = response.text().await.unwrap_or_default();
            return Err(PortError::Rejected(format!(
                "{SERVICE} refused the alert with HTTP {status}: {}",
                text.chars().take(300).collect::<String>()
            )));
        }
        Err(PortError::unavailable(
            SERVICE,
            format!(
                "still rate limited (429) within the alert's {} s budget",
                ALERT_BUDGET.as_secs()
            ),
        ))
    }
}

/// [`Alerter`] for Lambda (feature `lambda`): the Discord webhook URL is read from Secrets Manager on the first
/// alert (not at start-up, so a function whose secret is not set yet still retries and parks),
/// then kept for the life of the execution environment. A failed read is retryable: the message
/// is parked already and the alert is tried again on redelivery. The URL is never logged.
#[cfg(feature = "lambda")]
pub struct SecretWebhookAlerter {
    discord: super::secret::CachedSecret<DiscordAlerter>,
}

#[cfg(feature = "lambda")]
impl SecretWebhookAlerter {
    pub fn new(secrets: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        SecretWebhookAlerter {
            discord: super::secret::CachedSecret::new(
                secrets,
                secret_id,
                "the Discord webhook URL",
            ),
        }
    }
}

/// The secret's value as a webhook client; the error never quotes the URL.
#[cfg(feature = "lambda")]
fn webhook_from_secret(url: &str) -> Result<DiscordAlerter, String> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err("not an http(s) URL".into());
    }
    DiscordAlerter::new(url).map_err(|e| format!("HTTP client for the Discord webhook: {e}"))
}

#[cfg(feature = "lambda")]
#[async_trait]
impl Alerter for SecretWebhookAlerter {
    async fn alert(&self, alert: &Alert) -> PortResult<()> {
        let discord = self.discord.get(webhook_from_secret).await?;
        discord.alert(alert).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_prefers_the_body_and_is_capped() {
        assert_eq!(
            retry_after(Some("5"), r#"{"retry_after": 0.25}"#),
            Duration::from_millis(250)
        );
        assert_eq!(retry_after(Some("2"), "not json"), Duration::from_secs(2));
        assert_eq!(retry_after(None, "{}"), Duration::from_secs(1));
        assert_eq!(retry_after(Some("9999"), ""), MAX_RETRY_AFTER);
        assert_eq!(retry_after(Some("-3"), ""), Duration::from_secs(1));
    }

    #[test]
    fn debug_never_shows_the_webhook_url() {
        let a = DiscordAlerter::new("https://discord.example/api/webhooks/1/secret").unwrap();
        assert!(!format!("{a:?}").contains("secret"));
    }
}
