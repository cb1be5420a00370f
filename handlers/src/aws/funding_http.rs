//! [`FundingApi`] over HTTP against crowdfund-api (role funding-rw), JSON camelCase.
//!
//! - `POST /projects/{id}/fundings` `{paymentId, amount, currency}`: 201 applied, 200 duplicate
//!   (the API answers a repeated paymentId with the first result and changes nothing).
//! - `DELETE /projects/{id}/fundings/{paymentId}`: 200/204 applied; a body with
//!   `"duplicate": true` means reversed before.
//! - `GET /projects`: a JSON array of projects (or `{"projects": [...]}`).
//!
//! The new amount is read from `raised` at the top of the body or under `project`; the
//! project's `levels` (goal, raised, backers and the reversal totals, read in one snapshot
//! after the change) are optional: an older API does not send them. 5xx,
//! 429 and transport failures (timeouts included) are `Unavailable`; 404 is `NotFound`;
//! other 4xx are `Rejected`.

use async_trait::async_trait;
use crowdfund_core::domain::{Project, Timestamp};
use crowdfund_core::http_api;
use crowdfund_core::money::Money;
use crowdfund_core::ports::{FundingApi, FundingOutcome, PortError, PortResult};
use serde_json::{Value, json};
use std::time::Duration;

const SERVICE: &str = "crowdfund-api";

#[derive(Debug, Clone)]
pub struct HttpFundingApi {
    http: reqwest::Client,
    base: String,
}

/// One call to crowdfund-api: a raise is two statements and a commit, milliseconds when the
/// database is well. Longer means trouble, and the message is better retried by SQS than left
/// to eat the function's deadline (see `DEADLINE_MARGIN_MILLIS`).
pub const FUNDING_CALL_TIMEOUT: Duration = Duration::from_secs(5);
const FUNDING_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

impl HttpFundingApi {
    pub fn new(base_url: &str) -> Result<Self, reqwest::Error> {
        Ok(HttpFundingApi {
            http: reqwest::Client::builder()
                .connect_timeout(FUNDING_CONNECT_TIMEOUT)
                .timeout(FUNDING_CALL_TIMEOUT)
                .build()?,
            base: base_url.trim_end_matches('/').to_string(),
        })
    }

    async fn call(&self, what: &str, request: reqwest::RequestBuilder) -> PortResult<(u16, Value)> {
        let response = request
            .send()
            .await
            .map_err(|e| PortError::unavailable(SERVICE, format!("{what}: {e}")))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            PortError::unavailable(SERVICE, format!("{what}: reading the answer: {e}"))
        })?;
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        let code = status.as_u16();
        if status.is_success() {
            return Ok((code, body));
        }
        let reason = body
            .get("error")
            .and_then(Value::as_str)
            .map_or_else(|| body.to_string(), str::to_string);
        Err(match code {
            404 => PortError::not_found(format!("{what} ({reason})")),
            429 | 500..=599 => {
                PortError::unavailable(SERVICE, format!("{what}: HTTP {code}: {reason}"))
            }
            _ => PortError::Rejected(format!("{SERVICE} refused {what}: HTTP {code}: {reason}")),
        })
    }
}

/// A field of the answer, at the top of the body or under `project`.
fn field<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body.get(name)
        .or_else(|| body.get("project").and_then(|p| p.get(name)))
}

fn raised_of(body: &Value) -> Option<i64> {
    field(body, "raised").and_then(Value::as_i64)
}

/// The project's levels after the change, when the API says (levels that do not parse are as
/// good as absent: they only feed metrics).
fn applied(raised: i64, body: &Value) -> FundingOutcome {
    let levels = field(body, "levels").and_then(|l| serde_json::from_value(l.clone()).ok());
    FundingOutcome::Applied { raised, levels }
}

fn outcome(what: &str, status: u16, body: &Value) -> PortResult<FundingOutcome> {
    let raised = raised_of(body).ok_or_else(|| {
        PortError::Rejected(format!(
            "{SERVICE} answered {what} without `raised`: {body}"
        ))
    })?;
    let duplicate = body
        .get("duplicate")
        .and_then(Value::as_bool)
        .unwrap_or(status == 200);
    Ok(if duplicate {
        FundingOutcome::Duplicate { raised }
    } else {
        applied(raised, body)
    })
}

#[async_trait]
impl FundingApi for HttpFundingApi {
    async fn raise(
        &self,
        project_id: &str,
        payment_id: &str,
        amount: Money,
        paid_at: Option<Timestamp>,
    ) -> PortResult<FundingOutcome> {
        let what = format!("funding {payment_id} of project {project_id}");
        let url = format!("{}{}", self.base, http_api::fundings_path(project_id));
        let mut body =
            json!({"paymentId": payment_id, "amount": amount.amount, "currency": amount.currency});
        if let Some(t) = paid_at {
            body["paidAt"] = json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        let (status, answer) = self.call(&what, self.http.post(url).json(&body)).await?;
        outcome(&what, status, &answer)
    }

    async fn reverse(&self, project_id: &str, payment_id: &str) -> PortResult<FundingOutcome> {
        let what = format!("reversal of funding {payment_id} of project {project_id}");
        let url = format!(
            "{}{}",
            self.base,
            http_api::funding_path(project_id, payment_id)
        );
        let (_, answer) = self.call(&what, self.http.delete(url)).await?;
        // A DELETE answers 200 both times; crowdfund-api says `"outcome": "duplicate"` for the
        // repeat (an explicit `duplicate: true` flag is honoured too).
        let raised = raised_of(&answer).unwrap_or(0);
        let repeat = answer.get("outcome").and_then(Value::as_str) == Some("duplicate")
            || answer.get("duplicate").and_then(Value::as_bool) == Some(true);
        Ok(if repeat {
            FundingOutcome::Duplicate { raised }
        } else {
            applied(raised, &answer)
        })
    }

    async fn projects(&self) -> PortResult<Vec<Project>> {
        let what = "the project list";
        let url = format!("{}{}", self.base, http_api::projects_path());
        let (_, answer) = self.call(what, self.http.get(url)).await?;
        let list = match answer {
            Value::Object(mut m) => m.remove("projects").unwrap_or(Value::Null),
            v => v,
        };
        serde_json::from_value(list).map_err(|e| {
            PortError::Rejected(format!(
                "{SERVICE} answered {what} in an unknown shape: {e}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crowdfund_core::domain::ProjectLevels;

    #[test]
    fn outcomes_follow_status_and_flags() {
        assert_eq!(
            outcome("x", 201, &json!({"raised": 5})).unwrap(),
            FundingOutcome::Applied {
                raised: 5,
                levels: None
            }
        );
        let levels = json!({"goal": 9, "raised": 5, "backers": 2, "reversed": 3, "reversals": 1});
        assert_eq!(
            outcome("x", 201, &json!({"raised": 5, "levels": levels})).unwrap(),
            FundingOutcome::Applied {
                raised: 5,
                levels: Some(ProjectLevels {
                    goal: 9,
                    raised: 5,
                    backers: 2,
                    reversed: 3,
                    reversals: 1
                })
            }
        );
        assert_eq!(
            outcome(
                "x",
                201,
                &json!({"raised": 5, "levels": {"goal": 9, "raised": 5, "backers": -1}})
            )
            .unwrap(),
            FundingOutcome::Applied {
                raised: 5,
                levels: None
            },
            "levels that do not parse are left out, not an error"
        );
        assert_eq!(
            outcome("x", 200, &json!({"project": {"raised": 7}})).unwrap(),
            FundingOutcome::Duplicate { raised: 7 }
        );
        assert_eq!(
            outcome("x", 201, &json!({"raised": 5, "duplicate": true})).unwrap(),
            FundingOutcome::Duplicate { raised: 5 }
        );
        assert!(outcome("x", 201, &json!({})).is_err());
    }
}
