//! The attention rules (like k9s pulses), worst first; `Enter` opens the place to fix one.

use super::{Component, Context, Cursor, Effect, move_in};
use crate::app::Action;
use crate::app::health::{Severity, rules};
use crate::app::snapshot::Snapshot;
use crate::app::view::{BAD, GOOD, WARN, block, header, selected_style};
use crate::app::views::dlq::wrap_words;
use crate::render;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Row, Table};

#[derive(Debug, Default)]
pub struct Health {
    pub cursor: Cursor,
}

impl Component for Health {
    fn update(&mut self, action: &Action, cx: &Context) -> Effect {
        let rules = rules(cx.snapshot);
        match action {
            Action::Inspect => rules
                .get(self.cursor.selected)
                .and_then(|r| r.opens.clone())
                .map_or(Effect::None, Effect::Jump),
            _ => move_in(&mut self.cursor, action, rules.len()),
        }
    }

    fn on_snapshot(&mut self, s: &Snapshot) {
        self.cursor.clamp(rules(s).len());
    }

    fn draw(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        // The functions under the rules, once Lambda has answered and where there is room.
        let functions_height = s.triggers.len() as u16 + 3;
        let area = if !s.triggers.is_empty() && area.height >= functions_height + 8 {
            let [rules_area, functions_area] =
                Layout::vertical([Constraint::Min(5), Constraint::Length(functions_height)])
                    .areas(area);
            draw_functions(frame, functions_area, s);
            rules_area
        } else {
            area
        };
        let rules = rules(s);
        // A rule's text wraps rather than lose its end (at 80 columns, "oldest 7m15s").
        let text_width = area.width.saturating_sub(2 + 11 + 4 + 2).max(20) as usize;
        let rows = rules.iter().enumerate().map(|(i, r)| {
            let lines: Vec<Line> = wrap_words(&r.text, text_width)
                .into_iter()
                .map(Line::from)
                .collect();
            let height = lines.len() as u16;
            let (icon, color) = match r.severity {
                Severity::Critical => ("✖ critical", BAD),
                Severity::Warning => ("▲ warning", WARN),
                Severity::Ok => ("● ok", GOOD),
            };
            let style = if i == self.cursor.selected {
                selected_style()
            } else {
                Style::new()
            };
            Row::new(vec![
                Cell::from(Span::styled(icon, Style::new().fg(color))),
                Cell::from(Text::from(lines)),
                Cell::from(r.key),
            ])
            .height(height)
            .style(style)
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(11),
                Constraint::Min(20),
                Constraint::Length(4),
            ],
        )
        .header(header(&["", "RULE", "KEY"]))
        .block(block("Health (enter: open the place to fix it)"));
        frame.render_widget(table, area);
    }
}

/// Each function with its SQS trigger as Lambda reports it: state, batch size, last result,
/// then reserved concurrency, runtime, architecture and last modified.
fn draw_functions(frame: &mut Frame, area: Rect, s: &Snapshot) {
    let dash = || "-".to_string();
    let rows = s.triggers.iter().map(|f| {
        let m = f.mapping.as_ref();
        let state_style = if f.is_paused() {
            Style::new().fg(WARN)
        } else {
            Style::new()
        };
        let details = match &f.error {
            Some(e) => e.clone(),
            None => [
                f.runtime.clone(),
                f.architecture.clone(),
                f.last_modified
                    .as_ref()
                    .map(|t| t.get(..16).unwrap_or(t).to_string()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
        };
        Row::new(vec![
            Cell::from(f.function.clone()),
            Cell::from(render::trigger_source(f)),
            Cell::from(Span::styled(
                m.map_or_else(dash, |m| m.state.clone()),
                state_style,
            )),
            Cell::from(m.map_or_else(dash, |m| m.batch_size.to_string())),
            Cell::from(
                m.and_then(|m| m.last_processing_result.clone())
                    .unwrap_or_else(dash),
            ),
            Cell::from(render::reserved(f)),
            Cell::from(details),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(18),
            Constraint::Length(24),
            Constraint::Length(9),
            Constraint::Length(5),
            Constraint::Length(12),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
    )
    .header(header(&[
        "FUNCTION",
        "TRIGGER",
        "STATE",
        "BATCH",
        "LAST RESULT",
        "RESERVED",
        "RUNTIME",
    ]))
    .block(block(
        "Lambda functions (t in topology pauses/resumes a trigger)",
    ));
    frame.render_widget(table, area);
}
