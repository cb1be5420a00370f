//! [`PaymentGateway`] over the Toss Payments core API (v1): KRW card payments.
//!
//! The browser's payment widget authenticates the backer and hands the checkout a `paymentKey`,
//! which arrives here as the charge request's `card`; our payment id is Toss's `orderId`.
//!
//! - charge: `POST /v1/payments/confirm` `{paymentKey, orderId, amount}` with the payment id as
//!   `Idempotency-Key`. `DONE` is an approval whose charge id is the paymentKey. An
//!   `ALREADY_PROCESSED_PAYMENT` (an earlier confirm whose answer was lost) is checked with
//!   `GET /v1/payments/orders/{orderId}`. A non-KRW amount or a payment id that cannot be an
//!   orderId is declined without a call.
//! - refund: `GET /v1/payments/{paymentKey}` (already `CANCELED` is `AlreadyRefunded`), then
//!   `POST /v1/payments/{paymentKey}/cancel` `{cancelReason}`, the full amount, with the
//!   refund's idempotency key.
//!
//! Every error answer goes through one table, [`classify`]: retryable (`Unavailable`: SQS
//! redelivers and the call is repeated with the same key), a card decline (a `Declined`
//! outcome, not an error), a refused secret key (final, naming where the key comes from), or
//! final. Authentication is HTTP Basic with the secret key as user name and no password; the key
//! comes from a [`KeySource`]: [`SecretsManagerKey`] on Lambda (feature `lambda`), [`FixedKey`]
//! elsewhere. It never appears in an error, a log line or `Debug` output.
//!
//! docs/payment-gateway.md maps the port onto Toss in more detail and lists the documentation
//! pages this follows.

use async_trait::async_trait;
use crowdfund_core::money::Currency;
use crowdfund_core::ports::{
    ChargeOutcome, ChargeRequest, PaymentGateway, PortError, PortResult, RefundOutcome,
};
use reqwest::Url;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Environment variable naming the Secrets Manager secret (id or ARN) that holds the Toss
/// secret key.
pub const PSP_SECRET_ARN: &str = "PSP_SECRET_ARN";
/// Environment variable with the API base URL; unset means [`DEFAULT_BASE_URL`].
pub const PSP_BASE_URL: &str = "PSP_BASE_URL";
pub const DEFAULT_BASE_URL: &str = "https://api.tosspayments.com";
/// Toss asks for a timeout of at least 60 s on its slow APIs; the same is used for every call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

const SERVICE: &str = "Toss Payments";
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Toss's limits on `paymentKey` and `cancelReason`.
const MAX_PAYMENT_KEY: usize = 200;
const MAX_CANCEL_REASON: usize = 200;

/// A Toss API secret key (`test_…` or `live_…`). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Why a value is not a Toss secret key. The messages never quote the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretKeyError {
    #[error("the Toss secret key is empty")]
    Empty,
    #[error(
        "a Toss secret key is printable ASCII without ':' or spaces (the key itself, not an Authorization header)"
    )]
    BadCharacters,
    #[error("a Toss secret key starts with test_ or live_ (the key itself, not its base64 form)")]
    NotTestOrLive,
    #[error(
        "this is a Toss client key (…_ck_…), which the browser uses; the server needs the secret key (…_sk_…) from the same page of the developer center"
    )]
    ClientKey,
}

impl SecretKey {
    /// Checks the shape only (surrounding whitespace is dropped); Toss decides if it is valid.
    pub fn new(key: &str) -> Result<Self, SecretKeyError> {
        let key = key.trim();
        if key.is_empty() {
            return Err(SecretKeyError::Empty);
        }
        // A ':' would end the Basic user name early; anything else could not be a header.
        if !key.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(SecretKeyError::BadCharacters);
        }
        let Some(kind) = key
            .strip_prefix("test_")
            .or_else(|| key.strip_prefix("live_"))
        else {
            return Err(SecretKeyError::NotTestOrLive);
        };
        // Secret keys come as `_sk_` (API) or `_gsk_` (payment widget); do not insist on one.
        if kind.starts_with("ck_") || kind.starts_with("gck_") {
            return Err(SecretKeyError::ClientKey);
        }
        Ok(SecretKey(key.to_string()))
    }
}

/// Where the gateway gets its secret key.
#[async_trait]
pub trait KeySource: Send + Sync {
    async fn secret_key(&self) -> PortResult<Arc<SecretKey>>;
    /// Toss refused the key. A source that caches it drops it, so that a key an operator has
    /// fixed since is read on the next call.
    async fn forget(&self) {}
    /// Where the key comes from, for the message asking an operator to fix it.
    fn describe(&self) -> String;
}

/// A key given at construction (tests, local runs).
#[derive(Debug, Clone)]
pub struct FixedKey(Arc<SecretKey>);

impl FixedKey {
    pub fn new(key: SecretKey) -> Self {
        FixedKey(Arc::new(key))
    }
}

#[async_trait]
impl KeySource for FixedKey {
    async fn secret_key(&self) -> PortResult<Arc<SecretKey>> {
        Ok(self.0.clone())
    }
    fn describe(&self) -> String {
        "the configured Toss secret key".into()
    }
}

/// The key in a Secrets Manager secret (feature `lambda`): read on the first call, kept for the
/// execution environment, read again after Toss refuses it.
#[cfg(feature = "lambda")]
#[derive(Debug)]
pub struct SecretsManagerKey {
    secret: super::secret::CachedSecret<SecretKey>,
}

#[cfg(feature = "lambda")]
impl SecretsManagerKey {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        SecretsManagerKey {
            secret: super::secret::CachedSecret::new(client, secret_id, "the Toss secret key"),
        }
    }
}

#[cfg(feature = "lambda")]
#[async_trait]
impl KeySource for SecretsManagerKey {
    async fn secret_key(&self) -> PortResult<Arc<SecretKey>> {
        self.secret
            .get(|raw| SecretKey::new(raw).map_err(|e| e.to_string()))
            .await
    }
    async fn forget(&self) {
        self.secret.forget().await;
    }
    fn describe(&self) -> String {
        let id = self.secret.secret_id();
        format!(
            "the Toss secret key in Secrets Manager secret {id} ({PSP_SECRET_ARN}; set it with `aws secretsmanager put-secret-value --secret-id {id} --secret-string <key>`)"
        )
    }
}

/// What a Toss error answer means here. [`classify`] is the one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient, or the outcome is unknown: try again later with the same idempotency key.
    Retry,
    /// The backer's card or payment was refused: a charge outcome, not an error.
    Decline,
    /// Our secret key is wrong or not allowed: final until an operator fixes the secret.
    Config,
    /// The payment was confirmed before: look it up to see whether it is ours.
    AlreadyProcessed,
    /// The payment was cancelled before: a refund is done.
    AlreadyCancelled,
    /// No such payment.
    NotFound,
    /// Can never succeed as it is.
    Final,
}

/// Codes with a class of their own (message texts from the error-codes page).
const CLASS_OF_CODE: &[(&str, ErrorClass)] = &[
    // "잠시 후 다시 시도해주세요" (try again later), or the outcome is not known yet.
    ("PROVIDER_ERROR", ErrorClass::Retry),
    ("IDEMPOTENT_REQUEST_PROCESSING", ErrorClass::Retry),
    ("FORBIDDEN_CONSECUTIVE_REQUEST", ErrorClass::Retry),
    ("COMMON_ERROR", ErrorClass::Retry),
    ("UNKNOWN_ERROR", ErrorClass::Retry),
    ("UNKNOWN_PAYMENT_ERROR", ErrorClass::Retry),
    ("ALREADY_REFUNDING_PAYMENT", ErrorClass::Retry),
    ("MAINTAINED_METHOD", ErrorClass::Retry),
    // The backer's side: card, limits, amount, or the 10-minute window after authentication.
    ("INVALID_STOPPED_CARD", ErrorClass::Decline),
    ("INVALID_REJECT_CARD", ErrorClass::Decline),
    ("INVALID_PASSWORD", ErrorClass::Decline),
    ("BELOW_MINIMUM_AMOUNT", ErrorClass::Decline),
    ("NOT_FOUND_PAYMENT_SESSION", ErrorClass::Decline),
    ("NOT_SUPPORTED_CARD_TYPE", ErrorClass::Decline),
    ("NOT_SUPPORTED_METHOD", ErrorClass::Decline),
    (
        "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN",
        ErrorClass::Decline,
    ),
    ("NOT_ALLOWED_POINT_USE", ErrorClass::Decline),
    ("NOT_ALLOWED_INSTALLMENT_BELOW_AMOUNT", ErrorClass::Decline),
    ("PAY_PROCESS_ABORTED", ErrorClass::Decline),
    ("PAY_PROCESS_CANCELED", ErrorClass::Decline),
    // Our key.
    ("UNAUTHORIZED_KEY", ErrorClass::Config),
    ("INVALID_API_KEY", ErrorClass::Config),
    ("FORBIDDEN_REQUEST", ErrorClass::Config),
    ("INCORRECT_BASIC_AUTH_FORMAT", ErrorClass::Config),
    ("ALREADY_PROCESSED_PAYMENT", ErrorClass::AlreadyProcessed),
    ("ALREADY_COMPLETED_PAYMENT", ErrorClass::AlreadyProcessed),
    ("ALREADY_CANCELED_PAYMENT", ErrorClass::AlreadyCancelled),
    ("ALREADY_REFUND_PAYMENT", ErrorClass::AlreadyCancelled),
    ("NOT_FOUND_PAYMENT", ErrorClass::NotFound),
    ("NOT_FOUND", ErrorClass::NotFound),
];

/// Code families: every FAILED_* is a 500 that says to try again; the others are refusals.
const CLASS_OF_PREFIX: &[(&str, ErrorClass)] = &[
    ("FAILED_", ErrorClass::Retry),
    ("REJECT_", ErrorClass::Decline),
    ("INVALID_CARD", ErrorClass::Decline),
    ("EXCEED", ErrorClass::Decline),
];

/// The class of an error answer: by its code, else its code family, else its HTTP status
/// (429 and 5xx retry, 401 is the key, any other 4xx is final). The status alone is not
/// enough: PROVIDER_ERROR, to be retried, is a 400.
pub fn classify(status: u16, code: &str) -> ErrorClass {
    if let Some((_, class)) = CLASS_OF_CODE.iter().find(|(c, _)| *c == code) {
        return *class;
    }
    if let Some((_, class)) = CLASS_OF_PREFIX.iter().find(|(p, _)| code.starts_with(p)) {
        return *class;
    }
    match status {
        429 | 500..=599 => ErrorClass::Retry,
        401 => ErrorClass::Config,
        _ => ErrorClass::Final,
    }
}

/// Toss's rule for `orderId`: 6 to 64 characters of `A-Z a-z 0-9 - _`.
pub fn is_toss_order_id(s: &str) -> bool {
    (6..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why Toss could never take this charge, decided without calling it.
fn refusal(request: &ChargeRequest) -> Option<String> {
    let currency = request.amount.currency;
    if currency != Currency::KRW {
        return Some(format!(
            "Toss Payments charges KRW only; this payment is in {currency}"
        ));
    }
    if !is_toss_order_id(&request.payment_id) {
        return Some(format!(
            "payment id {:?} cannot be a Toss orderId (6 to 64 characters of A-Z, a-z, 0-9, '-' and '_')",
            request.payment_id
        ));
    }
    if request.amount.amount <= 0 {
        return Some(format!(
            "the amount must be positive, got {}",
            request.amount
        ));
    }
    let key = &request.card;
    if key.is_empty() || key.len() > MAX_PAYMENT_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Some(format!(
            "the card is not a Toss paymentKey (1 to {MAX_PAYMENT_KEY} printable characters from the payment widget)"
        ));
    }
    None
}

/// The parts of Toss's Payment object used here; unknown fields are ignored, as Toss adds
/// fields without a new version.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payment {
    payment_key: String,
    order_id: String,
    status: String,
    total_amount: serde_json::Number,
    #[serde(default)]
    cancels: Option<Vec<CancelRecord>>,
    #[serde(default)]
    failure: Option<FailureRecord>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelRecord {
    #[serde(default)]
    transaction_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct FailureRecord {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl Payment {
    /// `totalAmount` in won. It is a JSON number, so `50000.0` is accepted too.
    fn total_won(&self) -> Option<i64> {
        let n = &self.total_amount;
        n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
    }

    /// Is this the payment `request` asked for: same paymentKey, orderId and amount?
    fn is_for(&self, request: &ChargeRequest) -> bool {
        self.payment_key == request.card
            && self.order_id == request.payment_id
            && self.total_won() == Some(request.amount.amount)
    }

    /// The refund id: the last cancel's transactionKey, else one derived from the paymentKey
    /// (stable, so a repeat reports the same id).
    fn refund_id(&self) -> String {
        self.cancels
            .as_deref()
            .and_then(<[CancelRecord]>::last)
            .and_then(|c| c.transaction_key.clone())
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| format!("{}:canceled", self.payment_key))
    }

    fn decline_reason(&self) -> String {
        match &self.failure {
            Some(FailureRecord {
                code: Some(code),
                message,
            }) => format!("{code}: {}", message.as_deref().unwrap_or("")),
            _ => format!("Toss ended the payment {}", self.status),
        }
    }

    fn summary(&self) -> String {
        format!(
            "status {}, paymentKey {}, orderId {}, totalAmount {}",
            self.status, self.payment_key, self.order_id, self.total_amount
        )
    }
}

/// An error answer: `{code, message}` with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TossError {
    status: u16,
    /// Empty when the body was not Toss's error object (a proxy's page, say).
    code: String,
    message: String,
}

impl TossError {
    fn from_answer(status: u16, body: &str) -> Self {
        #[derive(Deserialize)]
        struct ErrorBody {
            code: Option<String>,
            message: Option<String>,
        }
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(ErrorBody {
                code: Some(code),
                message,
            }) => TossError {
                status,
                code,
                message: message.unwrap_or_default(),
            },
            _ => TossError {
                status,
                code: String::new(),
                message: body.trim().chars().take(300).collect(),
            },
        }
    }

    fn class(&self) -> ErrorClass {
        classify(self.status, &self.code)
    }

    /// A decline's reason as the ledger keeps it: `CODE: message`.
    fn decline_reason(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }
}

impl std::fmt::Display for TossError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.code.is_empty() {
            write!(f, "HTTP {}: {}", self.status, self.message)
        } else {
            write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)
        }
    }
}

/// Why a [`TossGateway`] cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TossSetupError {
    #[error(
        "the Toss API base URL {0:?} is not an http(s) URL such as {DEFAULT_BASE_URL} (set {PSP_BASE_URL})"
    )]
    BadBaseUrl(String),
    #[error("cannot build the HTTP client for Toss Payments: {0}")]
    Http(#[from] reqwest::Error),
}

/// The Toss Payments adapter. See the module documentation.
pub struct TossGateway {
    http: reqwest::Client,
    base: Url,
    keys: Arc<dyn KeySource>,
}

impl std::fmt::Debug for TossGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossGateway")
            .field("base", &self.base.as_str())
            .field("keys", &self.keys.describe())
            .finish()
    }
}

impl TossGateway {
    /// `base_url` is [`DEFAULT_BASE_URL`] in production; `timeout` covers each whole call
    /// ([`DEFAULT_TIMEOUT`] unless the function's own timeout is shorter).
    pub fn new(
        base_url: &str,
        keys: Arc<dyn KeySource>,
        timeout: Duration,
    ) -> Result<Self, TossSetupError> {
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        TossGateway::with_client(base_url, keys, http)
    }

    /// With a client of the caller's (its timeout, default headers such as Toss's
    /// `TossPayments-Test-Code`).
    pub fn with_client(
        base_url: &str,
        keys: Arc<dyn KeySource>,
        http: reqwest::Client,
    ) -> Result<Self, TossSetupError> {
        let base = Url::parse(base_url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
            .ok_or_else(|| TossSetupError::BadBaseUrl(base_url.to_string()))?;
        Ok(TossGateway { http, base, keys })
    }

    /// The base URL with `segments` appended, each percent-encoded (a paymentKey is opaque).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `with_client` admits only URLs that can be a base, so this always applies.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends `request` with the key: the Payment object on 2xx, else Toss's error answer.
    /// Transport failures and timeouts are `Unavailable`.
    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> PortResult<Result<Payment, TossError>> {
        let key = self.keys.secret_key().await?;
        // Toss wants base64("<secret key>:"), which is HTTP Basic with the key as user name and
        // no password; reqwest writes the ':' and marks the header sensitive.
        let response = request
            .basic_auth(&key.0, None::<&str>)
            .send()
            .await
            .map_err(|e| {
                let lost = if e.is_timeout() {
                    " (timed out: Toss may have done it; a retry with the same Idempotency-Key gets its answer)"
                } else {
                    ""
                };
                PortError::unavailable(SERVICE, format!("{what}: {e}{lost}"))
            })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            PortError::unavailable(SERVICE, format!("{what}: reading the answer: {e}"))
        })?;
        if !status.is_success() {
            return Ok(Err(TossError::from_answer(status.as_u16(), &text)));
        }
        serde_json::from_str::<Payment>(&text).map(Ok).map_err(|e| {
            PortError::Rejected(format!(
                "{SERVICE} answered {what} with HTTP {status} but not a Payment object ({e}); look the payment up in the Toss merchant console"
            ))
        })
    }

    /// The port's error for an answer of class `class` (a decline or an "already" outside the
    /// call that expects it is final).
    async fn port_error(&self, class: ErrorClass, what: &str, error: &TossError) -> PortError {
        match class {
            ErrorClass::Retry => PortError::unavailable(SERVICE, format!("{what}: {error}")),
            ErrorClass::Config => {
                self.keys.forget().await;
                PortError::Rejected(format!(
                    "{SERVICE} refused our secret key on {what} ({error}): {} is wrong or not allowed. Put the API secret key (test_… or live_…) from the Toss developer center there; it is read again on the next call",
                    self.keys.describe()
                ))
            }
            ErrorClass::NotFound => PortError::not_found(format!("{what} ({error})")),
            ErrorClass::Decline
            | ErrorClass::AlreadyProcessed
            | ErrorClass::AlreadyCancelled
            | ErrorClass::Final => {
                PortError::Rejected(format!("{SERVICE} refused {what}: {error}"))
            }
        }
    }

    /// A 200 to a confirm: approved if it is our payment and DONE.
    fn confirmed(
        &self,
        request: &ChargeRequest,
        what: &str,
        payment: &Payment,
    ) -> PortResult<ChargeOutcome> {
        match payment.status.as_str() {
            "DONE" if payment.is_for(request) => Ok(ChargeOutcome::Approved {
                charge_id: payment.payment_key.clone(),
            }),
            "ABORTED" | "EXPIRED" => Ok(ChargeOutcome::Declined {
                reason: payment.decline_reason(),
            }),
            _ => Err(PortError::Rejected(format!(
                "{SERVICE} answered {what} with {}, not DONE for paymentKey {} and {} won; look the order up in the Toss merchant console",
                payment.summary(),
                request.card,
                request.amount.amount
            ))),
        }
    }

    /// After ALREADY_PROCESSED_PAYMENT: the order as Toss has it. Approved only if it is DONE
    /// with our paymentKey and amount (the answer to our own earlier confirm was lost).
    async fn confirmed_before(&self, request: &ChargeRequest) -> PortResult<ChargeOutcome> {
        let what = format!(
            "the lookup of order {} (confirmed before)",
            request.payment_id
        );
        let call = self
            .http
            .get(self.url(&["v1", "payments", "orders", &request.payment_id]));
        match self.send(&what, call).await? {
            Ok(payment) if payment.status == "DONE" && payment.is_for(request) => {
                Ok(ChargeOutcome::Approved {
                    charge_id: payment.payment_key,
                })
            }
            Ok(payment) => Err(PortError::Rejected(format!(
                "{SERVICE} says payment {} was confirmed before, but the order has {}, not DONE for paymentKey {} and {} won; reconcile it in the Toss merchant console",
                request.payment_id,
                payment.summary(),
                request.card,
                request.amount.amount
            ))),
            Err(error) => Err(match error.class() {
                // Toss has just said the payment exists: a miss is a lag, not an absence.
                ErrorClass::NotFound => PortError::unavailable(SERVICE, format!("{what}: {error}")),
                class => self.port_error(class, &what, &error).await,
            }),
        }
    }

    /// After ALREADY_CANCELED_PAYMENT: the refund id from the payment, or the stable one if
    /// the lookup fails (the refund is done either way).
    async fn refund_id_of_cancelled(&self, payment_key: &str) -> String {
        let what = format!("the lookup of Toss payment {payment_key} (cancelled before)");
        let call = self.http.get(self.url(&["v1", "payments", payment_key]));
        match self.send(&what, call).await {
            Ok(Ok(payment)) => payment.refund_id(),
            _ => format!("{payment_key}:canceled"),
        }
    }
}

#[async_trait]
impl PaymentGateway for TossGateway {
    async fn charge(&self, request: &ChargeRequest) -> PortResult<ChargeOutcome> {
        if let Some(reason) = refusal(request) {
            return Ok(ChargeOutcome::Declined { reason });
        }
        let what = format!("the confirm of payment {}", request.payment_id);
        let body = json!({
            "paymentKey": request.card,
            "orderId": request.payment_id,
            "amount": request.amount.amount,
        });
        // Toss keys idempotency on (key, secret key, URL, method), not the body: every confirm
        // goes to the same URL, so the key must be unique per payment, as the payment id is.
        let call = self
            .http
            .post(self.url(&["v1", "payments", "confirm"]))
            .header(IDEMPOTENCY_KEY, &request.payment_id)
            .json(&body);
        match self.send(&what, call).await? {
            Ok(payment) => self.confirmed(request, &what, &payment),
            Err(error) => match error.class() {
                ErrorClass::Decline => Ok(ChargeOutcome::Declined {
                    reason: error.decline_reason(),
                }),
                ErrorClass::AlreadyProcessed => self.confirmed_before(request).await,
                class => Err(self.port_error(class, &what, &error).await),
            },
        }
    }

    async fn refund(&self, charge_id: &str, idempotency_key: &str) -> PortResult<RefundOutcome> {
        if charge_id.is_empty() || idempotency_key.is_empty() {
            return Err(PortError::Rejected(format!(
                "a {SERVICE} refund needs a paymentKey and an idempotency key"
            )));
        }
        // Toss answers a repeated cancel under the same key with the first answer, so only a
        // lookup tells a repeat apart; it also spares the cancel.
        let what = format!("the lookup of Toss payment {charge_id}");
        let call = self.http.get(self.url(&["v1", "payments", charge_id]));
        match self.send(&what, call).await? {
            Ok(payment) if payment.status == "CANCELED" => {
                return Ok(RefundOutcome::AlreadyRefunded {
                    refund_id: payment.refund_id(),
                });
            }
            Ok(_) => {}
            Err(error) => return Err(self.port_error(error.class(), &what, &error).await),
        }
        let what = format!("the cancel of Toss payment {charge_id}");
        let reason: String = format!("crowdfund refund {idempotency_key}")
            .chars()
            .take(MAX_CANCEL_REASON)
            .collect();
        // No cancelAmount: the whole payment is cancelled.
        let call = self
            .http
            .post(self.url(&["v1", "payments", charge_id, "cancel"]))
            .header(IDEMPOTENCY_KEY, idempotency_key)
            .json(&json!({ "cancelReason": reason }));
        match self.send(&what, call).await? {
            Ok(payment) if payment.status == "CANCELED" => Ok(RefundOutcome::Refunded {
                refund_id: payment.refund_id(),
            }),
            Ok(payment) => Err(PortError::Rejected(format!(
                "{SERVICE} answered {what} with {}, not CANCELED; look the payment up in the Toss merchant console",
                payment.summary()
            ))),
            Err(error) => match error.class() {
                ErrorClass::AlreadyCancelled => Ok(RefundOutcome::AlreadyRefunded {
                    refund_id: self.refund_id_of_cancelled(charge_id).await,
                }),
                class => Err(self.port_error(class, &what, &error).await),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crowdfund_core::money::Money;

    fn all_of(class: ErrorClass, cases: &[(u16, &str)]) {
        for (status, code) in cases {
            assert_eq!(classify(*status, code), class, "{status} {code:?}");
        }
    }

    #[test]
    fn retry_class_is_transient_codes_429_and_5xx() {
        all_of(
            ErrorClass::Retry,
            &[
                (400, "PROVIDER_ERROR"),
                (409, "IDEMPOTENT_REQUEST_PROCESSING"),
                (403, "FORBIDDEN_CONSECUTIVE_REQUEST"),
                (500, "FAILED_INTERNAL_SYSTEM_PROCESSING"),
                (500, "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING"),
                (500, "FAILED_REFUND_PROCESS"),
                (500, "COMMON_ERROR"),
                (500, "UNKNOWN_PAYMENT_ERROR"),
                (429, ""),
                (502, ""),
                (503, "SOME_NEW_CODE"),
            ],
        );
    }

    #[test]
    fn decline_class_is_card_and_session_refusals() {
        all_of(
            ErrorClass::Decline,
            &[
                (403, "REJECT_CARD_PAYMENT"),
                (403, "REJECT_CARD_COMPANY"),
                (403, "REJECT_ACCOUNT_PAYMENT"),
                (400, "INVALID_CARD_EXPIRATION"),
                (400, "INVALID_CARD_NUMBER"),
                (400, "INVALID_STOPPED_CARD"),
                (400, "INVALID_REJECT_CARD"),
                (400, "EXCEED_MAX_DAILY_PAYMENT_COUNT"),
                (400, "EXCEED_MAX_PAYMENT_AMOUNT"),
                (400, "BELOW_MINIMUM_AMOUNT"),
                (404, "NOT_FOUND_PAYMENT_SESSION"),
            ],
        );
    }

    #[test]
    fn config_class_is_key_errors() {
        all_of(
            ErrorClass::Config,
            &[
                (401, "UNAUTHORIZED_KEY"),
                (400, "INVALID_API_KEY"),
                (403, "FORBIDDEN_REQUEST"),
                (403, "INCORRECT_BASIC_AUTH_FORMAT"),
                (400, "INCORRECT_BASIC_AUTH_FORMAT"),
                (401, ""),
            ],
        );
    }

    #[test]
    fn final_class_is_any_other_4xx() {
        all_of(
            ErrorClass::Final,
            &[
                (400, "INVALID_REQUEST"),
                (400, "INVALID_IDEMPOTENCY_KEY"),
                (400, "SOME_NEW_CODE"),
                (403, "NOT_CANCELABLE_PAYMENT"),
                (403, "NOT_CANCELABLE_AMOUNT"),
                (404, ""),
                (422, ""),
            ],
        );
    }

    #[test]
    fn already_and_not_found_classes() {
        all_of(
            ErrorClass::AlreadyProcessed,
            &[
                (400, "ALREADY_PROCESSED_PAYMENT"),
                (400, "ALREADY_COMPLETED_PAYMENT"),
            ],
        );
        all_of(
            ErrorClass::AlreadyCancelled,
            &[
                (400, "ALREADY_CANCELED_PAYMENT"),
                (400, "ALREADY_REFUND_PAYMENT"),
            ],
        );
        all_of(
            ErrorClass::NotFound,
            &[(404, "NOT_FOUND_PAYMENT"), (404, "NOT_FOUND")],
        );
    }

    #[test]
    fn error_answers_without_a_code_keep_the_body() {
        let e = TossError::from_answer(502, "<html>bad gateway</html>");
        assert_eq!((e.code.as_str(), e.class()), ("", ErrorClass::Retry));
        assert_eq!(e.to_string(), "HTTP 502: <html>bad gateway</html>");
        let e = TossError::from_answer(
            403,
            r#"{"code":"REJECT_CARD_COMPANY","message":"결제 승인이 거절되었습니다."}"#,
        );
        assert_eq!(
            e.decline_reason(),
            "REJECT_CARD_COMPANY: 결제 승인이 거절되었습니다."
        );
    }

    #[test]
    fn order_ids_are_6_to_64_of_alphanumerics_dash_underscore() {
        for good in ["pay-01", "a_b-C9", &"x".repeat(64)] {
            assert!(is_toss_order_id(good), "{good}");
        }
        for bad in [
            "pay-1",
            "",
            &"x".repeat(65),
            "pay:0001",
            "pay.0001",
            "결제-0001",
        ] {
            assert!(!is_toss_order_id(bad), "{bad}");
        }
    }

    fn charge(payment_id: &str, card: &str, amount: Money) -> ChargeRequest {
        ChargeRequest {
            payment_id: payment_id.into(),
            card: card.into(),
            amount,
        }
    }

    #[test]
    fn refuses_before_calling_what_it_could_never_take() {
        let krw = Money::new(50_000, Currency::KRW);
        assert_eq!(refusal(&charge("pay-0001", "tpk_1", krw)), None);
        let usd = refusal(&charge(
            "pay-0001",
            "tpk_1",
            Money::new(1999, Currency::USD),
        ));
        assert!(usd.is_some_and(|r| r.contains("KRW only") && r.contains("USD")));
        let id = refusal(&charge("pay:1", "tpk_1", krw));
        assert!(id.is_some_and(|r| r.contains("orderId")));
        let zero = refusal(&charge("pay-0001", "tpk_1", Money::new(0, Currency::KRW)));
        assert!(zero.is_some_and(|r| r.contains("positive")));
        for card in ["", "has space", &"k".repeat(201)] {
            let r = refusal(&charge("pay-0001", card, krw));
            assert!(r.is_some_and(|r| r.contains("paymentKey")), "{card:?}");
        }
    }

    #[test]
    fn secret_keys_are_test_or_live_secrets_and_stay_hidden() {
        let key = SecretKey::new(" test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R\n").unwrap();
        assert_eq!(key.0, "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R");
        assert!(!format!("{key:?}").contains("zXLk"));
        assert!(SecretKey::new("live_gsk_abc").is_ok());
        assert_eq!(SecretKey::new("  "), Err(SecretKeyError::Empty));
        assert_eq!(
            SecretKey::new("test_ck_abc"),
            Err(SecretKeyError::ClientKey)
        );
        assert_eq!(
            SecretKey::new("live_gck_abc"),
            Err(SecretKeyError::ClientKey)
        );
        assert_eq!(
            SecretKey::new("dGVzdF9za19hYmM6"),
            Err(SecretKeyError::NotTestOrLive)
        );
        assert_eq!(
            SecretKey::new("test_sk_abc:"),
            Err(SecretKeyError::BadCharacters)
        );
        let gateway = TossGateway::new(
            DEFAULT_BASE_URL,
            Arc::new(FixedKey::new(key)),
            DEFAULT_TIMEOUT,
        )
        .unwrap();
        assert!(!format!("{gateway:?}").contains("zXLk"));
    }

    #[test]
    fn urls_keep_a_base_path_and_escape_segments() {
        let keys: Arc<dyn KeySource> =
            Arc::new(FixedKey::new(SecretKey::new("test_sk_a").unwrap()));
        let gateway =
            TossGateway::new("http://127.0.0.1:9/toss/", keys.clone(), DEFAULT_TIMEOUT).unwrap();
        assert_eq!(
            gateway.url(&["v1", "payments", "a/b c", "cancel"]).as_str(),
            "http://127.0.0.1:9/toss/v1/payments/a%2Fb%20c/cancel"
        );
        let gateway = TossGateway::new(DEFAULT_BASE_URL, keys.clone(), DEFAULT_TIMEOUT).unwrap();
        assert_eq!(
            gateway.url(&["v1", "payments", "confirm"]).as_str(),
            "https://api.tosspayments.com/v1/payments/confirm"
        );
        for bad in ["api.tosspayments.com", "ftp://x", "mailto:a@b", ""] {
            assert!(
                matches!(
                    TossGateway::new(bad, keys.clone(), DEFAULT_TIMEOUT),
                    Err(TossSetupError::BadBaseUrl(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn payment_amounts_and_refund_ids() {
        let p: Payment = serde_json::from_value(json!({
            "paymentKey": "tpk_1", "orderId": "pay-0001", "status": "CANCELED",
            "totalAmount": 50000.0, "balanceAmount": 0, "newField": {"x": 1},
            "cancels": [{"transactionKey": "tx-1"}, {"transactionKey": "tx-2"}],
        }))
        .unwrap();
        assert_eq!(p.total_won(), Some(50_000));
        assert_eq!(p.refund_id(), "tx-2");
        let p: Payment = serde_json::from_value(json!({
            "paymentKey": "tpk_1", "orderId": "pay-0001", "status": "CANCELED",
            "totalAmount": 50000.5, "cancels": null,
        }))
        .unwrap();
        assert_eq!(p.total_won(), None);
        assert_eq!(p.refund_id(), "tpk_1:canceled");
    }
}
