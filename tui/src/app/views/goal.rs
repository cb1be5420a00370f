//! The goal check: each project's late payments, a preview of what a check would cancel, and
//! the check itself.

use super::{Component, Context, Cursor, Effect, motion};
use crate::app::snapshot::Snapshot;
use crate::app::view::{WARN, block, header, is_wide, selected_style, window};
use crate::app::{Action, WorkerCommand};
use crate::dispatch::{Extent, Operation};
use crate::ops::goal::GoalPlan;
use crowdfund_core::money::group_thousands;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

#[derive(Debug, Default)]
pub struct GoalCheck {
    pub cursor: Cursor,
    /// What a check of the selected project would cancel, once the worker has said.
    pub preview: Option<GoalPlan>,
}

impl GoalCheck {
    /// Selects `project_id` with no preview yet (the worker is asked for one).
    pub fn open(&mut self, project_id: &str, s: &Snapshot) {
        self.cursor.selected = s
            .status
            .projects
            .iter()
            .position(|p| p.id == project_id)
            .unwrap_or(0);
        self.preview = None;
    }
}

/// The goal check of the project at `index` (in the snapshot's list), to confirm: only a
/// project that reached its goal has payments to cancel.
pub fn propose_check(s: &Snapshot, index: usize) -> Effect {
    let Some(p) = s.status.projects.get(index) else {
        return Effect::None;
    };
    let Some(at) = p.goal_achieved_at else {
        return Effect::Error(format!(
            "{} has not reached its goal: nothing to cancel",
            p.id
        ));
    };
    let late = s.late_payments.get(&p.id).copied().unwrap_or(0);
    let operation = Operation::GoalCheck {
        project_id: p.id.clone(),
        at: None,
        dry_run: false,
    };
    let extent = Extent {
        count: late as u64,
        after: Some(at),
        ledger: None,
    };
    Effect::Propose(operation, extent)
}

impl Component for GoalCheck {
    fn update(&mut self, action: &Action, cx: &Context) -> Effect {
        let s = cx.snapshot;
        if let Some(by) = motion(action) {
            if self.cursor.move_by(by, s.status.projects.len()) {
                self.preview = None;
            }
            return Effect::None;
        }
        match action {
            Action::Inspect => match s.status.projects.get(self.cursor.selected) {
                Some(p) => Effect::Send(WorkerCommand::PreviewGoal {
                    project_id: p.id.clone(),
                }),
                None => Effect::None,
            },
            Action::GoalCheck => propose_check(s, self.cursor.selected),
            _ => Effect::Ignored,
        }
    }

    fn on_snapshot(&mut self, s: &Snapshot) {
        self.cursor.clamp(s.status.projects.len());
    }

    fn draw(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        // Side by side from WIDE columns; narrower, the preview goes under the projects (each
        // at full width, its columns whole).
        let [list, preview] = if is_wide(area) {
            Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(area)
        } else {
            let projects = s.status.projects.len() as u16 + 3;
            Layout::vertical([
                Constraint::Length(projects.min(area.height / 2)),
                Constraint::Min(0),
            ])
            .areas(area)
        };
        let height = list.height.saturating_sub(3) as usize;
        let range = window(s.status.projects.len(), self.cursor.selected, height);
        let start = range.start;
        let rows = s.status.projects[range].iter().enumerate().map(|(i, p)| {
            let i = start + i;
            let late = s.late_payments.get(&p.id).copied().unwrap_or(0);
            let state = match p.goal_achieved_at {
                Some(at) => format!("reached {}", at.format("%H:%M:%S")),
                None => "open".into(),
            };
            let style = if i == self.cursor.selected {
                selected_style()
            } else {
                Style::new()
            };
            Row::new(vec![
                Cell::from(p.id.clone()),
                Cell::from(state),
                Cell::from(late.to_string()),
            ])
            .style(if late > 0 { style.fg(WARN) } else { style })
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(18),
                Constraint::Length(17),
                Constraint::Min(4),
            ],
        )
        .header(header(&["PROJECT", "GOAL", "LATE"]))
        .block(block("Projects (enter: preview · g: run the check)"));
        frame.render_widget(table, list);

        let selected = s.status.projects.get(self.cursor.selected);
        let plan = self
            .preview
            .as_ref()
            .filter(|p| Some(&p.project_id) == selected.map(|s| &s.id));
        let Some(plan) = plan else {
            let text = match selected {
                Some(p) if p.goal_achieved_at.is_none() => format!(
                    "{} has not reached its goal: a check would cancel nothing.",
                    p.id
                ),
                Some(p) => format!(
                    "Enter to see which of {}'s payments a check would cancel.",
                    p.id
                ),
                None => "no projects".into(),
            };
            frame.render_widget(
                Paragraph::new(text)
                    .wrap(Wrap { trim: true })
                    .block(block("Preview")),
                preview,
            );
            return;
        };
        let title = format!(
            "A check at {} cancels {} payment(s), refunding {}",
            plan.achieved_at.format("%H:%M:%S"),
            plan.payments.len(),
            group_thousands(plan.total)
        );
        let height = preview.height.saturating_sub(3) as usize;
        let rows = plan.payments.iter().take(height).map(|p| {
            Row::new(vec![
                Cell::from(p.payment_id.clone()),
                Cell::from(format!(
                    "{} {}",
                    group_thousands(p.amount.amount),
                    p.amount.currency
                )),
                Cell::from(p.paid_at.format("%H:%M:%S%.3f").to_string()),
                Cell::from(p.backer_email.clone()),
            ])
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(12),
                Constraint::Length(14),
                Constraint::Length(13),
                Constraint::Min(10),
            ],
        )
        .header(header(&["PAYMENT", "AMOUNT", "PAID AT", "BACKER"]))
        .block(block(title));
        frame.render_widget(table, preview);
    }
}
