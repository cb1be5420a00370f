//! The interactive console: state, actions and their effects, as in ratatui's component
//! template. Keys become [`Action`]s; [`App::update`] applies them; drawing ([`view`]) is a pure
//! function of the state. Data arrives from a worker thread ([`worker`]) as messages, and
//! everything that changes the system leaves as a [`WorkerCommand`] through the dispatcher.
//!
//! - [`keys`]: key bindings as data.
//! - [`snapshot`]: what one refresh collects.
//! - [`health`]: the attention rules and the topology rows, from a snapshot.
//! - [`view`]: drawing every view, a pure function of the state.
//! - [`render_cache`]: what the DLQ browser drew in earlier frames of the same snapshot.
//! - [`worker`]: the local world running live, off the UI thread.
//! - [`terminal`]: the terminal, the event loop, restoring on any exit.

#[cfg(feature = "aws")]
pub mod cloud;
pub mod health;
pub mod keys;
pub mod render_cache;
pub mod snapshot;
pub mod terminal;
pub mod view;
pub mod worker;

use crate::dispatch::{self, Extent, Operation};
use crate::ops::dlq::{self, CancelFlag, Disposal, DisposalRequest, DlqMessage, Selection};
use crate::ops::goal::GoalPlan;
use crowdfund_core::topology::{self, QUEUE_DLQ, QUEUE_PARKED};
use keys::KeyBindings;
use ratatui::crossterm::event::{Event, KeyEvent, KeyEventKind, MouseEventKind};
use snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

/// Depth samples kept per queue for the sparklines.
pub const HISTORY: usize = 60;

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

    fn index(&self) -> usize {
        View::ALL.iter().position(|v| v == self).unwrap_or(0)
    }

    fn by_name(name: &str) -> Option<View> {
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

/// What a key (or mouse event) asks the UI to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Quit,
    Back,
    Help,
    Filter,
    Jump,
    NextPane,
    Up,
    Down,
    PrevView,
    NextView,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Inspect,
    Mark,
    MarkRange,
    ClearMarks,
    Redrive,
    RedriveTo,
    Delete,
    Export,
    GoalCheck,
    ToggleLive,
    /// Stop the running redrive after its batch in flight (or cancel the SQS move task).
    StopRunning,
    Show(View),
    Confirm,
    Cancel,
    Input(char),
    InputBackspace,
    InputSubmit,
}

/// Everything the event loop waits for.
#[derive(Debug)]
pub enum UiEvent {
    Input(Event),
    Worker(WorkerEvent),
}

/// What the UI asks of the worker.
#[derive(Debug, Clone)]
pub enum WorkerCommand {
    /// An action, through the dispatcher.
    Run(Operation),
    PreviewGoal {
        project_id: String,
    },
    /// List this queue too on every refresh.
    Browse(String),
    SetLive(bool),
    Quit,
}

/// What the worker tells the UI.
#[derive(Debug, Clone)]
pub enum WorkerEvent {
    Snapshot(Box<Snapshot>),
    Progress(u64),
    Finished {
        title: String,
        lines: Vec<String>,
        ok: bool,
    },
    GoalPreview(Result<GoalPlan, String>),
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    List,
    Detail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputPurpose {
    Filter,
    Jump,
    RedriveTarget,
}

#[derive(Debug, Clone)]
pub enum Modal {
    Help,
    Confirm {
        question: String,
        action: Operation,
    },
    Input {
        purpose: InputPurpose,
        buffer: String,
    },
    Message {
        title: String,
        lines: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub label: String,
    pub done: u64,
    pub total: u64,
    /// How to stop it, for actions that can stop part-way (redrive, delete).
    pub cancel: Option<CancelFlag>,
}

#[derive(Debug, Clone)]
pub struct DlqBrowser {
    pub queue: String,
    pub selected: usize,
    pub marked: BTreeSet<String>,
    pub anchor: Option<usize>,
    pub filter: String,
    pub pane: Pane,
    pub detail_scroll: u16,
}

/// The console's whole state; drawing reads only this.
pub struct App {
    pub view: View,
    pub snapshot: Option<Snapshot>,
    pub depth_history: BTreeMap<String, VecDeque<u64>>,
    pub dlq: DlqBrowser,
    pub projects_selected: usize,
    pub project_filter: String,
    pub goal_selected: usize,
    pub goal_preview: Option<GoalPlan>,
    pub topology_selected: usize,
    pub health_selected: usize,
    pub audit_selected: usize,
    pub modal: Option<Modal>,
    pub running: Option<Running>,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub read_only: bool,
    pub live: bool,
    pub backend: String,
    pub target: String,
    pub keys: KeyBindings,
    pub should_quit: bool,
    /// Messages per second a redrive from the console may move (`--rate`); `None`: no cap.
    pub redrive_rate: Option<u32>,
    /// Emptied with every new snapshot; drawing reads and fills it.
    pub render_cache: render_cache::RenderCache,
    outbox: Vec<WorkerCommand>,
}

impl App {
    pub fn new(backend: &str, target: &str, read_only: bool) -> Self {
        App {
            view: View::Overview,
            snapshot: None,
            depth_history: BTreeMap::new(),
            dlq: DlqBrowser {
                queue: QUEUE_PARKED.to_string(),
                selected: 0,
                marked: BTreeSet::new(),
                anchor: None,
                filter: String::new(),
                pane: Pane::List,
                detail_scroll: 0,
            },
            projects_selected: 0,
            project_filter: String::new(),
            goal_selected: 0,
            goal_preview: None,
            topology_selected: 0,
            health_selected: 0,
            audit_selected: 0,
            modal: None,
            running: None,
            notice: None,
            error: None,
            read_only,
            live: true,
            backend: backend.to_string(),
            target: target.to_string(),
            keys: KeyBindings::default(),
            should_quit: false,
            redrive_rate: None,
            render_cache: render_cache::RenderCache::default(),
            outbox: Vec::new(),
        }
    }

    /// Commands for the worker produced since the last call.
    pub fn take_commands(&mut self) -> Vec<WorkerCommand> {
        std::mem::take(&mut self.outbox)
    }

    /// Maps a terminal event to an action, given what is on screen.
    pub fn action_for(&self, event: &Event) -> Option<Action> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.action_for_key(key),
            Event::Mouse(m) => match m.kind {
                MouseEventKind::ScrollUp => Some(Action::Up),
                MouseEventKind::ScrollDown => Some(Action::Down),
                _ => None,
            },
            _ => None,
        }
    }

    fn action_for_key(&self, key: &KeyEvent) -> Option<Action> {
        use ratatui::crossterm::event::KeyCode;
        let k = &self.keys;
        match &self.modal {
            Some(Modal::Input { .. }) => {
                return match key.code {
                    KeyCode::Enter => Some(Action::InputSubmit),
                    KeyCode::Esc => Some(Action::Cancel),
                    KeyCode::Backspace => Some(Action::InputBackspace),
                    KeyCode::Char(c)
                        if !key
                            .modifiers
                            .contains(ratatui::crossterm::event::KeyModifiers::CONTROL) =>
                    {
                        Some(Action::Input(c))
                    }
                    _ => None,
                };
            }
            Some(Modal::Confirm { .. }) => {
                return match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::Confirm),
                    KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                        Some(Action::Cancel)
                    }
                    _ => None,
                };
            }
            Some(Modal::Help) | Some(Modal::Message { .. }) => return Some(Action::Cancel),
            None => {}
        }
        let table: [(&keys::Binding, Action); 30] = [
            (&k.quit, Action::Quit),
            (&k.back, Action::Back),
            (&k.help, Action::Help),
            (&k.filter, Action::Filter),
            (&k.jump, Action::Jump),
            (&k.next_pane, Action::NextPane),
            (&k.up, Action::Up),
            (&k.down, Action::Down),
            (&k.left, Action::PrevView),
            (&k.right, Action::NextView),
            (&k.page_up, Action::PageUp),
            (&k.page_down, Action::PageDown),
            (&k.top, Action::Top),
            (&k.bottom, Action::Bottom),
            (&k.inspect, Action::Inspect),
            (&k.mark_range, Action::MarkRange),
            (&k.mark, Action::Mark),
            (&k.clear_marks, Action::ClearMarks),
            (&k.redrive, Action::Redrive),
            (&k.redrive_to, Action::RedriveTo),
            (&k.delete, Action::Delete),
            (&k.export, Action::Export),
            (&k.goal_check, Action::GoalCheck),
            (&k.live, Action::ToggleLive),
            (&k.stop_running, Action::StopRunning),
            (&k.overview, Action::Show(View::Overview)),
            (&k.dlq, Action::Show(View::Dlq)),
            (&k.goal, Action::Show(View::Goal)),
            (&k.projects, Action::Show(View::Projects)),
            (&k.topology, Action::Show(View::Topology)),
        ];
        if let Some((_, a)) = table.into_iter().find(|(b, _)| b.matches(key)) {
            return Some(a);
        }
        if k.health.matches(key) {
            return Some(Action::Show(View::Health));
        }
        if k.audit.matches(key) {
            return Some(Action::Show(View::Audit));
        }
        None
    }

    pub fn handle_event(&mut self, event: &Event) {
        if let Some(action) = self.action_for(event) {
            self.update(action);
        }
    }

    /// Applies one action.
    pub fn update(&mut self, action: Action) {
        if !matches!(action, Action::Confirm | Action::Cancel) {
            self.error = None;
        }
        match action {
            Action::Quit => {
                if self.view == View::Overview {
                    self.should_quit = true;
                    self.outbox.push(WorkerCommand::Quit);
                } else {
                    self.view = View::Overview;
                }
            }
            Action::Back => {
                if self.view == View::Dlq && !self.dlq.filter.is_empty() {
                    self.dlq.filter.clear();
                } else if self.view == View::Projects && !self.project_filter.is_empty() {
                    self.project_filter.clear();
                } else {
                    self.view = View::Overview;
                }
            }
            Action::Help => self.modal = Some(Modal::Help),
            Action::Filter => self.open_input(InputPurpose::Filter),
            Action::Jump => self.open_input(InputPurpose::Jump),
            Action::NextPane => {
                self.dlq.pane = match self.dlq.pane {
                    Pane::List => Pane::Detail,
                    Pane::Detail => Pane::List,
                }
            }
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-20),
            Action::PageDown => self.move_selection(20),
            Action::Top => self.move_selection(i64::MIN / 2),
            Action::Bottom => self.move_selection(i64::MAX / 2),
            Action::PrevView => {
                self.view = View::ALL[(self.view.index() + View::ALL.len() - 1) % View::ALL.len()]
            }
            Action::NextView => self.view = View::ALL[(self.view.index() + 1) % View::ALL.len()],
            Action::Show(v) => self.view = v,
            Action::Inspect => self.inspect(),
            Action::Mark => self.toggle_mark(),
            Action::MarkRange => self.mark_range(),
            Action::ClearMarks => {
                self.dlq.marked.clear();
                self.dlq.anchor = None;
            }
            Action::Redrive => self.propose_disposal(Disposal::Redrive { to: None }),
            Action::RedriveTo => {
                if self.view == View::Dlq {
                    self.open_input(InputPurpose::RedriveTarget);
                }
            }
            Action::Delete => self.propose_disposal(Disposal::Delete),
            Action::Export => self.request_export(),
            Action::GoalCheck => self.request_goal_check(),
            Action::ToggleLive => {
                // Pausing traffic changes the simulated system, so it is an action too.
                if self.read_only {
                    self.error = Some("--read-only: refusing to pause or resume traffic".into());
                } else {
                    self.live = !self.live;
                    self.outbox.push(WorkerCommand::SetLive(self.live));
                }
            }
            Action::Confirm => {
                if let Some(Modal::Confirm { action, .. }) = self.modal.take() {
                    let (total, cancel) = match &action {
                        Operation::Dispose(r) => (
                            match &r.selection {
                                Selection::Ids(ids) => ids.len() as u64,
                                Selection::All => 0,
                            },
                            Some(r.cancel.clone()),
                        ),
                        _ => (0, None),
                    };
                    self.running = Some(Running {
                        label: action.describe(),
                        done: 0,
                        total,
                        cancel,
                    });
                    self.outbox.push(WorkerCommand::Run(action));
                }
            }
            Action::Cancel => self.modal = None,
            Action::StopRunning => self.stop_running(),
            Action::Input(c) => {
                if let Some(Modal::Input { buffer, .. }) = &mut self.modal {
                    buffer.push(c);
                }
            }
            Action::InputBackspace => {
                if let Some(Modal::Input { buffer, .. }) = &mut self.modal {
                    buffer.pop();
                }
            }
            Action::InputSubmit => self.submit_input(),
        }
    }

    /// Applies what the worker reports.
    pub fn on_worker_event(&mut self, event: WorkerEvent) {
        match event {
            WorkerEvent::Snapshot(s) => self.apply_snapshot(*s),
            WorkerEvent::Progress(n) => {
                if let Some(r) = &mut self.running {
                    r.done = n;
                    r.total = r.total.max(n);
                }
            }
            WorkerEvent::Finished { title, lines, ok } => {
                self.running = None;
                if ok {
                    self.dlq.marked.clear();
                    self.dlq.anchor = None;
                    self.notice = lines.last().cloned();
                }
                self.modal = Some(Modal::Message { title, lines });
            }
            WorkerEvent::GoalPreview(Ok(plan)) => self.goal_preview = Some(plan),
            WorkerEvent::GoalPreview(Err(e)) => {
                self.goal_preview = None;
                self.error = Some(e);
            }
            WorkerEvent::Error(e) => self.error = Some(e),
        }
    }

    pub fn apply_snapshot(&mut self, s: Snapshot) {
        for q in &s.status.queues {
            let h = self.depth_history.entry(q.name.clone()).or_default();
            h.push_back(q.visible + q.in_flight + q.delayed);
            while h.len() > HISTORY {
                h.pop_front();
            }
        }
        self.snapshot = Some(s);
        self.render_cache.clear();
        self.clamp_selections();
    }

    /// The DLQ browser's rows after the filter.
    pub fn dlq_rows(&self) -> Vec<&DlqMessage> {
        let Some(s) = &self.snapshot else {
            return Vec::new();
        };
        let f = self.dlq.filter.to_lowercase();
        s.list(&self.dlq.queue)
            .iter()
            .filter(|m| f.is_empty() || message_matches(m, &f))
            .collect()
    }

    /// How many rows the DLQ browser has, without collecting them (moving runs this per key).
    pub fn dlq_row_count(&self) -> usize {
        let Some(s) = &self.snapshot else { return 0 };
        let list = s.list(&self.dlq.queue);
        if self.dlq.filter.is_empty() {
            return list.len();
        }
        let f = self.dlq.filter.to_lowercase();
        list.iter().filter(|m| message_matches(m, &f)).count()
    }

    pub fn selected_message(&self) -> Option<&DlqMessage> {
        self.dlq_window(self.dlq.selected..self.dlq.selected + 1)
            .into_iter()
            .next()
    }

    /// The DLQ browser's rows in `range` (after the filter), without building the rest: the
    /// list may hold ten thousand messages and a frame shows forty.
    pub fn dlq_window(&self, range: std::ops::Range<usize>) -> Vec<&DlqMessage> {
        let Some(s) = &self.snapshot else {
            return Vec::new();
        };
        let list = s.list(&self.dlq.queue);
        if self.dlq.filter.is_empty() {
            let end = range.end.min(list.len());
            return list
                .get(range.start.min(end)..end)
                .map_or_else(Vec::new, |r| r.iter().collect());
        }
        let f = self.dlq.filter.to_lowercase();
        list.iter()
            .filter(|m| message_matches(m, &f))
            .skip(range.start)
            .take(range.len())
            .collect()
    }

    pub fn project_rows(&self) -> Vec<&crate::ops::status::ProjectStatus> {
        let Some(s) = &self.snapshot else {
            return Vec::new();
        };
        let f = self.project_filter.to_lowercase();
        s.status
            .projects
            .iter()
            .filter(|p| f.is_empty() || p.id.contains(&f) || p.title.to_lowercase().contains(&f))
            .collect()
    }

    fn list_len(&self) -> usize {
        let Some(s) = &self.snapshot else { return 0 };
        match self.view {
            View::Overview => 0,
            View::Dlq => self.dlq_row_count(),
            View::Goal => s.status.projects.len(),
            View::Projects => self.project_rows().len(),
            View::Topology => health::topology_rows(s).len(),
            View::Health => health::rules(s).len(),
            View::Audit => s.audit.len(),
        }
    }

    fn selection_mut(&mut self) -> Option<&mut usize> {
        Some(match self.view {
            View::Overview => return None,
            View::Dlq => &mut self.dlq.selected,
            View::Goal => &mut self.goal_selected,
            View::Projects => &mut self.projects_selected,
            View::Topology => &mut self.topology_selected,
            View::Health => &mut self.health_selected,
            View::Audit => &mut self.audit_selected,
        })
    }

    fn move_selection(&mut self, by: i64) {
        if self.view == View::Dlq && self.dlq.pane == Pane::Detail {
            let next = i64::from(self.dlq.detail_scroll) + by;
            self.dlq.detail_scroll = next.clamp(0, i64::from(u16::MAX)) as u16;
            return;
        }
        let len = self.list_len() as i64;
        let view = self.view;
        if let Some(sel) = self.selection_mut() {
            let next = (*sel as i64).saturating_add(by).clamp(0, (len - 1).max(0));
            if next as usize != *sel {
                *sel = next as usize;
                if view == View::Dlq {
                    self.dlq.detail_scroll = 0;
                }
                if view == View::Goal {
                    self.goal_preview = None;
                }
            }
        }
    }

    fn clamp_selections(&mut self) {
        let dlq_len = self.dlq_rows().len();
        self.dlq.selected = self.dlq.selected.min(dlq_len.saturating_sub(1));
        let Some(s) = &self.snapshot else { return };
        let projects = s.status.projects.len().saturating_sub(1);
        let topo = health::topology_rows(s).len().saturating_sub(1);
        let rules = health::rules(s).len().saturating_sub(1);
        let audit = s.audit.len().saturating_sub(1);
        let filtered_projects = self.project_rows().len().saturating_sub(1);
        self.goal_selected = self.goal_selected.min(projects);
        self.projects_selected = self.projects_selected.min(filtered_projects);
        self.topology_selected = self.topology_selected.min(topo);
        self.health_selected = self.health_selected.min(rules);
        self.audit_selected = self.audit_selected.min(audit);
    }

    fn open_input(&mut self, purpose: InputPurpose) {
        let buffer = match purpose {
            InputPurpose::Filter if self.view == View::Projects => self.project_filter.clone(),
            InputPurpose::Filter => self.dlq.filter.clone(),
            _ => String::new(),
        };
        self.modal = Some(Modal::Input { purpose, buffer });
    }

    fn submit_input(&mut self) {
        let Some(Modal::Input { purpose, buffer }) = self.modal.take() else {
            return;
        };
        let text = buffer.trim().to_string();
        match purpose {
            InputPurpose::Filter => {
                if self.view == View::Projects {
                    self.project_filter = text;
                    self.projects_selected = 0;
                } else {
                    self.view = View::Dlq;
                    self.dlq.filter = text;
                    self.dlq.selected = 0;
                }
            }
            InputPurpose::Jump => self.jump(&text),
            InputPurpose::RedriveTarget => match dlq::check_queue(&text) {
                Ok(q) => self.propose_disposal(Disposal::Redrive {
                    to: Some(q.to_string()),
                }),
                Err(e) => self.error = Some(e.to_string()),
            },
        }
    }

    /// `:name`: a view, `parked`/`dlq` for the failure queues, or any queue to browse.
    pub fn jump(&mut self, target: &str) {
        let target = target.trim_start_matches(':');
        if target == "parked" || target == QUEUE_PARKED {
            self.browse(QUEUE_PARKED);
        } else if target == QUEUE_DLQ {
            self.browse(QUEUE_DLQ);
        } else if let Some(v) = View::by_name(target) {
            self.view = v;
        } else if topology::queue(target).is_some() {
            self.browse(target);
        } else {
            self.error = Some(format!(
                "no view or queue {target:?}: try overview, dlq, parked, goal, projects, topology, health, audit, or a queue name"
            ));
        }
    }

    /// Opens the DLQ browser on `queue`.
    pub fn browse(&mut self, queue: &str) {
        self.view = View::Dlq;
        if self.dlq.queue != queue {
            self.dlq.queue = queue.to_string();
            self.dlq.selected = 0;
            self.dlq.marked.clear();
            self.dlq.anchor = None;
            self.dlq.detail_scroll = 0;
            self.outbox.push(WorkerCommand::Browse(queue.to_string()));
        }
    }

    fn inspect(&mut self) {
        let Some(s) = &self.snapshot else { return };
        match self.view {
            View::Overview => self.browse(QUEUE_PARKED),
            View::Dlq => self.dlq.pane = Pane::Detail,
            View::Goal => {
                if let Some(p) = s.status.projects.get(self.goal_selected) {
                    let project_id = p.id.clone();
                    self.outbox.push(WorkerCommand::PreviewGoal { project_id });
                }
            }
            View::Projects => {
                if let Some(id) = self
                    .project_rows()
                    .get(self.projects_selected)
                    .map(|p| p.id.clone())
                {
                    self.goal_selected = s
                        .status
                        .projects
                        .iter()
                        .position(|p| p.id == id)
                        .unwrap_or(0);
                    self.view = View::Goal;
                    self.goal_preview = None;
                    self.outbox
                        .push(WorkerCommand::PreviewGoal { project_id: id });
                }
            }
            View::Topology => {
                let rows = health::topology_rows(s);
                if let Some(jump) = rows
                    .get(self.topology_selected)
                    .and_then(|r| r.opens.clone())
                {
                    self.jump(&jump);
                }
            }
            View::Health => {
                let rules = health::rules(s);
                if let Some(jump) = rules
                    .get(self.health_selected)
                    .and_then(|r| r.opens.clone())
                {
                    self.jump(&jump);
                }
            }
            View::Audit => {}
        }
    }

    fn toggle_mark(&mut self) {
        if self.view != View::Dlq {
            return;
        }
        if let Some(id) = self.selected_message().map(|m| m.message_id.clone()) {
            if !self.dlq.marked.remove(&id) {
                self.dlq.marked.insert(id);
            }
            self.dlq.anchor = Some(self.dlq.selected);
            self.move_selection(1);
        }
    }

    fn mark_range(&mut self) {
        if self.view != View::Dlq {
            return;
        }
        let anchor = self.dlq.anchor.unwrap_or(self.dlq.selected);
        let (lo, hi) = (anchor.min(self.dlq.selected), anchor.max(self.dlq.selected));
        let ids: Vec<String> = self.dlq_rows()
            [lo..=hi.min(self.dlq_rows().len().saturating_sub(1))]
            .iter()
            .map(|m| m.message_id.clone())
            .collect();
        self.dlq.marked.extend(ids);
        self.dlq.anchor = Some(self.dlq.selected);
    }

    /// Marked messages, or the selected one when nothing is marked.
    fn chosen_ids(&self) -> Vec<String> {
        if self.dlq.marked.is_empty() {
            self.selected_message()
                .map(|m| vec![m.message_id.clone()])
                .unwrap_or_default()
        } else {
            self.dlq.marked.iter().cloned().collect()
        }
    }

    /// Through the dispatcher's gate first, then behind a confirmation.
    fn propose(&mut self, action: Operation, question: String) {
        if let Err(refusal) = dispatch::authorize(&action, self.read_only) {
            self.error = Some(refusal.to_string());
            return;
        }
        if self.running.is_some() {
            self.error = Some("another action is still running; wait for its summary".into());
            return;
        }
        self.modal = Some(Modal::Confirm { question, action });
    }

    /// Asks the running action to stop; what it already moved stays moved, the rest stays put.
    fn stop_running(&mut self) {
        match &mut self.running {
            None => self.error = Some("nothing is running".into()),
            Some(Running { cancel: None, .. }) => {
                self.error = Some("this action cannot stop part-way; wait for its summary".into())
            }
            Some(Running {
                cancel: Some(flag),
                label,
                ..
            }) => {
                if !flag.is_cancelled() {
                    flag.cancel();
                    label.push_str(" — stopping after the batch in flight");
                }
            }
        }
    }

    fn propose_disposal(&mut self, disposal: Disposal) {
        if self.view != View::Dlq {
            self.error = Some("redrive and delete work in the DLQ browser (2)".into());
            return;
        }
        let ids = self.chosen_ids();
        if ids.is_empty() {
            self.error = Some(format!("{} is empty: nothing to act on", self.dlq.queue));
            return;
        }
        let request = DisposalRequest::new(
            &self.dlq.queue,
            Selection::Ids(ids.clone()),
            disposal.clone(),
            false,
        )
        .with_rate(self.redrive_rate);
        let operation = Operation::Dispose(request);
        let question = operation.question(&Extent::messages(ids.len() as u64));
        self.propose(operation, question);
    }

    fn request_export(&mut self) {
        if self.view != View::Dlq {
            self.error = Some("export works in the DLQ browser (2)".into());
            return;
        }
        let (selection, count) = if self.dlq.marked.is_empty() {
            (Selection::All, self.dlq_rows().len())
        } else {
            (
                Selection::Ids(self.dlq.marked.iter().cloned().collect()),
                self.dlq.marked.len(),
            )
        };
        let stamp = self
            .snapshot
            .as_ref()
            .map(|s| s.collected_at.format("%Y%m%dT%H%M%SZ").to_string())
            .unwrap_or_default();
        let out = PathBuf::from(format!("crowdfund-export-{}-{stamp}.jsonl", self.dlq.queue));
        let operation = Operation::Export {
            queue: self.dlq.queue.clone(),
            selection,
            out,
        };
        let question = operation.question(&Extent::messages(count as u64));
        self.propose(operation, question);
    }

    fn request_goal_check(&mut self) {
        let Some(s) = &self.snapshot else { return };
        let index = match self.view {
            View::Goal => self.goal_selected,
            View::Projects => {
                let id = self
                    .project_rows()
                    .get(self.projects_selected)
                    .map(|p| p.id.clone());
                s.status
                    .projects
                    .iter()
                    .position(|p| Some(&p.id) == id.as_ref())
                    .unwrap_or(0)
            }
            _ => {
                self.view = View::Goal;
                return;
            }
        };
        let Some(p) = s.status.projects.get(index) else {
            return;
        };
        let Some(at) = p.goal_achieved_at else {
            self.error = Some(format!(
                "{} has not reached its goal: nothing to cancel",
                p.id
            ));
            return;
        };
        let late = s.late_payments.get(&p.id).copied().unwrap_or(0);
        let operation = Operation::GoalCheck {
            project_id: p.id.clone(),
            at: None,
            dry_run: false,
        };
        let question = operation.question(&Extent {
            count: late as u64,
            after: Some(at),
        });
        self.propose(operation, question);
    }
}

fn message_matches(m: &DlqMessage, f: &str) -> bool {
    let fields = [
        Some(m.message_id.as_str()),
        m.kind.as_deref(),
        m.from.as_deref(),
        m.reason.as_deref(),
        m.payment_id.as_deref(),
        m.ledger_state.as_deref(),
    ];
    fields
        .into_iter()
        .flatten()
        .any(|v| v.to_lowercase().contains(f))
}
