//! The audit log, newest first: who did what to which queue, and where the backup is. Each
//! action has two lines, its intent and its result (ok, failed, cancelled); an intent with no
//! result after it is an action whose process died.

use super::{Component, Context, Cursor, Effect, move_in};
use crate::app::Action;
use crate::app::snapshot::Snapshot;
use crate::app::view::{block, cut, cut_front, header, is_wide, selected_style, width_of, window};
use crate::ops::safety::{AuditEntry, Phase};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

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
        if !is_wide(area) {
            self.draw_narrow(frame, area, s);
            return;
        }
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

/// Lines an entry takes in the narrow log.
const ENTRY_LINES: usize = 3;

impl Audit {
    /// Below [`WIDE`](crate::app::view::WIDE) columns the table's seven columns do not fit:
    /// each entry takes three lines instead, what and where first, then the counts and who,
    /// then the backup (its path cut at the front: its file name tells backups apart).
    fn draw_narrow(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        let outer = block(format!(
            "Audit log — {} line(s), newest first",
            s.audit.len()
        ));
        let inner = outer.inner(area);
        frame.render_widget(outer, area);
        let width = usize::from(inner.width);
        let fits = (usize::from(inner.height) / ENTRY_LINES).max(1);
        let range = window(s.audit.len(), self.cursor.selected, fits);
        let start = range.start;
        let mut lines = Vec::with_capacity(range.len() * ENTRY_LINES);
        for (i, a) in s.audit[range].iter().enumerate() {
            let style = if start + i == self.cursor.selected {
                selected_style()
            } else {
                Style::new()
            };
            let to =
                a.to.as_deref()
                    .map_or_else(String::new, |t| format!(" → {t}"));
            let what = format!(
                "{}  {} {}{to} · {}",
                a.time.format("%Y-%m-%d %H:%M:%S"),
                a.action,
                a.queue,
                phase(a)
            );
            // An ARN's end names the role and the session: cut its front.
            let counts = format!(
                "  {} moved · {} failed · {} skipped · by ",
                a.moved, a.failed, a.skipped
            );
            let who = cut_front(&a.identity, width.saturating_sub(width_of(&counts)));
            let counts = format!("{counts}{who}");
            let backup = a.backup.as_deref().unwrap_or("-");
            let backup = format!("  backup {}", cut_front(backup, width.saturating_sub(9)));
            for (n, text) in [what, counts, backup].into_iter().enumerate() {
                let line = Line::styled(cut(&text, width).into_owned(), style);
                lines.push(if n == 0 {
                    line.patch_style(Style::new().add_modifier(Modifier::BOLD))
                } else {
                    line
                });
            }
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
