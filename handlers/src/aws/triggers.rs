//! The [`Triggers`] port over Lambda: each topology function's configuration (GetFunction) and
//! its SQS event-source mapping (ListEventSourceMappings), and pausing or resuming a mapping
//! (UpdateEventSourceMapping with `Enabled`).
//!
//! A mapping is matched to its function by the queue it reads, not by the function ARN:
//! terraform attaches the mappings to the `live` alias, so the ARN carries a qualifier.

use super::port_error;
use async_trait::async_trait;
use aws_sdk_lambda::types::EventSourceMappingConfiguration;
use crowdfund_core::ports::{FunctionTrigger, PortError, PortResult, QueueMapping, Triggers};
use crowdfund_core::topology::{self, FUNCTIONS, Trigger};

pub struct LambdaTriggers {
    client: aws_sdk_lambda::Client,
}

impl LambdaTriggers {
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        LambdaTriggers { client }
    }

    async fn function(&self, name: &str, mappings: &[QueueMapping]) -> FunctionTrigger {
        let mapping = topology::function(name).and_then(|spec| match spec.trigger {
            Trigger::Queue { queue, .. } => mapping_of_queue(mappings, queue).cloned(),
            Trigger::HttpPost { .. } => None,
        });
        let mut trigger = FunctionTrigger {
            function: name.to_string(),
            mapping,
            ..FunctionTrigger::default()
        };
        match self.client.get_function().function_name(name).send().await {
            Ok(out) => {
                if let Some(c) = out.configuration() {
                    trigger.runtime = c.runtime().map(|r| r.as_str().to_string());
                    trigger.architecture =
                        c.architectures().first().map(|a| a.as_str().to_string());
                    trigger.last_modified = c.last_modified().map(str::to_string);
                    trigger.timeout_seconds = c.timeout().and_then(|t| u32::try_from(t).ok());
                }
                trigger.reserved_concurrency = out
                    .concurrency()
                    .and_then(|c| c.reserved_concurrent_executions())
                    .and_then(|n| u32::try_from(n).ok());
            }
            Err(e) => {
                trigger.error = Some(match port_error("Lambda", name, e) {
                    PortError::NotFound { .. } => "not deployed (GetFunction: not found)".into(),
                    other => other.to_string(),
                });
            }
        }
        trigger
    }
}

/// Every SQS mapping in the account and region (one paginated listing, not one per function).
pub async fn queue_mappings(client: &aws_sdk_lambda::Client) -> PortResult<Vec<QueueMapping>> {
    let mut found = Vec::new();
    let mut pages = client.list_event_source_mappings().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| port_error("Lambda", "event-source mappings", e))?;
        found.extend(
            page.event_source_mappings()
                .iter()
                .filter_map(queue_mapping),
        );
    }
    Ok(found)
}

/// The mapping that reads `queue`: an enabled one if there are several.
fn mapping_of_queue<'a>(mappings: &'a [QueueMapping], queue: &str) -> Option<&'a QueueMapping> {
    let reading: Vec<&QueueMapping> = mappings.iter().filter(|m| m.queue == queue).collect();
    reading
        .iter()
        .find(|m| m.is_enabled())
        .or_else(|| reading.first())
        .copied()
}

/// The mapping, if it reads an SQS queue (`arn:aws:sqs:region:account:name`).
fn queue_mapping(m: &EventSourceMappingConfiguration) -> Option<QueueMapping> {
    let arn = m.event_source_arn()?;
    let queue = arn
        .strip_prefix("arn:")?
        .split(':')
        .nth(4)
        .filter(|_| arn.contains(":sqs:"))?;
    Some(QueueMapping {
        uuid: m.uuid()?.to_string(),
        queue: queue.to_string(),
        state: m.state().unwrap_or("Unknown").to_string(),
        batch_size: m
            .batch_size()
            .and_then(|b| u32::try_from(b).ok())
            .unwrap_or(0),
        last_processing_result: m.last_processing_result().map(str::to_string),
        maximum_concurrency: m
            .scaling_config()
            .and_then(|s| s.maximum_concurrency())
            .and_then(|n| u32::try_from(n).ok()),
    })
}

#[async_trait]
impl Triggers for LambdaTriggers {
    async fn list_triggers(&self) -> PortResult<Vec<FunctionTrigger>> {
        let mappings = queue_mappings(&self.client).await?;
        let reads = FUNCTIONS.iter().map(|f| self.function(f.name, &mappings));
        Ok(futures::future::join_all(reads).await)
    }

    async fn trigger_of(&self, function: &str) -> PortResult<Option<QueueMapping>> {
        let Some(Trigger::Queue { queue, .. }) = topology::function(function).map(|f| f.trigger)
        else {
            return Ok(None);
        };
        let mappings = queue_mappings(&self.client).await?;
        Ok(mapping_of_queue(&mappings, queue).cloned())
    }

    async fn set_trigger_enabled(&self, function: &str, enabled: bool) -> PortResult<QueueMapping> {
        let spec = topology::function(function)
            .ok_or_else(|| PortError::not_found(format!("function {function}")))?;
        let Trigger::Queue { queue, .. } = spec.trigger else {
            return Err(PortError::Rejected(format!(
                "{function} has no SQS trigger (API Gateway invokes it)"
            )));
        };
        let mappings = queue_mappings(&self.client).await?;
        let mapping = mapping_of_queue(&mappings, queue).ok_or_else(|| {
            PortError::not_found(format!(
                "an event-source mapping of {function} reading {queue}"
            ))
        })?;
        let what = format!("the trigger of {function}");
        let out = self
            .client
            .update_event_source_mapping()
            .uuid(&mapping.uuid)
            .enabled(enabled)
            .send()
            .await
            .map_err(|e| port_error("Lambda", &what, e))?;
        Ok(QueueMapping {
            state: out.state().unwrap_or("Unknown").to_string(),
            last_processing_result: out.last_processing_result().map(str::to_string),
            ..mapping.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_is_known_by_the_queue_it_reads() {
        let m = EventSourceMappingConfiguration::builder()
            .uuid("u-1")
            .event_source_arn("arn:aws:sqs:ap-northeast-2:123456789012:etc_dlq")
            .function_arn("arn:aws:lambda:ap-northeast-2:123456789012:function:dlq_handler:live")
            .state("Disabled")
            .batch_size(10)
            .build();
        let mapping = queue_mapping(&m).expect("an SQS mapping");
        assert_eq!(mapping.queue, "etc_dlq");
        assert!(!mapping.is_enabled());
        let stream = EventSourceMappingConfiguration::builder()
            .uuid("u-2")
            .event_source_arn("arn:aws:kinesis:us-east-1:123456789012:stream/s")
            .build();
        assert_eq!(queue_mapping(&stream), None);
    }

    #[test]
    fn an_enabled_mapping_wins_over_a_disabled_one_on_the_same_queue() {
        let on = |state: &str, uuid: &str| QueueMapping {
            uuid: uuid.into(),
            queue: "etc_dlq".into(),
            state: state.into(),
            ..QueueMapping::default()
        };
        let mappings = [on("Disabled", "old"), on("Enabled", "live")];
        assert_eq!(
            mapping_of_queue(&mappings, "etc_dlq").map(|m| m.uuid.as_str()),
            Some("live")
        );
        assert_eq!(mapping_of_queue(&mappings, "etc_parked"), None);
    }
}
