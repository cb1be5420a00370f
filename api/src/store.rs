//! Projects and fundings in MySQL: every change is one transaction on the primary.
//!
//! A funding's payment id is the primary key of `fundings`, so a payment id is applied at most
//! once whatever the concurrency: a raise updates the project row first (which locks it for the
//! rest of the transaction) and then inserts the funding; a concurrent duplicate hits the unique
//! key, is rolled back whole, and is answered with the first result. Reversals lock the project
//! row first too, so raises and reversals of one project take their locks in the same order.

use crate::error::{ApiError, Result};
use chrono::SubsecRound;
use crowdfund_core::domain::{Project, ProjectLevels, Timestamp};
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::topology::TOPIC_GOAL_ACHIEVEMENT;
use serde::Serialize;
use sqlx::MySqlPool;

/// MySQL keeps microseconds; values are cut to that before they are stored or answered, so that
/// what a response says equals what a later read says. Times are bound as naive UTC: the columns
/// are DATETIME (a chrono `DateTime<Utc>` would be sent as TIMESTAMP, which ends in 2038), and
/// the connection's time zone is UTC.
pub fn db_time(t: Timestamp) -> Timestamp {
    t.trunc_subsecs(6)
}

type ProjectRow = (
    String,
    String,
    i64,
    String,
    i64,
    u32,
    Timestamp,
    Option<Timestamp>,
);

const PROJECT_COLUMNS: &str = "CAST(id AS CHAR) AS id, title, goal, currency, raised, backers, \
     deadline, goal_achieved_at";

fn currency_of(code: &str) -> Result<Currency> {
    code.parse()
        .map_err(|e| ApiError::Internal(format!("stored currency: {e}")))
}

fn project_of(row: ProjectRow) -> Result<Project> {
    let (id, title, goal, currency, raised, backers, deadline, goal_achieved_at) = row;
    Ok(Project {
        id,
        title,
        goal,
        currency: currency_of(&currency)?,
        raised,
        backers,
        deadline,
        goal_achieved_at,
    })
}

/// Newest first, at most `limit`.
pub async fn list_projects(pool: &MySqlPool, limit: u32) -> Result<Vec<Project>> {
    let sql =
        format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY created_at DESC, id LIMIT ?");
    let rows: Vec<ProjectRow> = sqlx::query_as(&sql).bind(limit).fetch_all(pool).await?;
    rows.into_iter().map(project_of).collect()
}

pub async fn get_project(pool: &MySqlPool, id: &str) -> Result<Option<Project>> {
    let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ?");
    let row: Option<ProjectRow> = sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?;
    row.map(project_of).transpose()
}

/// A validated `POST /projects` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProject {
    pub title: String,
    pub goal: i64,
    pub currency: Currency,
    pub deadline: Timestamp,
}

pub async fn create_project(
    pool: &MySqlPool,
    id: &str,
    new: &NewProject,
    now: Timestamp,
) -> Result<Project> {
    let deadline = db_time(new.deadline);
    sqlx::query(
        "INSERT INTO projects (id, title, goal, currency, raised, backers, deadline, created_at) \
         VALUES (?, ?, ?, ?, 0, 0, ?, ?)",
    )
    .bind(id)
    .bind(&new.title)
    .bind(new.goal)
    .bind(new.currency.as_str())
    .bind(deadline.naive_utc())
    .bind(db_time(now).naive_utc())
    .execute(pool)
    .await?;
    Ok(Project {
        id: id.to_string(),
        title: new.title.clone(),
        goal: new.goal,
        currency: new.currency,
        raised: 0,
        backers: 0,
        deadline,
        goal_achieved_at: None,
    })
}

/// One payment's funding as the API answers it. A duplicate request gets the same body back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Funding {
    pub payment_id: String,
    pub project_id: String,
    pub amount: i64,
    pub currency: Currency,
    /// The project's raised amount right after this payment was applied.
    pub raised: i64,
    /// True once reversed, and for a reversal that arrived before its raise (a tombstone).
    pub reversed: bool,
    /// The project read just after the answer's transaction (a raise of the same project
    /// committed meanwhile may be in it): what funding_update reports as its gauges.
    pub levels: ProjectLevels,
}

/// A project's levels in one read (see [`ProjectLevels`]).
type LevelsRow = (i64, i64, u32, i64, u32);

fn levels_of_row((goal, raised, backers, reversed, reversals): LevelsRow) -> ProjectLevels {
    ProjectLevels {
        goal,
        raised,
        backers,
        reversed,
        reversals,
    }
}

/// A project's levels now, read outside any funding transaction (it takes no lock), in one
/// statement, so that they are one snapshot.
async fn levels_of(pool: &MySqlPool, project_id: &str) -> Result<ProjectLevels> {
    let row: Option<LevelsRow> = sqlx::query_as(
        "SELECT goal, raised, backers, reversed, reversals FROM projects WHERE id = ?",
    )
    .bind(project_id)
    .fetch_optional(pool)
    .await?;
    row.map(levels_of_row)
        .ok_or_else(|| ApiError::NotFound(format!("project {project_id}")))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RaiseOutcome {
    /// Raised now (201).
    Applied(Funding),
    /// This payment id was raised (or reversed) before; nothing changed (200).
    Duplicate(Funding),
}

type FundingRow = (String, String, i64, String, i64, bool, Option<Timestamp>);

async fn read_funding(
    conn: impl sqlx::MySqlExecutor<'_>,
    payment_id: &str,
    lock: bool,
) -> Result<Option<FundingRow>> {
    let sql = if lock {
        "SELECT CAST(payment_id AS CHAR), CAST(project_id AS CHAR), amount, currency, \
         raised_after, tombstone, reversed_at \
         FROM fundings WHERE payment_id = ? FOR UPDATE"
    } else {
        "SELECT CAST(payment_id AS CHAR), CAST(project_id AS CHAR), amount, currency, \
         raised_after, tombstone, reversed_at \
         FROM fundings WHERE payment_id = ?"
    };
    Ok(sqlx::query_as(sql)
        .bind(payment_id)
        .fetch_optional(conn)
        .await?)
}

fn funding_of(row: FundingRow, levels: ProjectLevels) -> Result<Funding> {
    let (payment_id, project_id, amount, currency, raised, tombstone, reversed_at) = row;
    Ok(Funding {
        payment_id,
        project_id,
        amount,
        currency: currency_of(&currency)?,
        raised,
        reversed: tombstone || reversed_at.is_some(),
        levels,
    })
}

/// What a repeated payment id is answered: the first result, unless the request differs from the
/// first one in a way that shows it is not a repeat (another project, another amount).
fn duplicate(
    row: FundingRow,
    project_id: &str,
    amount: Money,
    levels: ProjectLevels,
) -> Result<RaiseOutcome> {
    if row.1 != project_id {
        return Err(ApiError::Conflict(format!(
            "paymentId {} already funds project {}",
            row.0, row.1
        )));
    }
    let tombstone = row.5;
    if !tombstone && (row.2 != amount.amount || row.3 != amount.currency.as_str()) {
        return Err(ApiError::Conflict(format!(
            "paymentId {} was raised with {} {}, not {}",
            row.0, row.2, row.3, amount
        )));
    }
    Ok(RaiseOutcome::Duplicate(funding_of(row, levels)?))
}

/// A project row as the funding transactions lock it: goal, currency, raised, backers,
/// reversed, reversals, goal_achieved_at.
type LockedProject = (i64, String, i64, u32, i64, u32, Option<Timestamp>);

async fn lock_project(
    tx: &mut sqlx::Transaction<'_, sqlx::MySql>,
    project_id: &str,
) -> Result<LockedProject> {
    let row: Option<LockedProject> = sqlx::query_as(
        "SELECT goal, currency, raised, backers, reversed, reversals, goal_achieved_at \
         FROM projects WHERE id = ? FOR UPDATE",
    )
    .bind(project_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| ApiError::NotFound(format!("project {project_id}")))
}

/// A project's goal and currency: fixed at creation, so they may be cached for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub goal: i64,
    pub currency: Currency,
}

/// Reads a project's terms (from the cache, else the primary).
pub async fn terms(pool: &MySqlPool, cache: &TermsCache, project_id: &str) -> Result<Terms> {
    if let Some(t) = cache.get(project_id) {
        return Ok(t);
    }
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT goal, currency FROM projects WHERE id = ?")
            .bind(project_id)
            .fetch_optional(pool)
            .await?;
    let (goal, currency) =
        row.ok_or_else(|| ApiError::NotFound(format!("project {project_id}")))?;
    let t = Terms {
        goal,
        currency: currency_of(&currency)?,
    };
    cache.put(project_id, t);
    Ok(t)
}

/// Projects' terms by id (bounded; starts over when full).
#[derive(Debug, Default)]
pub struct TermsCache(std::sync::Mutex<std::collections::HashMap<String, Terms>>);

impl TermsCache {
    const MAX_ENTRIES: usize = 100_000;

    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Terms>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn get(&self, id: &str) -> Option<Terms> {
        self.map().get(id).copied()
    }
    pub fn put(&self, id: &str, terms: Terms) {
        let mut map = self.map();
        if map.len() >= Self::MAX_ENTRIES {
            map.clear();
        }
        map.insert(id.to_string(), terms);
    }
}

/// Raises `project_id` by `amount` once per `payment_id`. When the raise first reaches the
/// goal, records `goalAchievedAt` and queues the `goal_achievement` message in the outbox, in
/// the same transaction. Returns whether the outbox has a new message.
///
/// The goal is achieved when the crossing payment was made (`paid_at`, from the ledger), not
/// when its raise is applied: under a backlog the two are minutes apart, and the payments made
/// in between are the late ones. Without `paid_at` (or with one in the future) it is `now`.
///
/// The project row is locked by the first statement of the transaction (the UPDATE), and held
/// for two round trips only (the funding INSERT, then COMMIT): fundings of one project are
/// serialized by that lock, so its length is the throughput of a project.
pub async fn raise(
    pool: &MySqlPool,
    terms_cache: &TermsCache,
    project_id: &str,
    payment_id: &str,
    amount: Money,
    paid_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(RaiseOutcome, bool)> {
    let achieved_at = db_time(paid_at.map_or(now, |t| t.min(now)));
    let now = db_time(now);
    let terms = terms(pool, terms_cache, project_id).await?;
    if terms.currency != amount.currency {
        return Err(ApiError::field(
            "currency",
            format!(
                "project {project_id} is funded in {}, not {}",
                terms.currency, amount.currency
            ),
        ));
    }
    let mut tx = pool.begin().await?;
    // Assignments read the old values on the right (each column is assigned after it is read,
    // and `raised` last), so this holds with and without SIMULTANEOUS_ASSIGNMENT. The new
    // amount comes back in the OK packet through LAST_INSERT_ID(expr), saving a SELECT.
    let updated = sqlx::query(
        "UPDATE projects SET \
           goal_reached_by = IF(goal_achieved_at IS NULL AND raised + ? >= goal, ?, goal_reached_by), \
           goal_achieved_at = IF(goal_achieved_at IS NULL AND raised + ? >= goal, ?, goal_achieved_at), \
           backers = backers + 1, \
           raised = LAST_INSERT_ID(raised + ?) \
         WHERE id = ? AND currency = ?",
    )
    .bind(amount.amount)
    .bind(payment_id)
    .bind(amount.amount)
    .bind(achieved_at.naive_utc())
    .bind(amount.amount)
    .bind(project_id)
    .bind(amount.currency.as_str())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(ApiError::NotFound(format!("project {project_id}")));
    }
    let new_raised = i64::try_from(updated.last_insert_id())
        .map_err(|_| ApiError::Internal("raised amount out of range".into()))?;
    let inserted = sqlx::query(
        "INSERT INTO fundings (payment_id, project_id, amount, currency, raised_after, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(payment_id)
    .bind(project_id)
    .bind(amount.amount)
    .bind(amount.currency.as_str())
    .bind(new_raised)
    .bind(now.naive_utc())
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if crate::db::is_unique_violation(&e) => {
            tx.rollback().await?;
            let row = read_funding(pool, payment_id, false)
                .await?
                .ok_or_else(|| {
                    ApiError::Unavailable(format!(
                        "database: payment {payment_id} vanished during a duplicate check"
                    ))
                })?;
            let levels = levels_of(pool, project_id).await?;
            return Ok((duplicate(row, project_id, amount, levels)?, false));
        }
        Err(e) => return Err(e.into()),
    }
    // Only a raise that crosses the goal can be the one that reached it; the database says
    // whether it was (goal_reached_by is this payment), and the outbox row is written then.
    let mut queued = false;
    if new_raised >= terms.goal && new_raised - amount.amount < terms.goal {
        let body = serde_json::json!({
            "destination": TOPIC_GOAL_ACHIEVEMENT,
            "projectId": project_id,
            "achievedAt": achieved_at,
        });
        let written = sqlx::query(
            "INSERT INTO outbox (destination, body) \
             SELECT ?, ? FROM projects WHERE id = ? AND goal_reached_by = ? AND goal_achieved_at = ?",
        )
        .bind(TOPIC_GOAL_ACHIEVEMENT)
        .bind(body.to_string())
        .bind(project_id)
        .bind(payment_id)
        .bind(achieved_at.naive_utc())
        .execute(&mut *tx)
        .await?;
        queued = written.rows_affected() == 1;
    }
    tx.commit().await?;
    // Read after the commit: the UPDATE's OK packet carries `raised` only, and a SELECT inside
    // the transaction would hold the project's lock one round trip longer.
    let levels = levels_of(pool, project_id).await?;
    let funding = Funding {
        payment_id: payment_id.to_string(),
        project_id: project_id.to_string(),
        amount: amount.amount,
        currency: amount.currency,
        raised: new_raised,
        reversed: false,
        levels,
    };
    Ok((RaiseOutcome::Applied(funding), queued))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReversalOutcome {
    /// The payment's amount was taken back out now.
    Applied,
    /// It was reversed before: nothing changed.
    Duplicate,
}

/// The answer to `DELETE /projects/{id}/fundings/{paymentId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reversal {
    pub payment_id: String,
    pub project_id: String,
    pub outcome: ReversalOutcome,
    /// The amount taken out (0 for a duplicate or a reversal that came before its raise).
    pub amount: i64,
    /// The project's raised amount after the reversal.
    pub raised: i64,
    /// True when the reversal arrived before its raise: a tombstone now makes that raise a no-op.
    pub before_raise: bool,
    /// The project right after the reversal: what funding_update reports as its gauges.
    pub levels: ProjectLevels,
}

/// Reverses a payment's funding once. A reversal of a payment id not seen yet leaves a
/// tombstone, so that the raise arriving after it (the pipeline may reorder them) changes nothing.
pub async fn reverse(
    pool: &MySqlPool,
    project_id: &str,
    payment_id: &str,
    now: Timestamp,
) -> Result<Reversal> {
    let now = db_time(now);
    let mut tx = pool.begin().await?;
    let (goal, currency, raised, backers, reversed, reversals, _achieved) =
        lock_project(&mut tx, project_id).await?;
    let existing = read_funding(&mut *tx, payment_id, true).await?;
    let mut answer = Reversal {
        payment_id: payment_id.to_string(),
        project_id: project_id.to_string(),
        outcome: ReversalOutcome::Applied,
        amount: 0,
        raised,
        before_raise: false,
        levels: ProjectLevels {
            goal,
            raised,
            backers,
            reversed,
            reversals,
        },
    };
    match existing {
        Some(row) if row.1 != project_id => {
            return Err(ApiError::Conflict(format!(
                "paymentId {payment_id} funds project {}, not {project_id}",
                row.1
            )));
        }
        Some((_, _, _, _, _, tombstone, reversed_at)) if tombstone || reversed_at.is_some() => {
            tx.rollback().await?;
            answer.outcome = ReversalOutcome::Duplicate;
            answer.before_raise = tombstone;
            return Ok(answer);
        }
        Some((_, _, amount, _, _, _, _)) => {
            sqlx::query("UPDATE fundings SET reversed_at = ? WHERE payment_id = ?")
                .bind(now.naive_utc())
                .bind(payment_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE projects SET raised = raised - ?, backers = GREATEST(backers, 1) - 1, \
                 reversed = reversed + ?, reversals = reversals + 1 WHERE id = ?",
            )
            .bind(amount)
            .bind(amount)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
            answer.amount = amount;
            answer.raised = raised - amount;
            // As the UPDATE computes them.
            answer.levels = ProjectLevels {
                goal,
                raised: raised - amount,
                backers: backers.max(1) - 1,
                reversed: reversed + amount,
                reversals: reversals + 1,
            };
        }
        None => {
            sqlx::query(
                "INSERT INTO fundings (payment_id, project_id, amount, currency, raised_after, \
                 tombstone, created_at, reversed_at) VALUES (?, ?, 0, ?, ?, TRUE, ?, ?)",
            )
            .bind(payment_id)
            .bind(project_id)
            .bind(&currency)
            .bind(raised)
            .bind(now.naive_utc())
            .bind(now.naive_utc())
            .execute(&mut *tx)
            .await?;
            answer.before_raise = true;
        }
    }
    tx.commit().await?;
    Ok(answer)
}
