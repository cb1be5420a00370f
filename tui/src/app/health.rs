//! Attention rules (like k9s pulses) and the topology tree (like k9s xray), computed from a
//! snapshot. Each row says where `Enter` takes the operator to fix it.

use super::snapshot::Snapshot;
use crate::render::age;
use crowdfund_core::topology::{self, QUEUE_DLQ, QUEUE_PARKED, Trigger};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Critical,
    Warning,
    Ok,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub severity: Severity,
    pub text: String,
    /// The key that opens the place to fix it (shown), and the jump target `Enter` uses.
    pub key: &'static str,
    pub opens: Option<String>,
}

/// A queue whose oldest message is older than this many visibility timeouts is stuck.
const STUCK_FACTOR: u64 = 5;

/// Every rule that fires, worst first; a single OK row when none does.
pub fn rules(s: &Snapshot) -> Vec<Rule> {
    let mut out = Vec::new();
    // No "all clear" before the depths are in: the queues could hold anything.
    if !s.parts.queues.is_ready() {
        let text = match &s.parts.queues {
            super::snapshot::Part::Failed(e) => format!("queue depths unavailable: {e}"),
            _ => "queue depths loading…".to_string(),
        };
        out.push(Rule {
            severity: Severity::Warning,
            text,
            key: "",
            opens: None,
        });
    }
    for q in &s.status.queues {
        let depth = q.visible + q.in_flight + q.delayed;
        let spec = topology::queue(&q.name);
        if topology::is_failure_queue(&q.name) && depth > 0 {
            let what = if q.name == QUEUE_PARKED {
                "parked, waiting for a person"
            } else {
                "dead-lettered"
            };
            out.push(Rule {
                severity: if q.name == QUEUE_PARKED {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                text: format!(
                    "{}: {depth} message(s) {what}, oldest {}",
                    q.name,
                    age(q.oldest_age_seconds)
                ),
                key: "2",
                opens: Some(q.name.clone()),
            });
        }
        if let Some(spec) = spec.filter(|s| topology::function_of_queue(s.name).is_some()) {
            let limit = u64::from(spec.visibility_timeout_seconds) * STUCK_FACTOR;
            if q.oldest_age_seconds > limit && q.name != QUEUE_DLQ {
                out.push(Rule {
                    severity: Severity::Warning,
                    text: format!(
                        "{}: oldest message {} (over {STUCK_FACTOR}× its {}s visibility timeout)",
                        q.name,
                        age(q.oldest_age_seconds),
                        spec.visibility_timeout_seconds
                    ),
                    key: ":",
                    opens: Some(q.name.clone()),
                });
            }
            if spec.redrive.is_none() && spec.name != QUEUE_DLQ {
                out.push(Rule {
                    severity: Severity::Critical,
                    text: format!("{}: no redrive policy; failures would loop forever", q.name),
                    key: "5",
                    opens: Some("topology".into()),
                });
            }
        }
    }
    for f in &s.functions {
        if f.errors > 0 || f.throttles > 0 {
            out.push(Rule {
                severity: Severity::Warning,
                text: format!(
                    "λ {}: {} failed message(s), {} throttle(s) in the last {} minutes",
                    f.name,
                    f.errors,
                    f.throttles,
                    super::snapshot::ERROR_WINDOW_MINUTES
                ),
                key: "1",
                opens: Some("overview".into()),
            });
        }
    }
    let settling: u64 = [
        topology::QUEUE_PAYMENT_ATTEMPT,
        topology::QUEUE_APPROVE_PAYMENT,
        QUEUE_DLQ,
    ]
    .iter()
    .filter_map(|q| s.status.queue(q))
    .map(|q| q.visible + q.in_flight + q.delayed)
    .sum();
    for p in &s.status.projects {
        if p.mismatch() {
            // While funding changes are still queued the two legitimately differ for a moment.
            let (severity, note) = if settling > 0 {
                (
                    Severity::Warning,
                    format!(" while {settling} message(s) are in flight"),
                )
            } else {
                (Severity::Critical, " with nothing in flight".to_string())
            };
            out.push(Rule {
                severity,
                text: format!(
                    "{}: raised {} ≠ ledger net {}{note}",
                    p.id, p.raised, p.ledger_net
                ),
                key: "4",
                opens: Some("projects".into()),
            });
        }
        if let Some(&late) = s.late_payments.get(&p.id).filter(|n| **n > 0) {
            out.push(Rule {
                severity: Severity::Warning,
                text: format!(
                    "{}: {late} payment(s) approved after the goal was reached",
                    p.id
                ),
                key: "g",
                opens: Some("goal".into()),
            });
        }
    }
    out.sort_by_key(|r| r.severity);
    if out.is_empty() {
        out.push(Rule {
            severity: Severity::Ok,
            text: "all clear: no failed messages, no stuck queues, books balance".into(),
            key: "",
            opens: None,
        });
    }
    out
}

/// One line of the topology tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyRow {
    pub indent: u16,
    pub text: String,
    /// Non-zero failure or backlog worth colouring.
    pub alert: bool,
    pub opens: Option<String>,
}

/// topic → subscription → queue → redrive target → function, with live depth and errors.
pub fn topology_rows(s: &Snapshot) -> Vec<TopologyRow> {
    let depth = |name: &str| {
        s.status.queue(name).map_or((0, 0), |q| {
            (q.visible + q.in_flight + q.delayed, q.oldest_age_seconds)
        })
    };
    let errors = |name: &str| {
        s.functions
            .iter()
            .find(|f| f.name == name)
            .map_or(0, |f| f.errors)
    };
    let mut rows = vec![TopologyRow {
        indent: 0,
        text: "λ broker  ← API Gateway POST /broker".into(),
        alert: false,
        opens: Some("overview".into()),
    }];
    for t in topology::TOPICS {
        rows.push(TopologyRow {
            indent: 0,
            text: format!("◆ topic {}", t.name),
            alert: false,
            opens: None,
        });
        for q in t.subscribers {
            let (d, oldest) = depth(q);
            rows.push(TopologyRow {
                indent: 1,
                text: "└ subscription  raw delivery · no filter".into(),
                alert: false,
                opens: None,
            });
            rows.push(TopologyRow {
                indent: 2,
                text: format!("▤ queue {q}  depth {d} · oldest {}", age(oldest)),
                alert: d > 0 && oldest > 150,
                opens: Some(q.to_string()),
            });
            if let Some(r) = topology::queue(q).and_then(|spec| spec.redrive) {
                let (dd, _) = depth(r.target);
                rows.push(TopologyRow {
                    indent: 3,
                    text: format!(
                        "↪ redrive → {} after {} receives  (depth {dd})",
                        r.target, r.max_receive_count
                    ),
                    alert: dd > 0,
                    opens: Some(r.target.to_string()),
                });
            }
            if let Some(f) = topology::function_of_queue(q) {
                let batch = match f.trigger {
                    Trigger::Queue { batch_size, .. } => batch_size,
                    Trigger::HttpPost { .. } => 0,
                };
                let e = errors(f.name);
                rows.push(TopologyRow {
                    indent: 3,
                    text: format!(
                        "λ {}  batch {batch} · partial batch failures · errors {e}",
                        f.name
                    ),
                    alert: e > 0,
                    opens: Some("overview".into()),
                });
            }
        }
    }
    let (dlq, _) = depth(QUEUE_DLQ);
    let (parked, oldest) = depth(QUEUE_PARKED);
    rows.push(TopologyRow {
        indent: 0,
        text: format!(
            "▤ queue {QUEUE_DLQ}  depth {dlq}  → λ dlq_handler (retry ≤ 3, then park + Discord)"
        ),
        alert: dlq > 0,
        opens: Some(QUEUE_DLQ.into()),
    });
    rows.push(TopologyRow {
        indent: 1,
        text: format!(
            "▤ queue {QUEUE_PARKED}  depth {parked} · oldest {} · kept 14 days",
            age(oldest)
        ),
        alert: parked > 0,
        opens: Some(QUEUE_PARKED.into()),
    });
    rows
}
