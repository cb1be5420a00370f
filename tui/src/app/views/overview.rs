//! The overview: every queue with its depth trend, each function's health, payments per
//! minute, and each project's funding progress.

use super::{Component, Context, Effect};
use crate::app::Action;
use crate::app::HISTORY;
use crate::app::snapshot::ERROR_WINDOW_MINUTES;
use crate::app::snapshot::{Snapshot, ThroughputPoint};
use crate::app::view::{ACCENT, BAD, GOOD, WARN, block, header, is_wide, part_title, width_of};
use crate::ops::status::ProjectStatus;
use crate::render::age;
use crowdfund_core::money::group_thousands;
use crowdfund_core::topology::{self, QUEUE_PARKED};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::widgets::{Axis, Cell, Chart, Dataset, GraphType, LineGauge, Paragraph, Row, Table};
use std::collections::{BTreeMap, VecDeque};

#[derive(Debug, Default)]
pub struct Overview {
    /// The last [`HISTORY`] depths of each queue, for the sparklines.
    pub depth_history: BTreeMap<String, VecDeque<u64>>,
}

impl Component for Overview {
    fn update(&mut self, action: &Action, _: &Context) -> Effect {
        match action {
            Action::Inspect => Effect::Browse(QUEUE_PARKED.to_string()),
            _ => Effect::Ignored,
        }
    }

    fn on_snapshot(&mut self, s: &Snapshot) {
        for q in &s.status.queues {
            let h = self.depth_history.entry(q.name.clone()).or_default();
            h.push_back(q.visible + q.in_flight + q.delayed);
            while h.len() > HISTORY {
                h.pop_front();
            }
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        if !is_wide(area) {
            self.draw_narrow(frame, area, s);
            return;
        }
        let rows_wanted = s.status.queues.len().max(topology::QUEUES.len()) as u16;
        let top_height = (rows_wanted + 3).min(area.height / 2 + 2);
        let [top, bottom] =
            Layout::vertical([Constraint::Length(top_height), Constraint::Min(0)]).areas(area);
        let [queues, lambdas] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(top);
        let [chart, funding] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(bottom);
        let spark_width = queues.width.saturating_sub(64).max(4) as usize;
        self.draw_queues(frame, queues, s, spark_width);
        draw_functions(frame, lambdas, s, queues.height.saturating_sub(3) as usize);
        draw_throughput(frame, chart, s);
        draw_funding(frame, funding, s);
    }
}

impl Overview {
    /// Below [`WIDE`](crate::app::view::WIDE) columns the queues take the whole width (their
    /// names whole), the functions and the funding progress share the row under them, and the
    /// chart gets what height is left, if that is enough to read it (at 80×24 it is not: its
    /// numbers are the ones the queues and functions already show).
    fn draw_narrow(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        // Every queue (the failure queues are last), unless the terminal is very short.
        let queues_height = (s.status.queues.len().max(topology::QUEUES.len()) as u16 + 3)
            .min((area.height / 2).max(area.height.saturating_sub(8)));
        let wanted = (s.functions.len() as u16 + 3).max(s.status.projects.len() as u16 * 2 + 2);
        let left = area.height.saturating_sub(queues_height);
        let middle_height = if left.saturating_sub(wanted) >= MIN_CHART_HEIGHT {
            wanted
        } else {
            left
        };
        let [queues, middle, chart] = Layout::vertical([
            Constraint::Length(queues_height),
            Constraint::Length(middle_height),
            Constraint::Min(0),
        ])
        .areas(area);
        let function_width = FUNCTION_COLUMNS.iter().map(|(w, _)| w + 1).sum::<u16>() + 1;
        let [lambdas, funding] =
            Layout::horizontal([Constraint::Length(function_width), Constraint::Min(0)])
                .areas(middle);
        let fixed: u16 = QUEUE_COLUMNS.iter().map(|(w, _)| w + 1).sum();
        let spark_width = queues.width.saturating_sub(2 + fixed).max(4) as usize;
        self.draw_queues(frame, queues, s, spark_width);
        draw_functions(frame, lambdas, s, middle.height.saturating_sub(3) as usize);
        draw_funding(frame, funding, s);
        if !chart.is_empty() {
            draw_throughput(frame, chart, s);
        }
    }

    fn draw_queues(&self, frame: &mut Frame, queues: Rect, s: &Snapshot, spark_width: usize) {
        let fits = queues.height.saturating_sub(3) as usize;
        let rows = s.status.queues.iter().take(fits).map(|q| {
            let depth = q.visible + q.in_flight + q.delayed;
            let failing = topology::is_failure_queue(&q.name) && depth > 0;
            let style = if failing {
                Style::new().fg(BAD).bold()
            } else {
                Style::new()
            };
            let history = self.depth_history.get(&q.name);
            let trend = history.map_or_else(String::new, |h| spark(h.iter().copied(), spark_width));
            Row::new(vec![
                Cell::from(q.name.clone()),
                Cell::from(q.visible.to_string()),
                Cell::from(q.in_flight.to_string()),
                Cell::from(q.delayed.to_string()),
                Cell::from(age(q.oldest_age_seconds)),
                Cell::from(trend),
            ])
            .style(style)
        });
        let widths = QUEUE_COLUMNS
            .iter()
            .map(|(w, _)| Constraint::Length(*w))
            .chain([Constraint::Min(4)]);
        let titles: Vec<&'static str> = QUEUE_COLUMNS
            .iter()
            .map(|(_, t)| *t)
            .chain(["TREND"])
            .collect();
        let table = Table::new(rows, widths)
            .header(header(&titles))
            .block(block(part_title("Queues", &s.parts.queues)));
        frame.render_widget(table, queues);
    }
}

/// The queues' columns before the trend; the longest name, `goal_achievement_queue`, is 22.
const QUEUE_COLUMNS: [(u16, &str); 5] = [
    (23, "QUEUE"),
    (8, "VISIBLE"),
    (9, "IN FLIGHT"),
    (8, "DELAYED"),
    (7, "OLDEST"),
];

/// The functions' columns where they share the width with the funding progress; the longest
/// name, `transaction_check`, is 17.
const FUNCTION_COLUMNS: [(u16, &str); 5] = [
    (17, "FUNCTION"),
    (6, "CALLS"),
    (3, "ERR"),
    (3, "THR"),
    (6, "P99"),
];

/// Rows the chart needs to be worth drawing.
const MIN_CHART_HEIGHT: u16 = 10;

/// The functions' health in `area`, at most `fits` of them. Wide: as it always was. Narrow:
/// the short headers of [`FUNCTION_COLUMNS`] (the title says what the window is), and counts
/// and durations in at most 6 cells.
fn draw_functions(frame: &mut Frame, area: Rect, s: &Snapshot, fits: usize) {
    let narrow = area.width < 48;
    let rows = s.functions.iter().take(fits).map(|f| {
        let style = if f.errors > 0 || f.throttles > 0 {
            Style::new().fg(WARN)
        } else {
            Style::new()
        };
        let (invocations, p99) = if narrow {
            (
                compact_count(f.invocations),
                f.duration_p99_micros.map_or("-".into(), compact_duration),
            )
        } else {
            (
                f.invocations.to_string(),
                f.duration_p99_micros
                    .map_or("-".into(), |d| format!("{:.2}ms", d as f64 / 1000.0)),
            )
        };
        Row::new(vec![
            Cell::from(f.name.clone()),
            Cell::from(invocations),
            Cell::from(f.errors.to_string()),
            Cell::from(f.throttles.to_string()),
            Cell::from(p99),
        ])
        .style(style)
    });
    let table = if narrow {
        Table::new(
            rows,
            FUNCTION_COLUMNS.iter().map(|(w, _)| Constraint::Length(*w)),
        )
        .header(header(&FUNCTION_COLUMNS.map(|(_, t)| t)))
        .block(block(format!(
            "Lambda health · ERR in {ERROR_WINDOW_MINUTES}m"
        )))
    } else {
        Table::new(
            rows,
            [
                Constraint::Length(18),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(6),
                Constraint::Min(7),
            ],
        )
        .header(header(&["FUNCTION", "INVOKED", "ERR 5m", "THROT", "P99"]))
        .block(block(part_title("Lambda health", &s.parts.metrics)))
    };
    frame.render_widget(table, area);
}

/// `n` in at most 6 cells: `123456`, `1234k`, `98765M`.
fn compact_count(n: u64) -> String {
    match n {
        n if n < 1_000_000 => n.to_string(),
        n if n < 100_000_000 => format!("{}k", n / 1000),
        n if n < 100_000_000_000 => format!("{}M", n / 1_000_000),
        n => format!("{}G", n / 1_000_000_000),
    }
}

/// A duration in microseconds in at most 6 cells: `0.42ms`, `12.3ms`, `245ms`, `12.5s`.
fn compact_duration(micros: u64) -> String {
    let ms = micros as f64 / 1000.0;
    match ms {
        ms if ms < 10.0 => format!("{ms:.2}ms"),
        ms if ms < 100.0 => format!("{ms:.1}ms"),
        ms if ms < 1000.0 => format!("{ms:.0}ms"),
        ms if ms < 100_000.0 => format!("{:.1}s", ms / 1000.0),
        ms => format!("{:.0}s", ms / 1000.0),
    }
}

fn draw_throughput(frame: &mut Frame, area: Rect, s: &Snapshot) {
    let series = |f: fn(&ThroughputPoint) -> u64| -> Vec<(f64, f64)> {
        s.throughput
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64, f(p) as f64))
            .collect()
    };
    let approved = series(|p| p.approved);
    let declined = series(|p| p.declined);
    let cancelled = series(|p| p.cancelled);
    let max = approved
        .iter()
        .chain(&declined)
        .chain(&cancelled)
        .map(|(_, y)| *y)
        .fold(1.0_f64, f64::max);
    let n = s.throughput.len().max(1) as f64;
    let datasets = vec![
        Dataset::default()
            .name("approved")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(GOOD))
            .data(&approved),
        Dataset::default()
            .name("declined")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(WARN))
            .data(&declined),
        Dataset::default()
            .name("cancelled")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(BAD))
            .data(&cancelled),
    ];
    let chart = Chart::new(datasets)
        .block(block(
            match (s.throughput.is_empty(), s.status.backend.as_str()) {
                (true, _) => "Payments per minute (no data: CloudWatch could not be read)",
                (false, "local") => "Payments per minute (sim clock)",
                (false, _) => "Payments per minute (CloudWatch)",
            },
        ))
        .x_axis(
            Axis::default()
                .bounds([0.0, n - 1.0])
                .labels([
                    format!("-{}m", s.throughput.len().saturating_sub(1)),
                    "now".to_string(),
                ])
                .style(Style::new().dark_gray()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, max])
                .labels(["0".to_string(), format!("{max:.0}")])
                .style(Style::new().dark_gray()),
        );
    frame.render_widget(chart, area);
}

fn draw_funding(frame: &mut Frame, area: Rect, s: &Snapshot) {
    let outer = block(part_title("Funding progress", &s.parts.projects));
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let projects = &s.status.projects;
    let rows = (inner.height as usize / 2).max(1);
    // The line under each gauge, in the longest form that fits every project's (the same form
    // for all, so that they read alike): the currency, then the spaces go first.
    let details = |form: usize, p: &ProjectStatus| {
        let (raised, goal, backers) = (
            group_thousands(p.raised),
            group_thousands(p.goal),
            p.backers,
        );
        match form {
            0 => format!("  {raised} of {goal} {} · {backers} backers", p.currency),
            1 => format!("  {raised} of {goal} · {backers} backers"),
            2 => format!("  {raised}/{goal} · {backers} backers"),
            _ => format!("{raised}/{goal} · {backers} backers"),
        }
    };
    let form = (0..3)
        .find(|&form| {
            projects
                .iter()
                .take(rows)
                .all(|p| width_of(&details(form, p)) <= usize::from(inner.width))
        })
        .unwrap_or(3);
    for (i, p) in projects.iter().take(rows).enumerate() {
        let ratio = if p.goal > 0 {
            p.raised as f64 / p.goal as f64
        } else {
            0.0
        };
        let achieved = p.goal_achieved_at.is_some();
        let color = if p.mismatch() {
            BAD
        } else if achieved {
            GOOD
        } else {
            ACCENT
        };
        let label = format!(
            "{:<16}{:>5.0}%{}",
            p.id,
            ratio * 100.0,
            if achieved { " ✓" } else { "  " }
        );
        let gauge = LineGauge::default()
            .filled_style(Style::new().fg(color))
            .unfilled_style(Style::new().dark_gray())
            .ratio(ratio.clamp(0.0, 1.0))
            .label(label);
        let y = inner.y + (i as u16) * 2;
        let detail = details(form, p);
        if y + 1 < inner.y + inner.height {
            frame.render_widget(
                Paragraph::new(detail).style(Style::new().dark_gray()),
                Rect::new(inner.x, y + 1, inner.width, 1),
            );
        }
        frame.render_widget(gauge, Rect::new(inner.x, y, inner.width, 1));
    }
}

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line sparkline of the last `width` samples.
pub fn spark(samples: impl ExactSizeIterator<Item = u64> + Clone, width: usize) -> String {
    let skip = samples.len().saturating_sub(width);
    let max = samples.clone().max().unwrap_or(0).max(1);
    samples
        .skip(skip)
        .map(|v| {
            if v == 0 {
                ' '
            } else {
                SPARKS[((v * 7) / max) as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_math() {
        assert_eq!(spark([0u64, 1, 7].into_iter(), 3), " ▂█");
        assert_eq!(spark([5u64, 5].into_iter(), 1), "█");
    }

    #[test]
    fn compact_numbers_fit_six_cells() {
        assert_eq!(compact_count(167), "167");
        assert_eq!(compact_count(999_999), "999999");
        assert_eq!(compact_count(1_234_567), "1234k");
        assert_eq!(compact_count(98_765_432_100), "98765M");
        assert_eq!(compact_duration(420), "0.42ms");
        assert_eq!(compact_duration(12_345), "12.3ms");
        assert_eq!(compact_duration(245_120), "245ms");
        assert_eq!(compact_duration(12_500_000), "12.5s");
        assert_eq!(compact_duration(900_000_000), "900s");
        for n in (0..14).map(|e| 10u64.pow(e) * 9 + 9) {
            assert!(compact_count(n).len() <= 6, "{n}: {}", compact_count(n));
        }
        for n in (0..10).map(|e| 10u64.pow(e) * 9 + 9) {
            assert!(
                compact_duration(n).len() <= 6,
                "{n}: {}",
                compact_duration(n)
            );
        }
    }
}
