//! `status`: every queue's counts, every project's raised amount against the ledger and its
//! projection at the last 7 days' pace, payments.

use crate::backend::Backend;
use crowdfund_core::domain::{PaymentRecord, PaymentStatus, Project, Timestamp};
use crowdfund_core::money::Currency;
use crowdfund_core::ports::{PortResult, QueueStats};
use crowdfund_core::progress::{self, Projection};
use crowdfund_core::topology::{self, QUEUE_PARKED};
use futures::future::try_join_all;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub backend: String,
    pub target: String,
    pub now: Timestamp,
    pub queues: Vec<QueueStats>,
    pub projects: Vec<ProjectStatus>,
    pub payments: PaymentCounts,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectStatus {
    pub id: String,
    pub title: String,
    pub goal: i64,
    pub raised: i64,
    /// Approved − cancelled in the ledger; differs from `raised` only while a funding change
    /// is in flight or parked.
    pub ledger_net: i64,
    pub currency: Currency,
    pub backers: u32,
    pub goal_achieved_at: Option<Timestamp>,
    pub deadline: Timestamp,
    /// Percent of goal, and where the last 7 days' net (from the ledger) takes it.
    pub projection: Projection,
}

impl ProjectStatus {
    pub fn mismatch(&self) -> bool {
        self.raised != self.ledger_net
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCounts {
    pub approved: u64,
    pub declined: u64,
    pub cancelled: u64,
    /// Messages waiting in etc_parked for a person.
    pub parked: u64,
}

impl Status {
    pub fn queue(&self, name: &str) -> Option<&QueueStats> {
        self.queues.iter().find(|q| q.name == name)
    }
}

/// Reads everything the status shows; the queue and project reads run concurrently.
pub async fn collect_status(b: &Backend) -> PortResult<Status> {
    let now = b.clock.now();
    let (queues, (projects, mut payments)) =
        futures::future::try_join(collect_queues(b), projects_at(b, now)).await?;
    payments.parked = parked(&queues);
    Ok(Status {
        backend: b.name.to_string(),
        target: b.target.clone(),
        now,
        queues,
        projects,
        payments,
    })
}

/// Every queue's counts, asked concurrently (GetQueueAttributes on SQS).
pub async fn collect_queues(b: &Backend) -> PortResult<Vec<QueueStats>> {
    try_join_all(topology::QUEUES.iter().map(|q| b.queues.stats(q.name))).await
}

/// Messages waiting in etc_parked.
pub fn parked(queues: &[QueueStats]) -> u64 {
    queues
        .iter()
        .find(|q| q.name == QUEUE_PARKED)
        .map_or(0, |q| q.visible + q.in_flight + q.delayed)
}

/// Every project against the ledger, and the ledger's payment counts (`parked` left 0).
pub async fn collect_projects(b: &Backend) -> PortResult<(Vec<ProjectStatus>, PaymentCounts)> {
    projects_at(b, b.clock.now()).await
}

/// [`collect_projects`] with the projections seen at `now`.
async fn projects_at(
    b: &Backend,
    now: Timestamp,
) -> PortResult<(Vec<ProjectStatus>, PaymentCounts)> {
    let projects = b.funding.projects().await?;
    let ledgers = try_join_all(
        projects
            .iter()
            .map(|p| b.ledger.payments_of_project(&p.id, None)),
    )
    .await?;
    let mut counts = PaymentCounts::default();
    let rows = projects
        .into_iter()
        .zip(ledgers)
        .map(|(p, records)| project_row(p, &records, now, &mut counts))
        .collect();
    Ok((rows, counts))
}

/// One project as the status shows it, read alone (its ledger only): what a goal check reports
/// afterwards. `None` when the funding API does not list it.
pub async fn project_status(b: &Backend, project_id: &str) -> PortResult<Option<ProjectStatus>> {
    let Some(p) = b
        .funding
        .projects()
        .await?
        .into_iter()
        .find(|p| p.id == project_id)
    else {
        return Ok(None);
    };
    let records = b.ledger.payments_of_project(&p.id, None).await?;
    Ok(Some(project_row(
        p,
        &records,
        b.clock.now(),
        &mut PaymentCounts::default(),
    )))
}

/// The ledger's net over the pace window ending at `now`: what the metrics count in it
/// (`AmountRaised` at approval, `AmountRefunded` at cancellation). A payment approved in the
/// window and cancelled in it nets zero; one approved before and cancelled in it counts
/// against the pace.
pub fn net_in_pace_window(records: &[PaymentRecord], now: Timestamp) -> i64 {
    records
        .iter()
        .map(|r| {
            let paid = matches!(r.status, PaymentStatus::Approved | PaymentStatus::Cancelled)
                && progress::in_pace_window(r.paid_at, now);
            let refunded = r.status == PaymentStatus::Cancelled
                && r.cancelled_at
                    .is_some_and(|t| progress::in_pace_window(t, now));
            match (paid, refunded) {
                (true, false) => r.amount.amount,
                (false, true) => -r.amount.amount,
                _ => 0,
            }
        })
        .sum()
}

/// A project's row: its raised amount beside its ledger's net, and its projection at `now`; its
/// payments are counted into `counts`.
fn project_row(
    p: Project,
    records: &[PaymentRecord],
    now: Timestamp,
    counts: &mut PaymentCounts,
) -> ProjectStatus {
    let mut net = 0;
    for r in records {
        match r.status {
            PaymentStatus::Approved => {
                counts.approved += 1;
                net += r.amount.amount;
            }
            PaymentStatus::Declined => counts.declined += 1,
            PaymentStatus::Cancelled => counts.cancelled += 1,
        }
    }
    let projection = progress::project(
        p.goal,
        p.raised,
        p.deadline,
        net_in_pace_window(records, now),
        now,
    );
    ProjectStatus {
        id: p.id,
        title: p.title,
        goal: p.goal,
        raised: p.raised,
        ledger_net: net,
        currency: p.currency,
        backers: p.backers,
        goal_achieved_at: p.goal_achieved_at,
        deadline: p.deadline,
        projection,
    }
}
