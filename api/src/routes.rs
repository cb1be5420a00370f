//! HTTP handlers and the router of each role.

use crate::config::Role;
use crate::error::{ApiError, Result};
use crate::store::{self, RaiseOutcome};
use crate::{AppState, validate};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use crowdfund_core::domain::Project;
use crowdfund_core::rules::{FieldError, is_valid_identifier};
use serde::Serialize;
use serde_json::json;

/// At most this many projects are listed.
pub const MAX_LISTED_PROJECTS: u32 = 1000;

/// The routes a role serves (besides `/healthz` and `/readyz`, which every role serves).
pub fn routes(role: Role) -> Router<AppState> {
    let health = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    let read = Router::new()
        .route("/projects", get(list_projects))
        .route("/projects/{id}", get(get_project));
    match role {
        Role::Funding => health.merge(read),
        Role::FundingRw => health
            .merge(read)
            .route("/projects", post(create_project))
            .route("/projects/{id}/fundings", post(raise))
            .route("/projects/{id}/fundings/{payment_id}", delete(reverse)),
        Role::Payment => health
            .route("/payments", post(create_payment))
            .route("/payments/{id}", get(get_payment)),
    }
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("route".into())
}

async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({"status": "ok", "role": state.role.as_str()}))
}

/// Ready when every pool this role uses answers.
async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>> {
    sqlx::query("SELECT 1").execute(&state.pools.reader).await?;
    if state.role == Role::FundingRw {
        sqlx::query("SELECT 1")
            .execute(&state.pools.primary)
            .await?;
    }
    Ok(Json(
        json!({"status": "ready", "role": state.role.as_str()}),
    ))
}

/// A project with its progress (raised / goal), as `GET /projects/{id}` answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    #[serde(flatten)]
    pub project: Project,
    pub progress: f64,
}

impl From<Project> for ProjectView {
    fn from(project: Project) -> Self {
        let progress = project.progress();
        ProjectView { project, progress }
    }
}

async fn list_projects(State(state): State<AppState>) -> Result<Json<Vec<ProjectView>>> {
    let projects = store::list_projects(&state.pools.reader, MAX_LISTED_PROJECTS).await?;
    Ok(Json(projects.into_iter().map(ProjectView::from).collect()))
}

async fn get_project(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    if !is_valid_identifier(&id) {
        return Err(ApiError::NotFound(format!("project {id}")));
    }
    let body = match state.project_cache.get(&id) {
        Some(body) => body,
        None => {
            let project = store::get_project(&state.pools.reader, &id)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("project {id}")))?;
            let body = Bytes::from(
                serde_json::to_vec(&ProjectView::from(project))
                    .map_err(|e| ApiError::Internal(format!("encoding a project: {e}")))?,
            );
            state.project_cache.put(&id, body.clone());
            body
        }
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

async fn create_project(
    State(state): State<AppState>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let obj = validate::json_object(body)?;
    let now = state.clock.now();
    let new = validate::new_project(&obj, now)?;
    let id = format!("prj-{}", uuid::Uuid::new_v4().simple());
    let project = store::create_project(&state.pools.primary, &id, &new, now).await?;
    let location = format!("/projects/{id}");
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        Json(ProjectView::from(project)),
    )
        .into_response())
}

fn project_path_id(id: &str) -> Result<()> {
    if is_valid_identifier(id) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("project {id}")))
    }
}

/// 201 when raised now, 200 with the first result for a repeated payment id.
async fn raise(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    project_path_id(&project_id)?;
    let obj = validate::json_object(body)?;
    let (payment_id, amount, paid_at) = validate::funding(&obj)?;
    let (outcome, queued) = store::raise(
        &state.pools.primary,
        &state.terms,
        &project_id,
        &payment_id,
        amount,
        paid_at,
        state.clock.now(),
    )
    .await?;
    if queued {
        state.outbox_wakeup.notify_one();
    }
    Ok(match outcome {
        RaiseOutcome::Applied(f) => {
            state.project_cache.invalidate(&project_id);
            (StatusCode::CREATED, Json(f)).into_response()
        }
        RaiseOutcome::Duplicate(f) => (StatusCode::OK, Json(f)).into_response(),
    })
}

async fn reverse(
    State(state): State<AppState>,
    Path((project_id, payment_id)): Path<(String, String)>,
) -> Result<Json<store::Reversal>> {
    project_path_id(&project_id)?;
    if !is_valid_identifier(&payment_id) {
        return Err(ApiError::field(
            "paymentId",
            "paymentId must be 1 to 64 characters of letters, digits, - _ . :",
        ));
    }
    let reversal = store::reverse(
        &state.pools.primary,
        &project_id,
        &payment_id,
        state.clock.now(),
    )
    .await?;
    if reversal.outcome == store::ReversalOutcome::Applied {
        state.project_cache.invalidate(&project_id);
    }
    Ok(Json(reversal))
}

/// Validates a checkout and forwards it to the broker as a `payment_attempt`: 202.
async fn create_payment(
    State(state): State<AppState>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let obj = validate::json_object(body)?;
    let attempt = validate::payment(obj, || format!("pay-{}", uuid::Uuid::new_v4().simple()))?;
    let project = store::get_project(&state.pools.reader, &attempt.project_id)
        .await?
        .ok_or_else(|| {
            ApiError::field(
                "projectId",
                format!("unknown project {}", attempt.project_id),
            )
        })?;
    if project.currency != attempt.currency {
        return Err(ApiError::field(
            "currency",
            format!(
                "project {} is funded in {}, not {}",
                project.id, project.currency, attempt.currency
            ),
        ));
    }
    if project.deadline <= state.clock.now() {
        return Err(ApiError::Conflict(format!(
            "project {} closed at {}",
            project.id,
            project.deadline.to_rfc3339()
        )));
    }
    let broker = state
        .broker
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("broker is not configured (set BROKER_URL)".into()))?;
    let mut body = serde_json::to_value(&attempt)
        .map_err(|e| ApiError::Internal(format!("encoding a payment: {e}")))?;
    if let Some(o) = body.as_object_mut() {
        o.insert(
            "destination".into(),
            json!(crowdfund_core::topology::TOPIC_PAYMENT_ATTEMPT),
        );
    }
    let accepted = broker.send(body.to_string()).await.map_err(|e| match e {
        crate::broker::BrokerError::Unavailable(m) => {
            ApiError::Unavailable(format!("broker unavailable, retry later ({m})"))
        }
        crate::broker::BrokerError::Signing(m) => {
            ApiError::Unavailable(format!("broker call not signed, retry later ({m})"))
        }
        crate::broker::BrokerError::Refused { status, body } => {
            ApiError::BadGateway(format!("the broker refused the payment ({status}): {body}"))
        }
    })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "paymentId": attempt.payment_id,
            "messageId": accepted.message_id,
            "status": "accepted",
        })),
    )
        .into_response())
}

/// The payment's state in the ledger.
async fn get_payment(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    if !is_valid_identifier(&id) {
        return Err(ApiError::BadRequest(FieldError::new(
            "paymentId",
            "paymentId must be 1 to 64 characters of letters, digits, - _ . :",
        )));
    }
    let ledger = state.ledger.as_ref().ok_or_else(|| {
        ApiError::Unavailable(
            "payment ledger is not configured: set PAYMENTS_TABLE (terraform's ecs module does for the payment role)"
                .into(),
        )
    })?;
    match ledger.get_payment(&id).await? {
        Some(record) => Ok(Json(record).into_response()),
        None => Err(ApiError::NotFound(format!("payment {id}"))),
    }
}
