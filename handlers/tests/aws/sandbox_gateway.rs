//! The sandbox gateway with its charges in DynamoDB: two gateways on one table behave as two
//! Lambda execution environments, and agree on every charge and refund.

use crate::helpers::spawn_app;
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::ports::{
    ChargeOutcome, ChargeRequest, PaymentGateway, PortError, RefundOutcome,
};
use crowdfund_core::sandbox::{
    CARD_APPROVE, CARD_DECLINE, CARD_TRANSIENT_ERROR, TRANSIENT_FAILURES,
};
use crowdfund_core::topology::TABLE_PAYMENTS;
use crowdfund_handlers::aws::sandbox_gateway::DynamoSandboxGateway;
use crowdfund_testkit::moto_url;

fn charge(payment: &str, card: &str) -> ChargeRequest {
    ChargeRequest {
        payment_id: payment.into(),
        card: card.into(),
        amount: Money::new(25_000, Currency::KRW),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charges_and_refunds_are_shared_by_every_execution_environment() {
    let Some(moto) = moto_url() else { return };
    let app = spawn_app(&moto, None).await;
    let first = DynamoSandboxGateway::new(app.clients.dynamodb.clone(), TABLE_PAYMENTS);
    let second = DynamoSandboxGateway::new(app.clients.dynamodb.clone(), TABLE_PAYMENTS);

    let approved = first.charge(&charge("pay-a", CARD_APPROVE)).await.unwrap();
    let ChargeOutcome::Approved { charge_id } = approved.clone() else {
        panic!("{approved:?}")
    };
    // The same payment charged again elsewhere gets the first answer, even with another card.
    assert_eq!(
        second.charge(&charge("pay-a", CARD_DECLINE)).await.unwrap(),
        approved
    );

    let declined = second.charge(&charge("pay-d", CARD_DECLINE)).await.unwrap();
    assert!(
        matches!(declined, ChargeOutcome::Declined { .. }),
        "{declined:?}"
    );
    assert_eq!(
        first.charge(&charge("pay-d", CARD_APPROVE)).await.unwrap(),
        declined
    );

    // tok_error fails TRANSIENT_FAILURES times, counted across environments, then approves.
    for call in 1..=TRANSIENT_FAILURES {
        let gateway = if call % 2 == 0 { &first } else { &second };
        let err = gateway
            .charge(&charge("pay-e", CARD_TRANSIENT_ERROR))
            .await
            .unwrap_err();
        assert!(
            matches!(err, PortError::Unavailable { .. }),
            "call {call}: {err:?}"
        );
    }
    assert!(matches!(
        first
            .charge(&charge("pay-e", CARD_TRANSIENT_ERROR))
            .await
            .unwrap(),
        ChargeOutcome::Approved { .. }
    ));

    // A refund in the other environment finds the charge; repeated anywhere, it is done once.
    let refunded = second.refund(&charge_id, "cancel-a").await.unwrap();
    let RefundOutcome::Refunded { refund_id } = refunded else {
        panic!("{refunded:?}")
    };
    assert_eq!(
        first.refund(&charge_id, "cancel-a").await.unwrap(),
        RefundOutcome::AlreadyRefunded { refund_id }
    );
    let unknown = first.refund("ch_pay-never", "cancel-x").await.unwrap_err();
    assert!(matches!(unknown, PortError::NotFound { .. }), "{unknown:?}");

    // None of it is a payment in the ledger.
    let ledger = crowdfund_handlers::aws::dynamodb::DynamoLedger::new(
        app.clients.dynamodb.clone(),
        TABLE_PAYMENTS,
    );
    use crowdfund_core::ports::Ledger;
    assert_eq!(
        ledger.get_payment("sandbox#charge#pay-a").await.unwrap(),
        None
    );
}
