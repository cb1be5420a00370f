//! `funding_update`, triggered by `approve_payment_queue`: raises (or reverses) a project's
//! amount through crowdfund-api. The API applies each payment id once, so redelivery is safe.
//! After an applied change it reports the project's levels (goal, and totals that only grow) as
//! gauges.

use crate::sqs::{MessageOutcome, SqsFunction};
use async_trait::async_trait;
use crowdfund_core::domain::{FundingRaise, FundingReversal};
use crowdfund_core::envelope::{Envelope, MessageKind};
use crowdfund_core::metrics::MetricEvent;
use crowdfund_core::ports::*;
use crowdfund_core::topology::FN_FUNDING_UPDATE;
use std::sync::Arc;

pub struct FundingUpdateFunction {
    pub funding: Arc<dyn FundingApi>,
    pub metrics: Arc<dyn Metrics>,
}

#[async_trait]
impl SqsFunction for FundingUpdateFunction {
    fn name(&self) -> &'static str {
        FN_FUNDING_UPDATE
    }

    async fn handle(&self, message: &ReceivedMessage) -> MessageOutcome {
        let env = match Envelope::parse(&message.body) {
            Ok(e) => e,
            Err(e) => return MessageOutcome::DeadLetter(e.to_string()),
        };
        let (project_id, result) = match env.kind {
            MessageKind::ApprovePayment => match env.payload_as::<FundingRaise>(env.kind) {
                Ok(r) => {
                    let result = self
                        .funding
                        .raise(&r.project_id, &r.payment_id, r.amount, r.paid_at)
                        .await;
                    (r.project_id, result)
                }
                Err(e) => return MessageOutcome::DeadLetter(e.to_string()),
            },
            MessageKind::ReverseFunding => match env.payload_as::<FundingReversal>(env.kind) {
                Ok(r) => {
                    let result = self.funding.reverse(&r.project_id, &r.payment_id).await;
                    (r.project_id, result)
                }
                Err(e) => return MessageOutcome::DeadLetter(e.to_string()),
            },
            other => {
                return MessageOutcome::DeadLetter(format!(
                    "{} messages do not belong on approve_payment_queue",
                    other.as_str()
                ));
            }
        };
        match result {
            Ok(outcome) => {
                self.record_levels(project_id, outcome);
                MessageOutcome::Done
            }
            Err(e) => MessageOutcome::from_port_error("funding API", &e),
        }
    }
}

impl FundingUpdateFunction {
    /// The project's levels after an applied change. A duplicate changed nothing (and its
    /// `raised` is the first answer's, maybe stale), and an API that does not send the goal
    /// and backers gives no gauges rather than made-up ones.
    fn record_levels(&self, project_id: String, outcome: FundingOutcome) {
        if let FundingOutcome::Applied {
            levels: Some(levels),
            ..
        } = outcome
        {
            self.metrics
                .record(MetricEvent::FundingApplied { project_id, levels });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crowdfund_core::domain::Project;
    use crowdfund_core::money::Money;
    use std::sync::Mutex;

    /// A funding API that answers what it is given, and a metrics sink that keeps the events.
    struct Answering(FundingOutcome);
    #[async_trait]
    impl FundingApi for Answering {
        async fn raise(
            &self,
            _: &str,
            _: &str,
            _: Money,
            _: Option<crowdfund_core::domain::Timestamp>,
        ) -> PortResult<FundingOutcome> {
            Ok(self.0)
        }
        async fn reverse(&self, _: &str, _: &str) -> PortResult<FundingOutcome> {
            Ok(self.0)
        }
        async fn projects(&self) -> PortResult<Vec<Project>> {
            Ok(Vec::new())
        }
    }
    #[derive(Default)]
    struct Recorded(Mutex<Vec<MetricEvent>>);
    impl Metrics for Recorded {
        fn record(&self, event: MetricEvent) {
            self.0.lock().unwrap().push(event);
        }
    }

    fn run(answer: FundingOutcome, body: &str) -> Vec<MetricEvent> {
        let metrics = Arc::new(Recorded::default());
        let f = FundingUpdateFunction {
            funding: Arc::new(Answering(answer)),
            metrics: metrics.clone(),
        };
        let message = ReceivedMessage {
            message_id: "m-1".into(),
            receipt_handle: "r-1".into(),
            body: body.to_string(),
            receive_count: 1,
            sent_at: crowdfund_core::sim::epoch(),
        };
        let outcome = futures::executor::block_on(f.handle(&message));
        assert!(matches!(outcome, MessageOutcome::Done), "{outcome:?}");
        metrics.0.lock().unwrap().clone()
    }

    fn raise() -> String {
        let raise = FundingRaise {
            payment_id: "pay-1".into(),
            project_id: "prj-1".into(),
            amount: Money::new(5_000, crowdfund_core::money::Currency::KRW),
            paid_at: None,
        };
        Envelope::new(MessageKind::ApprovePayment, &raise).to_json()
    }

    fn reverse() -> String {
        let reversal = FundingReversal {
            payment_id: "pay-1".into(),
            project_id: "prj-1".into(),
        };
        Envelope::new(MessageKind::ReverseFunding, &reversal).to_json()
    }

    #[test]
    fn an_applied_raise_or_reversal_reports_the_projects_levels() {
        let levels = crowdfund_core::domain::ProjectLevels {
            goal: 100_000,
            raised: 5_000,
            backers: 1,
            reversed: 2_000,
            reversals: 1,
        };
        let applied = FundingOutcome::Applied {
            raised: 5_000,
            levels: Some(levels),
        };
        let expected = vec![MetricEvent::FundingApplied {
            project_id: "prj-1".into(),
            levels,
        }];
        assert_eq!(run(applied, &raise()), expected);
        assert_eq!(run(applied, &reverse()), expected);
    }

    #[test]
    fn a_duplicate_or_an_answer_without_levels_reports_nothing() {
        assert_eq!(
            run(FundingOutcome::Duplicate { raised: 5_000 }, &raise()),
            vec![]
        );
        let older_api = FundingOutcome::Applied {
            raised: 5_000,
            levels: None,
        };
        assert_eq!(run(older_api, &reverse()), vec![]);
    }
}
