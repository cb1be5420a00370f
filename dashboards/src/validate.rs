//! The limits PutDashboard and PutMetricAlarm enforce, checked before anything is written or
//! deployed, so a bad body fails here with a reason instead of in a deploy.

use crate::grid::COLUMNS;
use serde_json::Value;

pub const MAX_WIDGETS: usize = 500;
pub const MAX_METRICS_PER_WIDGET: usize = 500;
/// PutDashboard's DashboardBody limit.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const OPERATORS: [&str; 4] = [
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];
/// The operators of an alarm against an anomaly band (`thresholdMetricId`).
const BAND_OPERATORS: [&str; 3] = [
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
];

fn num(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// Every problem of a dashboard body, or `Ok`.
pub fn dashboard(body: &Value) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let size = body.to_string().len();
    if size > MAX_BODY_BYTES {
        problems.push(format!("body is {size} bytes, over {MAX_BODY_BYTES}"));
    }
    let Some(widgets) = body.get("widgets").and_then(Value::as_array) else {
        return Err(vec!["no widgets array".into()]);
    };
    if widgets.len() > MAX_WIDGETS {
        problems.push(format!("{} widgets, over {MAX_WIDGETS}", widgets.len()));
    }
    let mut cells: Vec<(u64, u64, u64, u64, usize)> = Vec::new();
    for (i, w) in widgets.iter().enumerate() {
        let (Some(x), Some(y), Some(width), Some(height)) =
            (num(w, "x"), num(w, "y"), num(w, "width"), num(w, "height"))
        else {
            problems.push(format!("widget {i} lacks x, y, width or height"));
            continue;
        };
        if width == 0 || height == 0 || x + width > u64::from(COLUMNS) {
            problems.push(format!(
                "widget {i} at x={x} width={width} leaves the {COLUMNS}-column grid"
            ));
        }
        for (ox, oy, ow, oh, j) in &cells {
            if x < ox + ow && *ox < x + width && y < oy + oh && *oy < y + height {
                problems.push(format!("widget {i} overlaps widget {j}"));
            }
        }
        cells.push((x, y, width, height, i));
        match w.get("type").and_then(Value::as_str) {
            Some("metric") => metric_widget(i, w, &mut problems),
            Some("text") => {
                if w.pointer("/properties/markdown")
                    .and_then(Value::as_str)
                    .is_none()
                {
                    problems.push(format!("text widget {i} has no markdown"));
                }
            }
            other => problems.push(format!("widget {i} has unknown type {other:?}")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn metric_widget(i: usize, w: &Value, problems: &mut Vec<String>) {
    let p = &w["properties"];
    if p.get("region")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        problems.push(format!("metric widget {i} has no region"));
    }
    let Some(metrics) = p.get("metrics").and_then(Value::as_array) else {
        problems.push(format!("metric widget {i} has no metrics array"));
        return;
    };
    if metrics.is_empty() || metrics.len() > MAX_METRICS_PER_WIDGET {
        problems.push(format!("metric widget {i} has {} metrics", metrics.len()));
    }
    for (j, m) in metrics.iter().enumerate() {
        let Some(row) = m.as_array() else {
            problems.push(format!("widget {i} metric {j} is not an array"));
            continue;
        };
        let (strings, rest): (Vec<&Value>, Vec<&Value>) = row.iter().partition(|v| v.is_string());
        let options_only = rest.len() <= 1 && rest.iter().all(|v| v.is_object());
        let expression =
            strings.is_empty() && rest.len() == 1 && rest[0].get("expression").is_some();
        // [namespace, name, (dim name, dim value)*, {options}?]: an even count of strings ≥ 2.
        let plain = strings.len() >= 2
            && strings.len() % 2 == 0
            && options_only
            && row.iter().take(strings.len()).all(Value::is_string);
        if !(plain || expression) {
            problems.push(format!("widget {i} metric {j} is not [namespace, metric, dim, value…, {{options}}] nor an expression"));
        }
        if expression && rest[0].get("id").and_then(Value::as_str).is_none() {
            problems.push(format!("widget {i} expression {j} has no id"));
        }
    }
}

/// A one-metric alarm: namespace, metric, statistic, period and a static threshold.
fn single_metric_alarm(name: &str, a: &Value, problems: &mut Vec<String>) {
    for key in ["namespace", "metricName", "comparisonOperator"] {
        if a.get(key).and_then(Value::as_str).is_none() {
            problems.push(format!("alarm {name} lacks {key}"));
        }
    }
    for key in ["period", "evaluationPeriods", "threshold"] {
        if a.get(key).and_then(Value::as_f64).is_none() {
            problems.push(format!("alarm {name} lacks numeric {key}"));
        }
    }
    if a.get("statistic").is_some() == a.get("extendedStatistic").is_some() {
        problems.push(format!(
            "alarm {name} needs exactly one of statistic and extendedStatistic"
        ));
    }
    let op = a
        .get("comparisonOperator")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !OPERATORS.contains(&op) {
        problems.push(format!("alarm {name} has comparisonOperator {op:?}"));
    }
}

/// A metric-math alarm: exactly one query returns data (two with a band: the metric and the
/// band), ids are unique, and a band alarm uses a band operator.
fn math_alarm(name: &str, a: &Value, queries: &[Value], problems: &mut Vec<String>) {
    for key in [
        "namespace",
        "metricName",
        "statistic",
        "extendedStatistic",
        "period",
    ] {
        if a.get(key).is_some() {
            problems.push(format!(
                "alarm {name} has metrics and {key}: PutMetricAlarm takes one or the other"
            ));
        }
    }
    let mut ids = std::collections::HashSet::new();
    for q in queries {
        let id = q.get("id").and_then(Value::as_str).unwrap_or("");
        if !id.starts_with(|c: char| c.is_ascii_lowercase()) || !ids.insert(id) {
            problems.push(format!(
                "alarm {name}: query id {id:?} must be unique and start with a lower-case letter"
            ));
        }
        if q.get("expression").is_some() == q.get("metricStat").is_some() {
            problems.push(format!(
                "alarm {name}: query {id} needs exactly one of expression and metricStat"
            ));
        }
    }
    let returning = queries
        .iter()
        .filter(|q| q.get("returnData") == Some(&Value::Bool(true)))
        .count();
    let op = a
        .get("comparisonOperator")
        .and_then(Value::as_str)
        .unwrap_or("");
    match a.get("thresholdMetricId").and_then(Value::as_str) {
        Some(band) => {
            if !ids.contains(band) {
                problems.push(format!(
                    "alarm {name}: thresholdMetricId {band} is not one of its queries"
                ));
            }
            if !BAND_OPERATORS.contains(&op) || returning != 2 {
                problems.push(format!(
                    "alarm {name}: a band alarm needs a band operator (got {op:?}) and its metric and band returning data"
                ));
            }
        }
        None => {
            if !OPERATORS.contains(&op) || returning != 1 || a.get("threshold").is_none() {
                problems.push(format!(
                    "alarm {name}: a math alarm needs a static operator (got {op:?}), a threshold and exactly one query returning data ({returning})"
                ));
            }
        }
    }
}

/// Every problem of the composite alarms: each has a name and a rule, and its rule names only
/// alarms that are generated (PutCompositeAlarm refuses a rule over an alarm that does not
/// exist).
pub fn composite_alarms(composites: &[Value], alarms: &[Value]) -> Result<(), Vec<String>> {
    let names: Vec<&str> = alarms
        .iter()
        .filter_map(|a| a.get("alarmName").and_then(Value::as_str))
        .collect();
    let mut problems = Vec::new();
    for c in composites {
        let name = c.get("alarmName").and_then(Value::as_str).unwrap_or("");
        let Some(rule) = c.get("alarmRule").and_then(Value::as_str) else {
            problems.push(format!("composite alarm {name:?} has no alarmRule"));
            continue;
        };
        for part in rule.split("ALARM(\"").skip(1) {
            let part = part.split('"').next().unwrap_or("");
            if !names.contains(&part) {
                problems.push(format!(
                    "composite alarm {name}: its rule names {part}, which is not generated"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Every problem of an alarms list (the fields terraform's monitoring module requires).
pub fn alarms(list: &Value) -> Result<(), Vec<String>> {
    let Some(items) = list.as_array() else {
        return Err(vec!["alarms is not a list".into()]);
    };
    let mut problems = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (i, a) in items.iter().enumerate() {
        let name = a.get("alarmName").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() || name.len() > 255 {
            problems.push(format!(
                "alarm {i} needs an alarmName of 1 to 255 characters"
            ));
        }
        if !names.insert(name.to_string()) {
            problems.push(format!("alarm name {name} is used twice"));
        }
        match a.get("metrics").and_then(Value::as_array) {
            Some(queries) => math_alarm(name, a, queries, &mut problems),
            None => single_metric_alarm(name, a, &mut problems),
        }
        if num(a, "period").is_some_and(|p| p < 10 || (p > 30 && p % 60 != 0)) {
            problems.push(format!(
                "alarm {name} has a period CloudWatch refuses (10, 30, or a multiple of 60)"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
