use crowdfund_core::domain::{PaymentRecord, Project};
use crowdfund_core::envelope::EnvelopeHeader;
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::ports::{Ledger, ReceivedMessage};
use crowdfund_core::sim::{SimWorld, WorldConfig};
use crowdfund_core::topology;
use crowdfund_handlers::broker::BrokerResponse;
use crowdfund_handlers::local::LocalPipeline;
use futures::executor::block_on;
use serde_json::json;

/// A project whose goal is out of reach, so no automatic goal check interferes.
pub const PROJECT: &str = "prj-test";
pub const GOAL: i64 = 1_000_000_000;

pub struct TestWorld {
    pub pipeline: LocalPipeline,
    pub world: SimWorld,
}

pub fn spawn_world(config: WorldConfig) -> TestWorld {
    let world = SimWorld::new(42, config);
    let deadline = world.now() + chrono::Duration::days(30);
    world.create_project(
        PROJECT,
        "Test project",
        Money::new(GOAL, Currency::KRW),
        deadline,
    );
    TestWorld {
        pipeline: LocalPipeline::new(world.clone()),
        world,
    }
}

pub fn payment_body(id: &str, project: &str, amount: i64, card: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"destination": "payment_attempt", "paymentId": id,
        "projectId": project, "backerEmail": format!("{id}@example.com"), "amount": amount,
        "currency": "KRW", "card": card}))
    .unwrap()
}

impl TestWorld {
    pub fn pay(&self, id: &str, amount: i64, card: &str) -> BrokerResponse {
        let r = self
            .pipeline
            .submit(&payment_body(id, PROJECT, amount, card));
        assert_eq!(r.status, 202, "{}", r.body);
        r
    }

    pub fn drain(&self) {
        self.pipeline.drain().expect("pipeline goes idle");
    }

    /// Messages in a queue, whatever their state.
    pub fn depth(&self, queue: &str) -> u64 {
        let s = self
            .world
            .queue_stats()
            .into_iter()
            .find(|s| s.name == queue)
            .unwrap();
        s.visible + s.in_flight + s.delayed
    }

    pub fn total_depth(&self) -> u64 {
        topology::QUEUES.iter().map(|q| self.depth(q.name)).sum()
    }

    pub fn parked(&self) -> Vec<ReceivedMessage> {
        self.world
            .peek_queue(topology::QUEUE_PARKED, 100_000)
            .unwrap()
    }

    pub fn parked_headers(&self) -> Vec<EnvelopeHeader> {
        self.parked()
            .iter()
            .filter_map(|m| EnvelopeHeader::read(&m.body).map(|(h, _)| h))
            .collect()
    }

    /// Puts `body` straight on `queue`, drains, and returns the one message that ended parked,
    /// checking its `lastError` says `why`.
    pub fn inject_and_expect_parked(&self, queue: &str, body: &str, why: &str) -> EnvelopeHeader {
        self.world.inject_raw(queue, body).unwrap();
        self.drain();
        let mut parked = self.parked_headers();
        assert_eq!(parked.len(), 1, "exactly one message parked");
        let header = parked.remove(0);
        let reason = header.last_error.clone().unwrap_or_default();
        assert!(
            reason.contains(why),
            "lastError {reason:?} should say {why:?}"
        );
        header
    }

    pub fn project(&self, id: &str) -> Project {
        self.world
            .project_list()
            .into_iter()
            .find(|p| p.id == id)
            .unwrap()
    }

    pub fn record(&self, payment_id: &str) -> Option<PaymentRecord> {
        block_on(self.world.get_payment(payment_id)).unwrap()
    }

    pub fn mails_for(&self, payment_id: &str) -> usize {
        self.world
            .mails()
            .iter()
            .filter(|m| m.idempotency_key.ends_with(&format!("#{payment_id}")))
            .count()
    }
}
