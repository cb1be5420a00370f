//! Widgets in the form PutDashboard takes.

use crate::grid::Grid;
use serde_json::{Value, json};

/// One line of a metric widget: `[namespace, metric, dim, value, ..., {options}]`.
pub fn metric(namespace: &str, name: &str, dims: &[(&str, &str)], options: Value) -> Value {
    let mut row = vec![json!(namespace), json!(name)];
    for (k, v) in dims {
        row.push(json!(k));
        row.push(json!(v));
    }
    if options.as_object().is_some_and(|o| !o.is_empty()) {
        row.push(options);
    }
    Value::Array(row)
}

/// A metric-math or SEARCH expression line.
pub fn expression(id: &str, expr: &str, label: &str) -> Value {
    json!([{ "expression": expr, "label": label, "id": id }])
}

/// What a metric widget shows besides its metrics.
pub struct Graph<'a> {
    pub title: &'a str,
    pub stat: &'a str,
    pub period: u32,
    /// Horizontal lines: (label, value), e.g. an alarm threshold.
    pub lines: &'a [(&'a str, f64)],
    pub stacked: bool,
    /// `timeSeries` or `singleValue`.
    pub view: &'a str,
    pub y_label: &'a str,
}

impl<'a> Graph<'a> {
    pub fn new(title: &'a str, stat: &'a str, period: u32) -> Self {
        Graph {
            title,
            stat,
            period,
            lines: &[],
            stacked: false,
            view: "timeSeries",
            y_label: "",
        }
    }
}

pub fn metric_widget(
    grid: &mut Grid,
    region: &str,
    w: u32,
    h: u32,
    graph: &Graph,
    metrics: Vec<Value>,
) -> Value {
    let (x, y) = grid.place(w, h);
    let mut properties = json!({
        "title": graph.title,
        "region": region,
        "view": graph.view,
        "stacked": graph.stacked,
        "stat": graph.stat,
        "period": graph.period,
        "metrics": metrics,
    });
    if !graph.lines.is_empty() {
        let lines: Vec<Value> = graph
            .lines
            .iter()
            .map(|(label, value)| json!({"label": label, "value": value, "color": "#d62728"}))
            .collect();
        properties["annotations"] = json!({ "horizontal": lines });
    }
    if !graph.y_label.is_empty() {
        properties["yAxis"] =
            json!({"left": {"label": graph.y_label, "showUnits": false, "min": 0}});
    }
    json!({"type": "metric", "x": x, "y": y, "width": w, "height": h, "properties": properties})
}

pub fn text_widget(grid: &mut Grid, w: u32, h: u32, markdown: &str) -> Value {
    let (x, y) = grid.place(w, h);
    json!({"type": "text", "x": x, "y": y, "width": w, "height": h, "properties": {"markdown": markdown}})
}
