//! One simulated SQS standard queue: delay, visibility timeout, receive count, and the redrive
//! policy applied at receive time (as SQS does: a message whose receive count would exceed
//! maxReceiveCount goes to the dead-letter queue instead of to the consumer).
//!
//! Visible messages wait in a FIFO deque; delayed and in-flight ones in a min-heap by the time
//! they become visible. Stale heap or deque entries (after a delete or a visibility change) are
//! skipped when popped, so every operation is O(log n).

use crate::domain::Timestamp;
use crate::ports::{QueueStats, ReceivedMessage};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimMessage {
    pub id: String,
    pub body: String,
    pub sent_at: Timestamp,
    pub receive_count: u32,
    pub visible_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueSettings {
    pub name: String,
    pub visibility_timeout_seconds: u32,
    /// (target queue, maxReceiveCount)
    pub redrive: Option<(String, u32)>,
}

/// What a receive found: messages for the consumer, and messages the redrive policy moved out.
#[derive(Debug, Default)]
pub struct Receipt {
    pub delivered: Vec<ReceivedMessage>,
    pub redriven: Vec<SimMessage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "StoredQueue", into = "StoredQueue")]
pub struct SimQueue {
    pub settings: QueueSettings,
    messages: BTreeMap<u64, SimMessage>,
    ready: VecDeque<u64>,
    waiting: BinaryHeap<Reverse<(Timestamp, u64)>>,
    next_seq: u64,
}

/// What is written to the state file: the messages; the indices are rebuilt on load.
#[derive(Serialize, Deserialize)]
struct StoredQueue {
    settings: QueueSettings,
    messages: Vec<SimMessage>,
}

impl From<StoredQueue> for SimQueue {
    fn from(s: StoredQueue) -> Self {
        let mut q = SimQueue::new(s.settings);
        for m in s.messages {
            q.insert(m);
        }
        q
    }
}

impl From<SimQueue> for StoredQueue {
    fn from(q: SimQueue) -> Self {
        StoredQueue {
            settings: q.settings,
            messages: q.messages.into_values().collect(),
        }
    }
}

fn receipt_handle(seq: u64, receive_count: u32) -> String {
    format!("{seq}:{receive_count}")
}

fn parse_receipt_handle(handle: &str) -> Option<(u64, u32)> {
    let (seq, count) = handle.split_once(':')?;
    Some((seq.parse().ok()?, count.parse().ok()?))
}

impl SimQueue {
    pub fn new(settings: QueueSettings) -> Self {
        SimQueue {
            settings,
            messages: BTreeMap::new(),
            ready: VecDeque::new(),
            waiting: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Adds a message as it is (its `visible_at` decides whether it waits).
    pub fn insert(&mut self, message: SimMessage) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.waiting.push(Reverse((message.visible_at, seq)));
        self.messages.insert(seq, message);
    }

    fn promote(&mut self, now: Timestamp) {
        while let Some(Reverse((at, seq))) = self.waiting.peek().copied() {
            if at > now {
                break;
            }
            self.waiting.pop();
            if self.messages.get(&seq).is_some_and(|m| m.visible_at == at) {
                self.ready.push_back(seq);
            }
        }
    }

    /// ReceiveMessage: up to `max` visible messages become in flight for `visibility` seconds.
    pub fn receive(&mut self, now: Timestamp, max: usize, visibility_seconds: u32) -> Receipt {
        self.promote(now);
        let mut out = Receipt::default();
        let hidden_until = now + chrono::Duration::seconds(i64::from(visibility_seconds));
        while out.delivered.len() < max {
            let Some(seq) = self.ready.pop_front() else {
                break;
            };
            let Some(m) = self.messages.get_mut(&seq) else {
                continue;
            };
            if m.visible_at > now {
                continue; // stale entry: made invisible again after it was promoted
            }
            if let Some((_, max_receives)) = &self.settings.redrive
                && m.receive_count >= *max_receives
            {
                if let Some(mut moved) = self.messages.remove(&seq) {
                    moved.receive_count = 0;
                    moved.visible_at = now;
                    out.redriven.push(moved);
                }
                continue;
            }
            m.receive_count += 1;
            m.visible_at = hidden_until;
            self.waiting.push(Reverse((hidden_until, seq)));
            out.delivered.push(ReceivedMessage {
                message_id: m.id.clone(),
                receipt_handle: receipt_handle(seq, m.receive_count),
                body: m.body.clone(),
                receive_count: m.receive_count,
                sent_at: m.sent_at,
            });
        }
        out
    }

    /// DeleteMessage; false when the handle is unknown or stale (received again since).
    pub fn delete(&mut self, handle: &str) -> bool {
        match parse_receipt_handle(handle) {
            Some((seq, count))
                if self
                    .messages
                    .get(&seq)
                    .is_some_and(|m| m.receive_count == count) =>
            {
                self.messages.remove(&seq);
                true
            }
            _ => false,
        }
    }

    /// ChangeMessageVisibility for an in-flight message.
    pub fn change_visibility(&mut self, now: Timestamp, handle: &str, seconds: u32) -> bool {
        let Some((seq, count)) = parse_receipt_handle(handle) else {
            return false;
        };
        match self.messages.get_mut(&seq) {
            Some(m) if m.receive_count == count => {
                m.visible_at = now + chrono::Duration::seconds(i64::from(seconds));
                self.waiting.push(Reverse((m.visible_at, seq)));
                true
            }
            _ => false,
        }
    }

    /// Messages in arrival order without touching them (what an operator's peek shows).
    pub fn peek(&self, max: usize) -> impl Iterator<Item = (u64, &SimMessage)> {
        self.messages.iter().take(max).map(|(s, m)| (*s, m))
    }

    /// Removes a message by id regardless of its state (operator delete, local world only).
    pub fn remove_by_id(&mut self, id: &str) -> Option<SimMessage> {
        let seq = self
            .messages
            .iter()
            .find(|(_, m)| m.id == id)
            .map(|(s, _)| *s)?;
        self.messages.remove(&seq)
    }

    pub fn stats(&self, now: Timestamp) -> QueueStats {
        let mut s = QueueStats {
            name: self.settings.name.clone(),
            ..QueueStats::default()
        };
        let mut oldest: Option<Timestamp> = None;
        for m in self.messages.values() {
            if m.visible_at <= now {
                s.visible += 1;
            } else if m.receive_count > 0 {
                s.in_flight += 1;
            } else {
                s.delayed += 1;
            }
            oldest = Some(oldest.map_or(m.sent_at, |o| o.min(m.sent_at)));
        }
        s.oldest_age_seconds = oldest.map_or(0, |o| (now - o).num_seconds().max(0) as u64);
        s
    }

    /// When the next delayed or in-flight message becomes visible, if any waits.
    pub fn next_visible_at(&self, now: Timestamp) -> Option<Timestamp> {
        let ready_live = self
            .ready
            .iter()
            .any(|seq| self.messages.get(seq).is_some_and(|m| m.visible_at <= now));
        if ready_live {
            return Some(now);
        }
        // The heap may hold stale entries; the earliest live one is what matters.
        self.waiting
            .iter()
            .filter(|Reverse((at, seq))| {
                self.messages.get(seq).is_some_and(|m| m.visible_at == *at)
            })
            .map(|Reverse((at, _))| *at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn queue(redrive: Option<(String, u32)>) -> SimQueue {
        SimQueue::new(QueueSettings {
            name: "q".into(),
            visibility_timeout_seconds: 30,
            redrive,
        })
    }

    fn msg(id: &str, visible_at: Timestamp) -> SimMessage {
        SimMessage {
            id: id.into(),
            body: format!("body-{id}"),
            sent_at: t(0),
            receive_count: 0,
            visible_at,
        }
    }

    /// A received message is hidden for the visibility timeout, then comes back counted.
    #[test]
    fn visibility_timeout_hides_then_returns_with_count() {
        let mut q = queue(None);
        q.insert(msg("a", t(0)));
        let r = q.receive(t(0), 10, 30).delivered;
        assert_eq!((r.len(), r[0].receive_count), (1, 1));
        assert!(q.receive(t(29), 10, 30).delivered.is_empty());
        assert_eq!(q.stats(t(29)).in_flight, 1);
        let again = q.receive(t(30), 10, 30).delivered;
        assert_eq!(again[0].receive_count, 2);
        assert!(
            !q.delete(&r[0].receipt_handle),
            "stale receipt handle must not delete"
        );
        assert!(q.delete(&again[0].receipt_handle));
        assert!(q.is_empty());
    }

    #[test]
    fn delay_and_batch_limit() {
        let mut q = queue(None);
        for i in 0..15 {
            q.insert(msg(&i.to_string(), t(0)));
        }
        q.insert(msg("late", t(60)));
        assert_eq!(q.stats(t(0)).delayed, 1);
        assert_eq!(q.receive(t(0), 10, 30).delivered.len(), 10);
        assert_eq!(q.receive(t(0), 10, 30).delivered.len(), 5);
        assert_eq!(q.next_visible_at(t(0)), Some(t(30)));
        let late = q.receive(t(60), 20, 30).delivered;
        assert_eq!(
            late.len(),
            16,
            "the 15 whose visibility expired, and the delayed one"
        );
        assert!(late.iter().any(|m| m.message_id == "late"));
        assert_eq!(q.stats(t(60)).oldest_age_seconds, 60);
    }

    /// After maxReceiveCount receives, the next receive moves the message out, reset.
    #[test]
    fn redrive_after_max_receive_count() {
        let mut q = queue(Some(("dlq".into(), 3)));
        q.insert(msg("a", t(0)));
        for i in 0..3 {
            let r = q.receive(t(i * 30), 10, 30);
            assert_eq!(r.delivered.len(), 1, "receive {i}");
        }
        let r = q.receive(t(90), 10, 30);
        assert!(r.delivered.is_empty());
        assert_eq!(r.redriven.len(), 1);
        assert_eq!(r.redriven[0].receive_count, 0);
        assert!(q.is_empty());
    }

    #[test]
    fn change_visibility_to_zero_releases_and_state_round_trips() {
        let mut q = queue(None);
        q.insert(msg("a", t(0)));
        let r = q.receive(t(0), 1, 30).delivered;
        assert!(q.change_visibility(t(0), &r[0].receipt_handle, 0));
        let json = serde_json::to_string(&q).unwrap();
        let mut back: SimQueue = serde_json::from_str(&json).unwrap();
        assert_eq!(back.receive(t(0), 1, 30).delivered[0].receive_count, 2);
        assert!(!back.delete("garbage"));
        assert!(back.remove_by_id("a").is_some());
    }
}
