//! The funding_update Lambda's HTTP client (`HttpFundingApi`) against the real server: what the
//! pipeline sees when it raises and reverses through crowdfund-api.

use crate::helpers::spawn_app;
use crowdfund_api::config::Role;
use crowdfund_core::domain::ProjectLevels;
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::ports::{FundingApi, FundingOutcome, PortError};
use crowdfund_handlers::aws::funding_http::HttpFundingApi;

/// Raise once, repeat is a duplicate; reverse once, repeat is a duplicate; the amounts follow.
#[tokio::test]
async fn the_client_raises_and_reverses_exactly_once() {
    let app = spawn_app(Role::FundingRw).await;
    let id = app.create_project(100_000, "KRW").await;
    let client = HttpFundingApi::new(&app.address).unwrap();
    let krw = |n| Money::new(n, Currency::KRW);

    assert_eq!(
        client.raise(&id, "pay-1", krw(30_000), None).await,
        Ok(FundingOutcome::Applied {
            raised: 30_000,
            levels: Some(ProjectLevels {
                goal: 100_000,
                raised: 30_000,
                backers: 1,
                reversed: 0,
                reversals: 0
            })
        })
    );
    assert_eq!(
        client.raise(&id, "pay-1", krw(30_000), None).await,
        Ok(FundingOutcome::Duplicate { raised: 30_000 })
    );
    assert_eq!(
        client.reverse(&id, "pay-1").await,
        Ok(FundingOutcome::Applied {
            raised: 0,
            levels: Some(ProjectLevels {
                goal: 100_000,
                raised: 0,
                backers: 0,
                reversed: 30_000,
                reversals: 1
            })
        })
    );
    assert_eq!(
        client.reverse(&id, "pay-1").await,
        Ok(FundingOutcome::Duplicate { raised: 0 })
    );
    // A reversal that overtakes its raise leaves a tombstone: the late raise changes nothing.
    client.reverse(&id, "pay-2").await.unwrap();
    assert!(matches!(
        client.raise(&id, "pay-2", krw(5_000), None).await,
        Ok(FundingOutcome::Duplicate { raised: 0 })
    ));
}

/// Refusals keep their meaning: a wrong currency can never pass (dead-lettered, not retried),
/// an unknown project is not found, a server that is gone is unavailable (retried).
#[tokio::test]
async fn the_client_maps_refusals_to_what_the_handler_does_with_them() {
    let app = spawn_app(Role::FundingRw).await;
    let id = app.create_project(100_000, "KRW").await;
    let client = HttpFundingApi::new(&app.address).unwrap();

    let wrong = client
        .raise(&id, "pay-x", Money::new(1_000, Currency::USD), None)
        .await
        .unwrap_err();
    assert!(matches!(wrong, PortError::Rejected(_)), "{wrong:?}");
    assert!(!wrong.is_retryable());
    let unknown = client
        .raise("prj-nope", "pay-y", Money::new(1_000, Currency::KRW), None)
        .await
        .unwrap_err();
    assert!(matches!(unknown, PortError::NotFound { .. }), "{unknown:?}");

    let gone = HttpFundingApi::new("http://127.0.0.1:9").unwrap();
    let e = gone
        .raise(&id, "pay-z", Money::new(1, Currency::KRW), None)
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
}
