//! The metric history the stakeholder charts are drawn from, read from the local world with
//! the same metric names the Lambdas emit and the TUI's overview charts.

use crate::backend::LocalWorld;
use crate::ops::status::collect_status;
use anyhow::Result;
use crowdfund_core::domain::Project;
use crowdfund_core::metrics::MetricName;
use crowdfund_core::progress::{PACE_WINDOW_DAYS, SECONDS_PER_DAY};
use crowdfund_dashboards::report::{History, ProjectBar, ThroughputPoint};
use crowdfund_dashboards::stakeholders::{progress_figures, read_minute_buckets};
use futures::executor::block_on;

/// The last `since` of the world's (simulated) clock.
pub fn local_history(world: &LocalWorld, since: std::time::Duration) -> Result<History> {
    let status = block_on(collect_status(&world.backend()))?;
    let now = status.now.timestamp().div_euclid(60);
    let from = now - (since.as_secs() / 60).max(1) as i64;
    let buckets = world.world().metric_buckets();
    // Start where the world's history starts, not hours of empty chart before it.
    let from = buckets.keys().next().map_or(from, |first| from.max(*first));
    let count = |minute: i64, name: MetricName| {
        buckets
            .get(&minute)
            .and_then(|b| b.get(&name))
            .copied()
            .unwrap_or(0)
            .max(0) as u64
    };
    let throughput = (from..=now)
        .map(|minute| ThroughputPoint {
            minute,
            approved: count(minute, MetricName::PaymentsApproved),
            declined: count(minute, MetricName::PaymentsDeclined),
            cancelled: count(minute, MetricName::PaymentsCancelled),
        })
        .collect();
    let depths = world
        .world()
        .depth_history()
        .into_iter()
        .filter(|(m, _)| *m >= from)
        .collect();
    // Each project's figures by the stakeholder dashboard's own expressions, over the pace
    // window of the world's per-project metrics.
    let project_buckets = world.world().project_metric_buckets();
    let now_seconds = status.now.timestamp();
    let window_start = now_seconds - PACE_WINDOW_DAYS * SECONDS_PER_DAY;
    let no_buckets = Default::default();
    let projects = status
        .projects
        .iter()
        .map(|p| -> Result<ProjectBar> {
            let buckets = project_buckets.get(&p.id).unwrap_or(&no_buckets);
            let read = read_minute_buckets(
                buckets,
                window_start.div_euclid(60),
                now_seconds.div_euclid(60),
            );
            let project = Project {
                id: p.id.clone(),
                title: p.title.clone(),
                goal: p.goal,
                currency: p.currency,
                raised: p.raised,
                backers: p.backers,
                deadline: p.deadline,
                goal_achieved_at: p.goal_achieved_at,
            };
            Ok(ProjectBar {
                figures: progress_figures(&project, now_seconds, read)?,
                id: p.id.clone(),
                goal: p.goal,
                raised: p.raised,
                currency: p.currency.to_string(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(History {
        throughput,
        depths,
        projects,
        source: format!(
            "local world ({}), last {} min to {} (simulated clock)",
            status.target,
            now - from,
            status.now.format("%Y-%m-%d %H:%M UTC")
        ),
    })
}
