//! The transactional outbox: messages written in the same transaction as the change that causes
//! them (a project reaching its goal), sent to the broker by a background task.
//!
//! A row is claimed with a lease (`locked_until`) before it is sent, so two API tasks never send
//! it at the same time; it is marked `sent_at` once the broker accepted it. A failed send is
//! retried with exponential backoff, forever: a message is never dropped, and `last_error` tells
//! an operator why it waits. (A crash between the broker's 202 and the `sent_at` update sends it
//! again after the lease; the consumers of `goal_achievement` are idempotent for that.)

use crate::broker::BrokerClient;
use crate::config::OutboxSettings;
use sqlx::MySqlPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Rows handled per pass.
const BATCH: u32 = 10;

pub struct OutboxSender {
    pool: MySqlPool,
    broker: BrokerClient,
    settings: OutboxSettings,
    wakeup: Arc<Notify>,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// The delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped.
pub fn backoff(settings: &OutboxSettings, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
    settings
        .base_backoff
        .saturating_mul(factor)
        .min(settings.max_backoff)
}

impl OutboxSender {
    pub fn new(
        pool: MySqlPool,
        broker: BrokerClient,
        settings: OutboxSettings,
        wakeup: Arc<Notify>,
    ) -> Self {
        OutboxSender {
            pool,
            broker,
            settings,
            wakeup,
        }
    }

    /// Sends due messages until `shutdown` turns true; wakes on `wakeup` or every poll interval.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.send_due().await {
                // A full batch may mean more is waiting: go again at once.
                Ok(n) if n >= BATCH as usize => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox pass failed; will retry"),
            }
            tokio::select! {
                _ = self.wakeup.notified() => {}
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("outbox sender stopped");
    }

    /// One pass: claims and sends the due messages. Returns how many it looked at.
    pub async fn send_due(&self) -> Result<usize, sqlx::Error> {
        let due: Vec<(u64, String)> = sqlx::query_as(
            "SELECT id, body FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= NOW(6) \
             AND (locked_until IS NULL OR locked_until <= NOW(6)) ORDER BY id LIMIT ?",
        )
        .bind(BATCH)
        .fetch_all(&self.pool)
        .await?;
        for (id, body) in &due {
            let claimed = sqlx::query(
                "UPDATE outbox SET locked_until = NOW(6) + INTERVAL ? MICROSECOND, \
                 attempts = attempts + 1 \
                 WHERE id = ? AND sent_at IS NULL AND (locked_until IS NULL OR locked_until <= NOW(6))",
            )
            .bind(micros(self.settings.lease))
            .bind(id)
            .execute(&self.pool)
            .await?;
            if claimed.rows_affected() != 1 {
                continue; // another task took it
            }
            match self.broker.send(body.clone()).await {
                Ok(accepted) => {
                    sqlx::query(
                        "UPDATE outbox SET sent_at = NOW(6), locked_until = NULL, last_error = NULL \
                         WHERE id = ?",
                    )
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                    tracing::info!(outbox_id = id, message_id = ?accepted.message_id, "outbox message sent");
                }
                Err(e) => {
                    let attempts: u32 =
                        sqlx::query_scalar("SELECT attempts FROM outbox WHERE id = ?")
                            .bind(id)
                            .fetch_one(&self.pool)
                            .await?;
                    let delay = backoff(&self.settings, attempts);
                    let error: String = e.to_string().chars().take(1000).collect();
                    if e.is_retryable() {
                        tracing::warn!(outbox_id = id, attempts, error = %error, "outbox send failed; retrying");
                    } else {
                        tracing::error!(outbox_id = id, attempts, error = %error, "broker refused an outbox message; retrying");
                    }
                    sqlx::query(
                        "UPDATE outbox SET locked_until = NULL, last_error = ?, \
                         next_attempt_at = NOW(6) + INTERVAL ? MICROSECOND WHERE id = ?",
                    )
                    .bind(error)
                    .bind(micros(delay))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                }
            }
        }
        Ok(due.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let s = OutboxSettings {
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            ..OutboxSettings::default()
        };
        assert_eq!(backoff(&s, 1), Duration::from_secs(1));
        assert_eq!(backoff(&s, 2), Duration::from_secs(2));
        assert_eq!(backoff(&s, 4), Duration::from_secs(8));
        assert_eq!(backoff(&s, 30), Duration::from_secs(60));
        assert_eq!(backoff(&s, u32::MAX), Duration::from_secs(60));
    }
}
