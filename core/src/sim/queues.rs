//! The [`MessageSender`] and [`QueueClient`] ports over the topology's queues: at-least-once
//! sends, batches of 10, receive with redrive to the dead-letter queue.

use super::queue::{SimMessage, SimQueue};
use super::{SimWorld, WorldState};
use crate::ports::{
    BatchSendResult, MessageSender, OutgoingMessage, PortError, PortResult, QueueClient,
    QueueStats, ReceivedMessage,
};
use crate::topology;
use async_trait::async_trait;

impl WorldState {
    fn queue_mut(&mut self, name: &str) -> PortResult<&mut SimQueue> {
        self.queues
            .get_mut(name)
            .ok_or_else(|| PortError::not_found(format!("queue {name}")))
    }

    fn new_message_id(&mut self) -> String {
        self.next_message_id += 1;
        format!("m-{:08}", self.next_message_id)
    }

    /// Sends to a queue; with `duplicate_rate` the queue gets a second copy (at-least-once).
    pub(super) fn enqueue(
        &mut self,
        queue: &str,
        body: &str,
        delay_seconds: u32,
    ) -> PortResult<String> {
        if !self.queues.contains_key(queue) {
            return Err(PortError::not_found(format!("queue {queue}")));
        }
        let copies =
            if queue != topology::QUEUE_PARKED && self.rng.chance(self.config.duplicate_rate) {
                2
            } else {
                1
            };
        let visible_at = self.now
            + chrono::Duration::seconds(i64::from(
                delay_seconds.min(topology::SQS_MAX_DELAY_SECONDS),
            ));
        let mut first = String::new();
        for _ in 0..copies {
            let id = self.new_message_id();
            let message = SimMessage {
                id: id.clone(),
                body: body.to_string(),
                sent_at: self.now,
                receive_count: 0,
                visible_at,
            };
            self.queue_mut(queue)?.insert(message);
            if first.is_empty() {
                first = id;
            }
        }
        Ok(first)
    }

    fn receive(
        &mut self,
        queue: &str,
        max: usize,
        visibility: u32,
    ) -> PortResult<Vec<ReceivedMessage>> {
        let now = self.now;
        let q = self.queue_mut(queue)?;
        let target = q.settings.redrive.as_ref().map(|(t, _)| t.clone());
        let receipt = q.receive(now, max.clamp(1, topology::SQS_BATCH_LIMIT), visibility);
        if let Some(target) = target {
            for moved in receipt.redriven {
                self.queue_mut(&target)?.insert(moved);
            }
        }
        Ok(receipt.delivered)
    }
}

impl SimWorld {
    /// True when no queue a function drains holds a message.
    pub fn is_idle(&self) -> bool {
        self.lock()
            .queues
            .iter()
            .all(|(name, q)| q.is_empty() || topology::function_of_queue(name).is_none())
    }

    pub fn queue_stats(&self) -> Vec<QueueStats> {
        let s = self.lock();
        topology::QUEUES
            .iter()
            .filter_map(|spec| s.queues.get(spec.name).map(|q| q.stats(s.now)))
            .collect()
    }

    /// Messages of a queue in arrival order, untouched.
    pub fn peek_queue(&self, queue: &str, max: usize) -> PortResult<Vec<ReceivedMessage>> {
        let s = self.lock();
        let q = s
            .queues
            .get(queue)
            .ok_or_else(|| PortError::not_found(format!("queue {queue}")))?;
        Ok(q.peek(max)
            .map(|(_, m)| ReceivedMessage {
                message_id: m.id.clone(),
                receipt_handle: String::new(),
                body: m.body.clone(),
                receive_count: m.receive_count,
                sent_at: m.sent_at,
            })
            .collect())
    }

    /// Puts a raw body on a queue as a misbehaving producer would (no broker, no envelope check).
    pub fn inject_raw(&self, queue: &str, body: &str) -> PortResult<String> {
        self.lock().enqueue(queue, body, 0)
    }
}

#[async_trait]
impl MessageSender for SimWorld {
    async fn send(&self, queue: &str, body: &str, delay_seconds: u32) -> PortResult<String> {
        self.lock().enqueue(queue, body, delay_seconds)
    }
}

#[async_trait]
impl QueueClient for SimWorld {
    async fn send_batch(
        &self,
        queue: &str,
        messages: &[OutgoingMessage],
    ) -> PortResult<BatchSendResult> {
        if messages.len() > topology::SQS_BATCH_LIMIT {
            return Err(PortError::Rejected(format!(
                "a batch holds at most {} messages, got {}",
                topology::SQS_BATCH_LIMIT,
                messages.len()
            )));
        }
        let mut s = self.lock();
        let mut result = BatchSendResult::default();
        for m in messages {
            let id = s.enqueue(queue, &m.body, m.delay_seconds)?;
            result.sent.push((m.entry_id.clone(), id));
        }
        Ok(result)
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility_timeout_seconds: u32,
    ) -> PortResult<Vec<ReceivedMessage>> {
        self.lock().receive(queue, max, visibility_timeout_seconds)
    }

    async fn delete_batch(
        &self,
        queue: &str,
        receipt_handles: &[String],
    ) -> PortResult<Vec<String>> {
        let mut s = self.lock();
        let q = s.queue_mut(queue)?;
        Ok(receipt_handles
            .iter()
            .filter(|h| !q.delete(h))
            .cloned()
            .collect())
    }

    async fn change_visibility(
        &self,
        queue: &str,
        receipt_handle: &str,
        visibility_timeout_seconds: u32,
    ) -> PortResult<()> {
        let mut s = self.lock();
        let now = s.now;
        if s.queue_mut(queue)?
            .change_visibility(now, receipt_handle, visibility_timeout_seconds)
        {
            Ok(())
        } else {
            Err(PortError::Rejected(format!(
                "receipt handle {receipt_handle} is not valid"
            )))
        }
    }

    async fn peek(&self, queue: &str, max: usize) -> PortResult<Vec<ReceivedMessage>> {
        self.peek_queue(queue, max)
    }

    async fn stats(&self, queue: &str) -> PortResult<QueueStats> {
        let s = self.lock();
        s.queues
            .get(queue)
            .map(|q| q.stats(s.now))
            .ok_or_else(|| PortError::not_found(format!("queue {queue}")))
    }
}
