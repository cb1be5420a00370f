//! The metrics the pipeline emits, read back from the local world's minute buckets: the
//! per-project gauges end at the funding store's figures, the counts match the ledger.

use crate::helpers::*;
use crowdfund_core::domain::{FundingReversal, PaymentStatus};
use crowdfund_core::envelope::{Envelope, EnvelopeHeader, MessageKind};
use crowdfund_core::metrics::MetricName;
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::sim::{MetricBuckets, SimWorld, WorldConfig};
use crowdfund_core::topology::{QUEUE_APPROVE_PAYMENT, QUEUE_PARKED};
use crowdfund_handlers::local::LocalPipeline;
use std::collections::BTreeMap;

/// A gauge's `Maximum` over every minute kept, as the dashboard reads it over its range.
fn maximum(buckets: &MetricBuckets, name: MetricName) -> Option<i64> {
    buckets.values().filter_map(|b| b.get(&name).copied()).max()
}

/// Raised now as the dashboard computes it: raised ever − reversed, both only growing.
fn raised_now(buckets: &MetricBuckets) -> Option<i64> {
    Some(
        maximum(buckets, MetricName::ProjectRaisedEver)?
            - maximum(buckets, MetricName::ProjectReversed).unwrap_or(0),
    )
}

/// Backers now as the dashboard computes it: pledges − reversals.
fn backers_now(buckets: &MetricBuckets) -> Option<i64> {
    Some(
        maximum(buckets, MetricName::ProjectPledges)?
            - maximum(buckets, MetricName::ProjectReversals).unwrap_or(0),
    )
}

/// A counter's total over every minute kept.
fn total(buckets: &MetricBuckets, name: MetricName) -> i64 {
    buckets.values().filter_map(|b| b.get(&name)).sum()
}

/// Random traffic (duplicate deliveries, funding API failures, declines, bad producers) on
/// projects whose goals are out of reach, drained: each project's raised, backers and goal, as
/// the dashboard computes them from the gauges, are the funding store's, and its counters add
/// up to the ledger.
#[test]
fn after_traffic_each_projects_gauges_read_the_funding_store() {
    let world = SimWorld::new(
        11,
        WorldConfig {
            duplicate_rate: 0.2,
            mail_failure_rate: 0.1,
            funding_failure_rate: 0.2,
        },
    );
    let deadline = world.now() + chrono::Duration::days(30);
    for id in ["prj-m1", "prj-m2", "prj-m3"] {
        world.create_project(id, id, Money::new(GOAL, Currency::KRW), deadline);
    }
    let pipeline = LocalPipeline::new(world.clone());
    pipeline.run_traffic(400, 0.2, &mut |_| {}).unwrap();

    let buckets = world.project_metric_buckets();
    let records = world.ledger_records();
    for p in world.project_list() {
        let b = buckets
            .get(&p.id)
            .unwrap_or_else(|| panic!("{} has metrics", p.id));
        assert!(p.raised > 0, "{} was funded", p.id);
        assert_eq!(raised_now(b), Some(p.raised), "{}", p.id);
        assert_eq!(backers_now(b), Some(i64::from(p.backers)), "{}", p.id);
        assert_eq!(
            maximum(b, MetricName::ProjectGoal),
            Some(p.goal),
            "{}",
            p.id
        );

        let of = |status: PaymentStatus| {
            records
                .iter()
                .filter(|r| r.project_id == p.id && r.status == status)
                .map(|r| r.amount.amount)
                .collect::<Vec<_>>()
        };
        let (approved, declined) = (of(PaymentStatus::Approved), of(PaymentStatus::Declined));
        assert_eq!(
            total(b, MetricName::AmountRaised),
            approved.iter().sum::<i64>()
        );
        assert_eq!(
            total(b, MetricName::PaymentsApproved),
            approved.len() as i64
        );
        assert_eq!(
            total(b, MetricName::AmountDeclined),
            declined.iter().sum::<i64>()
        );
        assert_eq!(
            total(b, MetricName::PaymentsDeclined),
            declined.len() as i64
        );
        assert_eq!(total(b, MetricName::GoalsAchieved), 0);
    }

    // Parked declines and parked faults are counted apart.
    let parked = world.peek_queue(QUEUE_PARKED, usize::MAX).unwrap();
    let declines = parked
        .iter()
        .filter(|m| EnvelopeHeader::read(&m.body).is_some_and(|(h, _)| h.declined))
        .count() as i64;
    let all = world.metric_buckets();
    assert!(declines > 0);
    assert_eq!(total(&all, MetricName::DeclinesParked), declines);
    assert_eq!(
        total(&all, MetricName::MessagesParked),
        parked.len() as i64 - declines
    );
}

/// Reaching the goal is counted once (the second check counts nothing), and a reversal brings
/// raised and backers, as the dashboard computes them from gauges that only grow, down with
/// the project (the same minute as a raise is covered by the sim's bucket tests).
#[test]
fn a_goal_is_counted_once_and_a_reversal_lowers_the_gauges() {
    let t = spawn_world(WorldConfig::default());
    t.world.create_project(
        "prj-small",
        "Small goal",
        Money::new(20_000, Currency::KRW),
        t.world.now() + chrono::Duration::days(1),
    );
    for id in ["s-1", "s-2"] {
        let body = payment_body(id, "prj-small", 10_000, "tok_approve");
        assert_eq!(t.pipeline.submit(&body).status, 202);
        t.drain();
        t.world.advance(chrono::Duration::seconds(5));
    }
    assert!(t.project("prj-small").goal_achieved_at.is_some());
    let buckets = |id: &str| t.world.project_metric_buckets()[id].clone();
    let b = buckets("prj-small");
    assert_eq!(total(&b, MetricName::GoalsAchieved), 1, "{b:?}");
    assert_eq!(raised_now(&b), Some(20_000));
    assert_eq!(backers_now(&b), Some(2));

    let reversal = FundingReversal {
        payment_id: "s-2".into(),
        project_id: "prj-small".into(),
    };
    let body = Envelope::new(MessageKind::ReverseFunding, &reversal).to_json();
    t.world.inject_raw(QUEUE_APPROVE_PAYMENT, &body).unwrap();
    t.drain();
    let p = t.project("prj-small");
    assert_eq!((p.raised, p.backers), (10_000, 1));
    let b = buckets("prj-small");
    assert_eq!(raised_now(&b), Some(10_000));
    assert_eq!(backers_now(&b), Some(1));
    assert_eq!(total(&b, MetricName::GoalsAchieved), 1);
    // The other project saw nothing.
    let all: BTreeMap<String, MetricBuckets> = t.world.project_metric_buckets();
    assert!(!all.contains_key(PROJECT), "{:?}", all.keys());
}
