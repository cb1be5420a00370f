//! The interactive console: state, actions and their effects, as in ratatui's component
//! template. Keys become [`Action`]s through one table ([`keys`]); [`App::update`] applies the
//! console-wide ones and hands the rest to the view on screen ([`views`]), which answers with an
//! [`Effect`]. Drawing ([`view`]) is a pure function of the state. Data arrives from a worker
//! thread ([`worker`]) as messages, and everything that changes the system leaves as a
//! [`WorkerCommand`] through the dispatcher.
//!
//! - [`keys`]: the key bindings, each with its action and help line.
//! - [`views`]: one component per view (overview, DLQ, goal check, projects, topology, health,
//!   audit), each with its own state.
//! - [`popups`]: help, confirmation, input and message popups.
//! - [`snapshot`]: what one refresh collects.
//! - [`health`]: the attention rules and the topology rows, from a snapshot.
//! - [`view`]: the frame around the views, and what they draw with.
//! - [`render_cache`]: what the DLQ browser drew in earlier frames of the same snapshot.
//! - [`worker`]: the worker loop of the local world.
//! - `remote` (feature `aws`): the worker on AWS, each source on its own schedule.
//! - [`terminal`]: the terminal, the event loop, restoring on any exit.

pub mod health;
pub mod keys;
pub mod popups;
#[cfg(feature = "aws")]
pub mod remote;
pub mod render_cache;
pub mod snapshot;
pub mod terminal;
pub mod view;
pub mod views;
pub mod worker;

use crate::dispatch::{self, Extent, Operation};
use crate::ops::dlq::{self, CancelFlag, Disposal, Selection};
use crate::ops::goal::GoalPlan;
use crowdfund_core::topology::{self, QUEUE_PARKED};
use keys::KeyBindings;
pub use popups::{InputPurpose, Modal};
use ratatui::crossterm::event::{Event, KeyEventKind, MouseEventKind};
use snapshot::{Snapshot, Update};
pub use views::dlq::{DlqBrowser, Pane};
pub use views::{Component, Context, Effect, View, Views};

/// Depth samples kept per queue for the sparklines.
pub const HISTORY: usize = 60;

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
    /// Mark every message shown (the whole filtered list, or the selected group).
    MarkAll,
    ClearMarks,
    /// The DLQ view: show the failures grouped by cause, or the messages again.
    ToggleGroups,
    Redrive,
    RedriveTo,
    Delete,
    Export,
    /// The DLQ list's next order: expiring first (the queue's order), newest first.
    CycleOrder,
    GoalCheck,
    /// The topology view: pause or resume the selected function's SQS trigger.
    ToggleTrigger,
    ToggleLive,
    /// Refresh everything now, and read the queue on screen again.
    Refresh,
    /// Stop the running redrive after its batch in flight (or cancel the SQS move task).
    StopRunning,
    Show(View),
    Confirm,
    /// Confirm a redrive, with dlq_handler's trigger paused while it runs.
    ConfirmPausingHandler,
    Cancel,
    Input(char),
    InputBackspace,
    InputSubmit,
}

impl Action {
    /// True for what changes the system (hidden from the help when read-only).
    pub fn changes_system(&self) -> bool {
        matches!(
            self,
            Action::Redrive
                | Action::RedriveTo
                | Action::Delete
                | Action::Export
                | Action::GoalCheck
                | Action::ToggleTrigger
                | Action::ToggleLive
                | Action::StopRunning
        )
    }
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
    /// Collect everything now, and read the queue being browsed again.
    Refresh,
    SetLive(bool),
    Quit,
}

/// What the worker tells the UI.
#[derive(Debug, Clone)]
pub enum WorkerEvent {
    /// The whole snapshot (the local world).
    Snapshot(Box<Snapshot>),
    /// One part of it (AWS), as its source answered.
    Update(Box<Update>),
    Progress(u64),
    Finished {
        title: String,
        lines: Vec<String>,
        ok: bool,
    },
    GoalPreview(Result<GoalPlan, String>),
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub label: String,
    pub done: u64,
    pub total: u64,
    /// How to stop it, for actions that can stop part-way (redrive, delete).
    pub cancel: Option<CancelFlag>,
}

/// Where a jump goes: `:` in the console, `--open` on its command line, `Enter` on a health
/// rule (an alarm's place, `crowdfund_core::console_view`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JumpTarget {
    View(View),
    /// The DLQ browser on this queue.
    Queue(&'static str),
}

impl JumpTarget {
    /// A view by name or key, `parked` for etc_parked, or a queue of the topology; anything
    /// else is refused naming what is valid.
    pub fn parse(target: &str) -> Result<JumpTarget, String> {
        let target = target.trim().trim_start_matches(':');
        if target == "parked" {
            return Ok(JumpTarget::Queue(QUEUE_PARKED));
        }
        // A queue first: `etc_dlq` browses that queue, `dlq` opens the browser as it was.
        if let Some(q) = topology::queue(target) {
            return Ok(JumpTarget::Queue(q.name));
        }
        if let Some(v) = View::by_name(target) {
            return Ok(JumpTarget::View(v));
        }
        let queues: Vec<&str> = topology::QUEUES.iter().map(|q| q.name).collect();
        Err(format!(
            "no view or queue {target:?}: open one of overview, dlq, parked, goal, projects, \
             topology, health, audit, or a queue ({})",
            queues.join(", ")
        ))
    }
}

/// The console's whole state; drawing reads only this.
pub struct App {
    pub view: View,
    pub snapshot: Option<Snapshot>,
    pub views: Views,
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
    outbox: Vec<WorkerCommand>,
}

impl App {
    pub fn new(backend: &str, target: &str, read_only: bool) -> Self {
        App {
            view: View::Overview,
            snapshot: None,
            views: Views::default(),
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
            Event::Key(key) if key.kind != KeyEventKind::Release => match &self.modal {
                Some(modal) => modal.action_for(key),
                None => self.keys.action_for(key),
            },
            Event::Mouse(m) => match m.kind {
                MouseEventKind::ScrollUp => Some(Action::Up),
                MouseEventKind::ScrollDown => Some(Action::Down),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn handle_event(&mut self, event: &Event) {
        if let Some(action) = self.action_for(event) {
            self.update(action);
        }
    }

    /// Applies one action: the console-wide ones here, the rest by the view on screen.
    pub fn update(&mut self, action: Action) {
        // Moving keys turn the help's pages while it is open.
        if let Some(modal) = &mut self.modal
            && modal.turn_page(&action)
        {
            return;
        }
        if !matches!(
            action,
            Action::Confirm | Action::ConfirmPausingHandler | Action::Cancel
        ) {
            self.error = None;
        }
        match action {
            Action::Quit => {
                if self.view == View::Overview {
                    // A running redrive stops after its batch in flight; the rest stays put.
                    if let Some(Running {
                        cancel: Some(flag), ..
                    }) = &self.running
                    {
                        flag.cancel();
                    }
                    self.should_quit = true;
                    self.outbox.push(WorkerCommand::Quit);
                } else {
                    self.view = View::Overview;
                }
            }
            Action::Help => self.modal = Some(Modal::Help { page: 0 }),
            Action::Filter => self.open_input(InputPurpose::Filter),
            Action::Jump => self.open_input(InputPurpose::Jump),
            // The DLQ browser's pane and marks, wherever the key is pressed.
            Action::NextPane => self.views.dlq.toggle_pane(),
            Action::ClearMarks => self.views.dlq.clear_marks(),
            Action::PrevView => {
                self.view = View::ALL[(self.view.index() + View::ALL.len() - 1) % View::ALL.len()]
            }
            Action::NextView => self.view = View::ALL[(self.view.index() + 1) % View::ALL.len()],
            Action::Show(v) => self.view = v,
            Action::ToggleLive => self.toggle_live(),
            Action::Refresh => {
                self.outbox.push(WorkerCommand::Refresh);
                self.notice = Some("refreshing…".into());
            }
            Action::Confirm => self.confirm(false),
            Action::ConfirmPausingHandler => self.confirm(true),
            Action::Cancel => self.modal = None,
            Action::StopRunning => self.stop_running(),
            Action::Input(_) | Action::InputBackspace => {
                if let Some(modal) = &mut self.modal {
                    modal.edit(&action);
                }
            }
            Action::InputSubmit => self.submit_input(),
            other => self.update_view(other),
        }
    }

    /// Hands `action` to the view on screen, then applies what it asks; what a view does not
    /// take falls back to the console's default.
    fn update_view(&mut self, action: Action) {
        let effect = match &self.snapshot {
            Some(snapshot) => {
                let cx = Context {
                    snapshot,
                    redrive_rate: self.redrive_rate,
                };
                self.views.get_mut(self.view).update(&action, &cx)
            }
            // Nothing to act on before the first snapshot.
            None => Effect::None,
        };
        let effect = match effect {
            Effect::Ignored => match action {
                Action::Back => Effect::Show(View::Overview),
                Action::Redrive | Action::Delete => {
                    Effect::Error("redrive and delete work in the DLQ browser (2)".into())
                }
                Action::Export => Effect::Error("export works in the DLQ browser (2)".into()),
                Action::GoalCheck => Effect::Show(View::Goal),
                _ => Effect::None,
            },
            effect => effect,
        };
        self.apply(effect);
    }

    fn apply(&mut self, effect: Effect) {
        match effect {
            Effect::None | Effect::Ignored => {}
            Effect::Show(v) => self.view = v,
            Effect::Jump(target) => self.jump(&target),
            Effect::Browse(queue) => self.browse(&queue),
            Effect::OpenGoal(project_id) => {
                if let Some(s) = &self.snapshot {
                    self.views.goal.open(&project_id, s);
                }
                self.view = View::Goal;
                self.outbox.push(WorkerCommand::PreviewGoal { project_id });
            }
            Effect::AskRedriveTarget => self.open_input(InputPurpose::RedriveTarget),
            Effect::Send(command) => self.outbox.push(command),
            Effect::Propose(operation, extent) => self.propose(operation, &extent),
            Effect::Error(e) => self.error = Some(e),
        }
    }

    /// Applies what the worker reports.
    pub fn on_worker_event(&mut self, event: WorkerEvent) {
        match event {
            WorkerEvent::Snapshot(s) => self.apply_snapshot(*s),
            WorkerEvent::Update(u) => self.apply_update(*u),
            WorkerEvent::Progress(n) => {
                if let Some(r) = &mut self.running {
                    r.done = n;
                    r.total = r.total.max(n);
                }
            }
            WorkerEvent::Finished { title, lines, ok } => {
                self.running = None;
                if ok {
                    self.views.dlq.clear_marks();
                    self.notice = lines.last().cloned();
                }
                self.modal = Some(Modal::Message { title, lines });
            }
            WorkerEvent::GoalPreview(Ok(plan)) => self.views.goal.preview = Some(plan),
            WorkerEvent::GoalPreview(Err(e)) => {
                self.views.goal.preview = None;
                self.error = Some(e);
            }
            WorkerEvent::Error(e) => self.error = Some(e),
        }
    }

    pub fn apply_snapshot(&mut self, s: Snapshot) {
        self.views.on_snapshot(&s);
        self.snapshot = Some(s);
    }

    /// Takes in one part of the snapshot; the first one starts an empty snapshot.
    pub fn apply_update(&mut self, update: Update) {
        let now = chrono::Utc::now();
        let mut s = self
            .snapshot
            .take()
            .unwrap_or_else(|| Snapshot::empty(&self.backend, &self.target, now));
        s.apply(update, now);
        self.apply_snapshot(s);
    }

    /// Pausing traffic changes the simulated system, so the dispatcher's gate decides.
    fn toggle_live(&mut self) {
        let operation = Operation::SetTraffic { live: !self.live };
        if let Err(refusal) = dispatch::authorize(&operation, self.read_only) {
            self.error = Some(refusal.to_string());
            return;
        }
        self.live = !self.live;
        self.outbox.push(WorkerCommand::SetLive(self.live));
    }

    /// Runs the confirmed action; `pause_handler` holds dlq_handler's trigger while a redrive
    /// runs (the popup offers it only for redrives).
    fn confirm(&mut self, pause_handler: bool) {
        let Some(Modal::Confirm { mut action, .. }) = self.modal.take() else {
            return;
        };
        if let Operation::Dispose(r) = &mut action
            && pause_handler
            && r.offers_pausing_handler()
        {
            r.pause_trigger = Some(topology::FN_DLQ_HANDLER.to_string());
        }
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

    /// The filter of the projects when they are shown, of the DLQ browser otherwise.
    fn open_input(&mut self, purpose: InputPurpose) {
        let buffer = match purpose {
            InputPurpose::Filter if self.view == View::Projects => {
                self.views.projects.filter.clone()
            }
            InputPurpose::Filter => self.views.dlq.filter.clone(),
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
            InputPurpose::Filter if self.view == View::Projects => {
                self.views.projects.set_filter(text)
            }
            InputPurpose::Filter => {
                self.view = View::Dlq;
                self.views.dlq.set_filter(text);
            }
            InputPurpose::Jump => self.jump(&text),
            InputPurpose::RedriveTarget => match dlq::check_queue(&text) {
                Ok(q) => {
                    let to = Some(q.to_string());
                    self.redrive_to(Disposal::Redrive { to });
                }
                Err(e) => self.error = Some(e.to_string()),
            },
        }
    }

    /// A redrive to the queue the operator named, proposed by the DLQ browser.
    fn redrive_to(&mut self, disposal: Disposal) {
        let Some(snapshot) = &self.snapshot else {
            return;
        };
        let cx = Context {
            snapshot,
            redrive_rate: self.redrive_rate,
        };
        let effect = self.views.dlq.propose_disposal(disposal, &cx);
        self.apply(effect);
    }

    /// `:name`, `--open` or a health rule's place: a view, or a queue to browse.
    pub fn jump(&mut self, target: &str) {
        match JumpTarget::parse(target) {
            Ok(JumpTarget::View(v)) => self.view = v,
            Ok(JumpTarget::Queue(q)) => self.browse(q),
            Err(e) => self.error = Some(e),
        }
    }

    /// Opens the DLQ browser on `queue`.
    pub fn browse(&mut self, queue: &str) {
        self.view = View::Dlq;
        if self.views.dlq.open(queue) {
            self.outbox.push(WorkerCommand::Browse(queue.to_string()));
        }
    }

    /// Through the dispatcher's gate first, then behind a confirmation.
    fn propose(&mut self, action: Operation, extent: &Extent) {
        if let Err(refusal) = dispatch::authorize(&action, self.read_only) {
            self.error = Some(refusal.to_string());
            return;
        }
        if self.running.is_some() {
            self.error = Some("another action is still running; wait for its summary".into());
            return;
        }
        let question = action.question(extent);
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
}
