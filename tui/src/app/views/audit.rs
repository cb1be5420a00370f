//! The audit log, newest first: who did what to which queue, and where the backup is. Each
//! action has two lines, its intent and its result (ok, failed, cancelled); an intent with no
//! result after it is an action whose process died.

use super::{Component, Context, Cursor, Effect, move_in};
use crate::app::Action;
use crate::app::snapshot::Snapshot;
use crate::app::view::{block, header, selected_style, window};
use crate::ops::safety::{AuditEntry, Phase};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row, Table};

#[derive(Debug, Default)]
pub struct Audit {
    pub cursor: Cursor,
}

impl Component for Audit {
    fn update(&mut self, action: &Action, cx: &Context) -> Effect {
        move_in(&mut self.cursor, action, cx.snapshot.audit.len())
    }

    fn on_snapshot(&mut self, s: &Snapshot) {
        self.cursor.clamp(s.audit.len());
    }

    fn draw(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        let height = area.height.saturating_sub(3) as usize;
        let range = window(s.audit.len(), self.cursor.selected, height);
        let start = range.start;
        let rows = s.audit[range].iter().enumerate().map(|(i, a)| {
            let style = if start + i == self.cursor.selected {
                selected_style()
            } else {
                Style::new()
            };
            Row::new(vec![
                Cell::from(a.time.format("%Y-%m-%d %H:%M:%S").to_string()),
                Cell::from(a.identity.clone()),
                Cell::from(a.action.clone()),
                Cell::from(a.queue.clone()),
                Cell::from(a.to.clone().unwrap_or_default()),
                Cell::from(phase(a)),
                Cell::from(format!("{}/{}/{}", a.moved, a.failed, a.skipped)),
                Cell::from(a.backup.clone().unwrap_or_else(|| "-".into())),
            ])
            .style(style)
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(19),
                Constraint::Length(14),
                Constraint::Length(10),
                Constraint::Length(22),
                Constraint::Length(16),
                Constraint::Length(9),
                Constraint::Length(9),
                Constraint::Min(10),
            ],
        )
        .header(header(&[
            "TIME",
            "WHO",
            "ACTION",
            "QUEUE",
            "TO",
            "PHASE",
            "OK/FAIL/SKIP",
            "BACKUP",
        ]))
        .block(block(format!(
            "Audit log — {} line(s), newest first",
            s.audit.len()
        )));
        frame.render_widget(table, area);
    }
}

/// `intent`, or how the action ended; lines from before phases existed say `done`.
fn phase(a: &AuditEntry) -> &'static str {
    match (a.phase, a.outcome) {
        (Phase::Intent, _) => "intent",
        (Phase::Result, Some(o)) => o.as_str(),
        (Phase::Result, None) => "done",
    }
}
