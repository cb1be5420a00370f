//! The worker on AWS. Each source runs on its own schedule as its own task, and sends its part
//! of the snapshot when it answers ([`Update`]), so the first screen needs only the queue
//! depths and nothing waits on the slowest source:
//!
//! - queue depths (GetQueueAttributes, all queues at once) and CloudWatch, every refresh;
//! - projects and the ledger (a query per project), every [`PROJECTS_EVERY`];
//! - the alarms in ALARM state (DescribeAlarms, a request per page), every [`ALARMS_EVERY`];
//! - the failure queues' messages, loaded once into an index of the console's own, then kept
//!   up to date: what an action moved is taken out at once, and when etc_parked's count grows
//!   a sweep looks for the new arrivals (at most every [`SWEEP_EVERY`]). etc_dlq is read only
//!   when asked (opening it, `ctrl-r`), since reading holds its messages from dlq_handler.
//!   Work queues are not read at all unless the operator confirms a look.
//!
//! Operations run on a blocking thread of the runtime, so depths and lists keep refreshing
//! while a redrive runs.

use super::snapshot::{
    LoadState, MetricsPart, ProjectsPart, Update, audit_newest_first, late_payments,
};
use super::worker::{WorkerConfig, finished};
use super::{UiEvent, WorkerCommand, WorkerEvent};
use crate::backend::Backend;
use crate::dispatch::{self, Operation, Outcome};
use crate::ops::dlq::{self, DlqMessage, FAILURE_QUEUES};
use crate::ops::goal;
use crate::ops::status::{collect_projects, collect_queues};
use crowdfund_core::ports::{Clock, QueueStats, ReceivedMessage, SystemClock};
use crowdfund_core::topology::{self, QUEUE_PARKED};
use crowdfund_handlers::aws::dynamodb::{BATCH_GET_IN_FLIGHT, BATCH_GET_MAX_KEYS};
use crowdfund_handlers::aws::requests::RequestCounter;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// Projects and their ledger cost a query per project; they change slowly.
pub const PROJECTS_EVERY: Duration = Duration::from_secs(60);
/// The functions and their triggers change when someone deploys or pauses one: seven requests
/// a minute (a listing of the mappings, a GetFunction per function), and again after an action.
pub const TRIGGERS_EVERY: Duration = Duration::from_secs(60);
/// CloudWatch evaluates most alarms once a minute, so asking more often shows nothing new.
/// Not hurried by `ctrl-r` either: at most one listing a minute.
pub const ALARMS_EVERY: Duration = Duration::from_secs(60);
/// A failure queue whose count grew is swept for its new messages at most this often: SQS
/// cannot list only the new ones, so a sweep receives until it has found them.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often the loop looks at commands and timers.
const TICK: Duration = Duration::from_millis(50);
/// Payments whose ledger state one task looks up: as many BatchGetItem requests as the ledger
/// sends at once.
const LEDGER_CHUNK: usize = BATCH_GET_MAX_KEYS * BATCH_GET_IN_FLIGHT;
/// How long quitting waits for a load to stop and release what it holds.
const QUIT_WAIT: Duration = Duration::from_secs(15);

/// What a finished task tells the loop.
enum Done {
    /// A source answered: its part for the UI.
    Source(&'static str, Box<Update>),
    /// Messages a load saw for the first time (already sent to the UI): id and payment id.
    Found {
        queue: String,
        ids: Vec<(String, Option<String>)>,
    },
    LoadEnded {
        queue: String,
        /// Every id the load read.
        seen: HashSet<String>,
        /// It read the whole queue (not stopped, capped or failed), so what it did not see is
        /// gone.
        whole: bool,
        state: LoadState,
    },
    Ledger(Vec<(String, String)>),
    Operation(String, Box<anyhow::Result<Outcome>>),
}

/// One failure queue's index: which messages the UI holds.
#[derive(Default)]
struct Index {
    ids: HashSet<String>,
    loading: bool,
    loaded: bool,
    last_sweep: Option<Instant>,
    stop: Arc<AtomicBool>,
}

struct Worker {
    backend: Arc<Backend>,
    config: WorkerConfig,
    requests: RequestCounter,
    events: Sender<UiEvent>,
    done: UnboundedSender<Done>,
    indexes: HashMap<String, Index>,
    /// Ledger states already known, by payment id.
    ledger: HashMap<String, String>,
    /// Payment ids of listed messages whose state is not known yet.
    pending_payments: HashSet<String>,
    ledger_busy: bool,
    /// Sources with a task in flight.
    busy: HashSet<&'static str>,
    next_refresh: Instant,
    next_projects: Instant,
    next_triggers: Instant,
    next_alarms: Instant,
    operation: Option<tokio::task::JoinHandle<()>>,
    browsed: String,
    depths: Vec<QueueStats>,
}

/// Runs until `Quit` (or until the UI is gone).
pub fn run(
    backend: Backend,
    requests: RequestCounter,
    runtime: tokio::runtime::Handle,
    config: WorkerConfig,
    commands: Receiver<WorkerCommand>,
    events: Sender<UiEvent>,
) {
    let (done, mut finished_tasks) = unbounded_channel();
    let now = Instant::now();
    let mut worker = Worker {
        backend: Arc::new(backend),
        config,
        requests,
        events,
        done,
        indexes: FAILURE_QUEUES
            .iter()
            .map(|q| (q.to_string(), Index::default()))
            .collect(),
        ledger: HashMap::new(),
        pending_payments: HashSet::new(),
        ledger_busy: false,
        busy: HashSet::new(),
        next_refresh: now,
        next_projects: now,
        next_triggers: now,
        next_alarms: now,
        operation: None,
        browsed: QUEUE_PARKED.to_string(),
        depths: Vec::new(),
    };
    let handle = runtime.clone();
    runtime.block_on(async move {
        let mut tick = tokio::time::interval(TICK);
        let mut last_rate = Instant::now();
        loop {
            tokio::select! {
                Some(done) = finished_tasks.recv() => worker.on_done(done),
                _ = tick.tick() => {
                    loop {
                        match commands.try_recv() {
                            Ok(WorkerCommand::Quit) => {
                                worker.quit(&mut finished_tasks).await;
                                return;
                            }
                            Ok(command) => worker.on_command(command, &handle),
                            Err(std::sync::mpsc::TryRecvError::Empty) => break,
                            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                                worker.quit(&mut finished_tasks).await;
                                return;
                            }
                        }
                    }
                    if Instant::now() >= worker.next_refresh {
                        worker.refresh(false);
                    }
                    if last_rate.elapsed() >= Duration::from_secs(1) {
                        last_rate = Instant::now();
                        if !worker.send(Update::Requests(worker.requests.last_minute())) {
                            worker.quit(&mut finished_tasks).await;
                            return;
                        }
                    }
                }
            }
        }
    });
}

impl Worker {
    /// False when the UI is gone.
    fn send(&self, update: Update) -> bool {
        self.event(WorkerEvent::Update(Box::new(update)))
    }

    fn event(&self, event: WorkerEvent) -> bool {
        self.events.send(UiEvent::Worker(event)).is_ok()
    }

    /// Starts every source that is due and not already running; `all` includes the slow ones.
    fn refresh(&mut self, all: bool) {
        let at = Instant::now();
        self.next_refresh = at + self.config.refresh;
        self.spawn_source("queues", |b| async move {
            Update::Queues(collect_queues(&b).await.map_err(|e| e.to_string()))
        });
        if self.backend.metrics.is_some() {
            self.spawn_source("metrics", |b| async move { metrics(&b).await });
        }
        if all || at >= self.next_projects {
            self.next_projects = at + PROJECTS_EVERY;
            self.spawn_source("projects", |b| async move { projects(&b).await });
        }
        if all || at >= self.next_triggers {
            self.next_triggers = at + TRIGGERS_EVERY;
            self.spawn_source("triggers", |b| async move {
                Update::Triggers(b.triggers.list_triggers().await.map_err(|e| e.to_string()))
            });
        }
        if self.backend.alarms.is_some() && at >= self.next_alarms {
            self.next_alarms = at + ALARMS_EVERY;
            self.spawn_source("alarms", |b| async move { alarms(&b).await });
        }
        match audit_newest_first(&self.backend) {
            Ok(audit) => {
                self.send(Update::Audit(audit));
            }
            Err(e) => {
                self.event(WorkerEvent::Error(format!(
                    "cannot read the audit log: {e}"
                )));
            }
        }
    }

    /// Runs one source unless it is still running from the last refresh.
    fn spawn_source<F, Fut>(&mut self, name: &'static str, source: F)
    where
        F: FnOnce(Arc<Backend>) -> Fut,
        Fut: std::future::Future<Output = Update> + Send + 'static,
    {
        if !self.busy.insert(name) {
            return;
        }
        let task = source(self.backend.clone());
        let done = self.done.clone();
        tokio::spawn(async move {
            let _ = done.send(Done::Source(name, Box::new(task.await)));
        });
    }

    fn on_command(&mut self, command: WorkerCommand, runtime: &tokio::runtime::Handle) {
        match command {
            WorkerCommand::Quit => {}
            WorkerCommand::Browse(queue) => {
                self.browsed = queue.clone();
                if let Some(index) = self.indexes.get(&queue) {
                    // etc_dlq is read when it is opened, not on every refresh.
                    if !index.loaded && !index.loading {
                        self.load(&queue, None);
                    }
                } else if !dlq::browsable(&self.backend, &queue) {
                    self.send(Update::Messages {
                        queue,
                        added: Vec::new(),
                        removed: Vec::new(),
                        replace: false,
                        state: LoadState::NotBrowsed,
                    });
                }
            }
            WorkerCommand::Refresh => {
                self.refresh(true);
                let browsed = self.browsed.clone();
                if self.indexes.get(&browsed).is_some_and(|i| !i.loading) {
                    self.load(&browsed, None);
                }
            }
            WorkerCommand::SetLive(_) => {
                self.event(WorkerEvent::Error(
                    "there is no simulated traffic to pause on --aws".into(),
                ));
            }
            WorkerCommand::PreviewGoal { project_id } => {
                let b = self.backend.clone();
                let events = self.events.clone();
                tokio::spawn(async move {
                    let plan = goal::plan(&b, &project_id, None)
                        .await
                        .map_err(|e| e.to_string());
                    let _ = events.send(UiEvent::Worker(WorkerEvent::GoalPreview(plan)));
                });
            }
            WorkerCommand::Run(operation) => self.run_operation(operation, runtime),
        }
    }

    /// On a blocking thread of the runtime: the dispatcher's progress callback is not `Send`,
    /// and the loop must go on refreshing meanwhile.
    fn run_operation(&mut self, operation: Operation, runtime: &tokio::runtime::Handle) {
        let b = self.backend.clone();
        let events = self.events.clone();
        let done = self.done.clone();
        let read_only = self.config.read_only;
        let runtime = runtime.clone();
        self.operation = Some(tokio::task::spawn_blocking(move || {
            let title = operation.describe();
            let mut progress = |n| {
                let _ = events.send(UiEvent::Worker(WorkerEvent::Progress(n)));
            };
            let result =
                runtime.block_on(dispatch::run_on(&b, operation, read_only, &mut progress));
            let _ = done.send(Done::Operation(title, Box::new(result)));
        }));
    }

    fn on_done(&mut self, done: Done) {
        match done {
            Done::Source(name, update) => {
                self.busy.remove(name);
                let depths = match update.as_ref() {
                    Update::Queues(Ok(queues)) => Some(queues.clone()),
                    _ => None,
                };
                self.send(*update);
                if let Some(queues) = depths {
                    self.depths = queues;
                    self.follow_counts();
                }
            }
            Done::Found { queue, ids } => {
                let mut known = Vec::new();
                for (id, payment) in ids {
                    if let Some(index) = self.indexes.get_mut(&queue) {
                        index.ids.insert(id);
                    }
                    if let Some(p) = payment {
                        match self.ledger.get(&p) {
                            Some(state) => known.push((p, state.clone())),
                            None => {
                                self.pending_payments.insert(p);
                            }
                        }
                    }
                }
                if !known.is_empty() {
                    self.send(Update::Ledger(known));
                }
            }
            Done::LoadEnded {
                queue,
                seen,
                whole,
                state,
            } => {
                let Some(index) = self.indexes.get_mut(&queue) else {
                    return;
                };
                index.loading = false;
                index.loaded = true;
                index.last_sweep = Some(Instant::now());
                let removed: Vec<String> = if whole {
                    index.ids.difference(&seen).cloned().collect()
                } else {
                    Vec::new()
                };
                for id in &removed {
                    index.ids.remove(id);
                }
                self.send(Update::Messages {
                    queue,
                    added: Vec::new(),
                    removed,
                    replace: false,
                    state,
                });
            }
            Done::Ledger(states) => {
                self.ledger_busy = false;
                self.ledger.extend(states.iter().cloned());
                self.send(Update::Ledger(states));
            }
            Done::Operation(title, result) => {
                self.operation = None;
                self.after_operation(&result);
                self.event(finished(title, *result));
                // An action may have paused or resumed a trigger: show it now.
                self.next_triggers = Instant::now();
                self.refresh(false);
            }
        }
        self.fill_ledger();
    }

    /// Takes what an action moved out of the index at once (SQS's counts lag by up to a
    /// minute), and shows what a look read.
    fn after_operation(&mut self, result: &anyhow::Result<Outcome>) {
        match result {
            Ok(Outcome::Disposed { report, .. }) => {
                let removed: Vec<String> =
                    report.moved.iter().map(|m| m.message_id.clone()).collect();
                if let Some(index) = self.indexes.get_mut(&report.source) {
                    for id in &removed {
                        index.ids.remove(id);
                    }
                }
                if !removed.is_empty() {
                    let state = self.state_of(&report.source);
                    self.send(Update::Messages {
                        queue: report.source.clone(),
                        added: Vec::new(),
                        removed,
                        replace: false,
                        state,
                    });
                }
            }
            Ok(Outcome::Looked { queue, messages }) => {
                self.send(Update::Messages {
                    queue: queue.clone(),
                    added: messages.clone(),
                    removed: Vec::new(),
                    replace: true,
                    state: LoadState::LookedOnce(SystemClock.now()),
                });
            }
            _ => {}
        }
    }

    /// The state a queue's list is in when nothing is loading.
    fn state_of(&self, queue: &str) -> LoadState {
        match self.indexes.get(queue) {
            Some(i) if i.loading => LoadState::Loading,
            Some(i) if i.ids.len() >= self.config.max_messages => {
                LoadState::Capped(self.config.max_messages)
            }
            Some(i) if i.loaded => LoadState::Complete,
            _ => LoadState::NotLoaded,
        }
    }

    /// After new depths: the first load of etc_parked, and a sweep where its count grew.
    fn follow_counts(&mut self) {
        let count = |name: &str, depths: &[QueueStats]| {
            depths
                .iter()
                .find(|q| q.name == name)
                .map_or(0, |q| q.visible + q.in_flight + q.delayed) as usize
        };
        let parked = count(QUEUE_PARKED, &self.depths);
        let Some(index) = self.indexes.get(QUEUE_PARKED) else {
            return;
        };
        if index.loading {
            return;
        }
        if !index.loaded {
            self.load(QUEUE_PARKED, None);
            return;
        }
        let known = index.ids.len();
        let due = index.last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY);
        if parked > known && known < self.config.max_messages && due {
            self.load(QUEUE_PARKED, Some(parked - known));
        }
    }

    /// Reads `queue` into the index: the whole queue, or (`new`) until that many messages not
    /// yet in the index were found.
    fn load(&mut self, queue: &str, new: Option<usize>) {
        let Some(index) = self.indexes.get_mut(queue) else {
            return;
        };
        index.loading = true;
        index.stop = Arc::new(AtomicBool::new(false));
        let stop = index.stop.clone();
        let known = index.ids.clone();
        let max = self.config.max_messages;
        let b = self.backend.clone();
        let events = self.events.clone();
        let done = self.done.clone();
        let queue = queue.to_string();
        self.send(Update::Messages {
            queue: queue.clone(),
            added: Vec::new(),
            removed: Vec::new(),
            replace: false,
            state: LoadState::Loading,
        });
        tokio::spawn(async move {
            let seen = Mutex::new(HashSet::new());
            let found = Mutex::new(0usize);
            let wall = SystemClock;
            let sink = |batch: &[ReceivedMessage]| {
                let now = wall.now();
                let mut fresh: Vec<DlqMessage> = Vec::new();
                if let Ok(mut seen) = seen.lock() {
                    for m in batch {
                        seen.insert(m.message_id.clone());
                        if !known.contains(&m.message_id) {
                            fresh.push(dlq::to_dlq_message(&queue, m.clone(), now));
                        }
                    }
                }
                let mut total = 0;
                if let Ok(mut f) = found.lock() {
                    *f += fresh.len();
                    total = *f;
                }
                if !fresh.is_empty() {
                    let ids = fresh
                        .iter()
                        .map(|m| (m.message_id.clone(), m.payment_id.clone()))
                        .collect();
                    let _ = done.send(Done::Found {
                        queue: queue.clone(),
                        ids,
                    });
                    let update = Update::Messages {
                        queue: queue.clone(),
                        added: fresh,
                        removed: Vec::new(),
                        replace: false,
                        state: LoadState::Loading,
                    };
                    let _ = events.send(UiEvent::Worker(WorkerEvent::Update(Box::new(update))));
                }
                let enough = new.is_some_and(|n| total >= n);
                !enough && !stop.load(Ordering::Relaxed)
            };
            let result = b
                .queues
                .browse(&queue, dlq::browse_options(&queue, max), &sink)
                .await;
            let seen = seen.into_inner().unwrap_or_default();
            let stopped = stop.load(Ordering::Relaxed)
                || new.is_some_and(|n| found.into_inner().unwrap_or(0) >= n);
            let (whole, state) = match result {
                Ok(read) if read.len() >= max => (false, LoadState::Capped(max)),
                Ok(_) => (!stopped, LoadState::Complete),
                Err(e) => (false, LoadState::Failed(e.to_string())),
            };
            let _ = done.send(Done::LoadEnded {
                queue,
                seen,
                whole,
                state,
            });
        });
    }

    /// Looks up the ledger state of listed payments not looked up yet, a chunk at a time.
    fn fill_ledger(&mut self) {
        if self.ledger_busy || self.pending_payments.is_empty() {
            return;
        }
        let chunk: Vec<String> = self
            .pending_payments
            .iter()
            .take(LEDGER_CHUNK)
            .cloned()
            .collect();
        for p in &chunk {
            self.pending_payments.remove(p);
        }
        self.ledger_busy = true;
        let b = self.backend.clone();
        let done = self.done.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let states = match dlq::ledger_states(&b, chunk.iter().map(String::as_str)).await {
                Ok(states) => states,
                Err(e) => {
                    let error = format!("ledger states unavailable: {e}");
                    let _ = events.send(UiEvent::Worker(WorkerEvent::Error(error)));
                    Vec::new()
                }
            };
            let _ = done.send(Done::Ledger(states));
        });
    }

    async fn quit(&mut self, finished_tasks: &mut tokio::sync::mpsc::UnboundedReceiver<Done>) {
        for index in self.indexes.values() {
            index.stop.store(true, Ordering::Relaxed);
        }
        let deadline = Instant::now() + QUIT_WAIT;
        // Loads stop at their next receive and release what they hold; wait for that.
        while self.indexes.values().any(|i| i.loading) && Instant::now() < deadline {
            match tokio::time::timeout(QUIT_WAIT, finished_tasks.recv()).await {
                Ok(Some(Done::LoadEnded { queue, .. })) => {
                    if let Some(i) = self.indexes.get_mut(&queue) {
                        i.loading = false;
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        if let Some(op) = self.operation.take() {
            let _ = op.await;
        }
    }
}

async fn metrics(b: &Backend) -> Update {
    let Some(reader) = &b.metrics else {
        return Update::Metrics(Err("this backend has no metrics".into()));
    };
    let mut queues: Vec<QueueStats> = topology::QUEUES
        .iter()
        .map(|q| QueueStats {
            name: q.name.to_string(),
            ..QueueStats::default()
        })
        .collect();
    let now = SystemClock.now().timestamp();
    match reader.pipeline(&mut queues, now).await {
        Ok(m) => {
            let part = MetricsPart {
                functions: m.functions,
                throughput: m.throughput,
                ages: queues
                    .into_iter()
                    .map(|q| (q.name, q.oldest_age_seconds))
                    .collect(),
            };
            Update::Metrics(Ok(part))
        }
        Err(e) => Update::Metrics(Err(e.to_string())),
    }
}

async fn alarms(b: &Backend) -> Update {
    let Some(states) = &b.alarms else {
        return Update::Alarms(Err("this backend has no alarms".into()));
    };
    Update::Alarms(
        states
            .firing_alarms(&b.alarm_prefix)
            .await
            .map_err(|e| e.to_string()),
    )
}

async fn projects(b: &Backend) -> Update {
    let part = async {
        let (projects, payments) = collect_projects(b).await.map_err(|e| e.to_string())?;
        let late_payments = late_payments(b, &projects).await?;
        Ok::<_, String>(ProjectsPart {
            projects,
            payments,
            late_payments,
        })
    };
    Update::Projects(part.await)
}
