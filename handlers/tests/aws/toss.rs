//! The Toss Payments adapter over real HTTP against a fake of the Toss core API that follows its
//! documentation: Basic authentication, confirm, cancel, the two lookups, `Idempotency-Key`
//! replay, the documented error bodies and `TossPayments-Test-Code`, plus switches that answer a
//! 500 or a 429, or never answer. Needs no moto, except the Secrets Manager key source
//! (feature `lambda`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::ports::{
    ChargeOutcome, ChargeRequest, PaymentGateway, PortError, RefundOutcome,
};
use crowdfund_handlers::aws::toss::{DEFAULT_TIMEOUT, FixedKey, KeySource, SecretKey, TossGateway};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The test secret key printed in Toss's authorization guide, and the header the guide derives
/// from it: the fake checks the header by decoding it, the first test compares it verbatim.
const SECRET_KEY: &str = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R";
const DOCUMENTED_AUTHORIZATION: &str = "Basic dGVzdF9za196WExrS0V5cE5BcldtbzUwblgzbG1lYXhZRzVSOg==";

/// A request as the fake received it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    idempotency_key: Option<String>,
    body: Value,
}

/// Trouble for the next request.
#[derive(Debug, Clone, Copy)]
enum Trouble {
    /// Answer this status before the API sees the request (a proxy or throttle in front):
    /// nothing is processed or stored for replay.
    Status(u16),
    /// Take the request (its idempotency key is in flight) and never answer.
    HangInFlight,
    /// Process the request and store its answer for replay, then never answer: the answer is
    /// lost on the way back.
    LoseAnswer,
}

#[derive(Debug, Clone)]
struct FakePayment {
    payment_key: String,
    order_id: String,
    amount: i64,
    status: &'static str,
    cancels: Vec<Value>,
}

enum Stored {
    InFlight,
    Answer(u16, Value),
}

#[derive(Default)]
struct TossState {
    /// By paymentKey.
    payments: HashMap<String, FakePayment>,
    /// By (Idempotency-Key, method, path). The docs add the API key; the fake accepts one key.
    /// The body is not part of it.
    idempotent: HashMap<(String, String, String), Stored>,
    charges: u32,
    cancels: u32,
    troubles: VecDeque<Trouble>,
    seen: Vec<Seen>,
}

#[derive(Clone, Default)]
struct FakeToss(Arc<Mutex<TossState>>);

impl FakeToss {
    /// Serves on a free loopback port; returns the base URL.
    async fn start() -> (FakeToss, String) {
        let fake = FakeToss::default();
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (fake, base)
    }

    /// What the payment widget leaves behind once the backer has authenticated: a payment
    /// waiting for the merchant's confirm.
    fn authenticated(&self, payment_key: &str, order_id: &str, amount: i64) {
        self.0.lock().unwrap().payments.insert(
            payment_key.into(),
            FakePayment {
                payment_key: payment_key.into(),
                order_id: order_id.into(),
                amount,
                status: "IN_PROGRESS",
                cancels: Vec::new(),
            },
        );
    }

    fn trouble(&self, trouble: Trouble) {
        self.0.lock().unwrap().troubles.push_back(trouble);
    }

    /// Idempotency keys are valid for 15 days; this is day 16.
    fn forget_idempotency_keys(&self) {
        self.0.lock().unwrap().idempotent.clear();
    }

    fn charges(&self) -> u32 {
        self.0.lock().unwrap().charges
    }

    fn cancels(&self) -> u32 {
        self.0.lock().unwrap().cancels
    }

    fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().seen.clone()
    }

    fn payment(&self, payment_key: &str) -> FakePayment {
        self.0.lock().unwrap().payments[payment_key].clone()
    }
}

fn error(status: u16, code: &str, message: &str) -> (u16, Value) {
    (status, json!({"code": code, "message": message}))
}

fn respond((status, body): (u16, Value)) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

/// The documented errors `TossPayments-Test-Code` can ask for, as the API answers them.
const TEST_CODES: &[(&str, u16, &str)] = &[
    (
        "REJECT_CARD_PAYMENT",
        403,
        "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
    ),
    ("REJECT_CARD_COMPANY", 403, "결제 승인이 거절되었습니다."),
    (
        "INVALID_CARD_EXPIRATION",
        400,
        "카드 정보를 다시 확인해주세요.(유효기간)",
    ),
    (
        "EXCEED_MAX_DAILY_PAYMENT_COUNT",
        400,
        "하루 결제 가능 횟수를 초과했습니다.",
    ),
    (
        "PROVIDER_ERROR",
        400,
        "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.",
    ),
    (
        "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING",
        500,
        "결제가 완료되지 않았어요. 다시 시도해주세요.",
    ),
    ("FORBIDDEN_REQUEST", 403, "허용되지 않은 요청입니다."),
    ("ALREADY_CANCELED_PAYMENT", 400, "이미 취소된 결제 입니다."),
    (
        "NOT_CANCELABLE_PAYMENT",
        403,
        "취소 할 수 없는 결제 입니다.",
    ),
    (
        "FAILED_REFUND_PROCESS",
        500,
        "은행 응답시간 지연이나 일시적인 오류로 환불요청에 실패했습니다.",
    ),
];

fn test_code_answer(code: &str) -> (u16, Value) {
    match TEST_CODES.iter().find(|(c, _, _)| *c == code) {
        Some((code, status, message)) => error(*status, code, message),
        None => error(400, "INVALID_TEST_CODE", "유효하지 않은 테스트 코드입니다."),
    }
}

/// Standard base64, enough to read a Basic header.
fn decode_base64(s: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut bits, mut held, mut out) = (0u32, 0u32, Vec::new());
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        bits = (bits << 6) | v;
        held += 6;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
            bits &= (1 << held) - 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `Authorization: Basic base64("<secret key>:")`, or the documented refusal.
fn refuse_auth(header: Option<&str>) -> Option<(u16, Value)> {
    let unauthorized = error(
        401,
        "UNAUTHORIZED_KEY",
        "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
    );
    let Some(decoded) = header
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(decode_base64)
    else {
        return Some(unauthorized);
    };
    match decoded.split_once(':') {
        None => Some(error(
            403,
            "INCORRECT_BASIC_AUTH_FORMAT",
            "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.",
        )),
        Some((key, "")) if key == SECRET_KEY => None,
        Some(_) => Some(unauthorized),
    }
}

fn payment_json(p: &FakePayment) -> Value {
    let cancelled: i64 = p
        .cancels
        .iter()
        .map(|c| c["cancelAmount"].as_i64().unwrap())
        .sum();
    json!({
        "mId": "tosspayments", "version": "2022-11-16", "type": "NORMAL",
        "paymentKey": p.payment_key, "orderId": p.order_id, "orderName": "crowdfund pledge",
        "currency": "KRW", "method": "카드", "status": p.status,
        "totalAmount": p.amount, "balanceAmount": p.amount - cancelled,
        "suppliedAmount": p.amount - cancelled, "vat": 0, "taxFreeAmount": 0,
        "taxExemptionAmount": 0, "useEscrow": false, "cultureExpense": false,
        "isPartialCancelable": true, "requestedAt": "2026-03-02T10:00:00+09:00",
        "approvedAt": (p.status != "IN_PROGRESS").then_some("2026-03-02T10:01:00+09:00"),
        "lastTransactionKey": p.cancels.last().map_or_else(
            || json!(format!("tx-confirm-{}", p.order_id)),
            |c| c["transactionKey"].clone(),
        ),
        "cancels": if p.cancels.is_empty() { Value::Null } else { json!(p.cancels) },
        "card": {"amount": p.amount, "issuerCode": "71", "acquirerCode": "71",
                 "number": "43301234****123*", "installmentPlanMonths": 0, "approveNo": "00000000",
                 "cardType": "신용", "ownerType": "개인", "acquireStatus": "READY"},
        "failure": null, "secret": null, "country": "KR", "receipt": null, "checkout": null,
    })
}

fn confirm(s: &mut TossState, body: &Value) -> (u16, Value) {
    let (Some(key), Some(order_id), Some(amount)) = (
        body["paymentKey"].as_str(),
        body["orderId"].as_str(),
        body["amount"].as_i64(),
    ) else {
        return error(400, "INVALID_REQUEST", "잘못된 요청입니다.");
    };
    let Some(p) = s.payments.get_mut(key) else {
        return error(
            404,
            "NOT_FOUND_PAYMENT_SESSION",
            "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
        );
    };
    if p.status != "IN_PROGRESS" {
        return error(400, "ALREADY_PROCESSED_PAYMENT", "이미 처리된 결제 입니다.");
    }
    if p.order_id != order_id || p.amount != amount {
        return error(400, "INVALID_REQUEST", "잘못된 요청입니다.");
    }
    p.status = "DONE";
    s.charges += 1;
    (200, payment_json(p))
}

/// Full cancels only: the adapter never sends `cancelAmount`.
fn cancel(s: &mut TossState, payment_key: &str, body: &Value) -> (u16, Value) {
    if body["cancelReason"].as_str().is_none_or(str::is_empty) || body.get("cancelAmount").is_some()
    {
        return error(400, "INVALID_REQUEST", "잘못된 요청입니다.");
    }
    let Some(p) = s.payments.get_mut(payment_key) else {
        return error(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.");
    };
    match p.status {
        "DONE" => {}
        "CANCELED" => return error(400, "ALREADY_CANCELED_PAYMENT", "이미 취소된 결제 입니다."),
        _ => {
            return error(
                403,
                "NOT_CANCELABLE_PAYMENT",
                "취소 할 수 없는 결제 입니다.",
            );
        }
    }
    s.cancels += 1;
    p.cancels.push(json!({
        "transactionKey": format!("tx-cancel-{}", s.cancels),
        "cancelReason": body["cancelReason"], "cancelAmount": p.amount, "taxFreeAmount": 0,
        "taxExemptionAmount": 0, "refundableAmount": 0, "cardDiscountAmount": 0,
        "transferDiscountAmount": 0, "easyPayDiscountAmount": 0,
        "canceledAt": "2026-03-02T11:00:00+09:00", "receiptKey": null,
        "cancelStatus": "DONE", "cancelRequestId": null,
    }));
    p.status = "CANCELED";
    (200, payment_json(p))
}

fn route(s: &mut TossState, method: &Method, path: &str, body: &Value) -> (u16, Value) {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let not_found = || error(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.");
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "payments", "confirm"]) => confirm(s, body),
        ("POST", ["v1", "payments", key, "cancel"]) => cancel(s, key, body),
        ("GET", ["v1", "payments", "orders", order_id]) => s
            .payments
            .values()
            .find(|p| p.order_id == *order_id && p.status != "IN_PROGRESS")
            .map_or_else(not_found, |p| (200, payment_json(p))),
        ("GET", ["v1", "payments", key]) => s
            .payments
            .get(*key)
            .map_or_else(not_found, |p| (200, payment_json(p))),
        _ => error(
            404,
            "NOT_FOUND_HTTP_METHOD",
            "존재하지 않는 HTTP 메소드 접근입니다.",
        ),
    }
}

async fn answer(
    State(fake): State<FakeToss>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let trouble = {
        let mut s = fake.0.lock().unwrap();
        s.seen.push(Seen {
            method: method.to_string(),
            path: path.clone(),
            authorization: header("authorization"),
            idempotency_key: header("idempotency-key"),
            body: body.clone(),
        });
        s.troubles.pop_front()
    };
    if let Some(Trouble::Status(status)) = trouble {
        return (StatusCode::from_u16(status).unwrap(), "upstream trouble").into_response();
    }
    if let Some(refusal) = refuse_auth(header("authorization").as_deref()) {
        return respond(refusal);
    }
    // Idempotency-Key applies to POSTs; "GET 요청에 추가하는 멱등키 헤더는 무시됩니다".
    let slot = match header("idempotency-key").filter(|_| method == Method::POST) {
        Some(key) if key.chars().count() > 300 => {
            return respond(error(
                400,
                "INVALID_IDEMPOTENCY_KEY",
                "멱등키는 300자 이하여야 합니다.",
            ));
        }
        Some(key) => {
            let slot = (key, method.to_string(), path.clone());
            let mut s = fake.0.lock().unwrap();
            match s.idempotent.get(&slot) {
                Some(Stored::Answer(status, body)) => return respond((*status, body.clone())),
                Some(Stored::InFlight) => {
                    return respond(error(
                        409,
                        "IDEMPOTENT_REQUEST_PROCESSING",
                        "이전 멱등 요청이 처리중입니다.",
                    ));
                }
                None => {
                    s.idempotent.insert(slot.clone(), Stored::InFlight);
                }
            }
            Some(slot)
        }
        None => None,
    };
    if let Some(Trouble::HangInFlight) = trouble {
        std::future::pending::<()>().await;
    }
    let reply = {
        let mut s = fake.0.lock().unwrap();
        // Test codes reproduce the errors of the payment APIs (test keys only, which is the
        // only key the fake accepts); lookups answer as usual.
        let reply = match header("tosspayments-test-code").filter(|_| method == Method::POST) {
            Some(code) => test_code_answer(&code),
            None => route(&mut s, &method, &path, &body),
        };
        if let Some(slot) = slot {
            s.idempotent
                .insert(slot, Stored::Answer(reply.0, reply.1.clone()));
        }
        reply
    };
    if let Some(Trouble::LoseAnswer) = trouble {
        std::future::pending::<()>().await;
    }
    respond(reply)
}

fn keys(secret_key: &str) -> Arc<dyn KeySource> {
    Arc::new(FixedKey::new(SecretKey::new(secret_key).unwrap()))
}

fn gateway(base: &str) -> TossGateway {
    TossGateway::new(base, keys(SECRET_KEY), DEFAULT_TIMEOUT).unwrap()
}

/// A gateway whose every request asks the API for the documented error `code`.
fn gateway_with_test_code(base: &str, code: &str) -> TossGateway {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("TossPayments-Test-Code", code.parse().unwrap());
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(DEFAULT_TIMEOUT)
        .build()
        .unwrap();
    TossGateway::with_client(base, keys(SECRET_KEY), http).unwrap()
}

/// A client timeout for the requests the fake never answers; short so the test is quick.
const NEVER_ANSWERED: Duration = Duration::from_millis(300);

fn krw(payment_id: &str, payment_key: &str, won: i64) -> ChargeRequest {
    ChargeRequest {
        payment_id: payment_id.into(),
        card: payment_key.into(),
        amount: Money::new(won, Currency::KRW),
    }
}

fn approved(payment_key: &str) -> ChargeOutcome {
    ChargeOutcome::Approved {
        charge_id: payment_key.into(),
    }
}

fn declined_with(outcome: &ChargeOutcome, code: &str) -> bool {
    matches!(outcome, ChargeOutcome::Declined { reason } if reason.starts_with(&format!("{code}: ")))
}

/// Approval: the confirm goes to the documented path with the documented Basic header, the
/// payment id as orderId and Idempotency-Key, and the charge id is the paymentKey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approves_with_the_documented_request() {
    let (fake, base) = FakeToss::start().await;
    fake.authenticated("tpk_approve", "pay-approve-1", 50_000);
    let outcome = gateway(&base)
        .charge(&krw("pay-approve-1", "tpk_approve", 50_000))
        .await
        .unwrap();
    assert_eq!(outcome, approved("tpk_approve"));
    assert_eq!(fake.charges(), 1);
    assert_eq!(fake.payment("tpk_approve").status, "DONE");
    let seen = fake.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/v1/payments/confirm")
    );
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(DOCUMENTED_AUTHORIZATION)
    );
    assert_eq!(seen[0].idempotency_key.as_deref(), Some("pay-approve-1"));
    assert_eq!(
        seen[0].body,
        json!({"paymentKey": "tpk_approve", "orderId": "pay-approve-1", "amount": 50000})
    );
}

/// The same payment charged again is charged once: the repeat gets the first answer back
/// (replayed for the Idempotency-Key, whatever the body); once the key has expired, Toss's
/// ALREADY_PROCESSED_PAYMENT is checked against the order. An answer for a different amount
/// is never taken as an approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charges_a_payment_once_and_checks_repeats() {
    let (fake, base) = FakeToss::start().await;
    let toss = gateway(&base);
    fake.authenticated("tpk_once", "pay-once-1", 50_000);
    let request = krw("pay-once-1", "tpk_once", 50_000);
    assert_eq!(toss.charge(&request).await.unwrap(), approved("tpk_once"));
    assert_eq!(toss.charge(&request).await.unwrap(), approved("tpk_once"));
    assert_eq!(fake.charges(), 1, "the repeat was replayed, not charged");

    // Same key, another amount: the first answer comes back (the body is not part of the
    // key) and does not match.
    let other_amount = krw("pay-once-1", "tpk_once", 60_000);
    let replayed = toss.charge(&other_amount).await.unwrap_err();
    assert!(matches!(replayed, PortError::Rejected(_)), "{replayed}");

    fake.forget_idempotency_keys();
    assert_eq!(toss.charge(&request).await.unwrap(), approved("tpk_once"));
    let lookups: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.method == "GET")
        .map(|s| s.path)
        .collect();
    assert_eq!(lookups, ["/v1/payments/orders/pay-once-1"]);

    fake.forget_idempotency_keys();
    let mismatch = toss.charge(&other_amount).await.unwrap_err();
    assert!(
        matches!(&mismatch, PortError::Rejected(m) if m.contains("confirmed before")),
        "{mismatch}"
    );
    assert_eq!(fake.charges(), 1);
}

/// Toss confirmed but the answer was lost (the client timed out): the retry with the same
/// payment id gets the stored answer, Approved, and the card was charged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_confirm_answer_is_approved_on_retry_with_one_charge() {
    let (fake, base) = FakeToss::start().await;
    let toss = TossGateway::new(&base, keys(SECRET_KEY), NEVER_ANSWERED).unwrap();
    fake.authenticated("tpk_lost", "pay-lost-1", 50_000);
    fake.trouble(Trouble::LoseAnswer);
    let request = krw("pay-lost-1", "tpk_lost", 50_000);
    let lost = toss.charge(&request).await.unwrap_err();
    assert!(
        lost.is_retryable() && lost.to_string().contains("timed out"),
        "{lost}"
    );
    assert_eq!(fake.charges(), 1, "Toss did charge");
    assert_eq!(toss.charge(&request).await.unwrap(), approved("tpk_lost"));
    assert_eq!(fake.charges(), 1);
}

/// A confirm still being processed: the caller's timeout and Toss's 409 for the same key are
/// both retryable, and nothing is charged meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_in_flight_is_retryable() {
    let (fake, base) = FakeToss::start().await;
    let toss = TossGateway::new(&base, keys(SECRET_KEY), NEVER_ANSWERED).unwrap();
    fake.authenticated("tpk_slow", "pay-slow-1", 50_000);
    fake.trouble(Trouble::HangInFlight);
    let request = krw("pay-slow-1", "tpk_slow", 50_000);
    let timed_out = toss.charge(&request).await.unwrap_err();
    assert!(timed_out.is_retryable(), "{timed_out}");
    let in_flight = toss.charge(&request).await.unwrap_err();
    assert!(
        in_flight.is_retryable()
            && in_flight
                .to_string()
                .contains("IDEMPOTENT_REQUEST_PROCESSING"),
        "{in_flight}"
    );
    assert_eq!(fake.charges(), 0);
}

/// Card refusals and an expired session are Declined outcomes with `CODE: message`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_are_outcomes_not_errors() {
    let (fake, base) = FakeToss::start().await;
    let expired = gateway(&base)
        .charge(&krw("pay-expired-1", "tpk_never_authenticated", 50_000))
        .await
        .unwrap();
    assert!(
        declined_with(&expired, "NOT_FOUND_PAYMENT_SESSION"),
        "{expired:?}"
    );
    for code in [
        "REJECT_CARD_PAYMENT",
        "REJECT_CARD_COMPANY",
        "INVALID_CARD_EXPIRATION",
        "EXCEED_MAX_DAILY_PAYMENT_COUNT",
    ] {
        let payment_id = format!("pay-{}", code.to_lowercase().replace('_', "-"));
        let payment_key = format!("tpk_{code}");
        fake.authenticated(&payment_key, &payment_id, 50_000);
        let outcome = gateway_with_test_code(&base, code)
            .charge(&krw(&payment_id, &payment_key, 50_000))
            .await
            .unwrap();
        assert!(declined_with(&outcome, code), "{code}: {outcome:?}");
    }
    assert_eq!(fake.charges(), 0);
}

/// A 500 or a 429 in front of the API, PROVIDER_ERROR (a 400) and FAILED_* are retryable; the
/// retry after the 500 and the 429 charges once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retryable() {
    let (fake, base) = FakeToss::start().await;
    let toss = gateway(&base);
    fake.authenticated("tpk_flaky", "pay-flaky-1", 50_000);
    let request = krw("pay-flaky-1", "tpk_flaky", 50_000);
    for status in [500, 429] {
        fake.trouble(Trouble::Status(status));
        let e = toss.charge(&request).await.unwrap_err();
        assert!(
            e.is_retryable() && e.to_string().contains(&format!("HTTP {status}")),
            "{e}"
        );
    }
    assert_eq!(toss.charge(&request).await.unwrap(), approved("tpk_flaky"));
    assert_eq!(fake.charges(), 1);

    for (payment_id, payment_key, code) in [
        ("pay-provider-1", "tpk_provider", "PROVIDER_ERROR"),
        (
            "pay-failed-1",
            "tpk_failed",
            "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING",
        ),
    ] {
        fake.authenticated(payment_key, payment_id, 50_000);
        let e = gateway_with_test_code(&base, code)
            .charge(&krw(payment_id, payment_key, 50_000))
            .await
            .unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains(code), "{e}");
    }
    assert_eq!(fake.charges(), 1);
}

/// A wrong or refused secret key is final, and the message says which key to fix; nothing is
/// charged or refunded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_key_is_final_and_names_it() {
    let (fake, base) = FakeToss::start().await;
    fake.authenticated("tpk_key", "pay-key-1", 50_000);
    let wrong = TossGateway::new(&base, keys("test_sk_not_ours"), DEFAULT_TIMEOUT).unwrap();
    let charge = wrong
        .charge(&krw("pay-key-1", "tpk_key", 50_000))
        .await
        .unwrap_err();
    let refund = wrong.refund("tpk_key", "cancel-key-1").await.unwrap_err();
    for e in [&charge, &refund] {
        assert!(
            matches!(e, PortError::Rejected(m)
                if m.contains("UNAUTHORIZED_KEY") && m.contains("the configured Toss secret key")),
            "{e}"
        );
    }
    let forbidden = gateway_with_test_code(&base, "FORBIDDEN_REQUEST")
        .charge(&krw("pay-key-1", "tpk_key", 50_000))
        .await
        .unwrap_err();
    assert!(
        matches!(&forbidden, PortError::Rejected(m) if m.contains("secret key")),
        "{forbidden}"
    );
    assert_eq!((fake.charges(), fake.cancels()), (0, 0));
}

/// Another currency, or a payment id Toss would not take as an orderId, is declined without
/// a request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_krw_and_bad_order_ids_are_declined_without_a_request() {
    let (fake, base) = FakeToss::start().await;
    let toss = gateway(&base);
    let usd = ChargeRequest {
        amount: Money::new(1999, Currency::USD),
        ..krw("pay-usd-1", "tpk_usd", 0)
    };
    let outcome = toss.charge(&usd).await.unwrap();
    assert!(
        matches!(&outcome, ChargeOutcome::Declined { reason } if reason.contains("KRW only")),
        "{outcome:?}"
    );
    for payment_id in ["pay:0001", "pay1", "pay.0001"] {
        let outcome = toss
            .charge(&krw(payment_id, "tpk_x", 50_000))
            .await
            .unwrap();
        assert!(
            matches!(&outcome, ChargeOutcome::Declined { reason } if reason.contains("orderId")),
            "{payment_id}: {outcome:?}"
        );
    }
    assert!(fake.seen().is_empty());
}

/// Refund cancels the whole payment once, under the refund's idempotency key; refunding again
/// (same key or another) is AlreadyRefunded with the same refund id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_then_refund_again_is_already_refunded() {
    let (fake, base) = FakeToss::start().await;
    let toss = gateway(&base);
    fake.authenticated("tpk_refund", "pay-refund-1", 50_000);
    toss.charge(&krw("pay-refund-1", "tpk_refund", 50_000))
        .await
        .unwrap();

    let first = toss.refund("tpk_refund", "cancel-1").await.unwrap();
    let cancelled = fake.payment("tpk_refund");
    assert_eq!(cancelled.status, "CANCELED");
    let transaction_key = cancelled.cancels[0]["transactionKey"].as_str().unwrap();
    assert_eq!(
        first,
        RefundOutcome::Refunded {
            refund_id: transaction_key.into()
        }
    );
    let cancel = fake
        .seen()
        .into_iter()
        .find(|s| s.path == "/v1/payments/tpk_refund/cancel")
        .unwrap();
    assert_eq!(cancel.idempotency_key.as_deref(), Some("cancel-1"));
    assert!(
        cancel.body["cancelReason"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    assert!(cancel.body.get("cancelAmount").is_none(), "a full cancel");

    for key in ["cancel-1", "cancel-2"] {
        assert_eq!(
            toss.refund("tpk_refund", key).await.unwrap(),
            RefundOutcome::AlreadyRefunded {
                refund_id: transaction_key.into()
            },
            "{key}"
        );
    }
    assert_eq!(fake.cancels(), 1);
}

/// ALREADY_CANCELED_PAYMENT from the cancel itself (cancelled by someone else in between)
/// means the refund is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_cancelled_answer_is_already_refunded() {
    let (fake, base) = FakeToss::start().await;
    fake.authenticated("tpk_raced", "pay-raced-1", 50_000);
    gateway(&base)
        .charge(&krw("pay-raced-1", "tpk_raced", 50_000))
        .await
        .unwrap();
    let outcome = gateway_with_test_code(&base, "ALREADY_CANCELED_PAYMENT")
        .refund("tpk_raced", "cancel-raced-1")
        .await
        .unwrap();
    assert!(
        matches!(outcome, RefundOutcome::AlreadyRefunded { ref refund_id } if !refund_id.is_empty()),
        "{outcome:?}"
    );
}

/// Refund failures: an unknown payment is NotFound, an over-long idempotency key and a
/// non-cancelable payment are final, a refund processing failure is retryable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_errors_are_classed() {
    let (fake, base) = FakeToss::start().await;
    let toss = gateway(&base);
    fake.authenticated("tpk_r", "pay-r-0001", 50_000);
    toss.charge(&krw("pay-r-0001", "tpk_r", 50_000))
        .await
        .unwrap();

    let unknown = toss.refund("tpk_unknown", "cancel-u").await.unwrap_err();
    assert!(matches!(unknown, PortError::NotFound { .. }), "{unknown}");
    let long_key = toss.refund("tpk_r", &"k".repeat(301)).await.unwrap_err();
    assert!(
        matches!(&long_key, PortError::Rejected(m) if m.contains("INVALID_IDEMPOTENCY_KEY")),
        "{long_key}"
    );
    let refused = gateway_with_test_code(&base, "NOT_CANCELABLE_PAYMENT")
        .refund("tpk_r", "cancel-r")
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, PortError::Rejected(m) if m.contains("NOT_CANCELABLE_PAYMENT")),
        "{refused}"
    );
    let transient = gateway_with_test_code(&base, "FAILED_REFUND_PROCESS")
        .refund("tpk_r", "cancel-r2")
        .await
        .unwrap_err();
    assert!(transient.is_retryable(), "{transient}");
    assert_eq!(fake.cancels(), 0);
    assert_eq!(fake.payment("tpk_r").status, "DONE");
}

/// The key in Secrets Manager (moto): missing is retryable, a refused one is final and names
/// the secret, a fixed one is read again after the refusal, and a working one is kept.
#[cfg(feature = "lambda")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_key_is_read_on_use_and_again_after_a_refusal() {
    use crowdfund_handlers::aws::load_config;
    use crowdfund_handlers::aws::toss::SecretsManagerKey;
    use crowdfund_testkit::{endpoint_settings, moto_url};

    let Some(moto) = moto_url() else { return };
    // The suite's turn on moto (others reset it), on a fresh moto.
    let app = crate::helpers::spawn_app(&moto, None).await;
    let secrets = aws_sdk_secretsmanager::Client::new(
        &load_config(&endpoint_settings(&app.moto)).await.unwrap(),
    );
    let secret = "crowdfund-test/toss-secret-key";
    let (fake, base) = FakeToss::start().await;
    let keys = Arc::new(SecretsManagerKey::new(secrets.clone(), secret));
    let toss = TossGateway::new(&base, keys.clone(), DEFAULT_TIMEOUT).unwrap();
    fake.authenticated("tpk_sm_1", "pay-sm-0001", 50_000);
    fake.authenticated("tpk_sm_2", "pay-sm-0002", 50_000);
    let first = krw("pay-sm-0001", "tpk_sm_1", 50_000);

    let missing = toss.charge(&first).await.unwrap_err();
    assert!(
        missing.is_retryable() && missing.to_string().contains(secret),
        "{missing}"
    );

    secrets
        .create_secret()
        .name(secret)
        .secret_string("test_sk_not_ours")
        .send()
        .await
        .unwrap();
    let refused = toss.charge(&first).await.unwrap_err();
    assert!(
        matches!(&refused, PortError::Rejected(m)
            if m.contains("UNAUTHORIZED_KEY") && m.contains(secret) && m.contains("PSP_SECRET_ARN")),
        "{refused}"
    );

    let put = |value: &'static str| {
        let secrets = secrets.clone();
        async move {
            secrets
                .put_secret_value()
                .secret_id(secret)
                .secret_string(value)
                .send()
                .await
                .unwrap();
        }
    };
    put(SECRET_KEY).await;
    assert_eq!(toss.charge(&first).await.unwrap(), approved("tpk_sm_1"));
    put("test_sk_changed_later").await;
    assert_eq!(
        toss.charge(&krw("pay-sm-0002", "tpk_sm_2", 50_000))
            .await
            .unwrap(),
        approved("tpk_sm_2"),
        "the working key is kept, not read again"
    );
    assert_eq!(fake.charges(), 2);
    assert!(!format!("{keys:?} {toss:?}").contains("zXLk"));
}
