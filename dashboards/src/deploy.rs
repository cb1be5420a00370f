//! `dashboards deploy`: the generated dashboards and alarms against what a [`DashboardStore`]
//! (CloudWatch) has.
//!
//! A deploy is two steps so the caller can show the differences before anything changes:
//! [`plan_deploy`] reads the deployed dashboards (GetDashboard) and the alarms under the
//! environment's prefix (DescribeAlarms) and diffs them against the generated ones;
//! [`apply`] puts only what differs. Alarms that are deployed under our prefix but no longer
//! generated are listed as removed and left in place: deleting an alarm someone may still rely
//! on is a decision for a person (`aws cloudwatch delete-alarms`).

use crate::diff::{self, Change, Diff};
use crate::{GenerateError, Generated, Target};
use crowdfund_core::ports::{DashboardStore, PortError};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What to do when CloudWatch refuses a composite alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Composites {
    /// Fail the deploy, naming the alarm (AWS).
    Required,
    /// Report it as skipped and go on when the endpoint fails (5xx): for a local endpoint such
    /// as moto, which answers PutCompositeAlarm with HTTP 500. A denial still fails.
    SkipRefused,
}

/// Whether a generated alarm is a composite (PutCompositeAlarm) rather than a metric alarm.
pub fn is_composite(alarm: &Value) -> bool {
    alarm.get("alarmRule").is_some()
}

/// Why a deploy could not be planned or applied.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error("reading dashboard {name}")]
    ReadDashboard { name: String, source: PortError },
    #[error("reading the alarms named {prefix}*")]
    ReadAlarms { prefix: String, source: PortError },
    #[error("CloudWatch refused dashboard {name}")]
    PutDashboard { name: String, source: PortError },
    #[error("CloudWatch refused alarm {name}")]
    PutAlarm { name: String, source: PortError },
}

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
    store: &dyn DashboardStore,
    target: &Target,
    projects: &[crowdfund_core::domain::Project],
    alarm_topic: Option<&str>,
) -> Result<DeployPlan, DeployError> {
    let generated: Generated = crate::generate(target, projects)?;
    let mut dashboards = Vec::new();
    for (name, body) in generated.dashboards(target) {
        let deployed =
            store
                .get_dashboard(&name)
                .await
                .map_err(|source| DeployError::ReadDashboard {
                    name: name.clone(),
                    source,
                })?;
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
    let deployed_alarms =
        store
            .describe_alarms(&prefix)
            .await
            .map_err(|source| DeployError::ReadAlarms {
                prefix: prefix.clone(),
                source,
            })?;
    let by_name: BTreeMap<&str, &Value> = deployed_alarms
        .iter()
        .filter_map(|a| a.get("alarmName").and_then(Value::as_str).map(|n| (n, a)))
        .collect();
    // Metric alarms first: a composite's rule names them, and they must exist before it.
    let desired: Vec<Value> = generated
        .alarms
        .iter()
        .chain(&generated.composite_alarms)
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
/// refusal, naming the dashboard or alarm (what was put before it stays put; run it again),
/// except a refused composite alarm under [`Composites::SkipRefused`], which is reported.
/// Returns what CloudWatch said about the dashboards it accepted, and the skipped composites.
pub async fn apply(
    store: &dyn DashboardStore,
    plan: &DeployPlan,
    composites: Composites,
    mut done: impl FnMut(&str),
) -> Result<Vec<String>, DeployError> {
    let mut warnings = Vec::new();
    for d in plan.dashboards_to_put() {
        let messages = store
            .put_dashboard(&d.name, &d.body.to_string())
            .await
            .map_err(|source| DeployError::PutDashboard {
                name: d.name.clone(),
                source,
            })?;
        warnings.extend(
            messages
                .into_iter()
                .map(|m| format!("dashboard {}: {m}", d.name)),
        );
        done(&d.name);
    }
    for a in &plan.alarms_to_put {
        let name = a.get("alarmName").and_then(Value::as_str).unwrap_or("?");
        let put = if is_composite(a) {
            store.put_composite_alarm(a).await
        } else {
            store.put_metric_alarm(a).await
        };
        match put {
            Ok(()) => done(name),
            // Only an endpoint failure is skipped: a denial or a refused rule is still an error.
            Err(PortError::Unavailable { .. })
                if is_composite(a) && composites == Composites::SkipRefused =>
            {
                // The SDK's error is a page of HTML from moto: the name and the reason do.
                warnings.push(format!(
                    "composite alarm {name} skipped: the endpoint answered PutCompositeAlarm with a server error (moto does not implement it); on AWS this fails the deploy"
                ));
            }
            Err(source) => {
                return Err(DeployError::PutAlarm {
                    name: name.to_string(),
                    source,
                });
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Item;
    use async_trait::async_trait;
    use crowdfund_core::ports::PortResult;
    use futures::executor::block_on;
    use serde_json::json;
    use std::sync::Mutex;

    /// Dashboards by name and alarms by name, as CloudWatch would keep them.
    #[derive(Default)]
    struct MemoryStore {
        dashboards: Mutex<BTreeMap<String, String>>,
        alarms: Mutex<BTreeMap<String, Value>>,
        /// Answers PutCompositeAlarm with an error, as moto does.
        refuse_composites: bool,
    }

    #[async_trait]
    impl DashboardStore for MemoryStore {
        async fn get_dashboard(&self, name: &str) -> PortResult<Option<String>> {
            Ok(self.dashboards.lock().unwrap().get(name).cloned())
        }
        async fn put_dashboard(&self, name: &str, body: &str) -> PortResult<Vec<String>> {
            self.dashboards
                .lock()
                .unwrap()
                .insert(name.to_string(), body.to_string());
            Ok(Vec::new())
        }
        async fn describe_alarms(&self, prefix: &str) -> PortResult<Vec<Value>> {
            let alarms = self.alarms.lock().unwrap();
            Ok(alarms
                .iter()
                .filter(|(n, _)| n.starts_with(prefix))
                .map(|(_, a)| a.clone())
                .collect())
        }
        async fn put_metric_alarm(&self, alarm: &Value) -> PortResult<()> {
            let name = alarm["alarmName"].as_str().unwrap().to_string();
            self.alarms.lock().unwrap().insert(name, alarm.clone());
            Ok(())
        }
        async fn put_composite_alarm(&self, alarm: &Value) -> PortResult<()> {
            if self.refuse_composites {
                return Err(PortError::unavailable("CloudWatch", "HTTP 500"));
            }
            self.put_metric_alarm(alarm).await
        }
    }

    fn target() -> Target {
        Target::new("us-east-1", "dev")
    }

    /// Plans against `store`, applies the plan, and returns it with the names put.
    fn deploy(store: &MemoryStore, topic: Option<&str>) -> (DeployPlan, Vec<String>) {
        let plan = block_on(plan_deploy(store, &target(), &[], topic)).unwrap();
        let mut put = Vec::new();
        block_on(apply(store, &plan, Composites::Required, |n| {
            put.push(n.to_string())
        }))
        .unwrap();
        (plan, put)
    }

    /// On an empty store every dashboard and alarm is an addition and is put, once each.
    #[test]
    fn an_empty_store_gets_everything_put() {
        let store = MemoryStore::default();
        let generated = crate::generate(&target(), &[]).unwrap();
        let all_alarms = generated.alarms.len() + generated.composite_alarms.len();
        let (plan, put) = deploy(&store, None);
        assert!(plan.dashboards.iter().all(|d| !d.diff.deployed));
        assert_eq!(
            plan.alarms.count(|c| matches!(c, Change::Added)),
            all_alarms
        );
        assert_eq!(plan.puts(), 2 + all_alarms);
        assert_eq!(put.len(), plan.puts());
        assert_eq!(store.dashboards.lock().unwrap().len(), 2);
        assert_eq!(store.alarms.lock().unwrap().len(), all_alarms);
        let first_composite = put.iter().position(|n| n.ends_with("-payments-stalled"));
        let zero = put.iter().position(|n| n.ends_with("-approvals-zero"));
        assert!(
            zero < first_composite,
            "a composite's parts are put before it"
        );
    }

    /// Once applied, the same plan finds nothing to put, the alarm topic included.
    #[test]
    fn a_second_plan_after_apply_changes_nothing() {
        let store = MemoryStore::default();
        deploy(&store, Some("arn:topic"));
        let (again, put) = deploy(&store, Some("arn:topic"));
        assert_eq!(again.puts(), 0);
        assert!(put.is_empty());
        assert!(again.dashboards.iter().all(|d| d.diff.is_empty()));
        assert!(again.alarms.items.is_empty());
    }

    /// A widget edited in CloudWatch is reported as changed, naming the field, and put back.
    #[test]
    fn a_changed_widget_is_reported_as_changed() {
        let store = MemoryStore::default();
        deploy(&store, None);
        let name = target().dashboard_name("ops");
        let mut body: Value =
            serde_json::from_str(&store.dashboards.lock().unwrap()[&name]).unwrap();
        body["widgets"][0]["height"] = json!(99);
        let edited = diff::widget_identity(&body["widgets"][0]);
        store
            .dashboards
            .lock()
            .unwrap()
            .insert(name.clone(), body.to_string());
        let (plan, put) = deploy(&store, None);
        let ops = plan.dashboards.iter().find(|d| d.name == name).unwrap();
        assert_eq!(
            ops.diff.items,
            vec![Item {
                key: edited,
                change: Change::Changed(vec!["height".into()]),
            }]
        );
        assert_eq!(put, vec![name]);
        assert!(render_plan(&plan, &target()).contains("  ~ "));
    }

    /// An endpoint that refuses composite alarms fails the deploy on AWS, naming the alarm,
    /// and is reported and skipped for a local endpoint; the metric alarms are put either way.
    #[test]
    fn refused_composites_fail_on_aws_and_are_skipped_locally() {
        let store = MemoryStore {
            refuse_composites: true,
            ..MemoryStore::default()
        };
        let plan = block_on(plan_deploy(&store, &target(), &[], None)).unwrap();
        let err = block_on(apply(&store, &plan, Composites::Required, |_| {})).unwrap_err();
        assert!(err.to_string().contains("-payments-below-normal"), "{err}");
        let warnings = block_on(apply(&store, &plan, Composites::SkipRefused, |_| {})).unwrap();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("skipped") && warnings[0].contains("moto"));
        let generated = crate::generate(&target(), &[]).unwrap();
        assert_eq!(store.alarms.lock().unwrap().len(), generated.alarms.len());
    }

    /// A project added since the last deploy is a changed stakeholder dashboard.
    #[test]
    fn a_new_project_changes_the_stakeholder_dashboard() {
        let store = MemoryStore::default();
        deploy(&store, None);
        let project = crowdfund_core::domain::Project {
            id: "prj-new".into(),
            title: "New".into(),
            goal: 1000,
            currency: crowdfund_core::money::Currency::KRW,
            raised: 0,
            backers: 0,
            deadline: chrono::DateTime::from_timestamp(2_000_000_000, 0).unwrap(),
            goal_achieved_at: None,
        };
        let plan = block_on(plan_deploy(&store, &target(), &[project], None)).unwrap();
        let changed: Vec<&str> = plan.dashboards_to_put().map(|d| d.name.as_str()).collect();
        assert_eq!(changed, [target().dashboard_name("stakeholders")]);
        assert!(render_plan(&plan, &target()).contains("New (prj-new)"));
    }

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
