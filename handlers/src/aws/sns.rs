//! SNS adapter: [`Publisher`] by topic name. Topic ARNs are found once (ListTopics, by the ARN's
//! last segment) and cached. Each publish carries the envelope's `kind` as a message attribute
//! (when the body has one), so subscriptions can filter on it.

use super::port_error;
use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use crowdfund_core::envelope::EnvelopeHeader;
use crowdfund_core::ports::{PortError, PortResult, Publisher};
use std::collections::HashMap;
use std::sync::Mutex;

const SERVICE: &str = "SNS";

/// Every topic's ARN, from all pages of ListTopics.
pub(crate) async fn topic_arns(client: &aws_sdk_sns::Client) -> PortResult<Vec<String>> {
    let topics = client
        .list_topics()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| port_error(SERVICE, "listing topics", e))?;
    Ok(topics
        .iter()
        .filter_map(|t| t.topic_arn().map(str::to_string))
        .collect())
}

#[derive(Debug)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    arns: Mutex<HashMap<String, String>>,
}

impl SnsPublisher {
    pub fn new(client: aws_sdk_sns::Client) -> Self {
        SnsPublisher {
            client,
            arns: Mutex::new(HashMap::new()),
        }
    }

    /// A publisher that knows these (topic name, ARN) pairs already: a Lambda gets them from its
    /// environment and has no permission to list topics.
    pub fn with_arns(
        client: aws_sdk_sns::Client,
        arns: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        SnsPublisher {
            client,
            arns: Mutex::new(arns.into_iter().collect()),
        }
    }

    /// The topic's ARN; every page of ListTopics is read once, all ARNs cached.
    pub async fn arn(&self, topic: &str) -> PortResult<String> {
        if let Some(a) = self.arns.lock().ok().and_then(|m| m.get(topic).cloned()) {
            return Ok(a);
        }
        let found: HashMap<String, String> = topic_arns(&self.client)
            .await?
            .into_iter()
            .filter_map(|arn| Some((arn.rsplit(':').next()?.to_string(), arn)))
            .collect();
        let arn = found.get(topic).cloned();
        if let Ok(mut m) = self.arns.lock() {
            m.extend(found);
        }
        arn.ok_or_else(|| {
            PortError::not_found(format!(
                "SNS topic {topic} (run `crowdfund-local provision` or apply terraform)"
            ))
        })
    }
}

#[async_trait]
impl Publisher for SnsPublisher {
    async fn publish(&self, topic: &str, body: &str) -> PortResult<String> {
        let arn = self.arn(topic).await?;
        let mut request = self.client.publish().topic_arn(arn).message(body);
        if let Some(kind) = EnvelopeHeader::read(body).and_then(|(h, _)| h.kind) {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(kind)
                .build()
                .map_err(|e| PortError::Rejected(format!("SNS message attribute: {e}")))?;
            request = request.message_attributes("kind", value);
        }
        let out = request
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("topic {topic}"), e))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}
