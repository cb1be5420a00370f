//! The whole pipeline on a local AWS endpoint (moto server) with this API as its funding
//! service: broker → SNS → SQS → pg → DynamoDB, funding_update → crowdfund-api over HTTP.
//! Needs CROWDFUND_MOTO_URL (`.ci/run` starts moto); skipped loudly without it, failed in CI.

use crate::helpers::{Spawn, spawn, spawn_app};
use crowdfund_api::config::Role;
use crowdfund_handlers::aws::pipeline::{AwsPipeline, PipelineOptions};
use crowdfund_testkit::{MAIL_FROM, ProvisionedMoto, moto_url, provisioned_moto};
use serde_json::json;
use std::time::Duration;

/// A payment approved on AWS raises the project in MySQL exactly once, duplicates included.
#[tokio::test]
async fn a_payment_on_aws_raises_the_project_through_the_api_once() {
    let Some(moto) = moto_url() else { return };
    let _turn = crate::helpers::MOTO_TURN.lock().await;
    let api = spawn_app(Role::FundingRw).await;
    let project = api.create_project(10_000_000, "KRW").await;
    let ProvisionedMoto {
        clients, settings, ..
    } = provisioned_moto(&moto).await;
    let pipeline = AwsPipeline::new(
        &clients,
        &PipelineOptions {
            webhook_url: None,
            funding_api_url: Some(api.address.clone()),
            mail_from: MAIL_FROM.into(),
            max_retry_delay_seconds: Some(0),
            put_metrics: true,
        },
    )
    .unwrap();
    let body = json!({"destination": "payment_attempt", "paymentId": "pay-moto-1",
        "projectId": project, "backerEmail": "b@example.com", "amount": 25000,
        "currency": "KRW", "card": "tok_approve"})
    .to_string();
    for _ in 0..2 {
        // The second submission is a client retry with the same payment id.
        assert_eq!(pipeline.broker.handle(body.as_bytes()).await.status, 202);
    }
    pipeline
        .run_until_idle(Duration::from_secs(60))
        .await
        .unwrap();
    let (_, p) = api.get(&format!("/projects/{project}")).await;
    assert_eq!(
        (p["raised"].clone(), p["backers"].clone()),
        (json!(25000), json!(1)),
        "{p}"
    );

    // The payment role answers GET /payments/{id} from the ledger pg wrote (PAYMENTS_TABLE, as
    // terraform sets it), not 503.
    let payment_api = spawn(
        Spawn::role(Role::Payment)
            .with_ledger_table(settings, crowdfund_core::topology::TABLE_PAYMENTS),
    )
    .await;
    let (status, record) = payment_api.get("/payments/pay-moto-1").await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(
        (record["status"].clone(), record["amount"]["amount"].clone()),
        (json!("approved"), json!(25000)),
        "{record}"
    );
    assert_eq!(payment_api.get("/payments/pay-never").await.0, 404);
}
