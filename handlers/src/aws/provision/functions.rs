//! The six functions and their SQS triggers on a local endpoint (moto), so the console's
//! trigger views and pause/resume have something real to read and change.
//!
//! The code is a placeholder (an empty zip): moto stores it and never runs it here. The
//! triggers are created disabled, because moto invokes an enabled mapping's function on every
//! send to its queue, and without Docker that invocation fails and hands the messages back with
//! their receive count raised. `crowdfund-local run` plays Lambda's pollers itself.

use super::{Change, ProvisionReport};
use crate::aws::triggers::queue_mappings;
use crate::aws::{AwsClients, port_error};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, FunctionCode, FunctionResponseType, Runtime};
use aws_sdk_sqs::types::QueueAttributeName;
use crowdfund_core::ports::{PortError, PortResult};
use crowdfund_core::topology::{FUNCTIONS, Trigger};

/// The role the functions are created with (moto checks that it exists; nothing assumes it).
pub const FUNCTION_ROLE: &str = "crowdfund-local-function";
/// As terraform deploys them (`modules/lambdas`).
const TIMEOUT_SECONDS: i32 = 25;
const RESERVED_CONCURRENCY: i32 = 20;
/// An empty zip archive (just the end-of-central-directory record).
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Creates what is missing: the role, each function (with its reserved concurrency), and each
/// queue function's trigger, disabled. Idempotent like [`super::provision`].
pub async fn provision_functions(c: &AwsClients) -> PortResult<ProvisionReport> {
    let mut report = ProvisionReport::default();
    let (change, role_arn) = ensure_role(c).await?;
    report.push("role", FUNCTION_ROLE, change);
    for f in FUNCTIONS {
        report.push(
            "function",
            f.name,
            ensure_function(c, f.name, &role_arn).await?,
        );
    }
    let mapped = queue_mappings(&c.lambda).await?;
    for f in FUNCTIONS {
        let Trigger::Queue { queue, batch_size } = f.trigger else {
            continue;
        };
        let name = format!("{queue} -> {} (disabled)", f.name);
        if mapped.iter().any(|m| m.queue == queue) {
            report.push("trigger", name, Change::Unchanged);
            continue;
        }
        let queue_arn = queue_arn(c, queue).await?;
        c.lambda
            .create_event_source_mapping()
            .function_name(f.name)
            .event_source_arn(queue_arn)
            .batch_size(i32::try_from(batch_size).unwrap_or(10))
            .enabled(false)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .send()
            .await
            .map_err(|e| port_error("Lambda", &format!("the trigger of {}", f.name), e))?;
        report.push("trigger", name, Change::Created);
    }
    Ok(report)
}

async fn ensure_role(c: &AwsClients) -> PortResult<(Change, String)> {
    let rejected = |action: &str, body: &str| {
        PortError::Rejected(format!("IAM {action} {FUNCTION_ROLE}: {body}"))
    };
    let found = c
        .iam
        .call(&[("Action", "GetRole"), ("RoleName", FUNCTION_ROLE)])
        .await?;
    if found.is_success() {
        let arn = found
            .field("Arn")
            .ok_or_else(|| rejected("GetRole", &found.body))?;
        return Ok((Change::Unchanged, arn.to_string()));
    }
    if found.field("Code") != Some("NoSuchEntity") {
        return Err(rejected("GetRole", &found.body));
    }
    let created = c
        .iam
        .call(&[
            ("Action", "CreateRole"),
            ("RoleName", FUNCTION_ROLE),
            ("AssumeRolePolicyDocument", LAMBDA_TRUST),
        ])
        .await?;
    match created.field("Arn") {
        Some(arn) if created.is_success() => Ok((Change::Created, arn.to_string())),
        _ => Err(rejected("CreateRole", &created.body)),
    }
}

async fn ensure_function(c: &AwsClients, name: &str, role_arn: &str) -> PortResult<Change> {
    match c.lambda.get_function().function_name(name).send().await {
        Ok(_) => return Ok(Change::Unchanged),
        Err(e) => match port_error("Lambda", name, e) {
            PortError::NotFound { .. } => {}
            other => return Err(other),
        },
    }
    c.lambda
        .create_function()
        .function_name(name)
        .description(format!("crowdfund {name} (placeholder code)"))
        .role(role_arn)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .architectures(Architecture::Arm64)
        .timeout(TIMEOUT_SECONDS)
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(EMPTY_ZIP.to_vec()))
                .build(),
        )
        .send()
        .await
        .map_err(|e| port_error("Lambda", name, e))?;
    c.lambda
        .put_function_concurrency()
        .function_name(name)
        .reserved_concurrent_executions(RESERVED_CONCURRENCY)
        .send()
        .await
        .map_err(|e| port_error("Lambda", name, e))?;
    Ok(Change::Created)
}

async fn queue_arn(c: &AwsClients, queue: &str) -> PortResult<String> {
    let what = format!("queue {queue}");
    let url = c
        .sqs
        .get_queue_url()
        .queue_name(queue)
        .send()
        .await
        .map_err(|e| port_error("SQS", &what, e))?;
    let attributes = c
        .sqs
        .get_queue_attributes()
        .queue_url(url.queue_url().unwrap_or_default())
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| port_error("SQS", &what, e))?;
    attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| PortError::not_found(format!("the ARN of {what}")))
}
