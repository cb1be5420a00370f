//! What a deploy would change: the deployed dashboard body against the generated one, widget by
//! widget, and the deployed alarms against `alarms.json`, alarm by alarm. Pure: the caller reads
//! what is deployed (GetDashboard, DescribeAlarms) and hands it over as JSON.
//!
//! Widgets have no id in CloudWatch, so a widget is known by its type and title (a text widget
//! by its first line); a second widget with the same identity gets `#2`, and so on. Alarms are
//! known by name; only the fields `alarms.json` sets are compared, so fields that someone else
//! manages (terraform's alarm actions, say) are not reported as changes.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What happens to one widget or alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", content = "fields", rename_all = "camelCase")]
pub enum Change {
    Added,
    Removed,
    /// The names of the fields that differ, e.g. `y`, `properties.metrics`, `threshold`.
    Changed(Vec<String>),
}

/// One widget or alarm that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The widget's identity (`metric: Lambda errors`) or the alarm's name.
    pub key: String,
    #[serde(flatten)]
    pub change: Change,
}

/// The differences of one dashboard or of the set of alarms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    /// Dashboard name, or `alarms`.
    pub name: String,
    /// Whether anything was deployed at all (a dashboard that does not exist yet is all added).
    pub deployed: bool,
    pub items: Vec<Item>,
    /// How many widgets or alarms are the same on both sides.
    pub unchanged: usize,
    /// How many the generated side has.
    pub generated: usize,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.deployed && self.items.is_empty()
    }

    pub fn count(&self, which: fn(&Change) -> bool) -> usize {
        self.items.iter().filter(|i| which(&i.change)).count()
    }

    /// `3 added, 1 changed, 0 removed, 40 unchanged`.
    pub fn summary(&self) -> String {
        format!(
            "{} added, {} changed, {} removed, {} unchanged",
            self.count(|c| matches!(c, Change::Added)),
            self.count(|c| matches!(c, Change::Changed(_))),
            self.count(|c| matches!(c, Change::Removed)),
            self.unchanged
        )
    }
}

/// The identity of a widget: its type and title, or a text widget's first line.
pub fn widget_identity(widget: &Value) -> String {
    let kind = widget
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("widget");
    let title = widget
        .pointer("/properties/title")
        .and_then(Value::as_str)
        .or_else(|| {
            widget
                .pointer("/properties/markdown")
                .and_then(Value::as_str)
                .and_then(|m| m.lines().find(|l| !l.trim().is_empty()))
                .map(|l| l.trim_start_matches('#').trim())
        })
        .unwrap_or("(untitled)");
    format!("{kind}: {title}")
}

/// Widgets by identity, duplicates numbered in order (`#2`, `#3`).
fn widgets_by_identity(body: Option<&Value>) -> BTreeMap<String, &Value> {
    let mut out = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let widgets = body
        .and_then(|b| b.get("widgets"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for w in widgets {
        let id = widget_identity(w);
        let n = seen.entry(id.clone()).or_insert(0);
        *n += 1;
        let key = if *n == 1 { id } else { format!("{id} #{n}") };
        out.insert(key, w);
    }
    out
}

/// Equal as CloudWatch means it: `0` and `0.0` are the same number.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|other| same(v, other)))
        }
        _ => a == b,
    }
}

/// The fields of a widget that differ: placement by name, properties one level down.
fn widget_fields(generated: &Value, deployed: &Value) -> Vec<String> {
    let mut fields = Vec::new();
    for key in ["type", "x", "y", "width", "height"] {
        if !same(
            generated.get(key).unwrap_or(&Value::Null),
            deployed.get(key).unwrap_or(&Value::Null),
        ) {
            fields.push(key.to_string());
        }
    }
    let empty = serde_json::Map::new();
    let props = |w: &Value| w.get("properties").and_then(Value::as_object).cloned();
    let (g, d) = (
        props(generated).unwrap_or_else(|| empty.clone()),
        props(deployed).unwrap_or(empty),
    );
    let mut keys: Vec<&String> = g.keys().chain(d.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        if !same(
            g.get(k).unwrap_or(&Value::Null),
            d.get(k).unwrap_or(&Value::Null),
        ) {
            fields.push(format!("properties.{k}"));
        }
    }
    fields
}

/// Generated body against the deployed one (`None`: no such dashboard yet).
pub fn dashboard(name: &str, generated: &Value, deployed: Option<&Value>) -> Diff {
    let gen_widgets = widgets_by_identity(Some(generated));
    let dep_widgets = widgets_by_identity(deployed);
    let mut items = Vec::new();
    let mut unchanged = 0;
    for (key, g) in &gen_widgets {
        match dep_widgets.get(key) {
            None => items.push(Item {
                key: key.clone(),
                change: Change::Added,
            }),
            Some(d) => {
                let fields = widget_fields(g, d);
                if fields.is_empty() {
                    unchanged += 1;
                } else {
                    items.push(Item {
                        key: key.clone(),
                        change: Change::Changed(fields),
                    });
                }
            }
        }
    }
    items.extend(
        dep_widgets
            .keys()
            .filter(|k| !gen_widgets.contains_key(*k))
            .map(|k| Item {
                key: k.clone(),
                change: Change::Removed,
            }),
    );
    // Anything besides widgets (periodOverride, start) counts as a change of the dashboard.
    let top = |b: Option<&Value>| {
        b.and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| *k != "widgets")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<serde_json::Map<_, _>>()
            })
            .unwrap_or_default()
    };
    let (gt, dt) = (top(Some(generated)), top(deployed));
    if deployed.is_some() && !same(&Value::Object(gt.clone()), &Value::Object(dt.clone())) {
        let mut keys: Vec<String> = gt.keys().chain(dt.keys()).cloned().collect();
        keys.sort();
        keys.dedup();
        let fields = keys
            .into_iter()
            .filter(|k| {
                !same(
                    gt.get(k).unwrap_or(&Value::Null),
                    dt.get(k).unwrap_or(&Value::Null),
                )
            })
            .collect();
        items.push(Item {
            key: "(dashboard settings)".into(),
            change: Change::Changed(fields),
        });
    }
    Diff {
        name: name.to_string(),
        deployed: deployed.is_some(),
        items,
        unchanged,
        generated: gen_widgets.len(),
    }
}

/// Dimensions in any order are the same dimensions.
fn normalized_field(key: &str, v: &Value) -> Value {
    match (key, v) {
        ("dimensions", Value::Array(dims)) => {
            let mut dims = dims.clone();
            dims.sort_by_key(|d| d.to_string());
            Value::Array(dims)
        }
        ("alarmActions" | "okActions" | "insufficientDataActions", Value::Array(a)) => {
            let mut a = a.clone();
            a.sort_by_key(|x| x.to_string());
            a.dedup();
            Value::Array(a)
        }
        _ => v.clone(),
    }
}

fn alarm_name(a: &Value) -> Option<&str> {
    a.get("alarmName").and_then(Value::as_str)
}

/// Generated alarms (the `alarms.json` shape) against the deployed ones under our prefix, in
/// the same shape. Deployed alarms that are no longer generated are reported as removed.
pub fn alarms(generated: &[Value], deployed: &[Value]) -> Diff {
    let deployed_by_name: BTreeMap<&str, &Value> = deployed
        .iter()
        .filter_map(|a| alarm_name(a).map(|n| (n, a)))
        .collect();
    let mut items = Vec::new();
    let mut unchanged = 0;
    for g in generated {
        let Some(name) = alarm_name(g) else { continue };
        let Some(d) = deployed_by_name.get(name) else {
            items.push(Item {
                key: name.to_string(),
                change: Change::Added,
            });
            continue;
        };
        let fields: Vec<String> = g
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, v)| {
                        let theirs = d.get(k.as_str()).unwrap_or(&Value::Null);
                        !same(&normalized_field(k, v), &normalized_field(k, theirs))
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        if fields.is_empty() {
            unchanged += 1;
        } else {
            items.push(Item {
                key: name.to_string(),
                change: Change::Changed(fields),
            });
        }
    }
    let generated_names: Vec<&str> = generated.iter().filter_map(alarm_name).collect();
    items.extend(
        deployed_by_name
            .keys()
            .filter(|n| !generated_names.contains(n))
            .map(|n| Item {
                key: n.to_string(),
                change: Change::Removed,
            }),
    );
    Diff {
        name: "alarms".into(),
        deployed: true,
        items,
        unchanged,
        generated: generated_names.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn widget(title: &str, y: u32, metrics: Value) -> Value {
        json!({"type": "metric", "x": 0, "y": y, "width": 12, "height": 6,
               "properties": {"title": title, "region": "us-east-1", "metrics": metrics}})
    }

    fn body(widgets: Vec<Value>) -> Value {
        json!({ "widgets": widgets })
    }

    /// A dashboard compared with itself (numbers written differently) has no changes.
    #[test]
    fn the_same_body_is_unchanged() {
        let generated = body(vec![
            widget("Errors", 0, json!([["AWS/Lambda", "Errors"]])),
            json!({"type": "text", "x": 0, "y": 6, "width": 24, "height": 3,
                   "properties": {"markdown": "## Runbook\nrun it"}}),
        ]);
        let mut deployed = generated.clone();
        deployed["widgets"][0]["x"] = json!(0.0);
        let d = dashboard("crowdfund-dev-ops", &generated, Some(&deployed));
        assert!(d.is_empty(), "{d:?}");
        assert_eq!((d.unchanged, d.generated), (2, 2));
        assert_eq!(d.summary(), "0 added, 0 changed, 0 removed, 2 unchanged");
    }

    /// No dashboard deployed: every generated widget is added, and that is not "no change".
    #[test]
    fn a_missing_dashboard_is_all_added() {
        let generated = body(vec![widget("A", 0, json!([])), widget("B", 6, json!([]))]);
        let d = dashboard("x", &generated, None);
        assert!(!d.is_empty());
        assert_eq!(d.count(|c| matches!(c, Change::Added)), 2);
        assert!(!d.deployed);
    }

    /// Added, removed and changed widgets are told apart, and a change names its fields.
    #[test]
    fn widgets_are_compared_by_identity_with_changed_fields_named() {
        let generated = body(vec![
            widget("Kept", 0, json!([["AWS/SQS", "NumberOfMessagesSent"]])),
            widget("Moved and new metric", 6, json!([["AWS/Lambda", "Errors"]])),
            widget("New", 12, json!([])),
        ]);
        let deployed = body(vec![
            widget("Kept", 0, json!([["AWS/SQS", "NumberOfMessagesSent"]])),
            widget(
                "Moved and new metric",
                0,
                json!([["AWS/Lambda", "Throttles"]]),
            ),
            widget("Gone", 18, json!([])),
        ]);
        let d = dashboard("ops", &generated, Some(&deployed));
        let by_key: BTreeMap<&str, &Change> = d
            .items
            .iter()
            .map(|i| (i.key.as_str(), &i.change))
            .collect();
        assert_eq!(by_key.get("metric: New"), Some(&&Change::Added));
        assert_eq!(by_key.get("metric: Gone"), Some(&&Change::Removed));
        assert_eq!(
            by_key.get("metric: Moved and new metric"),
            Some(&&Change::Changed(vec![
                "y".into(),
                "properties.metrics".into()
            ]))
        );
        assert_eq!(d.unchanged, 1);
        assert_eq!(d.summary(), "1 added, 1 changed, 1 removed, 1 unchanged");
    }

    /// Two widgets with the same title are matched in order, not collapsed into one.
    #[test]
    fn duplicate_titles_are_numbered() {
        let generated = body(vec![
            widget("Same", 0, json!([])),
            widget("Same", 6, json!([])),
        ]);
        let deployed = body(vec![widget("Same", 0, json!([]))]);
        let d = dashboard("ops", &generated, Some(&deployed));
        assert_eq!(
            d.items,
            vec![Item {
                key: "metric: Same #2".into(),
                change: Change::Added
            }]
        );
        assert_eq!(
            widget_identity(
                &json!({"type": "text", "properties": {"markdown": "\n## Runbook\nx"}})
            ),
            "text: Runbook"
        );
    }

    fn alarm(name: &str, threshold: f64) -> Value {
        json!({"alarmName": name, "namespace": "AWS/SQS", "metricName": "ApproximateNumberOfMessagesVisible",
               "dimensions": [{"name": "QueueName", "value": "etc_dlq"}, {"name": "B", "value": "b"}],
               "statistic": "Maximum", "period": 60, "threshold": threshold})
    }

    /// Alarms: added, removed, changed (naming the field), and fields we do not set ignored.
    #[test]
    fn alarms_are_compared_field_by_field() {
        let generated = vec![alarm("a", 0.0), alarm("b", 5.0), alarm("new", 1.0)];
        let mut a_deployed = alarm("a", 0.0);
        // Someone else's actions and another dimension order are not our changes.
        a_deployed["alarmActions"] = json!(["arn:aws:sns:us-east-1:1:alarms"]);
        a_deployed["dimensions"] =
            json!([{"name": "B", "value": "b"}, {"name": "QueueName", "value": "etc_dlq"}]);
        let deployed = vec![a_deployed, alarm("b", 3.0), alarm("old", 1.0)];
        let d = alarms(&generated, &deployed);
        let by_key: BTreeMap<&str, &Change> = d
            .items
            .iter()
            .map(|i| (i.key.as_str(), &i.change))
            .collect();
        assert_eq!(by_key.get("a"), None);
        assert_eq!(
            by_key.get("b"),
            Some(&&Change::Changed(vec!["threshold".into()]))
        );
        assert_eq!(by_key.get("new"), Some(&&Change::Added));
        assert_eq!(by_key.get("old"), Some(&&Change::Removed));
        assert_eq!((d.unchanged, d.generated), (1, 3));
    }

    /// The generated dashboards compared with themselves after a JSON round trip: no change.
    #[test]
    fn generated_dashboards_survive_a_round_trip() {
        let t = crate::Target::new("us-east-1", "dev");
        for generated in [
            crate::ops::dashboard(&t),
            crate::stakeholders::dashboard(&t, &[]),
        ] {
            let text = generated.to_string();
            let back: Value = serde_json::from_str(&text).unwrap();
            let d = dashboard("d", &generated, Some(&back));
            assert!(d.is_empty(), "{:?}", d.items);
        }
        let a = crate::alarms::alarms(&t);
        assert!(alarms(&a, &a).is_empty());
    }
}
