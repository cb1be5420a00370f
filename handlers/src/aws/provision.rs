//! Creates the topology of `crowdfund_core::topology` on an AWS endpoint: queues (with their
//! redrive policies and retention), topics, raw-delivery subscriptions, the `payments` table
//! with its index, and the SES sender identity.
//!
//! Idempotent: each resource is looked up first and only created (or its attributes set) when
//! missing or different, and every step says which of those happened. A second run reports
//! every step `unchanged`. [`provision_functions`] adds the six functions and their (disabled)
//! SQS triggers, on request: see its module for why they stay disabled on moto. SQS queue policies that let SNS deliver on real AWS are terraform's
//! job; local endpoints do not check them.

mod functions;

pub use functions::{FUNCTION_ROLE, provision_functions};

use super::sns::topic_arns;
use super::{AwsClients, port_error};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use crowdfund_core::ports::{PortError, PortResult};
use crowdfund_core::topology::{self, QueueSpec, TableSpec};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// What provisioning did to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// `queue`, `topic`, `subscription`, `table`, `email identity`, `role`, `function`,
    /// `trigger`.
    pub resource: &'static str,
    pub name: String,
    pub change: Change,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = match self.change {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Unchanged => "unchanged",
        };
        write!(f, "{c:>9}  {} {}", self.resource, self.name)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionReport {
    pub steps: Vec<Step>,
}

impl ProvisionReport {
    pub fn changed(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.change != Change::Unchanged)
            .count()
    }

    fn push(&mut self, resource: &'static str, name: impl Into<String>, change: Change) {
        self.steps.push(Step {
            resource,
            name: name.into(),
            change,
        });
    }
}

/// Provisions everything; `mail_from` is the SES sender identity to create.
pub async fn provision(c: &AwsClients, mail_from: &str) -> PortResult<ProvisionReport> {
    let mut report = ProvisionReport::default();
    // Redrive targets first: a work queue's policy names the DLQ's ARN.
    let mut queues: Vec<&QueueSpec> = topology::QUEUES.iter().collect();
    queues.sort_by_key(|q| q.redrive.is_some());
    let mut arns = HashMap::new();
    for q in queues {
        let (change, arn) = ensure_queue(c, q, &arns).await?;
        arns.insert(q.name.to_string(), arn);
        report.push("queue", q.name, change);
    }
    for t in topology::TOPICS {
        let (change, topic_arn) = ensure_topic(c, t.name).await?;
        report.push("topic", t.name, change);
        for q in t.subscribers {
            let queue_arn = arns.get(*q).ok_or_else(|| {
                PortError::not_found(format!("queue {q} subscribed to {}", t.name))
            })?;
            let change = ensure_subscription(c, &topic_arn, queue_arn).await?;
            report.push("subscription", format!("{} -> {q} (raw)", t.name), change);
        }
    }
    for table in topology::TOPOLOGY.tables {
        let change = ensure_table(c, table).await?;
        report.push(
            "table",
            format!("{} (index {})", table.name, table.index_name),
            change,
        );
    }
    let change = ensure_email_identity(c, mail_from).await?;
    report.push("email identity", mail_from, change);
    Ok(report)
}

fn wanted_queue_attributes(
    q: &QueueSpec,
    arns: &HashMap<String, String>,
) -> PortResult<HashMap<QueueAttributeName, String>> {
    let mut a = HashMap::new();
    a.insert(
        QueueAttributeName::VisibilityTimeout,
        q.visibility_timeout_seconds.to_string(),
    );
    a.insert(
        QueueAttributeName::MessageRetentionPeriod,
        q.retention_seconds.to_string(),
    );
    if let Some(r) = q.redrive {
        let target = arns.get(r.target).ok_or_else(|| {
            PortError::not_found(format!("redrive target {} of {}", r.target, q.name))
        })?;
        a.insert(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": target, "maxReceiveCount": r.max_receive_count})
                .to_string(),
        );
    }
    Ok(a)
}

/// Attribute values compare as text, except the redrive policy, which compares as JSON with
/// `maxReceiveCount` as a number or a string (services answer either).
fn same_attribute(name: &QueueAttributeName, want: &str, have: Option<&String>) -> bool {
    let Some(have) = have else { return false };
    if *name != QueueAttributeName::RedrivePolicy {
        return want == have;
    }
    let norm = |s: &str| -> Option<(String, String)> {
        let v: Value = serde_json::from_str(s).ok()?;
        let arn = v.get("deadLetterTargetArn")?.as_str()?.to_string();
        let count = match v.get("maxReceiveCount")? {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Some((arn, count))
    };
    norm(want).is_some() && norm(want) == norm(have)
}

async fn ensure_queue(
    c: &AwsClients,
    q: &QueueSpec,
    arns: &HashMap<String, String>,
) -> PortResult<(Change, String)> {
    let what = format!("queue {}", q.name);
    let want = wanted_queue_attributes(q, arns)?;
    let existing = c.sqs.get_queue_url().queue_name(q.name).send().await;
    let (change, url) = match existing {
        Ok(out) => {
            let url = out.queue_url().unwrap_or_default().to_string();
            let attrs = c
                .sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .map_err(|e| port_error("SQS", &what, e))?;
            let have = attrs.attributes().cloned().unwrap_or_default();
            let differs: HashMap<_, _> = want
                .iter()
                .filter(|(k, v)| !same_attribute(k, v, have.get(*k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if differs.is_empty() {
                (Change::Unchanged, url)
            } else {
                c.sqs
                    .set_queue_attributes()
                    .queue_url(&url)
                    .set_attributes(Some(differs))
                    .send()
                    .await
                    .map_err(|e| port_error("SQS", &what, e))?;
                (Change::Updated, url)
            }
        }
        Err(e) => match port_error("SQS", &what, e) {
            PortError::NotFound { .. } => {
                let out = c
                    .sqs
                    .create_queue()
                    .queue_name(q.name)
                    .set_attributes(Some(want))
                    .send()
                    .await
                    .map_err(|e| port_error("SQS", &what, e))?;
                (
                    Change::Created,
                    out.queue_url().unwrap_or_default().to_string(),
                )
            }
            other => return Err(other),
        },
    };
    let arn = c
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| port_error("SQS", &what, e))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| PortError::not_found(format!("ARN of {what}")))?;
    Ok((change, arn))
}

async fn ensure_topic(c: &AwsClients, name: &str) -> PortResult<(Change, String)> {
    if let Some(arn) = topic_arns(&c.sns)
        .await?
        .into_iter()
        .find(|a| a.rsplit(':').next() == Some(name))
    {
        return Ok((Change::Unchanged, arn));
    }
    let out = c
        .sns
        .create_topic()
        .name(name)
        .send()
        .await
        .map_err(|e| port_error("SNS", &format!("topic {name}"), e))?;
    let arn = out
        .topic_arn()
        .ok_or_else(|| PortError::not_found(format!("ARN of new topic {name}")))?;
    Ok((Change::Created, arn.to_string()))
}

async fn ensure_subscription(
    c: &AwsClients,
    topic_arn: &str,
    queue_arn: &str,
) -> PortResult<Change> {
    let what = format!("subscription of {queue_arn} to {topic_arn}");
    let mut pages = c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .into_paginator()
        .send();
    let mut found: Option<String> = None;
    // Pages stop being read once the subscription is found.
    while found.is_none()
        && let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| port_error("SNS", &what, e))?
    {
        found = page
            .subscriptions()
            .iter()
            .find(|s| s.protocol() == Some("sqs") && s.endpoint() == Some(queue_arn))
            .and_then(|s| s.subscription_arn().map(str::to_string));
    }
    let Some(sub) = found else {
        c.sns
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "true")
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(|e| port_error("SNS", &what, e))?;
        return Ok(Change::Created);
    };
    let attrs = c
        .sns
        .get_subscription_attributes()
        .subscription_arn(&sub)
        .send()
        .await
        .map_err(|e| port_error("SNS", &what, e))?;
    let raw = attrs
        .attributes()
        .and_then(|a| a.get("RawMessageDelivery"))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if raw {
        return Ok(Change::Unchanged);
    }
    c.sns
        .set_subscription_attributes()
        .subscription_arn(&sub)
        .attribute_name("RawMessageDelivery")
        .attribute_value("true")
        .send()
        .await
        .map_err(|e| port_error("SNS", &what, e))?;
    Ok(Change::Updated)
}

fn key(name: &str, kind: KeyType) -> PortResult<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| PortError::Rejected(format!("DynamoDB key {name}: {e}")))
}

fn string_attribute(name: &str) -> PortResult<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| PortError::Rejected(format!("DynamoDB attribute {name}: {e}")))
}

async fn ensure_table(c: &AwsClients, t: &TableSpec) -> PortResult<Change> {
    let what = format!("table {}", t.name);
    match c.dynamodb.describe_table().table_name(t.name).send().await {
        Ok(out) => {
            let has_index = out
                .table()
                .map(|d| d.global_secondary_indexes())
                .is_some_and(|ix| ix.iter().any(|i| i.index_name() == Some(t.index_name)));
            if has_index {
                Ok(Change::Unchanged)
            } else {
                Err(PortError::Rejected(format!(
                    "{what} exists without its index {}; add the index (or delete the table) and provision again",
                    t.index_name
                )))
            }
        }
        Err(e) => match port_error("DynamoDB", &what, e) {
            PortError::NotFound { .. } => {
                let index = GlobalSecondaryIndex::builder()
                    .index_name(t.index_name)
                    .key_schema(key(t.index_partition_key, KeyType::Hash)?)
                    .key_schema(key(t.index_sort_key, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(|e| PortError::Rejected(format!("DynamoDB index: {e}")))?;
                c.dynamodb
                    .create_table()
                    .table_name(t.name)
                    .billing_mode(BillingMode::PayPerRequest)
                    .attribute_definitions(string_attribute(t.partition_key)?)
                    .attribute_definitions(string_attribute(t.index_partition_key)?)
                    .attribute_definitions(string_attribute(t.index_sort_key)?)
                    .key_schema(key(t.partition_key, KeyType::Hash)?)
                    .global_secondary_indexes(index)
                    .send()
                    .await
                    .map_err(|e| port_error("DynamoDB", &what, e))?;
                Ok(Change::Created)
            }
            other => Err(other),
        },
    }
}

async fn ensure_email_identity(c: &AwsClients, address: &str) -> PortResult<Change> {
    let what = format!("SES identity {address}");
    match c
        .ses
        .get_email_identity()
        .email_identity(address)
        .send()
        .await
    {
        Ok(_) => Ok(Change::Unchanged),
        Err(e) => match port_error("SES", &what, e) {
            PortError::NotFound { .. } => {
                c.ses
                    .create_email_identity()
                    .email_identity(address)
                    .send()
                    .await
                    .map_err(|e| port_error("SES", &what, e))?;
                Ok(Change::Created)
            }
            other => Err(other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redrive_policies_compare_as_json() {
        let n = QueueAttributeName::RedrivePolicy;
        let want = r#"{"deadLetterTargetArn":"arn:q","maxReceiveCount":3}"#;
        assert!(same_attribute(
            &n,
            want,
            Some(&r#"{"maxReceiveCount": "3", "deadLetterTargetArn": "arn:q"}"#.to_string())
        ));
        assert!(!same_attribute(
            &n,
            want,
            Some(&r#"{"deadLetterTargetArn":"arn:q","maxReceiveCount":5}"#.to_string())
        ));
        assert!(!same_attribute(&n, want, None));
        let v = QueueAttributeName::VisibilityTimeout;
        assert!(same_attribute(&v, "30", Some(&"30".to_string())));
    }
}
