//! The `--aws` backend: the same operations over the AWS adapters of crowdfund-handlers (SQS,
//! DynamoDB, SNS, Lambda's triggers, and crowdfund-api over HTTP), pointed at AWS or at a local endpoint such as
//! moto server by `--endpoint-url`, `--region`, `--profile` or the usual `AWS_*` variables.
//!
//! - [`metrics`]: the metrics port on CloudWatch.
//!
//! Without `--api-url` there is no funding API to ask, so `status` lists no projects (queues and
//! payments need only AWS); the console says so on stderr.

pub mod metrics;

use crate::backend::Backend;
use anyhow::{Context, Result};
use async_trait::async_trait;
use crowdfund_core::domain::{Project, Timestamp};
use crowdfund_core::money::Money;
use crowdfund_core::ports::{FundingApi, FundingOutcome, PortError, PortResult, SystemClock};
use crowdfund_core::topology::TABLE_PAYMENTS;
use crowdfund_handlers::aws::cloudwatch::CloudWatch;
use crowdfund_handlers::aws::dynamodb::DynamoLedger;
use crowdfund_handlers::aws::funding_http::HttpFundingApi;
use crowdfund_handlers::aws::requests::RequestCounter;
use crowdfund_handlers::aws::sns::SnsPublisher;
use crowdfund_handlers::aws::sqs::SqsQueues;
use crowdfund_handlers::aws::sqs_move::TokioPacer;
use crowdfund_handlers::aws::sts::caller_arn;
use crowdfund_handlers::aws::triggers::LambdaTriggers;
use crowdfund_handlers::aws::{AwsClients, AwsSettings, load_config};
use std::path::Path;
use std::sync::Arc;

/// Where the console points on AWS.
#[derive(Debug, Clone)]
pub struct AwsTarget {
    pub settings: AwsSettings,
    /// crowdfund-api (funding) base URL, for the project list.
    pub api_url: Option<String>,
    /// The environment (`--env`): its alarms are `crowdfund-ENV-*`.
    pub env_name: String,
}

impl Default for AwsTarget {
    fn default() -> Self {
        AwsTarget {
            settings: AwsSettings::default(),
            api_url: None,
            env_name: crate::cli::DEFAULT_ENV.to_string(),
        }
    }
}

/// Stands in for the funding API when none is configured: no projects, no changes.
struct NoFundingApi;

#[async_trait]
impl FundingApi for NoFundingApi {
    async fn raise(
        &self,
        project_id: &str,
        _: &str,
        _: Money,
        _: Option<Timestamp>,
    ) -> PortResult<FundingOutcome> {
        Err(PortError::Rejected(format!(
            "no funding API configured to raise {project_id}; pass --api-url"
        )))
    }
    async fn reverse(&self, project_id: &str, _: &str) -> PortResult<FundingOutcome> {
        Err(PortError::Rejected(format!(
            "no funding API configured to reverse a funding of {project_id}; pass --api-url"
        )))
    }
    async fn projects(&self) -> PortResult<Vec<Project>> {
        Ok(Vec::new())
    }
}

/// Builds the backend. `data_dir` holds the audit log and backups (`aws-audit.jsonl`,
/// `aws-backups/`), beside the local world's state file.
pub async fn backend(target: &AwsTarget, data_dir: &Path) -> Result<Backend> {
    Ok(counted_backend(target, data_dir).await?.0)
}

/// The backend, and the counter of every request its clients send.
pub async fn counted_backend(
    target: &AwsTarget,
    data_dir: &Path,
) -> Result<(Backend, RequestCounter)> {
    let config = load_config(&target.settings)
        .await
        .context("loading the AWS configuration")?;
    let requests = RequestCounter::new();
    let clients = AwsClients::counted(&config, &requests);
    let funding: Arc<dyn FundingApi> = match &target.api_url {
        Some(url) => Arc::new(
            HttpFundingApi::new(url).with_context(|| format!("building a client for {url}"))?,
        ),
        None => Arc::new(NoFundingApi),
    };
    let identity = identity(&clients, target).await;
    let sqs = Arc::new(SqsQueues::new(clients.sqs.clone()));
    let cloudwatch = Arc::new(CloudWatch::new(clients.cloudwatch.clone()));
    // Named as `dashboards` names the alarms it generates and deploys.
    let alarm_prefix =
        crowdfund_dashboards::Target::new(&clients.region, &target.env_name).alarm_prefix();
    let backend = Backend {
        name: "aws",
        target: target.settings.describe(&clients.region),
        queues: sqs.clone(),
        ledger: Arc::new(DynamoLedger::new(clients.dynamodb.clone(), TABLE_PAYMENTS)),
        funding,
        publisher: Arc::new(publisher(&clients, &identity)),
        triggers: Arc::new(LambdaTriggers::new(clients.lambda.clone())),
        clock: Arc::new(SystemClock),
        wall_clock: Arc::new(SystemClock),
        identity,
        audit_log: data_dir.join("aws-audit.jsonl"),
        backup_dir: data_dir.join("aws-backups"),
        pacer: Arc::new(TokioPacer::default()),
        move_tasks: Some(sqs),
        metrics: Some(Arc::new(metrics::CloudWatchMetrics::new(
            cloudwatch.clone(),
        ))),
        alarms: Some(cloudwatch),
        alarm_prefix,
    };
    Ok((backend, requests))
}

/// The topics' ARNs follow from the caller's account and the region (topology names are not
/// prefixed), so the console need not be allowed `sns:ListTopics`; only when STS could not say
/// who the caller is does the publisher look them up.
fn publisher(clients: &AwsClients, identity: &str) -> SnsPublisher {
    match topic_arns(identity, &clients.region) {
        Some(arns) => SnsPublisher::with_arns(clients.sns.clone(), arns),
        None => SnsPublisher::new(clients.sns.clone()),
    }
}

/// `(topic, ARN)` for every topology topic in the account of `caller_arn`
/// (`arn:<partition>:sts|iam::<account>:...`), or `None` when it is not such an ARN.
pub fn topic_arns(caller_arn: &str, region: &str) -> Option<Vec<(String, String)>> {
    let fields: Vec<&str> = caller_arn.split(':').collect();
    let (partition, account) = match fields[..] {
        ["arn", partition, _, _, account, ..]
            if !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (partition, account)
        }
        _ => return None,
    };
    Some(
        crowdfund_core::topology::TOPICS
            .iter()
            .map(|t| {
                let arn = format!("arn:{partition}:sns:{region}:{account}:{}", t.name);
                (t.name.to_string(), arn)
            })
            .collect(),
    )
}

/// Who acts, for the audit log: the caller's ARN from STS. When STS cannot answer, the profile
/// or local user stands in, marked so, and the console says why on stderr.
async fn identity(clients: &AwsClients, target: &AwsTarget) -> String {
    match caller_arn(&clients.sts).await {
        Ok(arn) => arn,
        Err(e) => {
            eprintln!(
                "warning: STS GetCallerIdentity failed ({e}); the audit log names the profile or user instead"
            );
            match (&target.settings.profile, std::env::var("AWS_PROFILE")) {
                (Some(p), _) => format!("unverified:aws-profile:{p}"),
                (None, Ok(p)) if !p.is_empty() => format!("unverified:aws-profile:{p}"),
                _ => format!(
                    "unverified:{}",
                    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_arns_come_from_the_callers_account() {
        let arns = topic_arns(
            "arn:aws:sts::123456789012:assumed-role/oncall/kim",
            "ap-northeast-2",
        )
        .unwrap_or_default();
        assert!(arns.contains(&(
            "goal_achievement".to_string(),
            "arn:aws:sns:ap-northeast-2:123456789012:goal_achievement".to_string()
        )));
        assert_eq!(arns.len(), crowdfund_core::topology::TOPICS.len());
        assert_eq!(topic_arns("unverified:aws-profile:dev", "us-east-1"), None);
        assert_eq!(topic_arns("arn:aws:iam::abc:user/x", "us-east-1"), None);
    }
}
