//! The local world, running live off the UI thread: traffic ticks, snapshots at the refresh
//! interval, and the operator's actions through the dispatcher, with progress sent back.

use super::snapshot::collect_local;
use super::{UiEvent, WorkerCommand, WorkerEvent};
use crate::backend::LocalWorld;
use crate::dispatch::{self, Outcome};
use crate::ops::goal;
use crate::render;
use crowdfund_core::ports::{Clock, SystemClock};
use crowdfund_core::topology::QUEUE_PARKED;
use futures::executor::block_on;
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

/// Runs until `Quit` (or until the UI is gone), then saves the world unless read-only.
pub fn run_local(
    world: LocalWorld,
    config: WorkerConfig,
    commands: Receiver<WorkerCommand>,
    events: Sender<UiEvent>,
) {
    let send = |e: WorkerEvent| events.send(UiEvent::Worker(e)).is_ok();
    let wall = SystemClock;
    let mut browsed = QUEUE_PARKED.to_string();
    let mut live = true;
    let mut last_snapshot: Option<Instant> = None;
    let mut last_save = Instant::now();
    loop {
        let mut refresh_now = false;
        while let Ok(command) = commands.try_recv() {
            match command {
                WorkerCommand::Quit => {
                    if !config.read_only
                        && let Err(e) = world.save()
                    {
                        send(WorkerEvent::Error(format!(
                            "could not save the world: {e:#}"
                        )));
                    }
                    return;
                }
                WorkerCommand::Browse(q) => {
                    browsed = q;
                    refresh_now = true;
                }
                WorkerCommand::SetLive(on) => live = on,
                WorkerCommand::PreviewGoal { project_id } => {
                    let plan = block_on(goal::plan(&world.backend(), &project_id, None))
                        .map_err(|e| e.to_string());
                    send(WorkerEvent::GoalPreview(plan));
                }
                WorkerCommand::Run(action) => {
                    let title = action.describe();
                    let mut progress = |n| {
                        send(WorkerEvent::Progress(n));
                    };
                    let result =
                        dispatch::run_local(&world, action, config.read_only, false, &mut progress);
                    send(finished(title, result));
                    refresh_now = true;
                }
            }
        }
        if live {
            let advance = chrono::Duration::seconds(config.sim_seconds_per_tick);
            if let Err(e) = world
                .pipeline
                .step(config.items_per_tick, config.failure_rate, advance)
            {
                send(WorkerEvent::Error(format!("local pipeline: {e}")));
            }
        }
        if refresh_now || last_snapshot.is_none_or(|t| t.elapsed() >= config.refresh) {
            let event = match collect_local(&world, &browsed, wall.now()) {
                Ok(s) => WorkerEvent::Snapshot(Box::new(s)),
                Err(e) => WorkerEvent::Error(format!("refresh failed: {e}")),
            };
            if !send(event) {
                return; // the UI is gone
            }
            last_snapshot = Some(Instant::now());
        }
        if !config.read_only && last_save.elapsed() >= config.autosave {
            if let Err(e) = world.save() {
                send(WorkerEvent::Error(format!(
                    "could not save the world: {e:#}"
                )));
            }
            last_save = Instant::now();
        }
        std::thread::sleep(config.tick);
    }
}

/// What the UI is told when an action ends.
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

/// The `--aws` console: snapshots and actions over a [`Backend`](crate::backend::Backend) of AWS
/// adapters, on the given runtime. No traffic is generated; the deployed functions (or
/// `crowdfund-local run`) process what an action moves. Function health and throughput come
/// from CloudWatch, which this worker does not read yet, so those panels stay empty.
#[cfg(feature = "aws")]
pub fn run_remote(
    backend: crate::backend::Backend,
    cloud: Option<super::cloud::CloudOverlay>,
    runtime: tokio::runtime::Handle,
    config: WorkerConfig,
    commands: Receiver<WorkerCommand>,
    events: Sender<UiEvent>,
) {
    let send = |e: WorkerEvent| events.send(UiEvent::Worker(e)).is_ok();
    let wall = SystemClock;
    let mut browsed = QUEUE_PARKED.to_string();
    let mut last_snapshot: Option<Instant> = None;
    loop {
        let mut refresh_now = false;
        while let Ok(command) = commands.try_recv() {
            match command {
                WorkerCommand::Quit => return,
                WorkerCommand::Browse(q) => {
                    browsed = q;
                    refresh_now = true;
                }
                WorkerCommand::SetLive(_) => {
                    send(WorkerEvent::Error(
                        "there is no simulated traffic to pause on --aws".into(),
                    ));
                }
                WorkerCommand::PreviewGoal { project_id } => {
                    let plan = runtime
                        .block_on(goal::plan(&backend, &project_id, None))
                        .map_err(|e| e.to_string());
                    send(WorkerEvent::GoalPreview(plan));
                }
                WorkerCommand::Run(action) => {
                    let title = action.describe();
                    let mut progress = |n| {
                        send(WorkerEvent::Progress(n));
                    };
                    let result = runtime.block_on(dispatch::run_on(
                        &backend,
                        action,
                        config.read_only,
                        &mut progress,
                    ));
                    send(finished(title, result));
                    refresh_now = true;
                }
            }
        }
        if refresh_now || last_snapshot.is_none_or(|t| t.elapsed() >= config.refresh) {
            let now = wall.now();
            let event = match runtime.block_on(super::snapshot::collect(&backend, &browsed, now)) {
                Ok(mut s) => {
                    // Without CloudWatch the queues and messages still show; say what is missing.
                    if let Some(cloud) = &cloud
                        && let Err(e) = runtime.block_on(cloud.fill(&mut s, now.timestamp()))
                    {
                        send(WorkerEvent::Error(format!(
                            "Lambda health and throughput unavailable: {e}"
                        )));
                    }
                    WorkerEvent::Snapshot(Box::new(s))
                }
                Err(e) => WorkerEvent::Error(format!("refresh failed: {e}")),
            };
            if !send(event) {
                return;
            }
            last_snapshot = Some(Instant::now());
        }
        std::thread::sleep(config.tick);
    }
}
