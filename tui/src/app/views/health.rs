//! The attention rules (like k9s pulses), worst first; `Enter` opens the place to fix one.

use super::{Component, Context, Cursor, Effect, move_in};
use crate::app::Action;
use crate::app::health::{Severity, rules};
use crate::app::snapshot::Snapshot;
use crate::app::view::{BAD, GOOD, WARN, block, header, selected_style};
use crate::app::views::dlq::wrap_words;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
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
