//! The broker (API Gateway `POST /broker`) as an HTTP client.
//!
//! The method demands AWS_IAM, so every call is signed with SigV4 (service `execute-api`) from
//! the task role's credentials: [`BrokerAuth::SigV4`] takes them from aws-config's chain and
//! signs with the SDK's own signer. The signed headers are the ones sent: the body's hash, the
//! host, the date and (role credentials) the session token. [`BrokerAuth::None`] is for a local
//! broker that checks nothing (`crowdfund-local`).

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

/// The service name API Gateway's IAM authorizer expects in the signature's scope.
pub const SIGNING_SERVICE: &str = "execute-api";
/// Credentials this close to their expiry are fetched again before signing.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Could not connect, timed out, or answered 5xx/429: retry later.
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// Answered another non-2xx status: the message as sent will not be accepted.
    #[error("broker refused the message with {status}: {body}")]
    Refused { status: u16, body: String },
    /// No credentials to sign with (the task role, or AWS_* variables): retry later, and fix
    /// the role.
    #[error("cannot sign the broker call: {0}")]
    Signing(String),
}

impl BrokerError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, BrokerError::Unavailable(_) | BrokerError::Signing(_))
    }
}

/// What the broker answered a message it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub message_id: Option<String>,
}

/// How calls to the broker authenticate.
#[derive(Clone)]
pub enum BrokerAuth {
    /// SigV4 for API Gateway's AWS_IAM authorization.
    SigV4(Signer),
    /// Unsigned: only for a local broker that checks nothing.
    None,
}

/// Signs requests with credentials from a provider, kept until shortly before they expire.
#[derive(Clone)]
pub struct Signer {
    credentials: SharedCredentialsProvider,
    region: String,
    cached: std::sync::Arc<Mutex<Option<Credentials>>>,
}

impl Signer {
    pub fn new(credentials: SharedCredentialsProvider, region: impl Into<String>) -> Self {
        Signer {
            credentials,
            region: region.into(),
            cached: Default::default(),
        }
    }

    async fn credentials(&self) -> Result<Credentials, BrokerError> {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE_EXPIRY)
        };
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let c = self.credentials.provide_credentials().await.map_err(|e| {
            BrokerError::Signing(format!(
                "no AWS credentials ({e}); the task role (or AWS_* variables) must provide them"
            ))
        })?;
        *cached = Some(c.clone());
        Ok(c)
    }

    /// The headers that sign `POST url` with `body` at `time`.
    pub async fn signed_headers(
        &self,
        url: &str,
        body: &[u8],
        time: SystemTime,
    ) -> Result<Vec<(String, String)>, BrokerError> {
        let credentials = self.credentials().await?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGNING_SERVICE)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| BrokerError::Signing(e.to_string()))?
            .into();
        let content_type = [("content-type", "application/json")];
        let request = SignableRequest::new(
            "POST",
            url,
            content_type.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| BrokerError::Signing(format!("BROKER_URL {url}: {e}")))?;
        let (instructions, _signature) = sign(request, &params)
            .map_err(|e| BrokerError::Signing(e.to_string()))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect())
    }
}

/// The region of an API Gateway URL (`https://{id}.execute-api.{region}.amazonaws.com/...`).
pub fn region_of_execute_api_url(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
    let mut labels = host.split('.');
    labels.find(|l| *l == "execute-api")?;
    labels.next().map(str::to_string).filter(|r| !r.is_empty())
}

#[derive(Clone)]
pub struct BrokerClient {
    http: reqwest::Client,
    url: String,
    auth: BrokerAuth,
}

impl std::fmt::Debug for BrokerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match &self.auth {
            BrokerAuth::SigV4(s) => format!("sigv4 ({})", s.region),
            BrokerAuth::None => "none".into(),
        };
        f.debug_struct("BrokerClient")
            .field("url", &self.url)
            .field("auth", &auth)
            .finish()
    }
}

impl BrokerClient {
    pub fn new(url: &str, timeout: Duration, auth: BrokerAuth) -> Result<Self, BrokerError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| BrokerError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(BrokerClient {
            http,
            url: url.to_string(),
            auth,
        })
    }

    /// Posts a JSON body (one that carries its `destination`), signed as configured.
    pub async fn send(&self, body: String) -> Result<Accepted, BrokerError> {
        let mut request = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let BrokerAuth::SigV4(signer) = &self.auth {
            for (name, value) in signer
                .signed_headers(&self.url, body.as_bytes(), SystemTime::now())
                .await?
            {
                request = request.header(name, value);
            }
        }
        let response = request
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_an_execute_api_url() {
        assert_eq!(
            region_of_execute_api_url(
                "https://abc123.execute-api.ap-northeast-2.amazonaws.com/prod/broker"
            )
            .as_deref(),
            Some("ap-northeast-2")
        );
        assert_eq!(
            region_of_execute_api_url("http://127.0.0.1:9000/broker"),
            None
        );
        assert_eq!(region_of_execute_api_url("not a url"), None);
    }
}
