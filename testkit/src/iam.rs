//! Least privilege, proven by running: IAM users on moto with the inline policy terraform gives
//! a function (or an operator), moto's IAM enforcement switched on (`/moto-api/reset-auth`), and
//! a recording proxy between the SDK clients and moto that says, per user, which actions were
//! allowed and which denied (with moto's own denial message).
//!
//! moto checks every action against the user's policies, and resources for SQS; for the other
//! services (and SQS's GetQueueUrl and ListQueues) it asks about resource `*`. [`for_moto`]
//! therefore keeps SQS statements as they are and widens the others' resources to `*` after the
//! test has checked them itself
//! ([`resources_cover`]); CloudWatch is signed as `monitoring`, so its actions are granted under
//! both prefixes. Conditions are left to the test (moto treats keys it does not know as "not
//! applicable").

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use crowdfund_handlers::aws::iam_query::IamQuery;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// moto's account id.
pub const ACCOUNT: &str = "123456789012";

/// A user's credentials.
#[derive(Debug, Clone)]
pub struct UserKeys {
    pub user: String,
    pub access_key: String,
    pub secret: String,
}

impl UserKeys {
    pub fn credentials(&self) -> Credentials {
        Credentials::new(&self.access_key, &self.secret, None, None, "moto-iam-user")
    }
}

/// One IAM query-API call to moto, signed with the setup credentials (auth is still off).
async fn iam_call(moto: &str, params: &[(&str, &str)]) -> String {
    let iam =
        IamQuery::with_credentials(moto, Credentials::new("test", "test", None, None, "setup"));
    let answer = iam.call(params).await.expect("moto IAM answers");
    assert!(
        answer.is_success(),
        "IAM {params:?} on moto: {} {}",
        answer.status,
        answer.body
    );
    answer.body
}

fn xml_field(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).map(|i| i + open.len());
    let end = xml.find(&format!("</{tag}>"));
    match (start, end) {
        (Some(s), Some(e)) if s <= e => xml[s..e].to_string(),
        _ => panic!("no <{tag}> in moto's answer: {xml}"),
    }
}

/// Creates user `name` with `policy` as its only (inline) policy, and an access key for it.
pub async fn user_with_policy(moto: &str, name: &str, policy: &Value) -> UserKeys {
    iam_call(moto, &[("Action", "CreateUser"), ("UserName", name)]).await;
    iam_call(
        moto,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", name),
            ("PolicyName", "terraform"),
            ("PolicyDocument", &policy.to_string()),
        ],
    )
    .await;
    let key = iam_call(moto, &[("Action", "CreateAccessKey"), ("UserName", name)]).await;
    UserKeys {
        user: name.to_string(),
        access_key: xml_field(&key, "AccessKeyId"),
        secret: xml_field(&key, "SecretAccessKey"),
    }
}

/// moto's IAM enforcement, on while this lives; switched off again when dropped.
pub struct Enforcement {
    moto: String,
}

/// Switches enforcement on: from the next request, moto checks every call's signature and policy.
pub async fn enforce(moto: &str) -> Enforcement {
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/moto-api/reset-auth",
            moto.trim_end_matches('/')
        ))
        .body("0")
        .send()
        .await
        .expect("moto answers reset-auth");
    assert!(answer.status().is_success());
    Enforcement {
        moto: moto.to_string(),
    }
}

impl Drop for Enforcement {
    fn drop(&mut self) {
        // A blocking call: drop may run outside any runtime. Unlimited unauthenticated calls is
        // moto's default.
        let Some(addr) = self.moto.trim_end_matches('/').strip_prefix("http://") else {
            return;
        };
        if let Ok(mut stream) = std::net::TcpStream::connect(addr) {
            let body = "inf";
            let _ = write!(
                stream,
                "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = std::io::Read::read(&mut stream, &mut [0u8; 512]);
        }
    }
}

/// What went through the proxy, per access key: the actions moto allowed, and what it denied.
#[derive(Debug, Default, Clone)]
pub struct Calls {
    pub allowed: BTreeMap<String, BTreeSet<String>>,
    pub denied: BTreeMap<String, BTreeSet<String>>,
}

/// A recording proxy in front of moto.
#[derive(Clone)]
pub struct RecordingProxy {
    pub url: String,
    calls: Arc<Mutex<Calls>>,
    secrets: Arc<Mutex<BTreeMap<String, String>>>,
}

struct ProxyState {
    moto: String,
    http: reqwest::Client,
    calls: Arc<Mutex<Calls>>,
    secrets: Arc<Mutex<BTreeMap<String, String>>>,
}

impl RecordingProxy {
    pub async fn start(moto: &str) -> RecordingProxy {
        let calls = Arc::new(Mutex::new(Calls::default()));
        let secrets = Arc::new(Mutex::new(BTreeMap::new()));
        let state = Arc::new(ProxyState {
            moto: moto.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            calls: calls.clone(),
            secrets: secrets.clone(),
        });
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        RecordingProxy {
            url: format!("http://{addr}"),
            calls,
            secrets,
        }
    }

    /// Lets the proxy re-sign this user's form bodies after spelling spaces as `+` (see
    /// [`moto_form_body`]).
    pub fn knows(&self, keys: &UserKeys) {
        if let Ok(mut s) = self.secrets.lock() {
            s.insert(keys.access_key.clone(), keys.secret.clone());
        }
    }

    /// What moto denied this user so far (empty when nothing was).
    pub fn denied_to(&self, keys: &UserKeys) -> BTreeSet<String> {
        self.calls()
            .denied
            .get(&keys.access_key)
            .cloned()
            .unwrap_or_default()
    }

    /// Calls so far, keyed by access key id.
    pub fn calls(&self) -> Calls {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

async fn forward(
    State(state): State<Arc<ProxyState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = state
        .http
        .request(method.clone(), format!("{}{path}", state.moto));
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let resigned = moto_form_body(&headers, &body).and_then(|normal| {
        let (key, service) = credential_of(&authorization)?;
        let secret = state.secrets.lock().ok()?.get(&key)?.clone();
        let host = headers.get("host")?.to_str().ok()?.to_string();
        let content_type = headers.get("content-type")?.to_str().ok()?.to_string();
        let region = authorization.split('/').nth(2)?.to_string();
        let identity = Credentials::new(key, secret, None, None, "proxy").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name(&service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .ok()?
            .into();
        let url = format!("http://{host}{path}");
        let signable = SignableRequest::new(
            method.as_str(),
            &url,
            [("content-type", content_type.as_str())].into_iter(),
            SignableBody::Bytes(normal.as_bytes()),
        )
        .ok()?;
        let (instructions, _) = sign(signable, &params).ok()?.into_parts();
        let signed: Vec<(String, String)> = instructions
            .headers()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Some((normal, signed))
    });
    let body = match &resigned {
        Some((normal, signed)) => {
            for (name, value) in &headers {
                let replaced = signed
                    .iter()
                    .any(|(n, _)| name.as_str().eq_ignore_ascii_case(n));
                if name != "content-length" && !replaced {
                    request = request.header(name, value);
                }
            }
            for (name, value) in signed {
                request = request.header(name, value);
            }
            Bytes::from(normal.clone())
        }
        None => {
            for (name, value) in &headers {
                // Host stays as signed: moto recomputes the signature from it.
                if name != "content-length" {
                    request = request.header(name, value);
                }
            }
            body
        }
    };
    let Ok(answer) = request.body(body.clone()).send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let answer_body = answer.bytes().await.unwrap_or_default();
    if let Some((key, service)) = credential_of(&authorization)
        && let Some(action) = action_of(&service, &method, uri.path(), &headers, &body)
        && let Ok(mut calls) = state.calls.lock()
    {
        if status.as_u16() == 403 {
            let text = String::from_utf8_lossy(&answer_body);
            let why = text
                .split("<Message>")
                .nth(1)
                .and_then(|m| m.split("</Message>").next())
                .map(|m| format!("{action} ({method} {path}): {m}"))
                .unwrap_or_else(|| {
                    format!("{action}: {}", text.chars().take(200).collect::<String>())
                });
            calls.denied.entry(key).or_default().insert(why);
        } else {
            calls.allowed.entry(key).or_default().insert(action);
        }
    }
    let mut response = (status, answer_body).into_response();
    for (name, value) in &answer_headers {
        if name != "content-length" && name != "transfer-encoding" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// A query-protocol body (SNS) with `%20` in it, spelled with `+` instead: moto re-encodes the
/// form it parsed with `+` for spaces before it recomputes the signature, so a body signed with
/// `%20` (as the SDK writes it, and AWS accepts) would fail there. Both spellings mean the same
/// form; the proxy re-signs the `+` one with the same user's key.
fn moto_form_body(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let text = std::str::from_utf8(body).ok()?;
    (form && text.contains("%20")).then(|| text.replace("%20", "+"))
}

/// (access key, signing service) from a SigV4 Authorization header.
fn credential_of(authorization: &str) -> Option<(String, String)> {
    let scope = authorization
        .split("Credential=")
        .nth(1)?
        .split(',')
        .next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    Some((parts.first()?.to_string(), parts.get(3)?.to_string()))
}

/// The IAM action of a call: JSON protocols name it in X-Amz-Target, query protocols in the
/// form's Action, SES v2 in its REST path.
fn action_of(
    service: &str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<String> {
    let prefix = match service {
        "monitoring" => "cloudwatch",
        "email" => "ses",
        other => other,
    };
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let op = target.rsplit('.').next()?;
        // IAM knows SQS's batch calls by their single forms.
        let op = match (prefix, op.strip_suffix("Batch")) {
            ("sqs", Some(single)) => single,
            _ => op,
        };
        return Some(format!("{prefix}:{op}"));
    }
    let form = String::from_utf8_lossy(body);
    if let Some(action) = form.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return Some(format!("{prefix}:{action}"));
    }
    if prefix == "ses" && path.starts_with("/v2/email/outbound-emails") && method == Method::POST {
        return Some("ses:SendEmail".to_string());
    }
    if prefix == "lambda" {
        return lambda_action(method, path);
    }
    if prefix == "cloudwatch" {
        // CloudWatch's newer protocol names the operation in the path.
        return path.rsplit('/').next().map(|op| format!("cloudwatch:{op}"));
    }
    Some(format!("{prefix}:{method} {path}"))
}

/// Lambda's REST API names the operation by method and path
/// (`/2015-03-31/event-source-mappings/{uuid}`, `/2015-03-31/functions/{name}`).
fn lambda_action(method: &Method, path: &str) -> Option<String> {
    let rest = path.strip_prefix("/2015-03-31/")?.trim_end_matches('/');
    let parts: Vec<&str> = rest.split('/').collect();
    let op = match (method.as_str(), parts.as_slice()) {
        ("GET", ["event-source-mappings"]) => "ListEventSourceMappings",
        ("GET", ["event-source-mappings", _]) => "GetEventSourceMapping",
        ("PUT", ["event-source-mappings", _]) => "UpdateEventSourceMapping",
        ("POST", ["event-source-mappings"]) => "CreateEventSourceMapping",
        ("GET", ["functions"]) => "ListFunctions",
        ("GET", ["functions", _]) => "GetFunction",
        ("POST", ["functions"]) => "CreateFunction",
        _ => return Some(format!("lambda:{method} {path}")),
    };
    Some(format!("lambda:{op}"))
}

/// The service prefix of an IAM action (`sqs:SendMessage` → `sqs`).
fn service_of(action: &str) -> &str {
    action.split(':').next().unwrap_or(action)
}

fn as_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// The policy as moto can check it (see the module's overview): SQS statements unchanged,
/// others on `*`, CloudWatch actions under `monitoring:` too.
pub fn for_moto(policy: &Value) -> Value {
    let statements: Vec<Value> = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(split_unresolved_sqs)
        .map(|s| {
            let actions = as_list(&s["Action"]);
            let mut moto_actions = actions.clone();
            for a in &actions {
                if let Some(op) = a.strip_prefix("cloudwatch:") {
                    moto_actions.push(format!("monitoring:{op}"));
                }
                // AWS authorises SQS's batch calls as their single forms; moto asks for the
                // batch name.
                if SQS_BATCHED.contains(&a.as_str()) {
                    moto_actions.push(format!("{a}Batch"));
                }
            }
            let sqs_only = actions.iter().all(|a| service_of(a) == "sqs");
            let mut out = s.clone();
            // moto treats condition keys it does not know as "not applicable"; the test checks
            // the conditions against what the function was configured with instead.
            if let Some(o) = out.as_object_mut() {
                o.remove("Condition");
            }
            out["Action"] = json!(moto_actions);
            if !sqs_only {
                out["Resource"] = json!("*");
            }
            out
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// SQS actions whose batch call IAM authorises under the single action's name.
const SQS_BATCHED: &[&str] = &[
    "sqs:SendMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
];

/// SQS actions whose queue moto does not work out from the request (it asks about `*`): a
/// statement's share of them moves to a statement of its own on `*`.
const SQS_UNRESOLVED: &[&str] = &["sqs:GetQueueUrl", "sqs:ListQueues"];

fn split_unresolved_sqs(statement: &Value) -> Vec<Value> {
    let actions = as_list(&statement["Action"]);
    let (unresolved, rest): (Vec<String>, Vec<String>) = actions
        .into_iter()
        .partition(|a| SQS_UNRESOLVED.contains(&a.as_str()));
    if unresolved.is_empty() {
        return vec![statement.clone()];
    }
    let mut wide = statement.clone();
    wide["Action"] = json!(unresolved);
    wide["Resource"] = json!("*");
    if let Some(sid) = statement["Sid"].as_str() {
        wide["Sid"] = json!(format!("{sid}AnyQueue"));
    }
    if rest.is_empty() {
        return vec![wide];
    }
    let mut narrow = statement.clone();
    narrow["Action"] = json!(rest);
    vec![narrow, wide]
}

/// Every action of `policy` (as written, before [`for_moto`]).
pub fn granted_actions(policy: &Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| as_list(&s["Action"]))
        .collect()
}

/// Whether some Allow statement of `policy` grants `action` on `resource` (IAM's `*` wildcards).
pub fn resources_cover(policy: &Value, action: &str, resource: &str) -> bool {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Effect"] == "Allow")
        .any(|s| {
            as_list(&s["Action"]).iter().any(|a| wildcard(a, action))
                && as_list(&s["Resource"])
                    .iter()
                    .any(|r| wildcard(r, resource))
        })
}

fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len())
                    .filter(|i| text.is_char_boundary(head.len() + i))
                    .any(|i| wildcard(tail, &text[head.len() + i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_iam() {
        assert!(wildcard(
            "arn:aws:dynamodb:*:table/payments",
            "arn:aws:dynamodb:us-east-1:1:table/payments"
        ));
        assert!(wildcard("arn:aws:logs:*:*", "arn:aws:logs:r:1"));
        assert!(!wildcard(
            "arn:aws:sqs:r:1:etc_dlq",
            "arn:aws:sqs:r:1:etc_parked"
        ));
        assert!(wildcard("*", "anything"));
    }

    #[test]
    fn moto_gets_sqs_resources_and_wildcards_for_the_rest() {
        let policy = json!({"Statement": [
            {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": ["arn:q"]},
            {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": ["arn:t"]},
            {"Effect": "Allow", "Action": ["cloudwatch:GetMetricData"], "Resource": "*"},
        ]});
        let moto = for_moto(&policy);
        assert_eq!(moto["Statement"][0]["Resource"], json!(["arn:q"]));
        assert_eq!(moto["Statement"][1]["Resource"], json!("*"));
        assert_eq!(
            moto["Statement"][2]["Action"],
            json!(["cloudwatch:GetMetricData", "monitoring:GetMetricData"])
        );
        assert!(resources_cover(&policy, "dynamodb:GetItem", "arn:t"));
        assert!(!resources_cover(&policy, "dynamodb:PutItem", "arn:t"));
    }
}
