//! A secret string from Secrets Manager, read on first use and kept for the life of the
//! execution environment (feature `lambda`).
//!
//! Reading on first use, not at start-up, lets a function whose secret is not set yet start,
//! retry its messages and pick the secret up once it exists. Every failure (AWS unreachable,
//! secret missing, value malformed) is retryable and is not cached. The value is parsed once
//! into what the adapter needs (a webhook client, an API key) and never appears in an error,
//! a log line or `Debug` output.

use crowdfund_core::ports::{PortError, PortResult};
use std::sync::Arc;

const SECRETS: &str = "Secrets Manager";

/// One secret, parsed into a `T` on first use and cached until [`forget`](Self::forget).
pub struct CachedSecret<T> {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    /// What the secret holds, for messages ("the Discord webhook URL").
    holds: &'static str,
    // An async mutex: concurrent first users wait for one read instead of each reading.
    value: tokio::sync::Mutex<Option<Arc<T>>>,
}

impl<T> std::fmt::Debug for CachedSecret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSecret")
            .field("secret_id", &self.secret_id)
            .field("holds", &self.holds)
            .field("value", &"<redacted>")
            .finish()
    }
}

impl<T: Send + Sync> CachedSecret<T> {
    /// `holds` says what the secret is, e.g. "the Toss secret key"; it appears in errors.
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        holds: &'static str,
    ) -> Self {
        CachedSecret {
            client,
            secret_id: secret_id.into(),
            holds,
            value: tokio::sync::Mutex::new(None),
        }
    }

    /// The secret's id or ARN as configured.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The parsed secret: the cached one, else read now and parsed with `parse`, whose error
    /// says what is wrong with the value without quoting it. Errors are `Unavailable`, name the
    /// secret and say how to set it.
    pub async fn get(
        &self,
        parse: impl FnOnce(&str) -> Result<T, String> + Send,
    ) -> PortResult<Arc<T>> {
        let mut value = self.value.lock().await;
        if let Some(v) = value.as_ref() {
            return Ok(v.clone());
        }
        let what = format!("{} in secret {}", self.holds, self.secret_id);
        let hint = format!(
            "set it with `aws secretsmanager put-secret-value --secret-id {} --secret-string <value>`",
            self.secret_id
        );
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| {
                let e = super::port_error(SECRETS, &what, e);
                PortError::unavailable(SECRETS, format!("{e}; {hint}"))
            })?;
        let raw = out.secret_string().ok_or_else(|| {
            PortError::unavailable(SECRETS, format!("{what} has no string value; {hint}"))
        })?;
        let parsed = parse(raw.trim()).map_err(|problem| {
            PortError::unavailable(SECRETS, format!("{what}: {problem}; {hint}"))
        })?;
        let parsed = Arc::new(parsed);
        *value = Some(parsed.clone());
        Ok(parsed)
    }

    /// Drops the cached value so the next [`get`](Self::get) reads the secret again: for when
    /// the service refused it and an operator may have put a new one since.
    pub async fn forget(&self) {
        *self.value.lock().await = None;
    }
}
