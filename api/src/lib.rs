//! crowdfund-api: the funding, funding-rw and payment services, one binary on MySQL.
//!
//! `crowdfund-api --role ROLE` serves one of three roles behind the ALB; `crowdfund-api migrate`
//! applies the schema. Reads go to the replica pool, writes to the primary, one transaction per
//! change.
//!
//! - [`config`]: flags and environment (`DATABASE_URL`, `READ_DATABASE_URL`, `PORT`,
//!   `BROKER_URL`), the roles, and the settings tests build directly.
//! - [`db`]: the two pools, embedded migrations and the start-up schema check; which SQL errors
//!   mean "database unavailable" (503).
//! - [`store`]: projects and fundings: raise once per payment id, reverse once, tombstones for
//!   reversals that overtake their raise, the goal-achievement outbox row.
//! - [`outbox`]: the background sender that posts outbox rows to the broker, with retry.
//! - [`broker`]: the broker's HTTP client, its calls signed with SigV4 for API Gateway's IAM
//!   authorization.
//! - [`cache`]: the short-lived in-process cache of project answers on the read path.
//! - [`validate`]: request bodies to typed values with core's rules (400 `{error, field}`).
//! - [`routes`]: the handlers and each role's router.
//! - [`error`]: [`ApiError`] and its HTTP answers; internals are logged, never sent.
//! - [`telemetry`]: JSON logs.
//!
//! [`Application`] ties them together: build it on a bound listener, then `run` it until a
//! shutdown signal; in-flight requests finish and the outbox sender stops cleanly.
#![deny(clippy::todo, clippy::unimplemented)]

pub mod broker;
pub mod cache;
pub mod config;
pub mod db;
pub mod error;
pub mod outbox;
pub mod routes;
pub mod store;
pub mod telemetry;
pub mod validate;

pub use error::ApiError;

use crate::broker::{BrokerAuth, BrokerClient, Signer, region_of_execute_api_url};
use crate::config::{BrokerAuthMode, Role, Settings};
use crate::db::{DbError, Pools};
use crate::outbox::OutboxSender;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use crowdfund_core::ports::{Clock, Ledger};
use crowdfund_handlers::aws::dynamodb::DynamoLedger;
use crowdfund_handlers::aws::{AwsSettings, load_config};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// Request bodies above this are refused with 413 (a checkout is well under 1 KiB).
pub const MAX_BODY_BYTES: usize = crowdfund_core::rules::MAX_BROKER_BODY_BYTES;

const REQUEST_ID: &str = "x-request-id";

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub role: Role,
    pub pools: Pools,
    pub clock: Arc<dyn Clock>,
    /// The DynamoDB payment ledger; `None` until its adapter exists (answers 503).
    pub ledger: Option<Arc<dyn Ledger>>,
    pub broker: Option<BrokerClient>,
    /// Poked after a commit that queued an outbox message, so it is sent without waiting.
    pub outbox_wakeup: Arc<Notify>,
    pub project_cache: Arc<cache::ProjectCache>,
    /// Projects' goal and currency (never change), so a raise need not read them.
    pub terms: Arc<store::TermsCache>,
}

/// The ports that are not configured by settings. Left `None`, the ledger (with
/// `PAYMENTS_TABLE`) and the broker's signing credentials come from aws-config's chain.
pub struct Dependencies {
    pub clock: Arc<dyn Clock>,
    pub ledger: Option<Arc<dyn Ledger>>,
    pub broker_signer: Option<Signer>,
}

impl Default for Dependencies {
    fn default() -> Self {
        Dependencies {
            clock: Arc::new(crowdfund_core::ports::SystemClock),
            ledger: None,
            broker_signer: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("invalid BROKER_URL: {0}")]
    Broker(#[from] broker::BrokerError),
    #[error("AWS configuration: {0}")]
    Aws(#[from] crowdfund_handlers::aws::ConfigError),
    #[error(
        "BROKER_AUTH=sigv4 needs AWS credentials (the task role, or AWS_* variables) and a region (AWS_REGION, or an execute-api BROKER_URL); found {0}"
    )]
    NoSigningIdentity(&'static str),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A server ready to run: listener bound, schema checked.
pub struct Application {
    listener: TcpListener,
    router: Router,
    outbox: Option<OutboxSender>,
    pools: Pools,
}

impl Application {
    /// Builds the pools and the router and checks the schema. A database that cannot be reached
    /// does not stop the start (requests answer 503 and `/readyz` fails until it is back); a
    /// reachable one whose schema is behind does.
    pub async fn build(
        settings: Settings,
        listener: TcpListener,
        deps: Dependencies,
    ) -> Result<Application, StartError> {
        let pools = Pools::connect_lazy(&settings)?;
        if settings.migrate_on_start && settings.role == Role::FundingRw {
            db::migrate(&pools.primary).await?;
        }
        let mut checked = vec![&pools.reader];
        if settings.role == Role::FundingRw {
            checked.push(&pools.primary);
        }
        for pool in checked {
            match db::check_migrations(pool).await {
                Ok(()) => {}
                Err(DbError::Sql(e)) if db::is_unavailable(&e) => {
                    tracing::warn!(error = %e, "database unreachable at start-up; schema not checked");
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut aws = AwsConfig {
            settings: settings.aws.clone(),
            loaded: None,
        };
        let ledger =
            match (deps.ledger, &settings.payments_table) {
                (Some(l), _) => Some(l),
                (None, Some(table)) if settings.role.reads_ledger() => Some(Arc::new(
                    DynamoLedger::new(aws_sdk_dynamodb::Client::new(aws.get().await?), table),
                )
                    as Arc<dyn Ledger>),
                (None, _) => None,
            };
        let broker = match &settings.broker_url {
            Some(_) if !settings.role.calls_broker() => None,
            Some(url) => {
                let auth = match settings.broker_auth {
                    BrokerAuthMode::None => BrokerAuth::None,
                    BrokerAuthMode::Sigv4 => BrokerAuth::SigV4(match deps.broker_signer {
                        Some(signer) => signer,
                        None => broker_signer(url, &mut aws).await?,
                    }),
                };
                Some(BrokerClient::new(url, settings.outbox.send_timeout, auth)?)
            }
            None if !settings.role.calls_broker() => None,
            None => {
                tracing::warn!(
                    role = settings.role.as_str(),
                    "BROKER_URL is not set: payments answer 503 and goal achievements wait in the outbox"
                );
                None
            }
        };
        let wakeup = Arc::new(Notify::new());
        let outbox = match (&broker, settings.role) {
            (Some(b), Role::FundingRw) => Some(OutboxSender::new(
                pools.primary.clone(),
                b.clone(),
                settings.outbox,
                wakeup.clone(),
            )),
            _ => None,
        };
        let state = AppState {
            role: settings.role,
            pools: pools.clone(),
            clock: deps.clock,
            ledger,
            broker,
            outbox_wakeup: wakeup,
            project_cache: Arc::new(cache::ProjectCache::new(settings.project_cache_ttl)),
            terms: Arc::new(store::TermsCache::default()),
        };
        let router = router(state, settings.request_timeout);
        Ok(Application {
            listener,
            router,
            outbox,
            pools,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish, stops the outbox
    /// sender and closes the pools.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let sender = self.outbox.map(|o| tokio::spawn(o.run(stop_rx)));
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stop_tx.send(true);
        };
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(signal)
            .await;
        if let Some(task) = sender
            && tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
        {
            tracing::warn!("outbox sender did not stop in time");
        }
        self.pools.primary.close().await;
        self.pools.reader.close().await;
        served
    }
}

/// aws-config's chain (task role, AWS_* variables, AWS_ENDPOINT_URL), loaded once and only
/// when something needs it.
struct AwsConfig {
    settings: AwsSettings,
    loaded: Option<aws_config::SdkConfig>,
}

impl AwsConfig {
    async fn get(&mut self) -> Result<&aws_config::SdkConfig, StartError> {
        if self.loaded.is_none() {
            self.loaded = Some(load_config(&self.settings).await?);
        }
        self.loaded
            .as_ref()
            .ok_or(StartError::NoSigningIdentity("no AWS configuration"))
    }
}

/// The broker's signer from the chain's credentials; the region of the execute-api URL (what
/// API Gateway checks the signature's scope against), else the configured one.
async fn broker_signer(url: &str, aws: &mut AwsConfig) -> Result<Signer, StartError> {
    let config = aws.get().await?;
    let credentials = config
        .credentials_provider()
        .ok_or(StartError::NoSigningIdentity("no credentials provider"))?;
    let region = region_of_execute_api_url(url)
        .or_else(|| config.region().map(|r| r.to_string()))
        .ok_or(StartError::NoSigningIdentity("no region"))?;
    Ok(Signer::new(credentials, region))
}

/// The role's routes with request ids, request logs, a timeout and a body-size limit.
pub fn router(state: AppState, timeout: Duration) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID);
    routes::routes(state.role)
        .fallback(routes::not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        request_id = %id,
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Completes on SIGTERM (ECS stopping the task) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
