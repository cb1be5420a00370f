//! `dashboards deploy` and `dashboards report --source cloudwatch`: the generated dashboards and
//! alarms against what CloudWatch has, and the stakeholder charts from CloudWatch's metrics.
//!
//! A deploy is two steps so the caller can show the differences before anything changes:
//! [`plan_deploy`] reads the deployed dashboards (GetDashboard) and the alarms under the
//! environment's prefix (DescribeAlarms) and diffs them against the generated ones;
//! [`apply`] puts only what differs. Alarms that are deployed under our prefix but no longer
//! generated are listed as removed and left in place: deleting an alarm someone may still rely
//! on is a decision for a person (`aws cloudwatch delete-alarms`).

use anyhow::{Context, Result, bail};
use crowdfund_core::metrics::NAMESPACE;
use crowdfund_core::ports::FundingApi;
use crowdfund_dashboards::diff::{self, Change, Diff};
use crowdfund_dashboards::report::{History, ProjectBar};
use crowdfund_dashboards::source::{self, PAYMENT_METRICS};
use crowdfund_dashboards::{Generated, Target};
use crowdfund_handlers::aws::cloudwatch::{CloudWatch, MetricQuery};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One dashboard to put: its name, the generated body, and how it differs from the deployed one.
#[derive(Debug, Clone, Serialize)]
pub struct DashboardPlan {
    pub name: String,
    #[serde(skip)]
    pub body: Value,
    pub diff: Diff,
}

/// What a deploy would do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployPlan {
    pub dashboards: Vec<DashboardPlan>,
    pub alarms: Diff,
    /// The alarms to put (added or changed), as PutMetricAlarm takes them.
    #[serde(skip)]
    pub alarms_to_put: Vec<Value>,
}

impl DeployPlan {
    pub fn dashboards_to_put(&self) -> impl Iterator<Item = &DashboardPlan> {
        self.dashboards.iter().filter(|d| !d.diff.is_empty())
    }

    /// How many PutDashboard and PutMetricAlarm calls [`apply`] makes.
    pub fn puts(&self) -> usize {
        self.dashboards_to_put().count() + self.alarms_to_put.len()
    }
}

/// Adds `topic` to an alarm's actions, and keeps the actions the deployed alarm already has
/// (terraform adds the environment's alarm topic; a deploy from here must not drop it).
fn with_actions(generated: &Value, deployed: Option<&Value>, topic: Option<&str>) -> Value {
    let mut alarm = generated.clone();
    for key in ["alarmActions", "okActions"] {
        let mut actions: Vec<Value> = generated
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        actions.extend(
            deployed
                .and_then(|d| d.get(key))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        );
        if let Some(t) = topic {
            actions.push(Value::String(t.to_string()));
        }
        let mut seen = Vec::new();
        actions.retain(|a| {
            let new = !seen.contains(a);
            seen.push(a.clone());
            new
        });
        if !actions.is_empty() {
            alarm[key] = Value::Array(actions);
        }
    }
    alarm
}

/// Reads what is deployed and compares it with what is generated for `target`.
pub async fn plan_deploy(
    cw: &CloudWatch,
    target: &Target,
    alarm_topic: Option<&str>,
) -> Result<DeployPlan> {
    let generated: Generated = crowdfund_dashboards::generate(target)?;
    let mut dashboards = Vec::new();
    for (name, body) in generated.dashboards(target) {
        let deployed = cw
            .get_dashboard(&name)
            .await
            .with_context(|| format!("reading dashboard {name}"))?;
        // A body CloudWatch holds but that is not JSON is compared as an empty dashboard:
        // everything generated is then an addition, which is what the put will do.
        let deployed: Option<Value> =
            deployed.map(|b| serde_json::from_str(&b).unwrap_or(Value::Null));
        dashboards.push(DashboardPlan {
            diff: diff::dashboard(&name, body, deployed.as_ref()),
            name,
            body: body.clone(),
        });
    }
    let prefix = target.alarm_prefix();
    let deployed_alarms = cw
        .describe_alarms(&prefix)
        .await
        .with_context(|| format!("reading the alarms named {prefix}*"))?;
    let by_name: BTreeMap<&str, &Value> = deployed_alarms
        .iter()
        .filter_map(|a| a.get("alarmName").and_then(Value::as_str).map(|n| (n, a)))
        .collect();
    let desired: Vec<Value> = generated
        .alarms
        .iter()
        .map(|g| {
            let name = g
                .get("alarmName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            with_actions(g, by_name.get(name).copied(), alarm_topic)
        })
        .collect();
    let alarms = diff::alarms(&desired, &deployed_alarms);
    let to_put: Vec<&str> = alarms
        .items
        .iter()
        .filter(|i| !matches!(i.change, Change::Removed))
        .map(|i| i.key.as_str())
        .collect();
    let alarms_to_put = desired
        .iter()
        .filter(|a| {
            a.get("alarmName")
                .and_then(Value::as_str)
                .is_some_and(|n| to_put.contains(&n))
        })
        .cloned()
        .collect();
    Ok(DeployPlan {
        dashboards,
        alarms,
        alarms_to_put,
    })
}

/// Puts what differs; `done` is called after each put with what was put. Stops at the first
/// refusal, naming the dashboard or alarm (what was put before it stays put; run it again).
pub async fn apply(
    cw: &CloudWatch,
    plan: &DeployPlan,
    mut done: impl FnMut(&str),
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    for d in plan.dashboards_to_put() {
        let body = serde_json::to_string(&d.body)?;
        let messages = cw
            .put_dashboard(&d.name, &body)
            .await
            .with_context(|| format!("CloudWatch refused dashboard {}", d.name))?;
        warnings.extend(
            messages
                .into_iter()
                .map(|m| format!("dashboard {}: {m}", d.name)),
        );
        done(&d.name);
    }
    for a in &plan.alarms_to_put {
        let name = a.get("alarmName").and_then(Value::as_str).unwrap_or("?");
        cw.put_metric_alarm(a)
            .await
            .with_context(|| format!("CloudWatch refused alarm {name}"))?;
        done(name);
    }
    Ok(warnings)
}

fn sign(change: &Change) -> &'static str {
    match change {
        Change::Added => "+",
        Change::Removed => "-",
        Change::Changed(_) => "~",
    }
}

fn render_diff(out: &mut String, title: &str, d: &Diff) {
    use std::fmt::Write;
    let state = if d.deployed {
        d.summary()
    } else {
        format!("not deployed yet; {} widgets to add", d.generated)
    };
    let _ = writeln!(out, "{title}: {state}");
    for item in &d.items {
        let fields = match &item.change {
            Change::Changed(f) => format!("  ({})", f.join(", ")),
            Change::Removed if d.name == "alarms" => {
                "  (no longer generated; left in place)".to_string()
            }
            _ => String::new(),
        };
        let _ = writeln!(out, "  {} {}{fields}", sign(&item.change), item.key);
    }
}

/// The plan as text: one block per dashboard and one for the alarms, one line per difference.
pub fn render_plan(plan: &DeployPlan, target: &Target) -> String {
    let mut out = String::new();
    for d in &plan.dashboards {
        render_diff(&mut out, &format!("dashboard {}", d.name), &d.diff);
    }
    render_diff(
        &mut out,
        &format!("alarms {}*", target.alarm_prefix()),
        &plan.alarms,
    );
    out
}

/// The charts' history from CloudWatch over the last `since` before `now` (seconds since the
/// epoch): payment counts from the custom metrics, queue depths from SQS's metrics, and the
/// projects (goals and amounts raised) from the funding API, which is the one that knows goals.
pub async fn cloudwatch_history(
    cw: &CloudWatch,
    funding: &dyn FundingApi,
    now: i64,
    since: std::time::Duration,
    where_from: &str,
) -> Result<History> {
    let mut existing = Vec::new();
    for m in PAYMENT_METRICS {
        for id in cw
            .list_metrics(NAMESPACE, Some(m.as_str()))
            .await
            .with_context(|| format!("listing {NAMESPACE}/{}", m.as_str()))?
        {
            existing.push((id.metric, id.dimensions));
        }
    }
    let plan = source::plan(&existing);
    let queries: Vec<MetricQuery> = plan.queries.iter().map(|(q, _)| q.clone()).collect();
    let minutes = (since.as_secs() / 60).max(1) as i64;
    let to = now.div_euclid(60);
    let from = to - minutes;
    let series = cw
        .get_metric_data(&queries, from * 60, (to + 1) * 60)
        .await
        .context("reading metric data (GetMetricData)")?;
    let answers = series.into_iter().map(|s| (s.id, s.points)).collect();
    let projects = funding
        .projects()
        .await
        .context("listing projects from the funding API")?;
    if projects.is_empty() {
        bail!(
            "no projects to chart funding progress for: CloudWatch has no goals, so pass --api-url (crowdfund-api) to read them"
        );
    }
    let projects = projects
        .into_iter()
        .map(|p| ProjectBar {
            id: p.id,
            goal: p.goal,
            raised: p.raised,
            currency: p.currency.to_string(),
        })
        .collect();
    let end = chrono::DateTime::from_timestamp(now, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    Ok(source::history(
        &plan,
        &answers,
        from,
        to,
        projects,
        format!(
            "CloudWatch {where_from}, {} queries, last {minutes} min to {end}",
            queries.len()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A deploy keeps the actions a deployed alarm has and adds the topic once.
    #[test]
    fn deployed_actions_are_kept_and_the_topic_added_once() {
        let generated = json!({"alarmName": "a", "threshold": 0});
        let deployed = json!({"alarmName": "a", "alarmActions": ["arn:x"], "okActions": []});
        let a = with_actions(&generated, Some(&deployed), Some("arn:x"));
        assert_eq!(a["alarmActions"], json!(["arn:x"]));
        assert_eq!(a["okActions"], json!(["arn:x"]));
        let plain = with_actions(&generated, None, None);
        assert_eq!(plain, generated);
    }
}
