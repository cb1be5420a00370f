//! The broker and the five queue-triggered functions built from their ports, in one place: the
//! local pipeline, the pipeline on AWS endpoints and each Lambda entrypoint all wire them here.
//!
//! A [`PortSource`] hands out the ports. [`Ports`] holds them ready (the pipelines); a Lambda
//! builds only those its one function asks for, from its environment, and names the setting to
//! fix when one is missing. The order in which a function asks is the order such errors surface.

use crate::broker::BrokerFunction;
use crate::dlq_handler::DlqHandlerFunction;
use crate::funding_update::FundingUpdateFunction;
use crate::pg::PaymentFunction;
use crate::send_email::SendEmailFunction;
use crate::sqs::SqsFunction;
use crate::transaction_check::TransactionCheckFunction;
use crowdfund_core::ports::{
    AlertWindows, Alerter, Clock, FundingApi, IdempotencyStore, Ledger, Mailer, MessageSender,
    Metrics, PaymentGateway, Publisher,
};
use crowdfund_core::topology::{
    self, TOPIC_APPROVE_PAYMENT, TOPIC_GOAL_ACHIEVEMENT, TOPIC_PAYMENT_ATTEMPT, TOPIC_SEND_EMAIL,
};
use std::convert::Infallible;
use std::sync::Arc;

/// Where the functions' ports come from.
pub trait PortSource {
    /// Why a port cannot be built (a setting is missing or wrong).
    type Error;
    fn gateway(&self) -> Result<Arc<dyn PaymentGateway>, Self::Error>;
    fn ledger(&self) -> Result<Arc<dyn Ledger>, Self::Error>;
    fn idempotency(&self) -> Result<Arc<dyn IdempotencyStore>, Self::Error>;
    /// The publisher for `topics`, every topic the function publishes to (a Lambda may not list
    /// topics, so it must be given each one's ARN).
    fn publisher(&self, topics: &[&'static str]) -> Result<Arc<dyn Publisher>, Self::Error>;
    fn mailer(&self) -> Result<Arc<dyn Mailer>, Self::Error>;
    fn funding(&self) -> Result<Arc<dyn FundingApi>, Self::Error>;
    /// Sends straight to queues: `dlq_handler`'s retries, parking and alert digests,
    /// `transaction_check`'s second check.
    fn retry_sender(&self) -> Arc<dyn MessageSender>;
    fn alerter(&self) -> Result<Arc<dyn Alerter>, Self::Error>;
    /// Where `dlq_handler` counts faults per cause between alerts.
    fn alert_windows(&self) -> Result<Arc<dyn AlertWindows>, Self::Error>;
    fn clock(&self) -> Arc<dyn Clock>;
    fn metrics(&self) -> Arc<dyn Metrics>;
}

/// Every port, built already.
#[derive(Clone)]
pub struct Ports {
    pub gateway: Arc<dyn PaymentGateway>,
    pub ledger: Arc<dyn Ledger>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub publisher: Arc<dyn Publisher>,
    pub mailer: Arc<dyn Mailer>,
    pub funding: Arc<dyn FundingApi>,
    pub retry_sender: Arc<dyn MessageSender>,
    pub alerter: Arc<dyn Alerter>,
    pub alert_windows: Arc<dyn AlertWindows>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn Metrics>,
}

impl PortSource for Ports {
    type Error = Infallible;

    fn gateway(&self) -> Result<Arc<dyn PaymentGateway>, Infallible> {
        Ok(self.gateway.clone())
    }
    fn ledger(&self) -> Result<Arc<dyn Ledger>, Infallible> {
        Ok(self.ledger.clone())
    }
    fn idempotency(&self) -> Result<Arc<dyn IdempotencyStore>, Infallible> {
        Ok(self.idempotency.clone())
    }
    fn publisher(&self, _topics: &[&'static str]) -> Result<Arc<dyn Publisher>, Infallible> {
        Ok(self.publisher.clone())
    }
    fn mailer(&self) -> Result<Arc<dyn Mailer>, Infallible> {
        Ok(self.mailer.clone())
    }
    fn funding(&self) -> Result<Arc<dyn FundingApi>, Infallible> {
        Ok(self.funding.clone())
    }
    fn retry_sender(&self) -> Arc<dyn MessageSender> {
        self.retry_sender.clone()
    }
    fn alerter(&self) -> Result<Arc<dyn Alerter>, Infallible> {
        Ok(self.alerter.clone())
    }
    fn alert_windows(&self) -> Result<Arc<dyn AlertWindows>, Infallible> {
        Ok(self.alert_windows.clone())
    }
    fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
    fn metrics(&self) -> Arc<dyn Metrics> {
        self.metrics.clone()
    }
}

/// The broker behind `POST /broker`.
pub fn broker<P: PortSource + ?Sized>(p: &P) -> Result<BrokerFunction, P::Error> {
    let publisher = p.publisher(&[TOPIC_PAYMENT_ATTEMPT, TOPIC_GOAL_ACHIEVEMENT])?;
    Ok(BrokerFunction::new(publisher))
}

/// `pg`: charges and refunds through the gateway, the ledger, publishes on.
pub fn pg<P: PortSource + ?Sized>(p: &P) -> Result<PaymentFunction, P::Error> {
    Ok(PaymentFunction {
        gateway: p.gateway()?,
        ledger: p.ledger()?,
        publisher: p.publisher(&[TOPIC_SEND_EMAIL, TOPIC_APPROVE_PAYMENT])?,
        clock: p.clock(),
        metrics: p.metrics(),
    })
}

/// `send_email`: the mailer, guarded by the idempotency store.
pub fn send_email<P: PortSource + ?Sized>(p: &P) -> Result<SendEmailFunction, P::Error> {
    Ok(SendEmailFunction {
        mailer: p.mailer()?,
        idempotency: p.idempotency()?,
        clock: p.clock(),
    })
}

/// `funding_update`: the funding API, and the project's levels as metrics.
pub fn funding_update<P: PortSource + ?Sized>(p: &P) -> Result<FundingUpdateFunction, P::Error> {
    Ok(FundingUpdateFunction {
        funding: p.funding()?,
        metrics: p.metrics(),
    })
}

/// `transaction_check`: a query of the ledger, a cancel per late payment.
pub fn transaction_check<P: PortSource + ?Sized>(
    p: &P,
) -> Result<TransactionCheckFunction, P::Error> {
    Ok(TransactionCheckFunction {
        ledger: p.ledger()?,
        publisher: p.publisher(&[TOPIC_PAYMENT_ATTEMPT])?,
        sender: p.retry_sender(),
        metrics: p.metrics(),
    })
}

/// `dlq_handler`: retries to `from`, parks, alerts.
pub fn dlq_handler<P: PortSource + ?Sized>(p: &P) -> Result<DlqHandlerFunction, P::Error> {
    Ok(DlqHandlerFunction {
        sender: p.retry_sender(),
        alerter: p.alerter()?,
        idempotency: p.idempotency()?,
        windows: p.alert_windows()?,
        clock: p.clock(),
        metrics: p.metrics(),
    })
}

/// The five queue-triggered functions.
pub struct Functions {
    pub pg: PaymentFunction,
    pub send_email: SendEmailFunction,
    pub funding_update: FundingUpdateFunction,
    pub transaction_check: TransactionCheckFunction,
    pub dlq_handler: DlqHandlerFunction,
}

impl Functions {
    /// All five from one source.
    pub fn wire<P: PortSource + ?Sized>(p: &P) -> Result<Functions, P::Error> {
        Ok(Functions {
            pg: pg(p)?,
            send_email: send_email(p)?,
            funding_update: funding_update(p)?,
            transaction_check: transaction_check(p)?,
            dlq_handler: dlq_handler(p)?,
        })
    }

    /// The function a queue triggers, by the topology's wiring.
    pub fn for_queue(&self, queue: &str) -> Option<&dyn SqsFunction> {
        let name = topology::function_of_queue(queue)?.name;
        let all: [&dyn SqsFunction; 5] = [
            &self.pg,
            &self.send_email,
            &self.funding_update,
            &self.transaction_check,
            &self.dlq_handler,
        ];
        all.into_iter().find(|f| f.name() == name)
    }
}
