//! The API's error type and how each variant is answered over HTTP.
//!
//! Bodies are always JSON `{"error": ..., "field": ...}`; internals (SQL, stack traces) are logged,
//! never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crowdfund_core::ports::PortError;
use crowdfund_core::rules::FieldError;

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A bad body or parameter (400), naming the field.
    #[error(transparent)]
    BadRequest(#[from] FieldError),
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state (409), e.g. a payment id used elsewhere.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// A dependency (database, broker, ledger) is down or not configured (503); retryable.
    #[error("{0}")]
    Unavailable(String),
    /// The broker refused a message it was sent (502).
    #[error("{0}")]
    BadGateway(String),
    /// Anything else (500): logged with its cause, answered without it.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn field(field: &str, error: impl Into<String>) -> Self {
        ApiError::BadRequest(FieldError::new(field, error))
    }

    /// Whether the caller should retry the same request later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ApiError::Unavailable(_))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&e) {
            ApiError::Unavailable(format!("database unavailable: {e}"))
        } else {
            ApiError::Internal(format!("database: {e}"))
        }
    }
}

impl From<PortError> for ApiError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::Unavailable { .. } => ApiError::Unavailable(e.to_string()),
            PortError::NotFound { what } => ApiError::NotFound(what),
            PortError::Rejected(m) => ApiError::Conflict(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            ApiError::BadRequest(f) => f,
            ApiError::Unavailable(ref m) => {
                tracing::warn!(error = %m, "dependency unavailable");
                // Say which dependency, not how it failed inside.
                let public = match m.split_once(':') {
                    Some((head, _)) if head.starts_with("database") => {
                        "database unavailable, retry later".to_string()
                    }
                    _ => m.clone(),
                };
                FieldError::body(public)
            }
            ApiError::Internal(ref m) => {
                tracing::error!(error = %m, "internal error");
                FieldError::body("internal error")
            }
            other => FieldError::body(other.to_string()),
        };
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        resp
    }
}
