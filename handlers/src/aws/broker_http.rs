//! `POST /broker` over HTTP on a loopback port, the way API Gateway's proxy integration calls
//! the broker function: the raw body in, the function's status and JSON body out.

use crate::broker::BrokerFunction;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

/// API Gateway's payload limit is 10 MB; the broker refuses far smaller bodies itself.
const BODY_LIMIT: usize = 1024 * 1024;

/// The router: `POST /broker`, and `GET /healthz` for scripts that wait for start-up.
pub fn router(broker: Arc<BrokerFunction>) -> Router {
    Router::new()
        .route("/broker", post(handle))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(broker)
}

async fn handle(State(broker): State<Arc<BrokerFunction>>, body: Bytes) -> Response {
    let answer = broker.handle(&body).await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(answer.body)).into_response()
}

/// Binds `127.0.0.1:port` (0 picks a free port) and serves until `shutdown` resolves.
/// Returns the bound address once listening, and the server task.
pub async fn serve(
    broker: Arc<BrokerFunction>,
    port: u16,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        axum::serve(listener, router(broker))
            .with_graceful_shutdown(shutdown)
            .await
    });
    Ok((addr, task))
}
