//! Command line and environment: `crowdfund-api [--role ROLE] [migrate]`.

use clap::{Parser, Subcommand, ValueEnum};
use std::time::Duration;

/// Which of the three Fargate services this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Read-only project progress for backers and owners (replica).
    Funding,
    /// Project creation, fundings and reversals (primary), plus the reads; sends the outbox.
    #[value(name = "funding-rw")]
    FundingRw,
    /// Checkout: validates payments and forwards them to the broker; payment state from the ledger.
    Payment,
}

impl Role {
    /// Whether this role posts to the broker (checkouts, the goal-achievement outbox): only
    /// these get BROKER_URL and `execute-api:Invoke` in terraform (`modules/ecs`).
    pub fn calls_broker(&self) -> bool {
        matches!(self, Role::Payment | Role::FundingRw)
    }

    /// Whether this role reads the payment ledger (`GET /payments/{id}`).
    pub fn reads_ledger(&self) -> bool {
        matches!(self, Role::Payment)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Funding => "funding",
            Role::FundingRw => "funding-rw",
            Role::Payment => "payment",
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "crowdfund-api",
    version,
    about = "crowdfund's funding and payment API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The service to run.
    #[arg(long, env = "ROLE", value_enum, default_value = "funding")]
    pub role: Role,
    /// Primary database (writes), e.g. mysql://user:pass@host:3306/crowdfund. Required to serve
    /// and to migrate.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Read replica (reads); defaults to the primary.
    #[arg(long, env = "READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,
    /// Without DATABASE_URL: the primary's host (with DB_PORT, DB_NAME, DB_USER, DB_PASSWORD, as
    /// an ECS task gets them from the RDS secret).
    #[arg(long, env = "DB_HOST")]
    pub db_host: Option<String>,
    /// Without READ_DATABASE_URL: the replica's host (same port, name and credentials).
    #[arg(long, env = "READ_DB_HOST")]
    pub read_db_host: Option<String>,
    #[arg(long, env = "DB_PORT", default_value_t = 3306)]
    pub db_port: u16,
    #[arg(long, env = "DB_NAME")]
    pub db_name: Option<String>,
    #[arg(long, env = "DB_USER")]
    pub db_user: Option<String>,
    #[arg(long, env = "DB_PASSWORD", hide_env_values = true)]
    pub db_password: Option<String>,
    /// funding-rw only: apply pending migrations at start-up instead of refusing to start.
    #[arg(long, env = "MIGRATE_ON_START", default_value_t = false)]
    pub migrate_on_start: bool,
    /// Port to listen on (all interfaces).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// Broker endpoint (API Gateway `POST /broker`); payments and goal achievements go there.
    #[arg(long, env = "BROKER_URL")]
    pub broker_url: Option<String>,
    /// How broker calls authenticate: `sigv4` (API Gateway's AWS_IAM, credentials from the task
    /// role) or `none` (a local broker such as `crowdfund-local`'s).
    #[arg(long, env = "BROKER_AUTH", value_enum, default_value = "sigv4")]
    pub broker_auth: BrokerAuthMode,
    /// payment role: the DynamoDB payment ledger `GET /payments/{id}` answers from.
    #[arg(long, env = "PAYMENTS_TABLE")]
    pub payments_table: Option<String>,
    /// Connections per pool.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Milliseconds a `GET /projects/{id}` answer may be served from memory (0: off).
    #[arg(long, env = "PROJECT_CACHE_MS", default_value_t = 500)]
    pub project_cache_ms: u64,
    /// Seconds a request may take before it is answered 408.
    #[arg(long, env = "REQUEST_TIMEOUT_SECONDS", default_value_t = 10)]
    pub request_timeout_seconds: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Applies the pending migrations to DATABASE_URL and exits.
    Migrate,
    /// Exits 0 when the server on 127.0.0.1:PORT answers /healthz (the container HEALTHCHECK).
    Healthcheck,
}

/// How calls to the broker authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BrokerAuthMode {
    Sigv4,
    None,
}

/// Everything the server needs, independent of where it came from (flags, env, tests).
#[derive(Debug, Clone)]
pub struct Settings {
    pub role: Role,
    pub database_url: String,
    pub read_database_url: String,
    pub broker_url: Option<String>,
    pub broker_auth: BrokerAuthMode,
    /// The payment ledger's table (payment role), when no ledger is injected.
    pub payments_table: Option<String>,
    /// Where the AWS clients point (default: the standard chain, `AWS_ENDPOINT_URL` included).
    pub aws: crowdfund_handlers::aws::AwsSettings,
    pub db_max_connections: u32,
    /// How long a request may wait for a database connection before it is answered 503.
    pub db_acquire_timeout: Duration,
    pub request_timeout: Duration,
    /// funding-rw: apply pending migrations at start-up.
    pub migrate_on_start: bool,
    /// How long a project answer may be served from the in-process cache.
    pub project_cache_ttl: Duration,
    pub outbox: OutboxSettings,
}

#[derive(Debug, Clone, Copy)]
pub struct OutboxSettings {
    /// How often the sender looks for due messages when nobody wakes it.
    pub poll_interval: Duration,
    /// The first retry delay; doubled per failed attempt up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a claimed message is reserved for one sender (another task may take it after).
    pub lease: Duration,
    /// Timeout of one POST to the broker.
    pub send_timeout: Duration,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            poll_interval: Duration::from_secs(2),
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            lease: Duration::from_secs(30),
            send_timeout: Duration::from_secs(5),
        }
    }
}

impl Settings {
    /// Defaults for everything but the role and the databases.
    pub fn new(role: Role, database_url: &str, read_database_url: &str) -> Self {
        Settings {
            role,
            database_url: database_url.to_string(),
            read_database_url: read_database_url.to_string(),
            broker_url: None,
            broker_auth: BrokerAuthMode::Sigv4,
            payments_table: None,
            aws: Default::default(),
            db_max_connections: 16,
            db_acquire_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            migrate_on_start: false,
            project_cache_ttl: Duration::from_millis(500),
            outbox: OutboxSettings::default(),
        }
    }
}

impl Settings {
    /// Settings from the command line; `None` when neither DATABASE_URL nor DB_HOST, DB_NAME
    /// and DB_USER are given.
    pub fn from_cli(cli: &Cli) -> Option<Self> {
        let non_empty = |v: &Option<String>| v.clone().filter(|u| !u.is_empty());
        let primary = non_empty(&cli.database_url)
            .or_else(|| non_empty(&cli.db_host).and_then(|h| url_from_parts(cli, &h)))?;
        let read = non_empty(&cli.read_database_url)
            .or_else(|| non_empty(&cli.read_db_host).and_then(|h| url_from_parts(cli, &h)))
            .unwrap_or_else(|| primary.clone());
        let mut s = Settings::new(cli.role, &primary, &read);
        s.migrate_on_start = cli.migrate_on_start;
        s.broker_url = cli.broker_url.clone().filter(|u| !u.is_empty());
        s.broker_auth = cli.broker_auth;
        s.payments_table = cli.payments_table.clone().filter(|t| !t.is_empty());
        s.db_max_connections = cli.db_max_connections.max(1);
        s.request_timeout = Duration::from_secs(cli.request_timeout_seconds.max(1));
        s.project_cache_ttl = Duration::from_millis(cli.project_cache_ms);
        Some(s)
    }
}

/// `mysql://user:password@host:port/name` with user and password percent-encoded.
fn url_from_parts(cli: &Cli, host: &str) -> Option<String> {
    let name = cli.db_name.clone().filter(|n| !n.is_empty())?;
    let user = cli.db_user.clone().filter(|u| !u.is_empty())?;
    let password = match cli.db_password.as_deref() {
        Some(p) if !p.is_empty() => format!(":{}", crowdfund_core::http_api::path_segment(p)),
        _ => String::new(),
    };
    Some(format!(
        "mysql://{}{password}@{host}:{}/{}",
        crowdfund_core::http_api::path_segment(&user),
        cli.db_port,
        crowdfund_core::http_api::path_segment(&name)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::mysql::MySqlConnectOptions;

    /// ECS gives host, name and the RDS secret's user and password apart; any password works.
    #[test]
    fn database_url_from_parts() {
        // Empty URLs override DATABASE_URL / READ_DATABASE_URL from the environment.
        let cli = Cli::try_parse_from([
            "crowdfund-api",
            "--database-url=",
            "--read-database-url=",
            "--db-host",
            "primary.rds",
            "--read-db-host",
            "replica.rds",
            "--db-name",
            "crowdfund",
            "--db-user",
            "admin",
            "--db-password",
            "p@ss:w/rd%?#",
        ])
        .unwrap();
        let s = Settings::from_cli(&cli).unwrap();
        assert_eq!(
            s.database_url,
            "mysql://admin:p%40ss%3Aw%2Frd%25%3F%23@primary.rds:3306/crowdfund"
        );
        assert!(s.read_database_url.contains("@replica.rds:3306/"));
        let opts: MySqlConnectOptions = s.database_url.parse().unwrap();
        assert_eq!(opts.get_host(), "primary.rds");
        assert_eq!(opts.get_database(), Some("crowdfund"));
        assert_eq!(opts.get_username(), "admin");

        let none =
            Cli::try_parse_from(["crowdfund-api", "--database-url=", "--db-host", "h"]).unwrap();
        assert!(
            Settings::from_cli(&none).is_none(),
            "name and user are needed too"
        );
    }
}
