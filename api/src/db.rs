//! Pools (primary for writes, replica for reads), migrations and the start-up schema check.

use crate::config::Settings;
use sqlx::migrate::Migrator;
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPool, MySqlPoolOptions};
use std::time::Duration;

/// The migrations in `api/migrations`, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!();

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database URL for {which}: {source}")]
    Url {
        which: &'static str,
        source: sqlx::Error,
    },
    #[error("the database schema is behind this binary: {0}; run `crowdfund-api migrate` first")]
    NotMigrated(String),
    #[error(
        "migration {version} was changed after it was applied; restore it or repair the database"
    )]
    Modified { version: i64 },
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The two pools. `reader` is the replica (or the primary again when there is none).
#[derive(Debug, Clone)]
pub struct Pools {
    pub primary: MySqlPool,
    pub reader: MySqlPool,
}

impl Pools {
    /// Builds both pools without connecting: a database that is down answers 503 per request
    /// (and `/readyz` says so) instead of keeping the process from starting.
    pub fn connect_lazy(settings: &Settings) -> Result<Pools, DbError> {
        let primary = lazy_pool(&settings.database_url, "DATABASE_URL", settings)?;
        let reader = if settings.read_database_url == settings.database_url {
            primary.clone()
        } else {
            lazy_pool(&settings.read_database_url, "READ_DATABASE_URL", settings)?
        };
        Ok(Pools { primary, reader })
    }
}

fn lazy_pool(url: &str, which: &'static str, settings: &Settings) -> Result<MySqlPool, DbError> {
    let options: MySqlConnectOptions = url
        .parse()
        .map_err(|source| DbError::Url { which, source })?;
    Ok(MySqlPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .min_connections(0)
        .acquire_timeout(settings.db_acquire_timeout)
        .idle_timeout(Some(Duration::from_secs(300)))
        .connect_lazy_with(options))
}

/// Applies pending migrations (`crowdfund-api migrate`).
pub async fn migrate(pool: &MySqlPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Fails unless every embedded migration has been applied unchanged.
pub async fn check_migrations(pool: &MySqlPool) -> Result<(), DbError> {
    let applied: Vec<(i64, Vec<u8>, bool)> =
        match sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations")
            .fetch_all(pool)
            .await
        {
            Ok(rows) => rows,
            Err(sqlx::Error::Database(e)) if mysql_error_number(&*e) == Some(1146) => {
                return Err(DbError::NotMigrated("no migration has been applied".into()));
            }
            Err(e) => return Err(e.into()),
        };
    for m in MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
    {
        match applied.iter().find(|(v, _, _)| *v == m.version) {
            Some((_, checksum, true)) if checksum.as_slice() == &*m.checksum => {}
            Some((_, _, true)) => return Err(DbError::Modified { version: m.version }),
            _ => {
                return Err(DbError::NotMigrated(format!(
                    "migration {} ({}) is pending",
                    m.version, m.description
                )));
            }
        }
    }
    Ok(())
}

fn mysql_error_number(e: &dyn sqlx::error::DatabaseError) -> Option<u16> {
    e.try_downcast_ref::<MySqlDatabaseError>()
        .map(MySqlDatabaseError::number)
}

/// Errors that mean "the database is not answering now" (503, retry), as opposed to a bug.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // 1040 too many connections, 1205 lock wait timeout, 1213 deadlock,
        // 1290 read-only (a failover in progress), 1927 connection killed.
        sqlx::Error::Database(db) => {
            matches!(
                mysql_error_number(&**db),
                Some(1040 | 1205 | 1213 | 1290 | 1927)
            )
        }
        _ => false,
    }
}

/// A duplicate key (1062): the idempotency key was taken by a concurrent request.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
