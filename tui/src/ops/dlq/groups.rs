//! Failures grouped by cause, and the filter rules the CLI (`--reason`, `--grep`) and the TUI
//! (a group, `/`) share, so both act on exactly the same messages.
//!
//! A cause is the message's `lastError` with what varies from one message to the next taken
//! out: ids, amounts, times and e-mail addresses become `<id>`, `<n>`, `<time>`, `<email>`.
//! "payment pay-000036 was declined: card declined" and "payment pay-000111 was declined: card
//! declined" are one cause. HTTP status codes stay: a 503 is another incident than a 400.

use super::DlqMessage;
use crowdfund_core::domain::Timestamp;
pub use crowdfund_core::reasons::normalise_reason;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// The cause of a body that is not a JSON envelope: nothing in it says why it failed.
pub const UNREADABLE: &str = "(unreadable body: not a JSON envelope)";
/// The cause of an envelope without `lastError`.
pub const NO_REASON: &str = "(no reason recorded)";
/// Sample ids a group carries.
pub const SAMPLES: usize = 3;

/// The cause `m` is grouped under.
pub fn cause_of(m: &DlqMessage) -> String {
    if !m.body.is_object() {
        return UNREADABLE.to_string();
    }
    match m.reason.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => normalise_reason(r),
        _ => NO_REASON.to_string(),
    }
}

/// One cause and the messages that failed for it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FailureGroup {
    pub cause: String,
    pub count: u64,
    /// The message kinds in the group (`payment_attempt`, …; empty for unreadable bodies).
    pub kinds: Vec<String>,
    /// When the oldest and newest of them were sent to the queue.
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// The oldest few message ids.
    pub sample_ids: Vec<String>,
}

/// A group while messages are added: its kinds, and the oldest ids seen so far.
type Growing<'a> = (FailureGroup, BTreeSet<String>, Vec<(Timestamp, &'a str)>);

/// The causes of `messages`, the largest group first (ties: the oldest first).
pub fn group_by_cause<'a>(messages: impl IntoIterator<Item = &'a DlqMessage>) -> Vec<FailureGroup> {
    let mut groups: HashMap<String, Growing<'a>> = HashMap::new();
    for m in messages {
        let cause = cause_of(m);
        let (g, kinds, samples) = groups.entry(cause.clone()).or_insert_with(|| {
            let g = FailureGroup {
                cause,
                count: 0,
                kinds: Vec::new(),
                first_seen: m.sent_at,
                last_seen: m.sent_at,
                sample_ids: Vec::new(),
            };
            (g, BTreeSet::new(), Vec::new())
        });
        g.count += 1;
        g.first_seen = g.first_seen.min(m.sent_at);
        g.last_seen = g.last_seen.max(m.sent_at);
        if let Some(k) = &m.kind {
            kinds.insert(k.clone());
        }
        samples.push((m.sent_at, m.message_id.as_str()));
        if samples.len() > SAMPLES * 8 {
            // Only the oldest few are kept; trimming now and then keeps this linear.
            samples.sort();
            samples.truncate(SAMPLES);
        }
    }
    let mut out: Vec<FailureGroup> = groups
        .into_values()
        .map(|(mut g, kinds, mut samples)| {
            samples.sort();
            g.sample_ids = samples
                .iter()
                .take(SAMPLES)
                .map(|(_, id)| id.to_string())
                .collect();
            g.kinds = kinds.into_iter().collect();
            g
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.first_seen.cmp(&b.first_seen))
            .then(a.cause.cmp(&b.cause))
    });
    out
}

/// Which messages an action or a view takes: by cause (`--reason`, a group in the TUI) and by
/// text (`--grep`, `/` in the TUI). Both match case-insensitively; an empty filter takes all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageFilter {
    /// Matches messages whose cause is exactly this one (a group opened in the TUI).
    pub cause: Option<String>,
    /// Matches messages whose cause contains this text once normalised, so a reason copied
    /// from one message, or a cause from `dlq groups`, takes the whole group.
    pub reason: Option<String>,
    /// Matches messages whose id, ledger state or body (any key or value) contains this text.
    pub grep: Option<String>,
}

impl MessageFilter {
    pub fn new(reason: Option<String>, grep: Option<String>) -> Self {
        let keep = |t: Option<String>| t.filter(|t| !t.trim().is_empty());
        MessageFilter {
            cause: None,
            reason: keep(reason),
            grep: keep(grep),
        }
    }

    /// Exactly the messages of one group (as [`group_by_cause`] named it), and `grep`.
    pub fn group(cause: Option<String>, grep: Option<String>) -> Self {
        MessageFilter {
            cause,
            ..MessageFilter::new(None, grep)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cause.is_none() && self.reason.is_none() && self.grep.is_none()
    }

    /// A matcher for many messages: the texts are prepared once.
    pub fn matcher(&self) -> Matcher {
        Matcher {
            cause: self.cause.clone(),
            reason: self
                .reason
                .as_deref()
                .map(|r| normalise_reason(r.trim()).to_lowercase()),
            grep: self.grep.as_deref().map(|g| g.trim().to_lowercase()),
        }
    }

    /// How the confirmation and the audit line name it: `cause ~ "…" and text ~ "…"`.
    pub fn describe(&self) -> Option<String> {
        let parts: Vec<String> = [
            ("cause =", &self.cause),
            ("cause ~", &self.reason),
            ("text ~", &self.grep),
        ]
        .into_iter()
        .filter_map(|(what, t)| t.as_ref().map(|t| format!("{what} {:?}", t.trim())))
        .collect();
        (!parts.is_empty()).then(|| parts.join(" and "))
    }
}

/// A [`MessageFilter`] ready to test messages.
#[derive(Debug, Clone)]
pub struct Matcher {
    cause: Option<String>,
    reason: Option<String>,
    grep: Option<String>,
}

impl Matcher {
    pub fn matches(&self, m: &DlqMessage) -> bool {
        if self.grep.as_deref().is_some_and(|g| !text_contains(m, g)) {
            return false;
        }
        if self.cause.is_none() && self.reason.is_none() {
            return true;
        }
        let cause = cause_of(m);
        self.cause.as_deref().is_none_or(|c| c == cause)
            && self
                .reason
                .as_deref()
                .is_none_or(|r| cause.to_lowercase().contains(r))
    }
}

/// True when `needle` (lower case) is in the message's id, ledger state or body.
fn text_contains(m: &DlqMessage, needle: &str) -> bool {
    contains_ignoring_case(&m.message_id, needle)
        || m.ledger_state
            .as_deref()
            .is_some_and(|s| contains_ignoring_case(s, needle))
        || value_contains(&m.body, needle)
}

fn value_contains(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => contains_ignoring_case(s, needle),
        Value::Number(n) => n.to_string().contains(needle),
        Value::Bool(b) => contains_ignoring_case(if *b { "true" } else { "false" }, needle),
        Value::Null => false,
        Value::Array(items) => items.iter().any(|i| value_contains(i, needle)),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| contains_ignoring_case(k, needle) || value_contains(v, needle)),
    }
}

/// `haystack` contains `needle` (already lower case), ASCII case ignored, without allocating:
/// the TUI runs this over every loaded message as the filter is typed.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return true;
    }
    if !needle.is_ascii() {
        return haystack.to_lowercase().contains(needle);
    }
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn message(id: &str, minute: u32, body: Value) -> DlqMessage {
        let sent_at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 30, 10, minute, 0)
            .single()
            .expect("a valid time");
        let received = crowdfund_core::ports::ReceivedMessage {
            message_id: id.to_string(),
            receipt_handle: String::new(),
            body: body.to_string(),
            receive_count: 1,
            sent_at,
        };
        super::super::to_dlq_message("etc_parked", received, sent_at)
    }

    fn failed(id: &str, minute: u32, reason: &str) -> DlqMessage {
        message(
            id,
            minute,
            serde_json::json!({"kind": "payment_attempt", "from": "payment_attempt_queue",
                "attempts": 3, "payload": {"paymentId": id, "card": "tok_decline"},
                "lastError": reason}),
        )
    }

    #[test]
    fn varying_parts_are_taken_out_of_a_reason() {
        assert_eq!(
            normalise_reason("payment pay-000036 was declined: card declined"),
            "payment <id> was declined: card declined"
        );
        assert_eq!(
            normalise_reason("funding API answered HTTP 503 for prj-solar-kiosk after 10.5s"),
            "funding API answered HTTP 503 for prj-solar-kiosk after <id>"
        );
        assert_eq!(
            normalise_reason("mail to \"kim@example.com\" failed at 2026-11-30T10:00:00Z"),
            "mail to \"<email>\" failed at <time>"
        );
        assert_eq!(
            normalise_reason("invalid type: string \"lots\", expected i64 at line 1 column 93"),
            "invalid type: string \"lots\", expected i64 at line <n> column <n>"
        );
        assert_eq!(
            normalise_reason("amount 50,000 over limit 1000"),
            "amount <n> over limit <n>"
        );
    }

    #[test]
    fn messages_group_by_cause_with_counts_kinds_times_and_samples() {
        let mut messages = vec![
            failed("pay-3", 3, "payment pay-3 was declined: card declined"),
            failed("pay-1", 1, "payment pay-1 was declined: card declined"),
            failed("pay-2", 2, "payment pay-2 was declined: card declined"),
            failed("pay-9", 9, "PSP timed out after 10000 ms"),
            message("m-x", 5, Value::String("not json".into())),
        ];
        messages.push(failed(
            "pay-4",
            4,
            "payment pay-4 was declined: card declined",
        ));
        let groups = group_by_cause(&messages);
        let summary: Vec<(&str, u64)> =
            groups.iter().map(|g| (g.cause.as_str(), g.count)).collect();
        assert_eq!(
            summary,
            vec![
                ("payment <id> was declined: card declined", 4),
                (UNREADABLE, 1),
                ("PSP timed out after <n> ms", 1),
            ]
        );
        let declined = &groups[0];
        assert_eq!(declined.kinds, vec!["payment_attempt".to_string()]);
        assert_eq!(declined.sample_ids, vec!["pay-1", "pay-2", "pay-3"]);
        assert_eq!(declined.first_seen.format("%M").to_string(), "01");
        assert_eq!(declined.last_seen.format("%M").to_string(), "04");
        assert!(groups[1].kinds.is_empty());
    }

    #[test]
    fn a_reason_filter_takes_the_whole_group_and_grep_reads_the_body() {
        let messages = [
            failed("pay-1", 1, "payment pay-1 was declined: card declined"),
            failed("pay-2", 2, "PSP timed out after 10000 ms"),
            message("m-x", 3, Value::String("garbage TOK_DECLINE".into())),
        ];
        let ids = |f: MessageFilter| -> Vec<&str> {
            let m = f.matcher();
            messages
                .iter()
                .filter(|x| m.matches(x))
                .map(|x| x.message_id.as_str())
                .collect()
        };
        // A reason copied from another message of the group.
        let copied = MessageFilter::new(Some("payment pay-777 was DECLINED".into()), None);
        assert_eq!(ids(copied), vec!["pay-1"]);
        assert_eq!(
            ids(MessageFilter::new(Some("unreadable".into()), None)),
            vec!["m-x"]
        );
        assert_eq!(
            ids(MessageFilter::new(None, Some("tok_decline".into()))),
            vec!["pay-1", "pay-2", "m-x"]
        );
        let both = MessageFilter::new(Some("timed out".into()), Some("tok_".into()));
        assert_eq!(ids(both.clone()), vec!["pay-2"]);
        assert_eq!(
            both.describe().as_deref(),
            Some("cause ~ \"timed out\" and text ~ \"tok_\"")
        );
        let group = MessageFilter::group(Some("PSP timed out after <n> ms".into()), None);
        assert_eq!(ids(group.clone()), vec!["pay-2"]);
        assert_eq!(
            group.describe().as_deref(),
            Some("cause = \"PSP timed out after <n> ms\"")
        );
        let empty = MessageFilter::new(Some("  ".into()), None);
        assert!(empty.is_empty());
        assert_eq!(ids(empty), vec!["pay-1", "pay-2", "m-x"]);
    }
}
