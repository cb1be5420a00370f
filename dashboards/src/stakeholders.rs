//! The stakeholder dashboard: one progress row per project (raised against goal, backers, days
//! left, the approved, declined and refunded amounts, and when the goal is reached at the recent
//! pace), then payments, money and success rate over all projects. Everything comes from the
//! custom metrics the Lambdas emit (namespace and names from `crowdfund_core::metrics`); the
//! project list (ids, titles, deadlines) comes from the funding API or the local world when the
//! dashboard is generated, so `dashboards deploy` adds a row when a project is added.
//!
//! A progress row is one single-value widget over the dashboard's time range (7 days by
//! default, [`crowdfund_core::progress::PACE_WINDOW_DAYS`]). The levels come from the gauges
//! funding_update sends after each raise or reversal; they are totals that only grow (raised
//! ever, reversed ever, pledges, reversals), so their `Maximum` over the range is the latest,
//! and raised = raised ever − reversed, backers = pledges − reversals, exactly, whatever order
//! the gauges arrived in. The amounts are sums over the range, and the pace is their net per
//! day over the range.

use crate::Target;
use crate::grid::Grid;
use crate::widgets::{Graph, metric, metric_widget, text_widget};
use crowdfund_core::domain::Project;
use crowdfund_core::metrics::{DIM_PROJECT, MetricName, NAMESPACE};
use crowdfund_core::progress::{PACE_WINDOW_DAYS, SECONDS_PER_DAY};
use serde_json::{Value, json};

/// The labels of a progress row's figures, in the order the widget shows them.
pub const PERCENT_OF_GOAL: &str = "% of goal";
pub const RAISED: &str = "raised";
pub const GOAL: &str = "goal";
pub const BACKERS: &str = "backers";
pub const DAYS_LEFT: &str = "days left";
pub const DAYS_TO_GOAL: &str = "days to goal at this pace";
pub const APPROVED: &str = "approved";
pub const DECLINED: &str = "declined";
pub const REFUNDED: &str = "refunded";

/// One of the project's metrics, hidden or shown under `label`.
fn project_metric(project_id: &str, name: MetricName, id: &str, label: Option<&str>) -> Value {
    let stat = if name.is_gauge() { "Maximum" } else { "Sum" };
    let mut options = json!({"id": id, "stat": stat});
    match label {
        Some(l) => options["label"] = json!(l),
        None => options["visible"] = json!(false),
    }
    metric(
        NAMESPACE,
        name.as_str(),
        &[(DIM_PROJECT, project_id)],
        options,
    )
}

fn shown(id: &str, expression: String, label: &str) -> Value {
    json!([{"expression": expression, "label": label, "id": id}])
}

/// The metrics and expressions of a project's progress widget. `days left` counts from the end
/// of the range (EPOCH is a datapoint's start; with the period set to the range, start +
/// period is now).
pub fn progress_metrics(project: &Project) -> Vec<Value> {
    let deadline = project.deadline.timestamp();
    vec![
        project_metric(&project.id, MetricName::ProjectRaisedEver, "ever", None),
        project_metric(&project.id, MetricName::ProjectReversed, "reversed", None),
        project_metric(&project.id, MetricName::ProjectPledges, "pledges", None),
        project_metric(&project.id, MetricName::ProjectReversals, "reversals", None),
        project_metric(&project.id, MetricName::AmountRaised, "approved", None),
        project_metric(&project.id, MetricName::AmountRefunded, "refunded", None),
        shown("pct", "100 * raised / goal".into(), PERCENT_OF_GOAL),
        shown("raised", "ever - FILL(reversed, 0)".into(), RAISED),
        project_metric(&project.id, MetricName::ProjectGoal, "goal", Some(GOAL)),
        shown("backers", "pledges - FILL(reversals, 0)".into(), BACKERS),
        shown(
            "daysleft",
            format!("({deadline} - EPOCH(ever) - PERIOD(ever)) / {SECONDS_PER_DAY}"),
            DAYS_LEFT,
        ),
        shown(
            "togoal",
            format!(
                "IF(raised >= goal, 0, IF(FILL(approved, 0) - FILL(refunded, 0) > 0, (goal - raised) * (PERIOD(approved) / {SECONDS_PER_DAY}) / (FILL(approved, 0) - FILL(refunded, 0))))"
            ),
            DAYS_TO_GOAL,
        ),
        shown("approvedshown", "FILL(approved, 0)".into(), APPROVED),
        project_metric(
            &project.id,
            MetricName::AmountDeclined,
            "declined",
            Some(DECLINED),
        ),
        shown("refundedshown", "FILL(refunded, 0)".into(), REFUNDED),
    ]
}

/// A project's progress widget as the evaluator reads it: its metrics and their statistic.
pub fn progress_widget(project: &Project) -> Value {
    json!({"properties": {"stat": "Maximum", "metrics": progress_metrics(project)}})
}

/// A project's figures as its progress row shows them, over the pace window that ends at `now`
/// (seconds since the epoch), with each metric read by `read`: the dashboard's own expressions,
/// evaluated by [`crate::metric_math`].
pub fn progress_figures(
    project: &Project,
    now: i64,
    read: impl FnMut(&crate::metric_math::MetricRow) -> Option<f64>,
) -> Result<Vec<(String, Option<f64>)>, crate::metric_math::MathError> {
    let window = PACE_WINDOW_DAYS * SECONDS_PER_DAY;
    crate::metric_math::single_value(
        &progress_widget(project),
        crate::metric_math::Range {
            start: now - window,
            period: window,
        },
        read,
    )
}

/// Per-minute values of one project's metrics (minutes since the epoch), as the local world
/// keeps them.
pub type MinuteBuckets =
    std::collections::BTreeMap<i64, std::collections::BTreeMap<MetricName, i64>>;

/// Reads a row's metric from a project's minute buckets over the minutes `from..=to`, with the
/// row's statistic (`Maximum` for a gauge, `Sum` otherwise); `None` when no minute has it, as
/// CloudWatch has no datapoint then.
pub fn read_minute_buckets(
    buckets: &MinuteBuckets,
    from: i64,
    to: i64,
) -> impl Fn(&crate::metric_math::MetricRow) -> Option<f64> + '_ {
    move |row| {
        let name = MetricName::ALL
            .into_iter()
            .find(|m| m.as_str() == row.metric)?;
        let values = buckets
            .range(from..=to)
            .filter_map(|(_, b)| b.get(&name).copied());
        match row.stat.as_str() {
            "Maximum" => values.max().map(|v| v as f64),
            _ => values.reduce(|a, b| a + b).map(|v| v as f64),
        }
    }
}

/// The widget title of a project's progress row.
pub fn progress_title(project: &Project) -> String {
    format!("{} ({})", project.title, project.id)
}

/// The metric summed over every project (the Lambdas emit it per ProjectId).
fn all_projects(id: &str, name: MetricName, stat: &str, period: u32) -> Value {
    json!([{
        "expression": format!("SUM(SEARCH('{{{NAMESPACE},{DIM_PROJECT}}} MetricName=\"{}\"', '{stat}', {period}))", name.as_str()),
        "label": name.as_str(),
        "id": id,
    }])
}

pub fn dashboard(t: &Target, projects: &[Project]) -> Value {
    let r = t.region.as_str();
    let mut g = Grid::default();
    let mut w = vec![text_widget(
        &mut g,
        24,
        2,
        &format!(
            "## Crowdfunding at a glance\nOne row per project: raised against goal, backers, days left, and the days to the goal at the pace of the time range (default: the last {PACE_WINDOW_DAYS} days; blank when nothing net came in). Amounts are in minor units of the project's currency (KRW has none) and count the time range."
        ),
    )];
    g.new_row();
    if projects.is_empty() {
        w.push(text_widget(
            &mut g,
            24,
            2,
            "No projects were listed when this dashboard was generated: run `dashboards deploy` again once projects exist.",
        ));
    }
    for p in projects {
        let title = progress_title(p);
        let mut progress = Graph::new(&title, "Maximum", PACE_WINDOW_DAYS as u32 * 86_400);
        progress.view = "singleValue";
        let mut widget = metric_widget(&mut g, r, 24, 4, &progress, progress_metrics(p));
        widget["properties"]["setPeriodToTimeRange"] = json!(true);
        widget["properties"]["sparkline"] = json!(false);
        w.push(widget);
        g.new_row();
    }
    let mut per_minute = Graph::new("Payments per minute", "Sum", 60);
    per_minute.y_label = "payments";
    w.push(metric_widget(
        &mut g,
        r,
        16,
        7,
        &per_minute,
        vec![
            all_projects("approved", MetricName::PaymentsApproved, "Sum", 60),
            all_projects("declined", MetricName::PaymentsDeclined, "Sum", 60),
            all_projects("cancelled", MetricName::PaymentsCancelled, "Sum", 60),
        ],
    ));
    let mut rate = Graph::new("Success rate (%)", "Sum", 300);
    rate.view = "singleValue";
    w.push(metric_widget(
        &mut g,
        r,
        8,
        7,
        &rate,
        vec![
            all_projects("ok", MetricName::PaymentsApproved, "Sum", 300),
            all_projects("bad", MetricName::PaymentsDeclined, "Sum", 300),
            json!([{"expression": "100 * ok / (ok + bad)", "label": "approved / attempted", "id": "rate"}]),
        ],
    ));
    g.new_row();
    let mut raised = Graph::new("Amount raised per hour (minor units)", "Sum", 3600);
    raised.y_label = "minor units";
    w.push(metric_widget(
        &mut g,
        r,
        12,
        7,
        &raised,
        vec![
            all_projects("raised", MetricName::AmountRaised, "Sum", 3600),
            all_projects("refunded", MetricName::AmountRefunded, "Sum", 3600),
        ],
    ));
    let mut progress = Graph::new("Raised per project (today)", "Sum", 86400);
    progress.view = "bar";
    w.push(metric_widget(
        &mut g,
        r,
        12,
        7,
        &progress,
        vec![json!([{
            "expression": format!("SEARCH('{{{NAMESPACE},{DIM_PROJECT}}} MetricName=\"{}\"', 'Sum', 86400)", MetricName::AmountRaised.as_str()),
            "label": "raised",
            "id": "perproject",
        }])],
    ));
    json!({"start": format!("-P{PACE_WINDOW_DAYS}D"), "periodOverride": "inherit", "widgets": w})
}
