//! The DLQ list's order (`o` cycles it).
//!
//! The snapshot keeps each queue's list by SentTimestamp, oldest first. A queue keeps every
//! message for the same retention, so a message's expiry is its SentTimestamp plus one
//! constant: in one queue, oldest first *is* soonest to expire first, and the one order
//! serves both. The other order is newest first: the latest failures on top, as an incident
//! unfolds. Neither sorts anything: the list is read forwards or backwards, so a frame costs
//! the same with ten thousand messages.

use crate::app::snapshot::Snapshot;
use crate::ops::dlq::DlqMessage;
use std::ops::Range;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// Soonest to expire first (oldest SentTimestamp first): what SQS deletes next on top.
    #[default]
    ExpiringFirst,
    /// Newest SentTimestamp first.
    NewestFirst,
}

impl ListOrder {
    /// The order `o` turns to.
    pub fn next(self) -> Self {
        match self {
            ListOrder::ExpiringFirst => ListOrder::NewestFirst,
            ListOrder::NewestFirst => ListOrder::ExpiringFirst,
        }
    }

    /// How the list's title names the order.
    pub fn label(self) -> &'static str {
        match self {
            ListOrder::ExpiringFirst => "expiring first",
            ListOrder::NewestFirst => "newest first",
        }
    }
}

/// `list` (oldest first, as the snapshot keeps it) in `order`.
pub fn in_order(list: &[DlqMessage], order: ListOrder) -> impl Iterator<Item = &DlqMessage> {
    let (forwards, backwards) = match order {
        ListOrder::ExpiringFirst => (Some(list.iter()), None),
        ListOrder::NewestFirst => (None, Some(list.iter().rev())),
    };
    forwards
        .into_iter()
        .flatten()
        .chain(backwards.into_iter().flatten())
}

/// The rows at `range` of `list` in `order`, cut from the slice without walking the rest.
pub fn window_in_order(
    list: &[DlqMessage],
    order: ListOrder,
    range: Range<usize>,
) -> Vec<&DlqMessage> {
    let len = list.len();
    let end = range.end.min(len);
    let start = range.start.min(end);
    match order {
        ListOrder::ExpiringFirst => list
            .get(start..end)
            .map_or_else(Vec::new, |rows| rows.iter().collect()),
        ListOrder::NewestFirst => list
            .get(len - end..len - start)
            .map_or_else(Vec::new, |rows| rows.iter().rev().collect()),
    }
}

impl super::DlqBrowser {
    /// Turns the list to the next order, keeping the selected message (and the mark range's
    /// anchor) on the same message: the list is the same, read the other way.
    pub(super) fn cycle_order(&mut self, s: &Snapshot) {
        let last = self.row_count(s).saturating_sub(1);
        self.order = self.order.next();
        self.cursor.selected = last.saturating_sub(self.cursor.selected);
        self.anchor = self.anchor.map(|a| last.saturating_sub(a));
        self.render_cache.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` messages of etc_parked sent a minute apart, oldest first.
    fn list(n: usize) -> Vec<DlqMessage> {
        let t0: crowdfund_core::domain::Timestamp = "2026-11-20T12:00:00Z".parse().expect("a time");
        (0..n)
            .map(|i| {
                let received = crowdfund_core::ports::ReceivedMessage {
                    message_id: format!("m-{i}"),
                    receipt_handle: String::new(),
                    body: "{}".into(),
                    receive_count: 1,
                    sent_at: t0 + chrono::Duration::minutes(i as i64),
                };
                crate::ops::dlq::to_dlq_message("etc_parked", received, t0)
            })
            .collect()
    }

    fn ids<'a>(rows: impl IntoIterator<Item = &'a DlqMessage>) -> Vec<&'a str> {
        rows.into_iter().map(|m| m.message_id.as_str()).collect()
    }

    /// Expiring first is the list as kept (soonest expiry on top); newest first reverses it;
    /// a window cuts the same rows as walking the whole order would, out of range included.
    #[test]
    fn the_orders_read_the_list_forwards_or_backwards() {
        let l = list(5);
        let expiring = ids(in_order(&l, ListOrder::ExpiringFirst));
        assert_eq!(expiring, ["m-0", "m-1", "m-2", "m-3", "m-4"]);
        assert!(l.windows(2).all(|w| w[0].expires_at <= w[1].expires_at));
        let newest = ids(in_order(&l, ListOrder::NewestFirst));
        assert_eq!(newest, ["m-4", "m-3", "m-2", "m-1", "m-0"]);
        for order in [ListOrder::ExpiringFirst, ListOrder::NewestFirst] {
            for range in [0..2, 1..4, 3..9, 7..9, 0..0] {
                let walked: Vec<&str> = ids(in_order(&l, order))
                    .into_iter()
                    .skip(range.start)
                    .take(range.len())
                    .collect();
                assert_eq!(
                    ids(window_in_order(&l, order, range.clone())),
                    walked,
                    "{order:?} {range:?}"
                );
            }
        }
        assert_eq!(ListOrder::ExpiringFirst.next(), ListOrder::NewestFirst);
        assert_eq!(ListOrder::NewestFirst.next(), ListOrder::ExpiringFirst);
    }
}
