//! A stand-in for API Gateway's AWS_IAM authorization: recomputes a request's SigV4 signature
//! from what arrived (method, path, query, the headers it names as signed, the body) and the
//! caller's secret, and refuses what does not match, as API Gateway does with 403.
//!
//! It checks the scope (service, region), the date (within five minutes of `now`) and that the
//! signature covers the body's hash, so a header or body changed after signing fails.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far the request's date may be from the verifier's clock (API Gateway allows 5 minutes).
pub const MAX_SKEW: Duration = Duration::from_secs(300);

/// What the verifier knows: the callers' secrets by access key id, and the API's scope.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub secrets: HashMap<String, String>,
    pub service: String,
    pub region: String,
}

/// One received request, as the server saw it.
pub struct Received<'a> {
    pub method: &'a str,
    /// Path and query, as on the request line.
    pub path_and_query: &'a str,
    /// Header names in lower case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Verifier {
    pub fn new(service: &str, region: &str) -> Self {
        Verifier {
            secrets: HashMap::new(),
            service: service.into(),
            region: region.into(),
        }
    }

    pub fn allow(mut self, access_key: &str, secret: &str) -> Self {
        self.secrets.insert(access_key.into(), secret.into());
        self
    }

    /// `Ok(access key id)` when the signature is valid, else why not (API Gateway's words where
    /// it has them).
    pub fn verify(&self, request: &Received<'_>, now: SystemTime) -> Result<String, String> {
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let authorization = header("authorization").ok_or("Missing Authentication Token")?;
        let fields = authorization
            .strip_prefix("AWS4-HMAC-SHA256 ")
            .ok_or("Authorization is not AWS4-HMAC-SHA256")?;
        let field = |key: &str| {
            fields
                .split(',')
                .map(str::trim)
                .find_map(|f| f.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
                .ok_or(format!("Authorization has no {key}"))
        };
        let credential = field("Credential")?;
        let signed_headers = field("SignedHeaders")?;
        let signature = field("Signature")?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key, _date, region, service, "aws4_request"] = scope[..] else {
            return Err(format!("malformed credential scope {credential}"));
        };
        if service != self.service || region != self.region {
            return Err(format!(
                "Credential should be scoped to {}/{}, not {region}/{service}",
                self.region, self.service
            ));
        }
        let secret = self
            .secrets
            .get(access_key)
            .ok_or("The security token included in the request is invalid")?;
        let amz_date = header("x-amz-date").ok_or("Missing x-amz-date")?;
        let time = parse_amz_date(amz_date).ok_or(format!("bad x-amz-date {amz_date}"))?;
        let skew = now.duration_since(time).unwrap_or_else(|e| e.duration());
        if skew > MAX_SKEW {
            return Err("Signature expired".into());
        }
        let session_token = header("x-amz-security-token").map(str::to_string);
        let identity = Credentials::new(access_key, secret, session_token, None, "verifier").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let names: Vec<&str> = signed_headers.split(';').collect();
        if !names.contains(&"host") {
            return Err("the signature must cover the host header".into());
        }
        let signed: Vec<(&str, &str)> = names
            .iter()
            .filter(|n| !matches!(**n, "x-amz-date" | "x-amz-security-token"))
            .map(|n| {
                header(n)
                    .map(|v| (*n, v))
                    .ok_or(format!("signed header {n} is missing"))
            })
            .collect::<Result<_, _>>()?;
        let host = header("host").ok_or("no host header")?;
        let uri = format!("https://{host}{}", request.path_and_query);
        let signable = SignableRequest::new(
            request.method,
            &uri,
            signed.into_iter().filter(|(n, _)| *n != "host"),
            SignableBody::Bytes(request.body),
        )
        .map_err(|e| e.to_string())?;
        let (_, expected) = sign(signable, &params)
            .map_err(|e| e.to_string())?
            .into_parts();
        if expected != signature {
            return Err(
                "The request signature we calculated does not match the signature you provided"
                    .into(),
            );
        }
        Ok(access_key.to_string())
    }
}

/// `20261201T101500Z` as a time.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").ok()?;
    let secs = u64::try_from(t.and_utc().timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}
