//! The stakeholder dashboard against `status --json`: each demo project's progress row,
//! evaluated by the dashboard's own metric math over the metrics the pipeline emitted, shows
//! the same goal %, backers, days left and projection as the status computes from the ledger
//! and the funding store.

use super::Console;
use crowdfund_console::backend::LocalWorld;
use crowdfund_core::progress::{PACE_WINDOW_DAYS, SECONDS_PER_DAY};
use crowdfund_dashboards::metric_math::{Range, single_value};
use crowdfund_dashboards::stakeholders::{self, read_minute_buckets};
use serde_json::Value;

/// Equal within `tolerance`.
fn within(a: Option<f64>, b: &Value, tolerance: f64, what: &str) {
    match (a, b.as_f64()) {
        (Some(a), Some(b)) => assert!(
            (a - b).abs() <= tolerance,
            "{what}: dashboard {a}, status {b}"
        ),
        (None, None) => {}
        (a, _) => panic!("{what}: dashboard {a:?}, status {b}"),
    }
}

/// Equal, but for floating point.
fn close(a: Option<f64>, b: &Value, what: &str) {
    within(a, b, 1e-6, what);
}

/// A minute, in days: CloudWatch's datapoints start on whole minutes, the status's clock does not.
const A_MINUTE: f64 = 60.0 / 86_400.0;

#[test]
fn the_stakeholder_dashboard_shows_what_status_shows() {
    let c = Console::new();
    c.simulate(400, 11, "0.05");
    let status = c.json(&["status", "--json"]);
    let out_dir = c.dir.path().join("dashboards");
    let out_arg = out_dir.to_string_lossy().into_owned();
    let generated = c.run(&["dashboards", "generate", "--out", &out_arg, "--env", "prod"]);
    assert!(generated.status.success(), "{}", super::stderr(&generated));
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("stakeholders.json")).unwrap())
            .unwrap();
    let widgets = dashboard["widgets"].as_array().unwrap();
    let world = LocalWorld::open(&c.state(), None).unwrap();
    let buckets = world.world().project_metric_buckets();
    let now = chrono::DateTime::parse_from_rfc3339(status["now"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let window = PACE_WINDOW_DAYS * SECONDS_PER_DAY;
    let projects = status["projects"].as_array().unwrap();
    assert!(projects.len() >= 2, "the demo world has projects");
    let mut moving = 0;
    for p in projects {
        let id = p["id"].as_str().unwrap();
        let title = format!("{} ({id})", p["title"].as_str().unwrap());
        let rows: Vec<&Value> = widgets
            .iter()
            .filter(|w| w["properties"]["title"] == title.as_str())
            .collect();
        assert_eq!(rows.len(), 1, "one progress row for {title}");
        let no_buckets = Default::default();
        let read = read_minute_buckets(
            buckets.get(id).unwrap_or(&no_buckets),
            (now - window).div_euclid(60),
            now.div_euclid(60),
        );
        let figures = single_value(
            rows[0],
            Range {
                start: now - window,
                period: window,
            },
            read,
        )
        .unwrap();
        let figure = |label: &str| figures.iter().find(|(l, _)| l == label).unwrap().1;
        let projection = &p["projection"];
        if figure(stakeholders::RAISED).is_none() {
            // No raise applied in the window: the row is blank, and so was the project.
            assert_eq!(
                p["raised"], 0,
                "{id} raised without a ProjectRaisedEver metric"
            );
            continue;
        }
        moving += 1;
        close(
            figure(stakeholders::RAISED),
            &p["raised"],
            &format!("{id} raised"),
        );
        close(
            figure(stakeholders::GOAL),
            &p["goal"],
            &format!("{id} goal"),
        );
        close(
            figure(stakeholders::BACKERS),
            &p["backers"],
            &format!("{id} backers"),
        );
        close(
            figure(stakeholders::PERCENT_OF_GOAL),
            &projection["percentOfGoal"],
            &format!("{id} % of goal"),
        );
        within(
            figure(stakeholders::DAYS_LEFT),
            &projection["daysLeft"],
            A_MINUTE,
            &format!("{id} days left"),
        );
        close(
            figure(stakeholders::DAYS_TO_GOAL),
            &projection["daysToGoal"],
            &format!("{id} days to goal"),
        );
        let net = figure(stakeholders::APPROVED).unwrap_or(0.0)
            - figure(stakeholders::REFUNDED).unwrap_or(0.0);
        close(
            Some(net),
            &projection["netLast7Days"],
            &format!("{id} net in the window"),
        );
    }
    assert!(
        moving >= 2,
        "the simulated traffic funded at least two projects"
    );
}
