//! The worker, off the UI thread: snapshots at the refresh interval, and the operator's
//! operations through the dispatcher, with progress sent back. One loop serves the local world
//! (running live: traffic ticks, autosaves) and a remote backend (`--aws`, on a tokio runtime);
//! what differs between them is a [`Source`].

use super::snapshot::{Snapshot, collect, fill_from_world};
use super::{UiEvent, WorkerCommand, WorkerEvent};
use crate::backend::{Backend, LocalWorld};
use crate::dispatch::{self, Operation, Outcome};
use crate::ops::goal;
use crate::render;
use crowdfund_core::ports::{Clock, SystemClock};
use crowdfund_core::topology::QUEUE_PARKED;
use std::future::Future;
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
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            refresh: Duration::from_secs(1),
            tick: Duration::from_millis(200),
            items_per_tick: 2,
            failure_rate: 0.1,
            sim_seconds_per_tick: 1,
            read_only: false,
            autosave: Duration::from_secs(30),
        }
    }
}

/// Told how many messages an operation has moved so far.
pub type Progress<'a> = &'a mut dyn FnMut(u64);

/// What the worker runs against: the ports, how to wait on them, and what only one side has.
pub trait Source {
    fn backend(&self) -> &Backend;

    /// Waits for `future`: the local world's ports answer at once, AWS's need the runtime.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Runs an operation through the dispatcher.
    fn run(&self, op: Operation, read_only: bool, progress: Progress) -> anyhow::Result<Outcome>;

    /// Fills what the ports alone do not know: function health, throughput, queue ages.
    fn fill_metrics(&self, snapshot: &mut Snapshot) -> Result<(), String>;

    /// Pauses or resumes generated traffic.
    fn set_live(&mut self, live: bool) -> Result<(), String>;

    /// One round of the world between refreshes (traffic), if it runs by itself.
    fn tick(&self, config: &WorkerConfig) -> Result<(), String>;

    /// Writes what must outlive the console.
    fn save(&self) -> anyhow::Result<()>;
}

/// The local world, running live: traffic ticks until paused, and it is saved to its file.
pub struct Local {
    world: LocalWorld,
    backend: Backend,
    live: bool,
}

impl Local {
    pub fn new(world: LocalWorld) -> Self {
        // The backend's ports share the world's state, so one serves the whole run.
        let backend = world.backend();
        Local {
            world,
            backend,
            live: true,
        }
    }
}

impl Source for Local {
    fn backend(&self) -> &Backend {
        &self.backend
    }
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures::executor::block_on(future)
    }
    fn run(&self, op: Operation, read_only: bool, progress: Progress) -> anyhow::Result<Outcome> {
        dispatch::run_local(&self.world, op, read_only, false, progress)
    }
    fn fill_metrics(&self, snapshot: &mut Snapshot) -> Result<(), String> {
        fill_from_world(self.world.world(), snapshot);
        Ok(())
    }
    fn set_live(&mut self, live: bool) -> Result<(), String> {
        self.live = live;
        Ok(())
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
    fn save(&self) -> anyhow::Result<()> {
        self.world.save()
    }
}

/// A backend of AWS adapters on the given runtime. No traffic is generated; the deployed
/// functions (or `crowdfund-local run`) process what an operation moves. Function health,
/// throughput and queue ages come from the backend's metrics port.
#[cfg(feature = "aws")]
pub struct Remote {
    pub backend: Backend,
    pub runtime: tokio::runtime::Handle,
}

#[cfg(feature = "aws")]
impl Source for Remote {
    fn backend(&self) -> &Backend {
        &self.backend
    }
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
    fn run(&self, op: Operation, read_only: bool, progress: Progress) -> anyhow::Result<Outcome> {
        let backend = &self.backend;
        self.runtime
            .block_on(dispatch::run_on(backend, op, read_only, progress))
    }
    fn fill_metrics(&self, s: &mut Snapshot) -> Result<(), String> {
        let Some(metrics) = &self.backend.metrics else {
            return Ok(());
        };
        let now = s.collected_at.timestamp();
        let m = self
            .runtime
            .block_on(metrics.pipeline(&mut s.status.queues, now))
            .map_err(|e| e.to_string())?;
        s.functions = m.functions;
        s.throughput = m.throughput;
        Ok(())
    }
    fn set_live(&mut self, _: bool) -> Result<(), String> {
        Err("there is no simulated traffic to pause on --aws".into())
    }
    fn tick(&self, _: &WorkerConfig) -> Result<(), String> {
        Ok(())
    }
    fn save(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Runs until `Quit` (or until the UI is gone), then saves unless read-only.
pub fn run<S: Source>(
    mut source: S,
    config: WorkerConfig,
    commands: Receiver<WorkerCommand>,
    events: Sender<UiEvent>,
) {
    let send = |e: WorkerEvent| events.send(UiEvent::Worker(e)).is_ok();
    let save = |source: &S| {
        if !config.read_only
            && let Err(e) = source.save()
        {
            send(WorkerEvent::Error(format!(
                "could not save the world: {e:#}"
            )));
        }
    };
    let wall = SystemClock;
    let mut browsed = QUEUE_PARKED.to_string();
    let mut last_snapshot: Option<Instant> = None;
    let mut last_save = Instant::now();
    loop {
        let mut refresh_now = false;
        while let Ok(command) = commands.try_recv() {
            match command {
                WorkerCommand::Quit => {
                    save(&source);
                    return;
                }
                WorkerCommand::Browse(q) => {
                    browsed = q;
                    refresh_now = true;
                }
                WorkerCommand::SetLive(on) => {
                    if let Err(e) = source.set_live(on) {
                        send(WorkerEvent::Error(e));
                    }
                }
                WorkerCommand::PreviewGoal { project_id } => {
                    let plan = source
                        .block_on(goal::plan(source.backend(), &project_id, None))
                        .map_err(|e| e.to_string());
                    send(WorkerEvent::GoalPreview(plan));
                }
                WorkerCommand::Run(operation) => {
                    let title = operation.describe();
                    let mut progress = |n| {
                        send(WorkerEvent::Progress(n));
                    };
                    let result = source.run(operation, config.read_only, &mut progress);
                    send(finished(title, result));
                    refresh_now = true;
                }
            }
        }
        if let Err(e) = source.tick(&config) {
            send(WorkerEvent::Error(e));
        }
        if refresh_now || last_snapshot.is_none_or(|t| t.elapsed() >= config.refresh) {
            let event = match source.block_on(collect(source.backend(), &browsed, wall.now())) {
                Ok(mut s) => {
                    // Without metrics the queues and messages still show; say what is missing.
                    if let Err(e) = source.fill_metrics(&mut s) {
                        send(WorkerEvent::Error(format!(
                            "Lambda health and throughput unavailable: {e}"
                        )));
                    }
                    WorkerEvent::Snapshot(Box::new(s))
                }
                Err(e) => WorkerEvent::Error(format!("refresh failed: {e}")),
            };
            if !send(event) {
                return; // the UI is gone
            }
            last_snapshot = Some(Instant::now());
        }
        if last_save.elapsed() >= config.autosave {
            save(&source);
            last_save = Instant::now();
        }
        std::thread::sleep(config.tick);
    }
}

/// What the UI is told when an operation ends.
fn finished(title: String, result: anyhow::Result<Outcome>) -> WorkerEvent {
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
