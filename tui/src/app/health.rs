//! Attention rules (like k9s pulses) and the topology tree (like k9s xray), computed from a
//! snapshot. Each row says where `Enter` takes the operator to fix it.

use super::JumpTarget;
use super::snapshot::{Part, Snapshot};
use crate::render::{age, time_left};
use crowdfund_core::console_view;
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
            Part::Failed(e) => format!("queue depths unavailable: {e}"),
            _ => "queue depths loading…".to_string(),
        };
        out.push(Rule {
            severity: Severity::Warning,
            text,
            key: "",
            opens: None,
        });
    }
    // What paged on-call comes first among its kind.
    out.extend(alarm_rules(s));
    for q in &s.status.queues {
        let depth = q.visible + q.in_flight + q.delayed;
        let spec = topology::queue(&q.name);
        if q.name == QUEUE_PARKED && depth > 0 {
            out.extend(parked_rule(s, depth, q.oldest_age_seconds));
        } else if topology::is_failure_queue(&q.name) && depth > 0 {
            out.push(Rule {
                severity: Severity::Warning,
                text: format!(
                    "{}: {depth} message(s) dead-lettered, oldest {}",
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
    out.extend(expiring_soon(s));
    out.extend(trigger_rules(s));
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
        let alarms = if s.parts.alarms == Part::Loading {
            "; alarms loading…"
        } else {
            ""
        };
        out.push(Rule {
            severity: Severity::Ok,
            text: format!("all clear: no failed messages, no stuck queues, books balance{alarms}"),
            key: "",
            opens: None,
        });
    }
    out
}

/// Each alarm in ALARM as a critical row that opens the place its description links to (the
/// overview when it links nowhere, as a composite alarm may not), and a warning when
/// CloudWatch could not be asked.
fn alarm_rules(s: &Snapshot) -> Vec<Rule> {
    let mut out = Vec::new();
    if let Part::Failed(e) = &s.parts.alarms {
        out.push(Rule {
            severity: Severity::Warning,
            text: format!("CloudWatch alarms unavailable: {e}"),
            key: "",
            opens: None,
        });
    }
    for a in &s.alarms {
        let place = console_view::place_in(&a.description).unwrap_or(console_view::OVERVIEW);
        let mut text = format!("alarm {}", a.name);
        if !a.reason.is_empty() {
            text.push_str(&format!(": {}", a.reason));
        }
        if let Some(since) = a.since {
            text.push_str(&format!(" (since {})", since.format("%H:%M")));
        }
        out.push(Rule {
            severity: Severity::Critical,
            text,
            key: key_for(place),
            opens: Some(place.to_string()),
        });
    }
    out
}

/// The key shown for a place: a view's number, `2` for a failure queue (the DLQ browser),
/// `:` for any other queue.
fn key_for(place: &str) -> &'static str {
    const VIEW_KEYS: [&str; 7] = ["1", "2", "3", "4", "5", "6", "7"];
    match JumpTarget::parse(place) {
        Ok(JumpTarget::View(v)) => VIEW_KEYS.get(v.index()).copied().unwrap_or(":"),
        Ok(JumpTarget::Queue(q)) if topology::is_failure_queue(q) => "2",
        _ => ":",
    }
}

/// Paused triggers (their queues wait), triggers that report a problem, and functions Lambda
/// does not know.
fn trigger_rules(s: &Snapshot) -> Vec<Rule> {
    let mut out = Vec::new();
    if let Part::Failed(e) = &s.parts.triggers {
        out.push(Rule {
            severity: Severity::Warning,
            text: format!("Lambda triggers unavailable: {e}"),
            key: "",
            opens: None,
        });
    }
    for f in &s.triggers {
        let Some(m) = &f.mapping else { continue };
        if !m.is_enabled() {
            out.push(Rule {
                severity: Severity::Warning,
                text: format!(
                    "λ {}: trigger on {} is {}; its messages wait there (t in topology resumes it)",
                    f.function, m.queue, m.state
                ),
                key: "5",
                opens: Some("topology".into()),
            });
        }
        if let Some(problem) = m
            .last_processing_result
            .as_deref()
            .filter(|r| r.starts_with("PROBLEM"))
        {
            out.push(Rule {
                severity: Severity::Warning,
                text: format!("λ {}: trigger on {} reports {problem}", f.function, m.queue),
                key: "5",
                opens: Some("topology".into()),
            });
        }
    }
    let missing: Vec<&str> = s
        .triggers
        .iter()
        .filter(|f| f.error.is_some())
        .map(|f| f.function.as_str())
        .collect();
    if !missing.is_empty() {
        let why = s
            .triggers
            .iter()
            .find_map(|f| f.error.as_deref())
            .unwrap_or("");
        out.push(Rule {
            severity: Severity::Warning,
            text: format!(
                "Lambda cannot describe {} function(s): {} ({why})",
                missing.len(),
                missing.join(", ")
            ),
            key: "5",
            opens: Some("topology".into()),
        });
    }
    out
}

/// A failure queue's messages that SQS deletes within this many hours are warned about.
pub const EXPIRY_WARNING_HOURS: i64 = 24;

/// etc_parked holds faults, which wait for a person, and declined payments, parked as outcomes
/// that need no fix. Once its list is loaded in full the two are told apart: only faults are
/// critical, and declines alone raise nothing. Until then every parked message counts.
fn parked_rule(s: &Snapshot, depth: u64, oldest_age_seconds: u64) -> Option<Rule> {
    let parked = |text: String| Rule {
        severity: Severity::Critical,
        text,
        key: "2",
        opens: Some(QUEUE_PARKED.to_string()),
    };
    let oldest = age(oldest_age_seconds);
    if s.load(QUEUE_PARKED).state != super::snapshot::LoadState::Complete {
        return Some(parked(format!(
            "{QUEUE_PARKED}: {depth} message(s) parked, waiting for a person, oldest {oldest} (declines not told apart until the list loads)"
        )));
    }
    let list = s.list(QUEUE_PARKED);
    let declines = list.iter().filter(|m| m.declined).count();
    let faults = list.len() - declines;
    (faults > 0).then(|| {
        parked(format!(
            "{QUEUE_PARKED}: {faults} fault(s) parked, waiting for a person ({declines} declined payment(s) beside them need no fix)"
        ))
    })
}

/// A warning per failure queue with loaded messages that expire within
/// [`EXPIRY_WARNING_HOURS`]: how many, and the soonest. Each list is kept oldest first, and a
/// queue keeps all its messages for the same retention, so the list is in expiry order too:
/// the soonest is the first, and the count a binary search.
fn expiring_soon(s: &Snapshot) -> Vec<Rule> {
    let cutoff = s.status.now + chrono::Duration::hours(EXPIRY_WARNING_HOURS);
    topology::QUEUES
        .iter()
        .filter(|q| topology::is_failure_queue(q.name))
        .filter_map(|q| {
            let list = s.list(q.name);
            let soonest = list.first()?;
            let count = list.partition_point(|m| m.expires_at <= cutoff);
            (count > 0).then(|| Rule {
                severity: Severity::Warning,
                text: format!(
                    "{}: {count} message(s) expire within {EXPIRY_WARNING_HOURS}h (the soonest in \
                     {}): redrive or export them before SQS deletes them",
                    q.name,
                    time_left(soonest.expires_at, s.status.now)
                ),
                key: "2",
                opens: Some(q.name.to_string()),
            })
        })
        .collect()
}

/// One line of the topology tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyRow {
    pub indent: u16,
    pub text: String,
    /// Non-zero failure or backlog worth colouring.
    pub alert: bool,
    pub opens: Option<String>,
    /// The function on this row (its trigger is what `t` pauses or resumes).
    pub function: Option<&'static str>,
}

/// A queue function's row: its trigger as Lambda reports it (state, batch, last result), then
/// what the function is (reserved concurrency, runtime, architecture, last modified) and its
/// errors. Before Lambda has answered, the topology's batch size.
fn function_row(s: &Snapshot, f: &topology::FunctionSpec, errors: u64) -> TopologyRow {
    let known = s.triggers.iter().find(|t| t.function == f.name);
    let trigger = match known.and_then(|t| t.mapping.as_ref()) {
        Some(m) => format!(
            "trigger {} · batch {} · last {}",
            m.state,
            m.batch_size,
            m.last_processing_result.as_deref().unwrap_or("-")
        ),
        None => match f.trigger {
            Trigger::Queue { batch_size, .. } if known.is_some() => {
                format!("NO TRIGGER (batch {batch_size} expected)")
            }
            Trigger::Queue { batch_size, .. } => format!("batch {batch_size}"),
            Trigger::HttpPost { .. } => String::new(),
        },
    };
    let paused = known.is_some_and(|t| t.is_paused());
    TopologyRow {
        indent: 3,
        text: format!(
            "λ {}  {trigger} · errors {errors}{}",
            f.name,
            function_details(s, f.name)
        ),
        alert: errors > 0 || paused,
        opens: Some("overview".into()),
        function: Some(f.name),
    }
}

/// ` · reserved 20 · provided.al2023 arm64 · modified 2026-11-30T…`, or why Lambda could not
/// say; empty before it has answered.
fn function_details(s: &Snapshot, function: &str) -> String {
    let Some(t) = s.triggers.iter().find(|t| t.function == function) else {
        return String::new();
    };
    if let Some(e) = &t.error {
        return format!(" · {e}");
    }
    let mut out = String::new();
    // Lambda names an architecture for every function; without one (the local world) there
    // is no concurrency setting to speak of either.
    match (t.reserved_concurrency, &t.architecture) {
        (Some(n), _) => out.push_str(&format!(" · reserved {n}")),
        (None, Some(_)) => out.push_str(" · unreserved"),
        (None, None) => {}
    }
    let what: Vec<&str> = [&t.runtime, &t.architecture]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if !what.is_empty() {
        out.push_str(&format!(" · {}", what.join(" ")));
    }
    if let Some(m) = &t.last_modified {
        out.push_str(&format!(" · modified {}", m.get(..16).unwrap_or(m)));
    }
    out
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
        text: format!(
            "λ broker  ← API Gateway POST /broker{}",
            function_details(s, topology::FN_BROKER)
        ),
        alert: false,
        opens: Some("overview".into()),
        function: Some(topology::FN_BROKER),
    }];
    for t in topology::TOPICS {
        rows.push(TopologyRow {
            indent: 0,
            text: format!("◆ topic {}", t.name),
            alert: false,
            opens: None,
            function: None,
        });
        for q in t.subscribers {
            let (d, oldest) = depth(q);
            rows.push(TopologyRow {
                indent: 1,
                text: "└ subscription  raw delivery · no filter".into(),
                alert: false,
                opens: None,
                function: None,
            });
            rows.push(TopologyRow {
                indent: 2,
                text: format!("▤ queue {q}  depth {d} · oldest {}", age(oldest)),
                alert: d > 0 && oldest > 150,
                opens: Some(q.to_string()),
                function: None,
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
                    function: None,
                });
            }
            if let Some(f) = topology::function_of_queue(q) {
                rows.push(function_row(s, f, errors(f.name)));
            }
        }
    }
    let (dlq, _) = depth(QUEUE_DLQ);
    let (parked, oldest) = depth(QUEUE_PARKED);
    rows.push(TopologyRow {
        indent: 0,
        text: format!("▤ queue {QUEUE_DLQ}  depth {dlq}  (retry ≤ 3, then park + Discord)"),
        alert: dlq > 0,
        opens: Some(QUEUE_DLQ.into()),
        function: None,
    });
    if let Some(f) = topology::function_of_queue(QUEUE_DLQ) {
        rows.push(function_row(s, f, errors(f.name)));
    }
    rows.push(TopologyRow {
        indent: 1,
        text: format!(
            "▤ queue {QUEUE_PARKED}  depth {parked} · oldest {} · kept 14 days",
            age(oldest)
        ),
        alert: parked > 0,
        opens: Some(QUEUE_PARKED.into()),
        function: None,
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::snapshot::{ListLoad, LoadState, Parts};
    use crate::ops::dlq::to_dlq_message;
    use crowdfund_core::domain::Timestamp;
    use crowdfund_core::ports::QueueStats;
    use crowdfund_core::ports::{FiringAlarm, ReceivedMessage};

    /// Parked messages sent `hours_ago` each (oldest first), seen at `now`.
    fn parked(now: Timestamp, hours_ago: &[i64]) -> Snapshot {
        let list = hours_ago
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let received = ReceivedMessage {
                    message_id: format!("m-{i}"),
                    receipt_handle: String::new(),
                    body: "{}".into(),
                    receive_count: 1,
                    sent_at: now - chrono::Duration::hours(*h),
                };
                to_dlq_message(QUEUE_PARKED, received, now)
            })
            .collect();
        let mut s = Snapshot::empty("local", "test", now);
        s.lists.insert(QUEUE_PARKED.into(), list);
        s
    }

    /// etc_parked with `faults` faults and `declines` parked declines, its list loaded in
    /// full (or still loading), seen by the queue count too.
    fn parked_mix(faults: usize, declines: usize, state: LoadState) -> Snapshot {
        let now: Timestamp = "2026-11-20T12:30:00Z".parse().expect("a time");
        let message = |i: usize, declined: bool| {
            let body =
                serde_json::json!({"kind": "payment_attempt", "declined": declined, "payload": {}});
            let received = ReceivedMessage {
                message_id: format!("m-{i}"),
                receipt_handle: String::new(),
                body: body.to_string(),
                receive_count: 1,
                sent_at: now - chrono::Duration::minutes(5),
            };
            to_dlq_message(QUEUE_PARKED, received, now)
        };
        let list: Vec<_> = (0..faults)
            .map(|i| message(i, false))
            .chain((faults..faults + declines).map(|i| message(i, true)))
            .collect();
        let mut s = Snapshot::empty("aws", "test", now);
        s.parts = Parts::ready();
        s.status.queues = vec![QueueStats {
            name: QUEUE_PARKED.into(),
            visible: list.len() as u64,
            in_flight: 0,
            delayed: 0,
            oldest_age_seconds: 300,
        }];
        s.lists.insert(QUEUE_PARKED.into(), list);
        s.loads.insert(
            QUEUE_PARKED.into(),
            ListLoad {
                state,
                queue_count: None,
            },
        );
        s
    }

    fn parked_rows(s: &Snapshot) -> Vec<Rule> {
        rules(s)
            .into_iter()
            .filter(|r| r.text.starts_with("etc_parked:"))
            .collect()
    }

    /// Declined payments are parked as outcomes: once the list is loaded, only faults are
    /// critical, declines alone raise nothing; while it loads, every parked message counts.
    #[test]
    fn parked_declines_are_not_critical_once_told_apart() {
        let only_declines = parked_rows(&parked_mix(0, 3, LoadState::Complete));
        assert!(only_declines.is_empty(), "{only_declines:?}");
        let mixed = parked_rows(&parked_mix(2, 3, LoadState::Complete));
        assert_eq!(mixed.len(), 1);
        assert_eq!(mixed[0].severity, Severity::Critical);
        assert_eq!(
            mixed[0].text,
            "etc_parked: 2 fault(s) parked, waiting for a person (3 declined payment(s) beside them need no fix)"
        );
        let loading = parked_rows(&parked_mix(0, 3, LoadState::Loading));
        assert_eq!(loading.len(), 1);
        assert_eq!(loading[0].severity, Severity::Critical);
        assert!(
            loading[0].text.contains("3 message(s) parked"),
            "{}",
            loading[0].text
        );
    }

    /// An alarm in ALARM since 12:03 UTC, with CloudWatch's reason.
    fn firing(name: &str, description: &str, composite: bool) -> FiringAlarm {
        FiringAlarm {
            name: name.into(),
            description: description.into(),
            reason: "Threshold Crossed: 1 datapoint [4.0] was greater than the threshold (0.0)"
                .into(),
            since: "2026-11-20T12:03:09Z".parse().ok(),
            composite,
        }
    }

    fn with_alarms(alarms: Vec<FiringAlarm>) -> Snapshot {
        let now: Timestamp = "2026-11-20T12:30:00Z".parse().expect("a time");
        let mut s = Snapshot::empty("aws", "test", now);
        s.parts = Parts::ready();
        s.alarms = alarms;
        s
    }

    /// A firing alarm is a critical row naming it, CloudWatch's reason and since when, and
    /// `Enter` opens the place its description links to.
    #[test]
    fn a_firing_alarm_is_a_critical_row_opening_its_place() {
        let parked = firing(
            "crowdfund-dev-parked-not-empty",
            &format!(
                "Messages wait in etc_parked. {}",
                console_view::link(console_view::for_queue(QUEUE_PARKED))
            ),
            false,
        );
        let pg = firing(
            "crowdfund-dev-pg-errors",
            &format!(
                "pg fails. {}",
                console_view::link(console_view::for_function(topology::FN_PG))
            ),
            false,
        );
        let found = rules(&with_alarms(vec![parked, pg]));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|r| r.severity == Severity::Critical));
        assert_eq!(
            found[0].text,
            "alarm crowdfund-dev-parked-not-empty: Threshold Crossed: 1 datapoint [4.0] was \
             greater than the threshold (0.0) (since 12:03)"
        );
        assert_eq!(
            (found[0].opens.as_deref(), found[0].key),
            (Some(QUEUE_PARKED), "2")
        );
        assert_eq!(
            (found[1].opens.as_deref(), found[1].key),
            (Some(console_view::TOPOLOGY), "5")
        );
    }

    /// A composite alarm (or any) without a console link opens the overview.
    #[test]
    fn an_alarm_without_a_link_opens_the_overview() {
        let mut composite = firing("crowdfund-dev-pipeline", "Anything of the pipeline.", true);
        composite.reason = String::new();
        composite.since = None;
        let found = rules(&with_alarms(vec![composite]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].severity, Severity::Critical);
        assert_eq!(found[0].text, "alarm crowdfund-dev-pipeline");
        assert_eq!(
            (found[0].opens.as_deref(), found[0].key),
            (Some(console_view::OVERVIEW), "1")
        );
    }

    /// A failed DescribeAlarms adds one warning naming the error; every other row stays.
    #[test]
    fn a_failed_alarm_read_is_a_warning_and_changes_nothing_else() {
        let alarm = firing("crowdfund-dev-pipeline", "", true);
        let mut s = with_alarms(vec![alarm]);
        let before = rules(&s);
        let denied = "CloudWatch: DescribeAlarms crowdfund-dev-* in ALARM: not allowed \
                      (cloudwatch:DescribeAlarms on alarms crowdfund-dev-*)";
        s.apply(
            crate::app::snapshot::Update::Alarms(Err(denied.into())),
            s.status.now,
        );
        let after = rules(&s);
        let warning = Rule {
            severity: Severity::Warning,
            text: format!("CloudWatch alarms unavailable: {denied}"),
            key: "",
            opens: None,
        };
        let mut expected = before;
        expected.push(warning);
        assert_eq!(after, expected);
    }

    /// Until CloudWatch answers, the all-clear says the alarms are not in yet.
    #[test]
    fn all_clear_waits_for_the_alarms() {
        let mut s = with_alarms(Vec::new());
        assert_eq!(rules(&s)[0].severity, Severity::Ok);
        assert!(!rules(&s)[0].text.contains("alarms"));
        s.parts.alarms = Part::Loading;
        assert!(rules(&s)[0].text.ends_with("alarms loading…"));
    }

    fn expiry_rules(s: &Snapshot) -> Vec<Rule> {
        rules(s)
            .into_iter()
            .filter(|r| r.text.contains("expire"))
            .collect()
    }

    /// Parked messages kept 14 days: those sent over 13 days ago expire within 24 hours, and
    /// the rule counts them and names the soonest; younger ones raise nothing.
    #[test]
    fn parked_messages_expiring_within_a_day_are_warned_about() {
        let now: Timestamp = "2026-11-20T12:00:00Z".parse().expect("a time");
        let day = 24;
        let s = parked(now, &[14 * day - 3, 13 * day + 1, 13 * day - 1, 2]);
        let found = expiry_rules(&s);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(
            found[0].text,
            "etc_parked: 2 message(s) expire within 24h (the soonest in 3h 00m): redrive or \
             export them before SQS deletes them"
        );
        assert_eq!(found[0].opens.as_deref(), Some(QUEUE_PARKED));
        assert!(expiry_rules(&parked(now, &[13 * day - 1, 2])).is_empty());
        assert!(expiry_rules(&parked(now, &[])).is_empty());
    }
}
