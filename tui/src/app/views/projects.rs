//! Every project: goal, raised against the ledger, backers, progress; filtered by `/`.

use super::{Component, Context, Cursor, Effect, goal, motion};
use crate::app::Action;
use crate::app::snapshot::Snapshot;
use crate::app::view::{BAD, GOOD, block, header, is_wide, selected_style, width_of, window};
use crate::ops::status::ProjectStatus;
use crate::render::bar;
use crowdfund_core::money::group_thousands;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row, Table};

#[derive(Debug, Default)]
pub struct Projects {
    pub cursor: Cursor,
    pub filter: String,
}

impl Projects {
    /// The rows after the filter (id, or title case-insensitively).
    pub fn rows<'s>(&self, s: &'s Snapshot) -> Vec<&'s ProjectStatus> {
        let f = self.filter.to_lowercase();
        s.status
            .projects
            .iter()
            .filter(|p| f.is_empty() || p.id.contains(&f) || p.title.to_lowercase().contains(&f))
            .collect()
    }

    pub fn set_filter(&mut self, text: String) {
        self.filter = text;
        self.cursor = Cursor::default();
    }

    fn selected_id(&self, s: &Snapshot) -> Option<String> {
        self.rows(s).get(self.cursor.selected).map(|p| p.id.clone())
    }
}

impl Component for Projects {
    fn update(&mut self, action: &Action, cx: &Context) -> Effect {
        let s = cx.snapshot;
        if let Some(by) = motion(action) {
            self.cursor.move_by(by, self.rows(s).len());
            return Effect::None;
        }
        match action {
            Action::Back if !self.filter.is_empty() => {
                self.filter.clear();
                Effect::None
            }
            Action::Inspect => self.selected_id(s).map_or(Effect::None, Effect::OpenGoal),
            Action::GoalCheck => {
                let id = self.selected_id(s);
                let index = s
                    .status
                    .projects
                    .iter()
                    .position(|p| Some(&p.id) == id.as_ref())
                    .unwrap_or(0);
                goal::propose_check(s, index)
            }
            _ => Effect::Ignored,
        }
    }

    fn on_snapshot(&mut self, s: &Snapshot) {
        self.cursor.clamp(self.rows(s).len());
    }

    fn draw(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        let projects = self.rows(s);
        let height = area.height.saturating_sub(3) as usize;
        let range = window(projects.len(), self.cursor.selected, height);
        let start = range.start;
        let shown = &projects[range];
        let wide = is_wide(area);
        let rows = shown.iter().enumerate().map(|(i, p)| {
            let ratio = if p.goal > 0 {
                p.raised as f64 / p.goal as f64
            } else {
                0.0
            };
            // Narrow: the state in a word or a date (the amounts beside it say the rest).
            let (state, color) = match (p.mismatch(), p.goal_achieved_at.is_some(), wide) {
                (true, _, true) => ("MISMATCH raised ≠ ledger net".to_string(), Some(BAD)),
                (true, _, false) => ("MISMATCH".to_string(), Some(BAD)),
                (false, true, _) => ("goal reached".to_string(), Some(GOOD)),
                (false, false, true) => {
                    (format!("deadline {}", p.deadline.format("%Y-%m-%d")), None)
                }
                (false, false, false) => (format!("due {}", p.deadline.format("%Y-%m-%d")), None),
            };
            let mut style = if start + i == self.cursor.selected {
                selected_style()
            } else {
                Style::new()
            };
            if let Some(c) = color {
                style = style.fg(c);
            }
            let mut cells = vec![Cell::from(p.id.clone())];
            if wide {
                cells.push(Cell::from(p.title.clone()));
            }
            cells.extend([
                Cell::from(group_thousands(p.goal)),
                Cell::from(group_thousands(p.raised)),
                Cell::from(group_thousands(p.ledger_net)),
                Cell::from(p.backers.to_string()),
            ]);
            cells.push(Cell::from(if wide {
                format!("{} {:>4.0}%", bar(ratio, 10), ratio * 100.0)
            } else {
                format!("{:>4.0}%", ratio * 100.0)
            }));
            cells.push(Cell::from(state));
            Row::new(cells).style(style)
        });
        let mut title = "Projects (enter: goal check)".to_string();
        if !self.filter.is_empty() {
            title.push_str(&format!(" · filter /{}", self.filter));
        }
        let table = if wide {
            Table::new(
                rows,
                [
                    Constraint::Length(17),
                    Constraint::Length(26),
                    Constraint::Length(12),
                    Constraint::Length(12),
                    Constraint::Length(12),
                    Constraint::Length(7),
                    Constraint::Length(17),
                    Constraint::Min(10),
                ],
            )
            .header(header(&[
                "ID",
                "TITLE",
                "GOAL",
                "RAISED",
                "LEDGER NET",
                "BACKERS",
                "PROGRESS",
                "STATE",
            ]))
        } else {
            // Narrow: no title (the id names the project; the goal check shows both), the
            // progress as a percentage, and every column as wide as what it shows.
            let widest = |min: usize, f: &dyn Fn(&ProjectStatus) -> String| {
                shown
                    .iter()
                    .map(|p| width_of(&f(p)))
                    .max()
                    .unwrap_or(0)
                    .max(min) as u16
            };
            Table::new(
                rows,
                [
                    Constraint::Length(widest(2, &|p| p.id.clone())),
                    Constraint::Length(widest(4, &|p| group_thousands(p.goal))),
                    Constraint::Length(widest(6, &|p| group_thousands(p.raised))),
                    Constraint::Length(widest(10, &|p| group_thousands(p.ledger_net))),
                    Constraint::Length(7),
                    Constraint::Length(5),
                    Constraint::Min(8),
                ],
            )
            .header(header(&[
                "ID",
                "GOAL",
                "RAISED",
                "LEDGER NET",
                "BACKERS",
                "  %",
                "STATE",
            ]))
        };
        frame.render_widget(table.block(block(title)), area);
    }
}
