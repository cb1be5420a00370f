//! `status` (and no subcommand without a terminal): queue depths, projects with their
//! projections, payment counts.

use super::{Console, Place, print_json};
use crate::ops::status::{Status, collect_status};
use crate::render;
use anyhow::{Context, Result};
use crowdfund_core::money::group_thousands;
use crowdfund_core::progress::PACE_WINDOW_DAYS;
use std::fmt::Write;

pub fn run(console: &Console, json: bool) -> Result<()> {
    let s = console.block_on(read(console))?;
    if json {
        print_json(&s)
    } else {
        print!("{}", render::status(&s));
        print!("{}", projections(&s));
        Ok(())
    }
}

/// Each project's percent of goal and where the last 7 days' net takes it, one line each.
pub fn projections(s: &Status) -> String {
    let mut out = String::new();
    if s.projects.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "\nPROJECTION at the last {PACE_WINDOW_DAYS} days' pace (approved − refunded in the ledger)"
    );
    for p in &s.projects {
        let j = &p.projection;
        let deadline = if j.days_left < 0.0 {
            "deadline passed".to_string()
        } else {
            format!("deadline in {:.1} days", j.days_left)
        };
        let outlook = match (j.days_to_goal, j.reaches_goal_at) {
            (Some(d), _) if d <= 0.0 => "goal reached".to_string(),
            (Some(d), Some(at)) => format!(
                "goal in {d:.1} days ({}), {deadline}: {}",
                at.format("%Y-%m-%d"),
                if j.on_track { "on track" } else { "too slow" }
            ),
            _ => format!("no net funding at this pace, {deadline}: not on track"),
        };
        let _ = writeln!(
            out,
            "{:<18} {:>5.0}% of goal  {PACE_WINDOW_DAYS}d net {:>12} {}  {outlook}",
            p.id,
            j.percent_of_goal,
            group_thousands(j.net_last_7_days),
            p.currency,
        );
    }
    out
}

async fn read(console: &Console) -> Result<Status> {
    match &console.place {
        Place::Local(_) => collect_status(&console.backend)
            .await
            .context("reading status"),
        #[cfg(feature = "aws")]
        Place::Aws { target, .. } => {
            if target.api_url.is_none() {
                eprintln!("no --api-url: projects are not listed");
            }
            let mut s = collect_status(&console.backend)
                .await
                .with_context(|| format!("reading status from {}", console.backend.target))?;
            fill_ages(console, &mut s).await;
            Ok(s)
        }
    }
}

/// SQS has no age-of-oldest attribute; CloudWatch (the backend's metrics port) has it.
/// Without it, say so.
#[cfg(feature = "aws")]
async fn fill_ages(console: &Console, s: &mut Status) {
    if let Some(metrics) = &console.backend.metrics
        && let Err(e) = metrics.queue_ages(&mut s.queues, s.now.timestamp()).await
    {
        eprintln!("warning: ages of oldest messages unknown: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::status::{PaymentCounts, ProjectStatus};
    use crowdfund_core::money::Currency;
    use crowdfund_core::progress;

    fn project(
        id: &str,
        goal: i64,
        raised: i64,
        net: i64,
        now: crowdfund_core::domain::Timestamp,
    ) -> ProjectStatus {
        let deadline = now + chrono::Duration::days(10);
        ProjectStatus {
            id: id.into(),
            title: id.into(),
            goal,
            raised,
            ledger_net: raised,
            currency: Currency::KRW,
            backers: 1,
            goal_achieved_at: None,
            deadline,
            projection: progress::project(goal, raised, deadline, net, now),
        }
    }

    #[test]
    fn the_projection_says_percent_of_goal_and_when_the_pace_gets_there() {
        let now = crowdfund_core::sim::epoch();
        let s = Status {
            backend: "local".into(),
            target: "test".into(),
            now,
            queues: Vec::new(),
            projects: vec![
                project("prj-fast", 1_000_000, 700_000, 700_000, now),
                project("prj-slow", 1_000_000, 100_000, 70_000, now),
                project("prj-idle", 1_000_000, 0, 0, now),
                project("prj-done", 1_000_000, 1_200_000, 0, now),
            ],
            payments: PaymentCounts::default(),
        };
        let text = projections(&s);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert!(lines[2].contains("70% of goal"), "{text}");
        assert!(lines[2].contains("7d net      700,000 KRW"), "{text}");
        assert!(
            lines[2].contains("goal in 3.0 days (2025-11-23), deadline in 10.0 days: on track"),
            "{text}"
        );
        assert!(
            lines[3].contains("goal in 90.0 days") && lines[3].ends_with("too slow"),
            "{text}"
        );
        assert!(lines[4].contains("no net funding at this pace"), "{text}");
        assert!(
            lines[5].contains("120% of goal") && lines[5].ends_with("goal reached"),
            "{text}"
        );
        assert_eq!(
            projections(&Status {
                projects: Vec::new(),
                ..s
            }),
            ""
        );
    }
}
