//! The worker of the local world, off the UI thread: traffic ticks, a whole snapshot at the
//! refresh interval, autosaves, and the operator's operations through the dispatcher on a
//! thread of their own, so the screen keeps refreshing while one runs. On AWS the worker is
//! [`super::remote`], where each source answers on its own.

use super::snapshot::{Snapshot, collect, fill_from_world};
use super::{UiEvent, WorkerCommand, WorkerEvent};
use crate::backend::{Backend, LocalWorld};
use crate::dispatch::{self, Outcome};
use crate::ops::dlq::DEFAULT_MAX_MESSAGES;
use crate::ops::goal;
use crate::render;
use crowdfund_core::ports::{Clock, SystemClock};
use crowdfund_core::topology::QUEUE_PARKED;
use futures::executor::block_on;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How often a snapshot is collected and sent.
    pub refresh: Duration,
    /// Real time between traffic ticks.
    pub tick: Duration,
    /// Generated items per tick.
    pub items_per_tick: u64,
    pub failure_rate: f64,
    /// Simulated seconds per tick (the local world runs faster than real time).
    pub sim_seconds_per_tick: i64,
    pub read_only: bool,
    /// How often the world is written back to its file while running.
    pub autosave: Duration,
    /// At most this many messages of one queue are loaded (`--max-messages`).
    pub max_messages: usize,
}

/// The local world refreshes every second: it is in memory, so a refresh costs nothing.
pub const LOCAL_REFRESH: Duration = Duration::from_secs(1);
/// On AWS every refresh is requests, and SQS's counts are approximate, settling over about a
/// minute (GetQueueAttributes), so refreshing more often than this shows nothing more.
pub const AWS_REFRESH: Duration = Duration::from_secs(10);

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            refresh: LOCAL_REFRESH,
            tick: Duration::from_millis(200),
            items_per_tick: 2,
            failure_rate: 0.1,
            sim_seconds_per_tick: 1,
            read_only: false,
            autosave: Duration::from_secs(30),
            max_messages: DEFAULT_MAX_MESSAGES,
        }
    }
}

/// The local world, running live: traffic ticks until paused, and it is saved to its file.
pub struct Local {
    world: Arc<LocalWorld>,
    backend: Backend,
    live: bool,
}

impl Local {
    pub fn new(world: LocalWorld) -> Self {
        // The backend's ports share the world's state, so one serves the whole run.
        let backend = world.backend();
        Local {
            world: Arc::new(world),
            backend,
            live: true,
        }
    }

    fn tick(&self, config: &WorkerConfig) -> Result<(), String> {
        if !self.live {
            return Ok(());
        }
        let advance = chrono::Duration::seconds(config.sim_seconds_per_tick);
        self.world
            .pipeline
            .step(config.items_per_tick, config.failure_rate, advance)
            .map(|_| ())
            .map_err(|e| format!("local pipeline: {e}"))
    }

    fn snapshot(&self, browsed: &str) -> Result<Snapshot, String> {
        let mut s = block_on(collect(&self.backend, browsed, SystemClock.now()))?;
        fill_from_world(self.world.world(), &mut s);
        Ok(s)
    }
}

/// Runs until `Quit` (or until the UI is gone), then saves unless read-only.
pub fn run(
    mut local: Local,
    config: WorkerConfig,
    commands: Receiver<WorkerCommand>,
    events: Sender<UiEvent>,
) {
    let send = |e: WorkerEvent| events.send(UiEvent::Worker(e)).is_ok();
    let save = |local: &Local| {
        if !config.read_only
            && let Err(e) = local.world.save()
        {
            send(WorkerEvent::Error(format!(
                "could not save the world: {e:#}"
            )));
        }
    };
    let mut browsed = QUEUE_PARKED.to_string();
    let mut last_snapshot: Option<Instant> = None;
    let mut last_save = Instant::now();
    let mut operation: Option<std::thread::JoinHandle<()>> = None;
    loop {
        let mut refresh_now = false;
        while let Ok(command) = commands.try_recv() {
            match command {
                WorkerCommand::Quit => {
                    if let Some(op) = operation.take() {
                        let _ = op.join();
                    }
                    save(&local);
                    return;
                }
                WorkerCommand::Browse(q) => {
                    browsed = q;
                    refresh_now = true;
                }
                WorkerCommand::Refresh => refresh_now = true,
                WorkerCommand::SetLive(on) => local.live = on,
                WorkerCommand::PreviewGoal { project_id } => {
                    let plan = block_on(goal::plan(&local.backend, &project_id, None))
                        .map_err(|e| e.to_string());
                    send(WorkerEvent::GoalPreview(plan));
                }
                WorkerCommand::Run(op) => {
                    let world = local.world.clone();
                    let events = events.clone();
                    let read_only = config.read_only;
                    operation = Some(std::thread::spawn(move || {
                        let title = op.describe();
                        let mut progress = |n| {
                            let _ = events.send(UiEvent::Worker(WorkerEvent::Progress(n)));
                        };
                        let result =
                            dispatch::run_local(&world, op, read_only, false, &mut progress);
                        let _ = events.send(UiEvent::Worker(finished(title, result)));
                    }));
                }
            }
        }
        if operation.as_ref().is_some_and(|op| op.is_finished()) {
            operation = None;
            refresh_now = true;
        }
        if let Err(e) = local.tick(&config) {
            send(WorkerEvent::Error(e));
        }
        if refresh_now || last_snapshot.is_none_or(|t| t.elapsed() >= config.refresh) {
            let event = match local.snapshot(&browsed) {
                Ok(s) => WorkerEvent::Snapshot(Box::new(s)),
                Err(e) => WorkerEvent::Error(format!("refresh failed: {e}")),
            };
            if !send(event) {
                return; // the UI is gone
            }
            last_snapshot = Some(Instant::now());
        }
        if last_save.elapsed() >= config.autosave {
            save(&local);
            last_save = Instant::now();
        }
        std::thread::sleep(config.tick);
    }
}

/// What the UI is told when an operation ends.
pub(super) fn finished(title: String, result: anyhow::Result<Outcome>) -> WorkerEvent {
    match result {
        Ok(outcome) => WorkerEvent::Finished {
            title,
            lines: summary(&outcome),
            ok: true,
        },
        Err(e) => WorkerEvent::Finished {
            title,
            lines: vec![format!("failed: {e:#}")],
            ok: false,
        },
    }
}

/// The result summary an action shows, one line per message moved.
pub fn summary(outcome: &Outcome) -> Vec<String> {
    let text = match outcome {
        Outcome::Simulated(r) => format!(
            "{} items submitted, {} messages processed",
            r.submitted, r.messages_processed
        ),
        Outcome::Disposed { report, processed } => {
            let mut t = render::disposal(report);
            if let Some(p) = processed {
                t.push_str(&format!(
                    "the pipeline then processed {} message(s)\n",
                    p.messages
                ));
            }
            t
        }
        Outcome::Exported { count, out } => {
            format!("exported {count} message(s) to {}", out.display())
        }
        Outcome::Looked { queue, messages } => {
            format!("read {} message(s) of {queue} once", messages.len())
        }
        Outcome::TriggerSet { function, mapping } => format!(
            "{function}: trigger on {} is {} (mapping {})",
            mapping.queue, mapping.state, mapping.uuid
        ),
        Outcome::GoalChecked { plan, processed } => {
            let mut t = render::goal_plan(plan);
            if let Some(p) = processed {
                t.push_str(&format!(
                    "the pipeline then processed {} message(s)\n",
                    p.messages
                ));
            }
            t
        }
    };
    text.lines().map(str::to_string).collect()
}
