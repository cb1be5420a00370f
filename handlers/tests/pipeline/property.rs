use crowdfund_core::domain::PaymentStatus;
use crowdfund_core::envelope::{Envelope, EnvelopeHeader, MessageKind};
use crowdfund_core::sim::traffic::seed_demo_projects;
use crowdfund_core::sim::{SimWorld, WorldConfig};
use crowdfund_core::topology::{QUEUE_PARKED, QUEUES};
use crowdfund_handlers::local::LocalPipeline;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random traffic with duplicated deliveries and injected failures, drained: every project's
    /// raised amount equals the ledger's approved − cancelled (less what waits parked), nothing is
    /// mailed, raised or cancelled twice, and every payment is in the ledger or parked.
    #[test]
    fn drained_pipeline_keeps_its_books(
        seed in any::<u64>(),
        payments in 1u64..80,
        failure_rate in 0.0f64..0.6,
        duplicate_rate in 0.0f64..0.5,
        mail_failure_rate in 0.0f64..0.3,
        funding_failure_rate in 0.0f64..0.3,
    ) {
        let world = SimWorld::new(seed, WorldConfig { duplicate_rate, mail_failure_rate, funding_failure_rate });
        seed_demo_projects(&world);
        let pipeline = LocalPipeline::new(world.clone());
        let report = pipeline.run_traffic(payments, failure_rate, &mut |_| {}).unwrap();
        prop_assert_eq!(report.submitted, payments);
        prop_assert_eq!(report.refused, 0);

        // Drained: only etc_parked may hold messages.
        for q in QUEUES.iter().filter(|q| q.name != QUEUE_PARKED) {
            let s = world.queue_stats().into_iter().find(|s| s.name == q.name).unwrap();
            prop_assert_eq!(s.visible + s.in_flight + s.delayed, 0, "{} not drained", q.name);
        }
        let parked = world.peek_queue(QUEUE_PARKED, usize::MAX).unwrap();
        let parked_envelopes: Vec<Envelope> = parked.iter().filter_map(|m| Envelope::parse(&m.body).ok()).collect();
        let records: BTreeMap<String, _> = world.ledger_records().into_iter().map(|r| (r.payment_id.clone(), r)).collect();

        // raised == approved − cancelled, corrected for funding changes an operator must redrive.
        let mut expected: BTreeMap<String, i64> = world.ledger_net_by_project();
        let mut approved_count: BTreeMap<String, u32> = BTreeMap::new();
        for r in records.values().filter(|r| r.status == PaymentStatus::Approved) {
            *approved_count.entry(r.project_id.clone()).or_default() += 1;
        }
        for e in &parked_envelopes {
            let payload = e.payload_value();
            let pid = payload.get("paymentId").and_then(|v| v.as_str()).unwrap_or_default();
            let Some(r) = records.get(pid) else { continue };
            match (e.kind, r.status) {
                (MessageKind::ApprovePayment, PaymentStatus::Approved) => {
                    *expected.get_mut(&r.project_id).unwrap() -= r.amount.amount;
                    *approved_count.get_mut(&r.project_id).unwrap() -= 1;
                }
                (MessageKind::ReverseFunding, PaymentStatus::Cancelled) => {
                    *expected.get_mut(&r.project_id).unwrap() += r.amount.amount;
                    *approved_count.entry(r.project_id.clone()).or_default() += 1;
                }
                _ => {}
            }
        }
        for p in world.project_list() {
            prop_assert_eq!(p.raised, expected[&p.id], "raised of {}", p.id);
            prop_assert_eq!(p.backers, approved_count.get(&p.id).copied().unwrap_or(0), "backers of {}", p.id);
        }

        // No mail twice.
        let mut keys = HashSet::new();
        for m in world.mails() {
            prop_assert!(keys.insert(m.idempotency_key.clone()), "mailed twice: {}", m.idempotency_key);
        }
        // Every approved payment got its receipt unless the mail waits parked.
        for r in records.values().filter(|r| r.status != PaymentStatus::Declined) {
            let receipt = format!("mail#receipt#{}", r.payment_id);
            let mail_parked = parked_envelopes.iter().any(|e| e.kind == MessageKind::SendEmail
                && e.payload_value().get("paymentId").and_then(|v| v.as_str()) == Some(&r.payment_id));
            prop_assert!(keys.contains(&receipt) || mail_parked, "no receipt for {}", r.payment_id);
        }
        // No cancel twice: one refund per cancelled payment.
        let cancelled = records.values().filter(|r| r.status == PaymentStatus::Cancelled).count();
        prop_assert_eq!(world.refund_count(), cancelled);

        // Nothing lost: every generated payment is in the ledger or in etc_parked.
        for n in 1..=payments {
            let id = format!("pay-{n:06}");
            let in_ledger = records.contains_key(&id);
            let in_parked = parked.iter().any(|m| m.body.contains(&id));
            prop_assert!(in_ledger || in_parked, "{} is nowhere", id);
        }
        // Every parked fault was alerted on, counted in its cause's alert (duplicates may count
        // per copy, never fewer); declines page nobody and were never retried.
        let mut faults = 0u64;
        for m in &parked {
            match EnvelopeHeader::read(&m.body) {
                Some((h, _)) if h.declined => prop_assert_eq!(h.attempts, 0),
                Some((h, _)) => {
                    prop_assert!(h.attempts >= 1);
                    faults += 1;
                }
                None => faults += 1,
            }
        }
        let alerted: u64 = world.alerts().iter().map(|a| a.count).sum();
        prop_assert!(alerted >= faults, "{} faults parked, {} alerted", faults, alerted);
    }
}
