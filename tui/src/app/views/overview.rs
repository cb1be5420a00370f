//! The overview: every queue with its depth trend, each function's health, payments per
//! minute, and each project's funding progress.

use super::{Component, Context, Effect};
use crate::app::Action;
use crate::app::HISTORY;
use crate::app::snapshot::{Snapshot, ThroughputPoint};
use crate::app::view::part_title;
use crate::app::view::{ACCENT, BAD, GOOD, WARN, block, header};
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
        let table = Table::new(
            rows,
            [
                Constraint::Length(23),
                Constraint::Length(8),
                Constraint::Length(9),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Min(4),
            ],
        )
        .header(header(&[
            "QUEUE",
            "VISIBLE",
            "IN FLIGHT",
            "DELAYED",
            "OLDEST",
            "TREND",
        ]))
        .block(block(part_title("Queues", &s.parts.queues)));
        frame.render_widget(table, queues);

        let rows = s.functions.iter().take(fits).map(|f| {
            let style = if f.errors > 0 || f.throttles > 0 {
                Style::new().fg(WARN)
            } else {
                Style::new()
            };
            Row::new(vec![
                Cell::from(f.name.clone()),
                Cell::from(f.invocations.to_string()),
                Cell::from(f.errors.to_string()),
                Cell::from(f.throttles.to_string()),
                Cell::from(
                    f.duration_p99_micros
                        .map_or("-".into(), |d| format!("{:.2}ms", d as f64 / 1000.0)),
                ),
            ])
            .style(style)
        });
        let table = Table::new(
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
        .block(block(part_title("Lambda health", &s.parts.metrics)));
        frame.render_widget(table, lambdas);

        draw_throughput(frame, chart, s);
        draw_funding(frame, funding, s);
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
        let detail = format!(
            "  {} of {} {} · {} backers",
            group_thousands(p.raised),
            group_thousands(p.goal),
            p.currency,
            p.backers
        );
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
}
