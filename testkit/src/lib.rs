//! Test support for the suites that run against moto server, a local AWS endpoint: one place
//! for how a test finds moto, empties it, and (feature `aws`) provisions the topology on it.
//!
//! A test binary uses one moto server for all its tests; the topology's names are fixed, so its
//! tests take turns (a suite-wide lock) and start each from a reset.
//!
//! - [`moto_url`]: `CROWDFUND_MOTO_URL`, or a loud skip; in CI a missing moto fails instead.
//! - [`reset_moto`]: `POST /moto-api/reset`, which empties every service.
//! - [`provisioned_moto`] (feature `aws`): a reset moto with the topology provisioned, and the
//!   settings and clients that point at it.
//! - [`iam`] (feature `aws`): IAM users with terraform's policies on moto, enforcement switched on, and a
//!   recording proxy that says which calls were allowed and denied.
//! - [`sigv4`]: API Gateway's AWS_IAM check, recomputing a request's signature.
//! - [`terraform`]: terraform's files parsed, for the tests that hold code and terraform to
//!   one another (routes, IAM policies, environment).

#[cfg(feature = "aws")]
pub mod iam;
pub mod sigv4;
pub mod terraform;

#[cfg(feature = "aws")]
use crowdfund_handlers::aws::provision::{ProvisionReport, provision};
#[cfg(feature = "aws")]
use crowdfund_handlers::aws::{AwsClients, AwsSettings, LOCAL_DEFAULT_REGION};

/// The sender address the tests provision (SES verifies it) and the pipelines mail from.
pub const MAIL_FROM: &str = "payments@crowdfund.example";

/// The moto URL from `CROWDFUND_MOTO_URL`, or `None` to skip the test, saying so loudly.
/// In CI (`CI` set, and not `false`) a missing moto fails the test instead: a skipped suite
/// there would pass without having run.
pub fn moto_url() -> Option<String> {
    match std::env::var("CROWDFUND_MOTO_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u.trim().to_string()),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
            assert!(
                !ci,
                "CI is set but CROWDFUND_MOTO_URL is not: .ci/run must start moto (scripts/moto.sh start) and export it"
            );
            eprintln!(
                "\n!!! SKIPPED: CROWDFUND_MOTO_URL is not set, so this moto test did not run.\n!!! Run `export CROWDFUND_MOTO_URL=$(scripts/moto.sh start)` first.\n"
            );
            None
        }
    }
}

/// Empties moto (`POST /moto-api/reset`): every queue, topic, table and sent mail is gone.
pub async fn reset_moto(moto: &str) {
    let answer = reqwest::Client::new()
        .post(format!("{}/moto-api/reset", moto.trim_end_matches('/')))
        .send()
        .await
        .expect("moto answers /moto-api/reset");
    assert!(
        answer.status().is_success(),
        "moto reset: {}",
        answer.status()
    );
}

/// Settings that point the AWS adapters at a local endpoint: moto, or a stand-in for one service.
#[cfg(feature = "aws")]
pub fn endpoint_settings(endpoint: &str) -> AwsSettings {
    AwsSettings {
        endpoint_url: Some(endpoint.to_string()),
        region: Some(LOCAL_DEFAULT_REGION.into()),
        profile: None,
    }
}

/// A reset moto with the topology provisioned from scratch.
#[cfg(feature = "aws")]
pub struct ProvisionedMoto {
    pub settings: AwsSettings,
    pub clients: AwsClients,
    /// What provisioning created (everything, on a reset moto).
    pub report: ProvisionReport,
}

/// Resets moto and provisions the topology (with [`MAIL_FROM`] as the verified sender).
#[cfg(feature = "aws")]
pub async fn provisioned_moto(moto: &str) -> ProvisionedMoto {
    reset_moto(moto).await;
    let settings = endpoint_settings(moto);
    let clients = AwsClients::load(&settings)
        .await
        .expect("AWS clients for moto");
    let report = provision(&clients, MAIL_FROM)
        .await
        .expect("provision the topology on moto");
    ProvisionedMoto {
        settings,
        clients,
        report,
    }
}
