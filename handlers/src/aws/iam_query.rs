//! IAM's query API, for the few calls provisioning makes (CreateRole) and the moto suites make
//! (users, policies, keys): a form POST signed with the SDK's own SigV4 signer, so the workspace
//! does not build the whole IAM SDK for them.

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use crowdfund_core::ports::{PortError, PortResult};
use std::time::SystemTime;

/// IAM's global endpoint, when the configuration names none.
const IAM_ENDPOINT: &str = "https://iam.amazonaws.com";
/// IAM signs in us-east-1 whatever the caller's region.
const IAM_SIGNING_REGION: &str = "us-east-1";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Where IAM calls go and who signs them.
#[derive(Debug, Clone)]
pub struct IamQuery {
    endpoint: String,
    credentials: Option<SharedCredentialsProvider>,
    http: reqwest::Client,
}

/// One answer of IAM's query API.
#[derive(Debug, Clone)]
pub struct IamAnswer {
    pub status: u16,
    pub body: String,
}

impl IamAnswer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The text of the first `<tag>` element, e.g. `Arn` or `Code`.
    pub fn field(&self, tag: &str) -> Option<&str> {
        let open = format!("<{tag}>");
        let start = self.body.find(&open)? + open.len();
        let end = start + self.body[start..].find(&format!("</{tag}>"))?;
        Some(&self.body[start..end])
    }
}

impl IamQuery {
    /// IAM at the configuration's endpoint (a local endpoint such as moto), with its credentials.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        IamQuery {
            endpoint: config
                .endpoint_url()
                .unwrap_or(IAM_ENDPOINT)
                .trim_end_matches('/')
                .to_string(),
            credentials: config.credentials_provider(),
            http: reqwest::Client::new(),
        }
    }

    /// IAM at `endpoint`, signed with `credentials`.
    pub fn with_credentials(endpoint: &str, credentials: Credentials) -> Self {
        IamQuery {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            credentials: Some(SharedCredentialsProvider::new(credentials)),
            http: reqwest::Client::new(),
        }
    }

    /// Sends one action (`params` include `Action`); an error answer is returned, not raised,
    /// so the caller can tell "exists already" from a failure.
    pub async fn call(&self, params: &[(&str, &str)]) -> PortResult<IamAnswer> {
        let unavailable = |e: String| PortError::unavailable("IAM", e);
        let provider = self.credentials.as_ref().ok_or_else(|| {
            PortError::Rejected("IAM: no AWS credentials configured to sign with".into())
        })?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| unavailable(format!("loading credentials: {e}")))?;
        let mut form: Vec<(&str, &str)> = vec![("Version", "2010-05-08")];
        form.extend_from_slice(params);
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", crowdfund_core::http_api::path_segment(v)))
            .collect::<Vec<_>>()
            .join("&");
        let url = format!("{}/", self.endpoint);
        let identity = credentials.into();
        let signing = v4::SigningParams::builder()
            .identity(&identity)
            .region(IAM_SIGNING_REGION)
            .name("iam")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| PortError::Rejected(format!("IAM: signing parameters: {e}")))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            &url,
            [("content-type", FORM)].into_iter(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| PortError::Rejected(format!("IAM: request to sign: {e}")))?;
        let (instructions, _) = sign(signable, &signing)
            .map_err(|e| PortError::Rejected(format!("IAM: signing: {e}")))?
            .into_parts();
        let mut request = self.http.post(&url).header("content-type", FORM);
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let answer = request
            .body(body)
            .send()
            .await
            .map_err(|e| unavailable(format!("{url}: {e}")))?;
        let status = answer.status().as_u16();
        let body = answer
            .text()
            .await
            .map_err(|e| unavailable(format!("{url}: {e}")))?;
        Ok(IamAnswer { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_from_the_answer() {
        let a = IamAnswer {
            status: 409,
            body: "<ErrorResponse><Error><Code>EntityAlreadyExists</Code></Error></ErrorResponse>"
                .into(),
        };
        assert_eq!(a.field("Code"), Some("EntityAlreadyExists"));
        assert_eq!(a.field("Arn"), None);
        assert!(!a.is_success());
    }
}
