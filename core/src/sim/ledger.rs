//! The [`Ledger`], [`IdempotencyStore`] and [`AlertWindows`] ports: the DynamoDB `payments`
//! table, with its `project_paid_at` index and conditional writes.

use super::{SimWorld, WorldState};
use crate::domain::{PaymentRecord, PaymentStatus, Timestamp};
use crate::ports::{
    AlertWindow, AlertWindows, CancelOutcome, Claim, IdempotencyStore, Ledger, PortResult,
    PutOutcome,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) enum IdempotencyItem {
    InProgress { expires_at: Timestamp },
    Done { at: Timestamp },
}

impl WorldState {
    pub(super) fn rebuild_indices(&mut self) {
        self.ledger_index = self
            .ledger
            .values()
            .map(|p| (p.project_id.clone(), p.paid_at, p.payment_id.clone()))
            .collect();
    }
}

impl SimWorld {
    pub fn ledger_records(&self) -> Vec<PaymentRecord> {
        let mut v: Vec<PaymentRecord> = self.lock().ledger.values().cloned().collect();
        v.sort_by(|a, b| {
            a.paid_at
                .cmp(&b.paid_at)
                .then(a.payment_id.cmp(&b.payment_id))
        });
        v
    }

    /// Sum of approved (not cancelled) amounts per project, as the ledger has them.
    pub fn ledger_net_by_project(&self) -> BTreeMap<String, i64> {
        let s = self.lock();
        let mut net: BTreeMap<String, i64> = s.projects.keys().map(|k| (k.clone(), 0)).collect();
        for p in s
            .ledger
            .values()
            .filter(|p| p.status == PaymentStatus::Approved)
        {
            *net.entry(p.project_id.clone()).or_default() += p.amount.amount;
        }
        net
    }

    pub fn ledger_counts(&self) -> BTreeMap<PaymentStatus, u64> {
        let mut counts = BTreeMap::new();
        for p in self.lock().ledger.values() {
            *counts.entry(p.status).or_default() += 1;
        }
        counts
    }
}

#[async_trait]
impl Ledger for SimWorld {
    async fn put_payment(&self, record: &PaymentRecord) -> PortResult<PutOutcome> {
        let mut s = self.lock();
        if let Some(existing) = s.ledger.get(&record.payment_id) {
            return Ok(PutOutcome::Exists(Box::new(existing.clone())));
        }
        s.ledger_index.insert((
            record.project_id.clone(),
            record.paid_at,
            record.payment_id.clone(),
        ));
        s.ledger.insert(record.payment_id.clone(), record.clone());
        Ok(PutOutcome::Created)
    }

    async fn get_payment(&self, payment_id: &str) -> PortResult<Option<PaymentRecord>> {
        Ok(self.lock().ledger.get(payment_id).cloned())
    }

    async fn payments_of_project(
        &self,
        project_id: &str,
        after: Option<Timestamp>,
    ) -> PortResult<Vec<PaymentRecord>> {
        let s = self.lock();
        let from = (
            project_id.to_string(),
            after.unwrap_or(Timestamp::MIN_UTC),
            String::new(),
        );
        Ok(s.ledger_index
            .range(from..)
            .take_while(|(p, _, _)| p == project_id)
            .filter(|(_, at, _)| after.is_none_or(|a| *at > a))
            .filter_map(|(_, _, id)| s.ledger.get(id).cloned())
            .collect())
    }

    async fn cancel_payment(
        &self,
        payment_id: &str,
        cancel_id: &str,
        at: Timestamp,
    ) -> PortResult<CancelOutcome> {
        let mut s = self.lock();
        let Some(record) = s.ledger.get_mut(payment_id) else {
            return Ok(CancelOutcome::NotFound);
        };
        Ok(match record.status {
            PaymentStatus::Approved => {
                record.status = PaymentStatus::Cancelled;
                record.cancel_id = Some(cancel_id.to_string());
                record.cancelled_at = Some(at);
                CancelOutcome::Cancelled(Box::new(record.clone()))
            }
            PaymentStatus::Cancelled => CancelOutcome::AlreadyCancelled(Box::new(record.clone())),
            PaymentStatus::Declined => CancelOutcome::NotApproved(Box::new(record.clone())),
        })
    }
}

#[async_trait]
impl IdempotencyStore for SimWorld {
    async fn claim(&self, key: &str, now: Timestamp, lease_seconds: u32) -> PortResult<Claim> {
        let mut s = self.lock();
        let expires_at = now + chrono::Duration::seconds(i64::from(lease_seconds));
        match s.idempotency.get(key) {
            Some(IdempotencyItem::Done { .. }) => Ok(Claim::AlreadyDone),
            Some(IdempotencyItem::InProgress { expires_at: e }) if *e > now => {
                Ok(Claim::InProgress)
            }
            _ => {
                s.idempotency
                    .insert(key.to_string(), IdempotencyItem::InProgress { expires_at });
                Ok(Claim::Acquired)
            }
        }
    }

    async fn complete(&self, key: &str, now: Timestamp) -> PortResult<()> {
        self.lock()
            .idempotency
            .insert(key.to_string(), IdempotencyItem::Done { at: now });
        Ok(())
    }

    async fn release(&self, key: &str) -> PortResult<()> {
        let mut s = self.lock();
        if matches!(
            s.idempotency.get(key),
            Some(IdempotencyItem::InProgress { .. })
        ) {
            s.idempotency.remove(key);
        }
        Ok(())
    }
}

#[async_trait]
impl AlertWindows for SimWorld {
    async fn count_fault(&self, cause_key: &str, now: Timestamp) -> PortResult<AlertWindow> {
        Ok(self.add_to_window(cause_key, 1, now))
    }

    async fn close_window(
        &self,
        cause_key: &str,
        opened_at: Timestamp,
    ) -> PortResult<Option<AlertWindow>> {
        let mut s = self.lock();
        match s.alert_windows.get(cause_key) {
            Some(w) if w.opened_at == opened_at => Ok(s.alert_windows.remove(cause_key)),
            _ => Ok(None),
        }
    }

    async fn reopen(&self, cause_key: &str, window: AlertWindow) -> PortResult<()> {
        self.add_to_window(cause_key, window.count, window.opened_at);
        Ok(())
    }
}

impl SimWorld {
    /// Adds `count` faults to the cause's window, opening it at `opened_at` if none is open.
    fn add_to_window(&self, cause_key: &str, count: u64, opened_at: Timestamp) -> AlertWindow {
        let mut s = self.lock();
        let window = s
            .alert_windows
            .entry(cause_key.to_string())
            .or_insert(AlertWindow {
                count: 0,
                opened_at,
            });
        window.count += count;
        *window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
    use crate::sim::WorldConfig;
    use futures::executor::block_on;

    /// The port's default batch read: the payments held, by id; a repeated id once, an id
    /// not held absent.
    #[test]
    fn get_payments_maps_the_ids_it_holds() {
        let world = SimWorld::new(1, WorldConfig::default());
        let record = PaymentRecord {
            payment_id: "pay-1".into(),
            project_id: "prj-1".into(),
            backer_email: "b@example.com".into(),
            amount: Money::new(1_000, Currency::KRW),
            status: PaymentStatus::Declined,
            paid_at: "2026-11-20T12:00:00Z".parse().expect("a time"),
            charge_id: None,
            decline_reason: Some("card declined".into()),
            cancel_id: None,
            cancelled_at: None,
        };
        block_on(world.put_payment(&record)).expect("a write");
        let ids = ["pay-1", "pay-2", "pay-1"].map(String::from);
        let found = block_on(world.get_payments(&ids)).expect("a read");
        assert_eq!(found.len(), 1);
        assert_eq!(found.get("pay-1"), Some(&record));
        assert!(
            block_on(world.get_payments(&[]))
                .expect("a read")
                .is_empty()
        );
    }
}
