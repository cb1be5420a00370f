//! The [`Publisher`] port: SNS fan-out, a copy of each message to every subscribed queue.

use super::{SimWorld, WorldState};
use crate::ports::{PortError, PortResult, Publisher};
use crate::topology;
use async_trait::async_trait;

impl WorldState {
    pub(super) fn publish(&mut self, topic: &str, body: &str) -> PortResult<String> {
        let spec =
            topology::topic(topic).ok_or_else(|| PortError::not_found(format!("topic {topic}")))?;
        for queue in spec.subscribers {
            self.enqueue(queue, body, 0)?;
        }
        self.next_message_id += 1;
        Ok(format!("sns-{:08}", self.next_message_id))
    }
}

#[async_trait]
impl Publisher for SimWorld {
    async fn publish(&self, topic: &str, body: &str) -> PortResult<String> {
        self.lock().publish(topic, body)
    }
}
