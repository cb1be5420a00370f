//! The stakeholder dashboard: payments, money, success rate and funding progress, from the
//! custom metrics the Lambdas emit (namespace and names from `crowdfund_core::metrics`).

use crate::Target;
use crate::grid::Grid;
use crate::widgets::{Graph, metric_widget, text_widget};
use crowdfund_core::metrics::{DIM_PROJECT, MetricName, NAMESPACE};
use serde_json::{Value, json};

/// The metric summed over every project (the Lambdas emit it per ProjectId).
fn all_projects(id: &str, name: MetricName, stat: &str, period: u32) -> Value {
    json!([{
        "expression": format!("SUM(SEARCH('{{{NAMESPACE},{DIM_PROJECT}}} MetricName=\"{}\"', '{stat}', {period}))", name.as_str()),
        "label": name.as_str(),
        "id": id,
    }])
}

pub fn dashboard(t: &Target) -> Value {
    let r = t.region.as_str();
    let mut g = Grid::default();
    let mut w = vec![text_widget(
        &mut g,
        24,
        2,
        "## Crowdfunding at a glance\nPayments and money raised, updated every minute. Amounts are in minor units of the project's currency (KRW has none).",
    )];
    g.new_row();
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
    json!({"start": "-P1D", "periodOverride": "inherit", "widgets": w})
}
