//! SQS adapter: [`QueueClient`] and [`MessageSender`] by queue name.
//!
//! Queue URLs are looked up once (GetQueueUrl) and cached. SQS cannot be read without
//! receiving, so a browse (and a peek) is concurrent receives that hold each message hidden
//! while the browse runs, then one release of everything (ChangeMessageVisibilityBatch 0). Like
//! any receive it raises ApproximateReceiveCount, so browsing a work queue that has a redrive
//! policy can move a message to the DLQ sooner; the failure queues have none.

use super::port_error;
use async_trait::async_trait;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use chrono::TimeZone;
use crowdfund_core::ports::{
    BatchSendResult, BrowseOptions, BrowseSink, MessageSender, OutgoingMessage, PortError,
    PortResult, QueueClient, QueueStats, ReceivedMessage, hold_for,
};
use crowdfund_core::topology::{SQS_BATCH_LIMIT, SQS_MAX_DELAY_SECONDS};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Mutex;

const SERVICE: &str = "SQS";

/// SQS by queue name, with the URL of each queue cached after its first use.
#[derive(Debug)]
pub struct SqsQueues {
    client: aws_sdk_sqs::Client,
    urls: Mutex<HashMap<String, String>>,
}

impl SqsQueues {
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        SqsQueues {
            client,
            urls: Mutex::new(HashMap::new()),
        }
    }

    /// Queues whose (name, URL) pairs are known already (a Lambda gets them from its
    /// environment), so no GetQueueUrl call is made for them.
    pub fn with_urls(
        client: aws_sdk_sqs::Client,
        urls: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        SqsQueues {
            client,
            urls: Mutex::new(urls.into_iter().collect()),
        }
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    /// The queue's URL (GetQueueUrl once, then from the cache).
    pub async fn url(&self, queue: &str) -> PortResult<String> {
        if let Some(u) = self.cached(queue) {
            return Ok(u);
        }
        let out = self
            .client
            .get_queue_url()
            .queue_name(queue)
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("queue {queue}"), e))?;
        let url = out
            .queue_url()
            .ok_or_else(|| PortError::not_found(format!("queue {queue} (no URL returned)")))?
            .to_string();
        if let Ok(mut m) = self.urls.lock() {
            m.insert(queue.to_string(), url.clone());
        }
        Ok(url)
    }

    fn cached(&self, queue: &str) -> Option<String> {
        self.urls.lock().ok().and_then(|m| m.get(queue).cloned())
    }

    /// Forgets cached URLs (after a queue was deleted and created again).
    pub fn forget_urls(&self) {
        if let Ok(mut m) = self.urls.lock() {
            m.clear();
        }
    }

    async fn receive_from(
        &self,
        url: &str,
        queue: &str,
        max: usize,
        visibility_timeout_seconds: u32,
        wait_seconds: i32,
    ) -> PortResult<Vec<ReceivedMessage>> {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, SQS_BATCH_LIMIT) as i32)
            .visibility_timeout(visibility_timeout_seconds.min(43_200) as i32)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("queue {queue}"), e))?;
        Ok(out.messages().iter().filter_map(to_received).collect())
    }

    /// One receiver of a browse: receives until the queue has nothing for it, the browse has
    /// `max`, or the sink says stop.
    ///
    /// A browse that outlasts its hold (a slow link, a big queue) meets the messages it read
    /// first again, visible once more. It does not stop there: receiving them hides them again,
    /// for longer ([`hold_for`] grows with the browse's age), so they cannot come back forever,
    /// and the messages not read yet are still behind them.
    async fn browse_receiver(
        &self,
        url: &str,
        queue: &str,
        options: BrowseOptions,
        started: std::time::Instant,
        state: &Mutex<Browse>,
        sink: BrowseSink<'_>,
    ) -> PortResult<()> {
        let mut empty_rounds = 0;
        let mut stale_rounds = 0;
        let mut failures = 0;
        loop {
            let want = match state.lock() {
                Ok(s) if !s.stopped && s.messages.len() < options.max => {
                    (options.max - s.messages.len()).min(SQS_BATCH_LIMIT)
                }
                _ => return Ok(()),
            };
            // An empty short poll may only have missed: SQS answers it from a sample of its
            // servers. A one-second long poll asks them all before the receiver gives up.
            let wait = if empty_rounds == 0 { 0 } else { 1 };
            let hold = hold_for(options.hold_seconds, started.elapsed());
            let batch = match self.receive_from(url, queue, want, hold, wait).await {
                Ok(batch) => {
                    failures = 0;
                    batch
                }
                // A 5xx or throttling the SDK's own retries did not get past: one receiver
                // backs off and tries again rather than end the whole browse.
                Err(e) if e.is_retryable() && failures < MAX_RECEIVE_RETRIES => {
                    failures += 1;
                    tokio::time::sleep(retry_delay(failures)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let received = batch.len();
            let fresh = match state.lock() {
                Ok(mut s) => s.take(batch, options.max),
                Err(_) => return Ok(()),
            };
            if received == 0 {
                // Nothing visible: everything is read (and held), or the queue is empty.
                empty_rounds += 1;
                if empty_rounds >= 2 {
                    return Ok(());
                }
            } else if fresh.is_empty() {
                // Only messages read before, whose hold ran out: now held longer.
                empty_rounds = 0;
                stale_rounds += 1;
                if stale_rounds >= MAX_STALE_ROUNDS {
                    return Ok(());
                }
            } else {
                empty_rounds = 0;
                stale_rounds = 0;
                if !sink(&fresh)
                    && let Ok(mut s) = state.lock()
                {
                    s.stopped = true;
                }
            }
        }
    }

    async fn release_batch(&self, url: &str, queue: &str, handles: Vec<String>) -> PortResult<()> {
        let entries = handles
            .iter()
            .enumerate()
            .map(|(i, h)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .visibility_timeout(0)
                    .build()
                    .map_err(|e| PortError::Rejected(format!("SQS request: {e}")))
            })
            .collect::<PortResult<Vec<_>>>()?;
        self.client
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("queue {queue}"), e))?;
        Ok(())
    }

    /// Makes received messages visible again (ChangeMessageVisibilityBatch to 0), `parallel`
    /// batches at a time. An entry SQS refuses (a handle that went stale when the message's hold
    /// ran out and another receive took it) is released by that later handle.
    async fn release(
        &self,
        url: &str,
        queue: &str,
        handles: &[String],
        parallel: usize,
    ) -> PortResult<()> {
        // Collected first: a lazy `map` closure would make the future not `Send`.
        let calls: Vec<_> = handles
            .chunks(SQS_BATCH_LIMIT)
            .map(|chunk| self.release_batch(url, queue, chunk.to_vec()))
            .collect();
        let results: Vec<PortResult<()>> = futures::stream::iter(calls)
            .buffer_unordered(parallel.max(1))
            .collect()
            .await;
        results.into_iter().collect()
    }
}

/// A receiver that meets only messages it read before this many times in a row stops (a
/// guard: longer holds make that end by themselves).
const MAX_STALE_ROUNDS: u32 = 50;
/// Receives in a row that failed (after the SDK's own retries, whose quota a burst of 5xx
/// empties) before a receiver gives up: about a minute and a half of backing off.
const MAX_RECEIVE_RETRIES: u32 = 20;

/// 0.5 s, 1 s, 2 s, 4 s, then 5 s each time.
fn retry_delay(failures: u32) -> std::time::Duration {
    std::time::Duration::from_millis((250u64 << failures.min(5)).min(5_000))
}

/// ChangeMessageVisibilityBatch calls in flight when releasing what a disposal held.
const RELEASE_PARALLEL: usize = 8;

/// What a browse has read so far, shared by its receivers.
#[derive(Default)]
struct Browse {
    messages: Vec<ReceivedMessage>,
    /// The latest receipt handle of each message read, by id: what the release uses.
    handles: HashMap<String, String>,
    stopped: bool,
}

impl Browse {
    /// Keeps the messages of `batch` not read before (up to `max` in all), returning them.
    fn take(&mut self, batch: Vec<ReceivedMessage>, max: usize) -> Vec<ReceivedMessage> {
        let mut fresh = Vec::new();
        for m in batch {
            let new = self
                .handles
                .insert(m.message_id.clone(), m.receipt_handle.clone())
                .is_none();
            if new && self.messages.len() + fresh.len() < max {
                fresh.push(m);
            }
        }
        self.messages.extend(fresh.iter().cloned());
        fresh
    }
}

fn delay(seconds: u32) -> i32 {
    seconds.min(SQS_MAX_DELAY_SECONDS) as i32
}

fn to_received(m: &aws_sdk_sqs::types::Message) -> Option<ReceivedMessage> {
    let attr = |name: MessageSystemAttributeName| {
        m.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<i64>().ok())
    };
    let sent_at = attr(MessageSystemAttributeName::SentTimestamp)
        .and_then(|ms| chrono::Utc.timestamp_millis_opt(ms).single())
        .unwrap_or_else(chrono::Utc::now);
    Some(ReceivedMessage {
        message_id: m.message_id()?.to_string(),
        receipt_handle: m.receipt_handle()?.to_string(),
        body: m.body().unwrap_or_default().to_string(),
        receive_count: attr(MessageSystemAttributeName::ApproximateReceiveCount)
            .map_or(1, |c| c.clamp(0, i64::from(u32::MAX)) as u32),
        sent_at,
    })
}

#[async_trait]
impl MessageSender for SqsQueues {
    async fn send(&self, queue: &str, body: &str, delay_seconds: u32) -> PortResult<String> {
        let url = self.url(queue).await?;
        let out = self
            .client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(delay(delay_seconds))
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("queue {queue}"), e))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

#[async_trait]
impl QueueClient for SqsQueues {
    async fn send_batch(
        &self,
        queue: &str,
        messages: &[OutgoingMessage],
    ) -> PortResult<BatchSendResult> {
        if messages.len() > SQS_BATCH_LIMIT {
            return Err(PortError::Rejected(format!(
                "a batch holds at most {SQS_BATCH_LIMIT} messages, got {}",
                messages.len()
            )));
        }
        if messages.is_empty() {
            return Ok(BatchSendResult::default());
        }
        let url = self.url(queue).await?;
        let entries = messages
            .iter()
            .map(|m| {
                SendMessageBatchRequestEntry::builder()
                    .id(&m.entry_id)
                    .message_body(&m.body)
                    .delay_seconds(delay(m.delay_seconds))
                    .build()
                    .map_err(|e| {
                        PortError::Rejected(format!("SQS batch entry {}: {e}", m.entry_id))
                    })
            })
            .collect::<PortResult<Vec<_>>>()?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("queue {queue}"), e))?;
        Ok(BatchSendResult {
            sent: out
                .successful()
                .iter()
                .map(|s| (s.id().to_string(), s.message_id().to_string()))
                .collect(),
            failed: out
                .failed()
                .iter()
                .map(|f| {
                    (
                        f.id().to_string(),
                        format!("{}: {}", f.code(), f.message().unwrap_or_default()),
                    )
                })
                .collect(),
        })
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility_timeout_seconds: u32,
    ) -> PortResult<Vec<ReceivedMessage>> {
        let url = self.url(queue).await?;
        self.receive_from(&url, queue, max, visibility_timeout_seconds, 0)
            .await
    }

    async fn delete_batch(
        &self,
        queue: &str,
        receipt_handles: &[String],
    ) -> PortResult<Vec<String>> {
        if receipt_handles.is_empty() {
            return Ok(Vec::new());
        }
        let url = self.url(queue).await?;
        let mut not_deleted = Vec::new();
        for chunk in receipt_handles.chunks(SQS_BATCH_LIMIT) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(h)
                        .build()
                        .map_err(|e| PortError::Rejected(format!("SQS delete entry: {e}")))
                })
                .collect::<PortResult<Vec<_>>>()?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| port_error(SERVICE, &format!("queue {queue}"), e))?;
            for f in out.failed() {
                if let Some(h) = f.id().parse::<usize>().ok().and_then(|i| chunk.get(i)) {
                    not_deleted.push(h.clone());
                }
            }
        }
        Ok(not_deleted)
    }

    async fn change_visibility(
        &self,
        queue: &str,
        receipt_handle: &str,
        visibility_timeout_seconds: u32,
    ) -> PortResult<()> {
        let url = self.url(queue).await?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(visibility_timeout_seconds.min(43_200) as i32)
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("queue {queue}"), e))?;
        Ok(())
    }

    async fn release_all(&self, queue: &str, receipt_handles: &[String]) -> PortResult<()> {
        if receipt_handles.is_empty() {
            return Ok(());
        }
        let url = self.url(queue).await?;
        self.release(&url, queue, receipt_handles, RELEASE_PARALLEL)
            .await
    }

    async fn peek(&self, queue: &str, max: usize) -> PortResult<Vec<ReceivedMessage>> {
        self.browse(queue, BrowseOptions::up_to(max), &|_| true)
            .await
    }

    async fn browse(
        &self,
        queue: &str,
        options: BrowseOptions,
        sink: BrowseSink<'_>,
    ) -> PortResult<Vec<ReceivedMessage>> {
        let url = self.url(queue).await?;
        let state = Mutex::new(Browse::default());
        let started = std::time::Instant::now();
        let receivers = (0..options.receivers.max(1))
            .map(|_| self.browse_receiver(&url, queue, options, started, &state, sink));
        let received: PortResult<Vec<()>> = futures::future::join_all(receivers)
            .await
            .into_iter()
            .collect();
        let browse = state.into_inner().unwrap_or_default();
        // Release what was read, whatever happened above.
        let handles: Vec<String> = browse.handles.into_values().collect();
        let released = self.release(&url, queue, &handles, options.receivers).await;
        received?;
        released?;
        Ok(browse.messages)
    }

    async fn stats(&self, queue: &str) -> PortResult<QueueStats> {
        let url = self.url(queue).await?;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| port_error(SERVICE, &format!("queue {queue}"), e))?;
        let get = |name: QueueAttributeName| {
            out.attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(QueueStats {
            name: queue.to_string(),
            visible: get(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
            // SQS has no attribute for it (it is the CloudWatch metric
            // ApproximateAgeOfOldestMessage); the adapter does not read CloudWatch.
            oldest_age_seconds: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_receiver_backs_off_up_to_five_seconds() {
        let delays: Vec<Duration> = (1..=7).map(retry_delay).collect();
        assert_eq!(delays[0], Duration::from_millis(500));
        assert_eq!(delays[3], Duration::from_secs(4));
        assert!(delays[4..].iter().all(|d| *d == Duration::from_secs(5)));
        let total: Duration = (1..=MAX_RECEIVE_RETRIES).map(retry_delay).sum();
        assert!(total < Duration::from_secs(120), "{total:?}");
    }
}
