//! The console's views as components (ratatui's component template, gitui's tabs): each owns
//! its state (selection, filter, …), answers the actions meant for it with an [`Effect`] on the
//! rest of the console, and draws itself from the snapshot.

pub mod audit;
pub mod dlq;
pub mod goal;
pub mod health;
pub mod overview;
pub mod projects;
pub mod topology;

use super::snapshot::Snapshot;
use super::{Action, WorkerCommand};
use crate::dispatch::{Extent, Operation};
use ratatui::Frame;
use ratatui::layout::Rect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Overview,
    Dlq,
    Goal,
    Projects,
    Topology,
    Health,
    Audit,
}

impl View {
    pub const ALL: [View; 7] = [
        View::Overview,
        View::Dlq,
        View::Goal,
        View::Projects,
        View::Topology,
        View::Health,
        View::Audit,
    ];

    pub fn title(&self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Dlq => "DLQ",
            View::Goal => "Goal check",
            View::Projects => "Projects",
            View::Topology => "Topology",
            View::Health => "Health",
            View::Audit => "Audit",
        }
    }

    /// The title where the full ones do not fit (80 columns).
    pub fn short_title(&self) -> &'static str {
        match self {
            View::Goal => "Goal",
            other => other.title(),
        }
    }

    pub fn index(&self) -> usize {
        View::ALL.iter().position(|v| v == self).unwrap_or(0)
    }

    pub fn by_name(name: &str) -> Option<View> {
        Some(match name {
            "overview" | "o" | "1" => View::Overview,
            "dlq" | "2" => View::Dlq,
            "goal" | "goal-check" | "3" => View::Goal,
            "projects" | "p" | "4" => View::Projects,
            "topology" | "xray" | "5" => View::Topology,
            "health" | "pulses" | "6" => View::Health,
            "audit" | "7" => View::Audit,
            _ => return None,
        })
    }
}

/// What a view sees of the console when it answers an action.
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    /// Messages per second a redrive may move (`--rate`); `None`: no cap.
    pub redrive_rate: Option<u32>,
}

/// What a view asks of the rest of the console after an action.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Done; nothing else to do.
    None,
    /// Not this view's action: the console's default for it applies.
    Ignored,
    Show(View),
    /// `:target`: a view or a queue.
    Jump(String),
    /// Open the DLQ browser on a queue.
    Browse(String),
    /// Open the goal check on a project and preview it.
    OpenGoal(String),
    /// Ask for a queue to redrive to.
    AskRedriveTarget,
    Send(WorkerCommand),
    /// Through the dispatcher's gate, then behind its confirmation.
    Propose(Operation, Extent),
    Error(String),
}

/// A view of the console.
pub trait Component {
    /// Answers an action while the view is shown.
    fn update(&mut self, action: &Action, cx: &Context) -> Effect {
        let _ = (action, cx);
        Effect::Ignored
    }

    /// Keeps the view's state inside a new snapshot (selections within their lists).
    fn on_snapshot(&mut self, snapshot: &Snapshot) {
        let _ = snapshot;
    }

    fn draw(&self, frame: &mut Frame, area: Rect, snapshot: &Snapshot);
}

/// A selected row in a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub selected: usize,
}

impl Cursor {
    /// Moves by `by` rows within a list of `len`; true when the selection changed.
    pub fn move_by(&mut self, by: i64, len: usize) -> bool {
        let next = (self.selected as i64)
            .saturating_add(by)
            .clamp(0, (len as i64 - 1).max(0)) as usize;
        let changed = next != self.selected;
        self.selected = next;
        changed
    }

    pub fn clamp(&mut self, len: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
    }
}

/// How far a moving action moves the selection, if it is one.
pub fn motion(action: &Action) -> Option<i64> {
    Some(match action {
        Action::Up => -1,
        Action::Down => 1,
        Action::PageUp => -20,
        Action::PageDown => 20,
        Action::Top => i64::MIN / 2,
        Action::Bottom => i64::MAX / 2,
        _ => return None,
    })
}

/// Moves a cursor over a list of `len` for a moving action; other actions are not its.
pub fn move_in(cursor: &mut Cursor, action: &Action, len: usize) -> Effect {
    match motion(action) {
        Some(by) => {
            cursor.move_by(by, len);
            Effect::None
        }
        None => Effect::Ignored,
    }
}

/// Every view's state.
#[derive(Default)]
pub struct Views {
    pub overview: overview::Overview,
    pub dlq: dlq::DlqBrowser,
    pub goal: goal::GoalCheck,
    pub projects: projects::Projects,
    pub topology: topology::Topology,
    pub health: health::Health,
    pub audit: audit::Audit,
}

impl Views {
    pub fn get(&self, view: View) -> &dyn Component {
        match view {
            View::Overview => &self.overview,
            View::Dlq => &self.dlq,
            View::Goal => &self.goal,
            View::Projects => &self.projects,
            View::Topology => &self.topology,
            View::Health => &self.health,
            View::Audit => &self.audit,
        }
    }

    pub fn get_mut(&mut self, view: View) -> &mut dyn Component {
        match view {
            View::Overview => &mut self.overview,
            View::Dlq => &mut self.dlq,
            View::Goal => &mut self.goal,
            View::Projects => &mut self.projects,
            View::Topology => &mut self.topology,
            View::Health => &mut self.health,
            View::Audit => &mut self.audit,
        }
    }

    pub fn on_snapshot(&mut self, snapshot: &Snapshot) {
        for v in View::ALL {
            self.get_mut(v).on_snapshot(snapshot);
        }
    }
}
