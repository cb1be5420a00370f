//! Human-readable output: aligned tables with the numbers people compare also drawn as bars.

use crate::ops::dlq::groups::FailureGroup;
use crate::ops::dlq::{DisposalReport, DlqMessage};
use crate::ops::goal::GoalPlan;
use crate::ops::status::Status;
use crowdfund_core::domain::Timestamp;
use crowdfund_core::money::group_thousands;
use crowdfund_core::ports::FunctionTrigger;
use crowdfund_core::topology;
use std::fmt::Write;

/// `95` → `1m35s`; `0` → `-`.
/// A count with thousands separators: 10,000.
pub fn thousands(n: u64) -> String {
    crowdfund_core::money::group_thousands(i64::try_from(n).unwrap_or(i64::MAX))
}

pub fn age(seconds: u64) -> String {
    match seconds {
        0 => "-".into(),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// How long until `at`, seen at `now`, in its two largest units: `13d 23h`, `5h 07m`, `42m`,
/// `<1m`; `expired` once it has passed. At most 7 characters below 100 days.
pub fn time_left(at: Timestamp, now: Timestamp) -> String {
    let s = (at - now).num_seconds();
    let (days, hours, minutes) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if s <= 0 {
        "expired".into()
    } else if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m")
    } else {
        "<1m".into()
    }
}

/// A text bar of `width` cells for a fraction (clamped to 0..=1).
pub fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

pub fn status(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "crowdfund · {} backend · {} · clock {}",
        s.backend,
        s.target,
        s.now.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = writeln!(
        out,
        "\n{:<24} {:>8} {:>9} {:>8} {:>8}",
        "QUEUE", "VISIBLE", "IN FLIGHT", "DELAYED", "OLDEST"
    );
    for q in &s.queues {
        let depth = q.visible + q.in_flight + q.delayed;
        let flag = if topology::is_failure_queue(&q.name) && depth > 0 {
            "  ← needs attention: crowdfund-console dlq list"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<24} {:>8} {:>9} {:>8} {:>8}{flag}",
            q.name,
            q.visible,
            q.in_flight,
            q.delayed,
            age(q.oldest_age_seconds)
        );
    }
    let _ = writeln!(
        out,
        "\n{:<18} {:>12} {:>12} {:>12} {:>7}  {:<20} STATE",
        "PROJECT", "GOAL", "RAISED", "LEDGER NET", "BACKERS", "PROGRESS"
    );
    for p in &s.projects {
        let progress = if p.goal > 0 {
            p.raised as f64 / p.goal as f64
        } else {
            0.0
        };
        let state = match (p.mismatch(), p.goal_achieved_at) {
            (true, _) => "MISMATCH raised ≠ ledger net".to_string(),
            (false, Some(_)) => "goal reached".to_string(),
            (false, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "{:<18} {:>12} {:>12} {:>12} {:>7}  {} {:>4.0}% {} {}",
            p.id,
            group_thousands(p.goal),
            group_thousands(p.raised),
            group_thousands(p.ledger_net),
            p.backers,
            bar(progress, 10),
            progress * 100.0,
            p.currency,
            state
        );
    }
    let c = s.payments;
    let _ = writeln!(
        out,
        "\nPAYMENTS  approved {} · declined {} · cancelled {} · parked messages {}",
        c.approved, c.declined, c.cancelled, c.parked
    );
    out
}

pub fn messages(list: &[DlqMessage]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<11} {:<10} {:<16} {:<22} {:>3} {:>7} {:>7} {:<10} {:<10} REASON",
        "QUEUE", "ID", "KIND", "FROM", "ATT", "AGE", "EXPIRES", "PAYMENT", "LEDGER"
    );
    for m in list {
        // Seen when it was listed, as its age is.
        let listed_at = m.sent_at + chrono::Duration::seconds(m.age_seconds as i64);
        let _ = writeln!(
            out,
            "{:<11} {:<10} {:<16} {:<22} {:>3} {:>7} {:>7} {:<10} {:<10} {}",
            m.queue,
            m.message_id,
            m.kind.as_deref().unwrap_or("(unreadable)"),
            m.from.as_deref().unwrap_or("-"),
            m.attempts,
            age(m.age_seconds),
            time_left(m.expires_at, listed_at),
            m.payment_id.as_deref().unwrap_or("-"),
            m.ledger_state.as_deref().unwrap_or("-"),
            m.reason.as_deref().unwrap_or("-")
        );
    }
    if list.is_empty() {
        out.push_str("(no messages)\n");
    }
    out
}

/// `dlq groups`: one line per cause, the largest first.
pub fn groups(queue: &str, read: usize, groups: &[FailureGroup]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} message(s) of {queue} read, {} cause(s)",
        thousands(read as u64),
        groups.len()
    );
    let _ = writeln!(
        out,
        "{:>7} {:<12} {:<19} {:<19} {:<24} {:<30} CAUSE",
        "COUNT", "", "FIRST SEEN", "LAST SEEN", "KINDS", "SAMPLE IDS"
    );
    let largest = groups.iter().map(|g| g.count).max().unwrap_or(1).max(1);
    for g in groups {
        let kinds = if g.kinds.is_empty() {
            "-".to_string()
        } else {
            g.kinds.join(",")
        };
        let _ = writeln!(
            out,
            "{:>7} {:<12} {:<19} {:<19} {:<24} {:<30} {}",
            thousands(g.count),
            bar(g.count as f64 / largest as f64, 12),
            g.first_seen.format("%Y-%m-%d %H:%M:%S"),
            g.last_seen.format("%Y-%m-%d %H:%M:%S"),
            kinds,
            g.sample_ids.join(","),
            g.cause
        );
    }
    if groups.is_empty() {
        out.push_str("(no messages)\n");
    } else {
        let _ = writeln!(
            out,
            "act on one: crowdfund-console dlq redrive {queue} --reason \"CAUSE\" (or dlq list/delete/export)"
        );
    }
    out
}

pub fn disposal(r: &DisposalReport) -> String {
    let mut out = String::new();
    let verb = match (r.dry_run, r.action.as_str()) {
        (true, "delete") => "would delete",
        (false, "delete") => "deleted",
        (true, _) => "would move",
        (false, _) => "moved",
    };
    for m in &r.moved {
        if r.action == "delete" {
            let _ = writeln!(out, "  {verb} {}", m.message_id);
        } else {
            let _ = writeln!(out, "  {verb} {} → {}", m.message_id, m.to);
        }
    }
    for m in &r.skipped {
        let _ = writeln!(out, "  skipped {}: {}", m.message_id, m.reason);
    }
    for m in &r.failed {
        let _ = writeln!(
            out,
            "  FAILED {}: {} (left in {})",
            m.message_id, m.reason, r.source
        );
    }
    for m in &r.duplicated {
        let _ = writeln!(out, "  DUPLICATE {}: {}", m.message_id, m.reason);
    }
    for id in &r.not_found {
        let _ = writeln!(out, "  not found: {id} is not in {}", r.source);
    }
    if let Some(t) = &r.native {
        let _ = writeln!(
            out,
            "SQS move task {}: {} of {} moved{}",
            t.status,
            t.moved,
            t.to_move.map_or_else(|| "?".to_string(), |n| n.to_string()),
            t.failure_reason
                .as_deref()
                .map_or_else(String::new, |f| format!(" ({f})"))
        );
    }
    if let Some(f) = &r.paused_trigger {
        let _ = writeln!(
            out,
            "{f}'s trigger was paused while this ran, and resumed after it"
        );
    }
    let _ = writeln!(
        out,
        "{}{}: {} {verb}, {} failed, {} skipped, {} not found{}",
        r.action,
        if r.dry_run { " (dry run)" } else { "" },
        r.moved_count(),
        r.failed.len(),
        r.skipped.len(),
        r.not_found.len(),
        if r.cancelled {
            "; CANCELLED before the end, the rest is still in the queue"
        } else {
            ""
        }
    );
    if !r.duplicated.is_empty() {
        let ids: Vec<&str> = r.duplicated.iter().map(|m| m.message_id.as_str()).collect();
        let _ = writeln!(
            out,
            "{} of the moved message(s) are still in {} too (their delete failed): a duplicate the handlers absorb; remove them with `crowdfund-console dlq delete {} --id {}`",
            ids.len(),
            r.source,
            r.source,
            ids.join(" --id ")
        );
    }
    if let Some(b) = &r.backup {
        let _ = writeln!(out, "backup of those messages: {b}");
    }
    out
}

pub fn goal_plan(plan: &GoalPlan) -> String {
    let mut out = String::new();
    let verb = if plan.message_id.is_some() {
        "cancelling"
    } else {
        "would cancel"
    };
    let _ = writeln!(
        out,
        "goal check of {} at {}: {verb} {} payment(s), {} refunded",
        plan.project_id,
        plan.achieved_at.to_rfc3339(),
        plan.payments.len(),
        group_thousands(plan.total)
    );
    for p in &plan.payments {
        let _ = writeln!(
            out,
            "  {:<14} {:>12} {}  paid {}",
            p.payment_id,
            group_thousands(p.amount.amount),
            p.amount.currency,
            p.paid_at.to_rfc3339()
        );
    }
    out
}

/// What triggers a function: its queue, or API Gateway.
pub fn trigger_source(f: &FunctionTrigger) -> String {
    match (
        &f.mapping,
        topology::function(&f.function).map(|s| s.trigger),
    ) {
        (Some(m), _) => m.queue.clone(),
        (None, Some(topology::Trigger::HttpPost { path })) => format!("API Gateway POST {path}"),
        (None, Some(topology::Trigger::Queue { queue, .. })) => format!("{queue} (no mapping)"),
        (None, None) => "-".into(),
    }
}

/// A function's reserved concurrency: the number, `unreserved` (Lambda described it and it
/// has none: it draws on the account's pool), or `-` (nothing to say: the local world).
pub fn reserved(f: &FunctionTrigger) -> String {
    match (f.reserved_concurrency, &f.architecture) {
        (Some(n), _) => n.to_string(),
        // Lambda names an architecture for every function it describes.
        (None, Some(_)) => "unreserved".to_string(),
        (None, None) => "-".to_string(),
    }
}

/// `triggers`: one row per function.
pub fn triggers(functions: &[FunctionTrigger]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:<26} {:<9} {:>5}  {:<14} {:>10}  {:<16} {:<7} MODIFIED",
        "FUNCTION", "TRIGGER", "STATE", "BATCH", "LAST RESULT", "RESERVED", "RUNTIME", "ARCH"
    );
    let dash = || "-".to_string();
    for f in functions {
        let m = f.mapping.as_ref();
        let _ = writeln!(
            out,
            "{:<18} {:<26} {:<9} {:>5}  {:<14} {:>10}  {:<16} {:<7} {}",
            f.function,
            trigger_source(f),
            m.map_or_else(dash, |m| m.state.clone()),
            m.map_or_else(dash, |m| m.batch_size.to_string()),
            m.and_then(|m| m.last_processing_result.clone())
                .unwrap_or_else(dash),
            reserved(f),
            f.runtime.clone().unwrap_or_else(dash),
            f.architecture.clone().unwrap_or_else(dash),
            f.last_modified.clone().unwrap_or_else(dash),
        );
        if let Some(e) = &f.error {
            let _ = writeln!(out, "  {}: {e}", f.function);
        }
    }
    let paused: Vec<&str> = functions
        .iter()
        .filter(|f| f.is_paused())
        .map(|f| f.function.as_str())
        .collect();
    if !paused.is_empty() {
        let _ = writeln!(
            out,
            "paused: {} (their queues wait; `triggers resume FUNCTION`)",
            paused.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_bars_read_at_a_glance() {
        assert_eq!(age(0), "-");
        assert_eq!(age(59), "59s");
        assert_eq!(age(95), "1m35s");
        assert_eq!(age(7_260), "2h01m");
        assert_eq!(age(90_000), "1d01h");
        assert_eq!(bar(0.5, 10), "█████░░░░░");
        assert_eq!(bar(2.0, 4), "████");
        assert_eq!(bar(-1.0, 3), "░░░");
    }
}
