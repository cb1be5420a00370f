//! The topology tree (like k9s xray): topic → subscription → queue → redrive → function, with
//! live depths; `Enter` opens the node.

use super::{Component, Context, Cursor, Effect, move_in};
use crate::app::Action;
use crate::app::health::topology_rows;
use crate::app::snapshot::Snapshot;
use crate::app::view::{BAD, block, selected_style, window};
use crate::dispatch::{Extent, Operation};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

#[derive(Debug, Default)]
pub struct Topology {
    pub cursor: Cursor,
}

impl Component for Topology {
    fn update(&mut self, action: &Action, cx: &Context) -> Effect {
        let rows = topology_rows(cx.snapshot);
        match action {
            Action::Inspect => rows
                .get(self.cursor.selected)
                .and_then(|r| r.opens.clone())
                .map_or(Effect::None, Effect::Jump),
            Action::ToggleTrigger => {
                match rows.get(self.cursor.selected).and_then(|r| r.function) {
                    Some(function) => propose_trigger_change(cx.snapshot, function),
                    None => Effect::Error(
                        "t pauses or resumes a function's trigger: select a λ row".into(),
                    ),
                }
            }
            _ => move_in(&mut self.cursor, action, rows.len()),
        }
    }

    fn on_snapshot(&mut self, s: &Snapshot) {
        self.cursor.clamp(topology_rows(s).len());
    }

    fn draw(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        let rows = topology_rows(s);
        let height = area.height.saturating_sub(2) as usize;
        let range = window(rows.len(), self.cursor.selected, height);
        let start = range.start;
        // Where the tree goes on beyond the pane (at 80×24 the failure queues are below).
        let mut title = "Topology (enter: open the node · t: pause/resume a λ trigger)".to_string();
        if range.len() < rows.len() {
            title.push_str(&format!(
                " · rows {}–{} of {}",
                start + 1,
                range.end,
                rows.len()
            ));
        }
        let lines: Vec<Line> = rows[range]
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut style = if r.alert {
                    Style::new().fg(BAD)
                } else {
                    Style::new()
                };
                if start + i == self.cursor.selected {
                    style = style.patch(selected_style());
                }
                Line::styled(
                    format!("{}{}", "  ".repeat(r.indent as usize), r.text),
                    style,
                )
            })
            .collect();
        frame.render_widget(Paragraph::new(lines).block(block(title)), area);
    }
}

/// Pausing a running trigger, or resuming a paused one, as Lambda last reported it.
fn propose_trigger_change(s: &Snapshot, function: &str) -> Effect {
    let Some(known) = s.triggers.iter().find(|t| t.function == function) else {
        return Effect::Error(format!(
            "{function}: Lambda has not answered yet; ctrl-r reads it again"
        ));
    };
    match &known.mapping {
        None => Effect::Error(format!(
            "{function} has no SQS trigger to pause (API Gateway invokes it, or no mapping exists)"
        )),
        Some(m) => Effect::Propose(
            Operation::SetTrigger {
                function: function.to_string(),
                enabled: !m.is_enabled(),
            },
            Extent::default(),
        ),
    }
}
