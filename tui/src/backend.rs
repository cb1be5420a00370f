//! What an operation runs against: a bundle of ports, plus where backups and the audit log go.
//! The local backend is the simulated world kept in one state file, which one process at a
//! time may write ([`lock`]).

pub mod lock;

use self::lock::StateLock;
use crate::metrics::MetricsReader;
use anyhow::{Context, Result, bail};
use crowdfund_core::ports::{
    AlarmStates, Clock, FundingApi, Ledger, MessageMoveTasks, Pacer, Publisher, QueueClient,
    SystemClock, ThreadPacer, Triggers, VirtualPacer,
};
use crowdfund_core::sim::traffic::seed_demo_projects;
use crowdfund_core::sim::{SimWorld, WorldConfig};
use crowdfund_handlers::local::LocalPipeline;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Seed of a new local world unless `--seed` says otherwise.
pub const DEFAULT_SEED: u64 = 1;
/// Payments the demo scenario runs when it creates a world, so that there is something to see.
const DEMO_PAYMENTS: u64 = 150;
const DEMO_FAILURE_RATE: f64 = 0.15;

pub struct Backend {
    /// `local` or `aws`, as shown in output.
    pub name: &'static str,
    /// Where it points: the state file, or the AWS endpoint/region.
    pub target: String,
    pub queues: Arc<dyn QueueClient>,
    pub ledger: Arc<dyn Ledger>,
    pub funding: Arc<dyn FundingApi>,
    pub publisher: Arc<dyn Publisher>,
    /// The functions' SQS triggers (Lambda, or the local world's).
    pub triggers: Arc<dyn Triggers>,
    pub clock: Arc<dyn Clock>,
    /// Real time, for the audit log and backup names (the local world's clock is virtual).
    pub wall_clock: Arc<dyn Clock>,
    /// Who acts, for the audit log.
    pub identity: String,
    pub audit_log: PathBuf,
    pub backup_dir: PathBuf,
    /// Real waiting, for rate caps and polling.
    pub pacer: Arc<dyn Pacer>,
    /// SQS's own move tasks, where the backend has them (AWS).
    pub move_tasks: Option<Arc<dyn MessageMoveTasks>>,
    /// Function health, throughput and queue ages, where the backend has them (CloudWatch);
    /// the local world keeps its own.
    pub metrics: Option<Arc<dyn MetricsReader>>,
    /// The alarms in ALARM state, where the backend has them (CloudWatch); the local world has
    /// none.
    pub alarms: Option<Arc<dyn AlarmStates>>,
    /// What the names of this environment's alarms start with (`crowdfund-dev-`); empty
    /// without `alarms`.
    pub alarm_prefix: String,
}

impl Backend {
    /// A backend over an in-memory world with no state file, its audit log and backups in
    /// `dir`, never waiting (a [`VirtualPacer`]): for tests and tools that drive a world
    /// themselves.
    pub fn over_world(world: Arc<SimWorld>, dir: &Path) -> Backend {
        Backend {
            name: "local",
            target: "in memory".into(),
            queues: world.clone(),
            ledger: world.clone(),
            funding: world.clone(),
            publisher: world.clone(),
            triggers: world.clone(),
            clock: world,
            wall_clock: Arc::new(SystemClock),
            identity: "test".into(),
            audit_log: dir.join("audit.jsonl"),
            backup_dir: dir.join("backups"),
            pacer: Arc::new(VirtualPacer::default()),
            move_tasks: None,
            metrics: None,
            alarms: None,
            alarm_prefix: String::new(),
        }
    }
}

/// The embedded local world and the file it lives in.
pub struct LocalWorld {
    pub path: PathBuf,
    pub pipeline: LocalPipeline,
    /// True when this run created the file's world (it did not exist).
    pub created: bool,
    /// Held by a process that will save the world; without it the world is only read.
    lock: Option<StateLock>,
}

/// `<data dir>/crowdfund/world.json`.
pub fn default_state_path() -> Result<PathBuf> {
    let base = dirs::data_dir().context(
        "cannot find a data directory for the state file (is HOME set?); pass --state PATH",
    )?;
    Ok(base.join("crowdfund").join("world.json"))
}

impl LocalWorld {
    /// Opens the world in `path` to read it (it cannot be saved), or creates it in memory with
    /// the demo scenario when the file does not exist. A file that exists but cannot be read is
    /// an error and is left untouched.
    pub fn open(path: &Path, seed: Option<u64>) -> Result<Self> {
        let world = match std::fs::File::open(path) {
            Ok(file) => {
                let world = SimWorld::read_json(file).with_context(|| {
                    format!(
                        "cannot use state file {}; move it away or pass --state with another path",
                        path.display()
                    )
                })?;
                if let Some(seed) = seed {
                    world.reseed(seed);
                }
                return Ok(LocalWorld {
                    path: path.to_path_buf(),
                    pipeline: LocalPipeline::new(world),
                    created: false,
                    lock: None,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                SimWorld::new(seed.unwrap_or(DEFAULT_SEED), demo_config())
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot read state file {}; check its permissions or pass --state",
                        path.display()
                    )
                });
            }
        };
        seed_demo_projects(&world);
        let local = LocalWorld {
            path: path.to_path_buf(),
            pipeline: LocalPipeline::new(world),
            created: true,
            lock: None,
        };
        local
            .pipeline
            .run_traffic(DEMO_PAYMENTS, DEMO_FAILURE_RATE, &mut |_| {})
            .context("running the demo scenario")?;
        Ok(local)
    }

    /// Opens the world in `path` to change and save it, holding `lock` (taken on `path`
    /// before the file is read, so no other writer's save can land between this load and
    /// this process's saves) until the world is dropped.
    pub fn open_locked(path: &Path, seed: Option<u64>, lock: StateLock) -> Result<Self> {
        let mut world = Self::open(path, seed)?;
        world.lock = Some(lock);
        Ok(world)
    }

    /// True when this process holds the state file's lock, so it may save.
    pub fn writable(&self) -> bool {
        self.lock.is_some()
    }

    pub fn world(&self) -> &SimWorld {
        &self.pipeline.world
    }

    /// Writes the world atomically: a temporary file of its own beside it (two savers never
    /// share one), synced, renamed over the state file, then the directory synced so the
    /// rename survives a crash. Only the holder of the lock saves.
    pub fn save(&self) -> Result<()> {
        if self.lock.is_none() {
            bail!(
                "state file {} was opened for reading, not saving it (a writer holds its lock)",
                self.path.display()
            );
        }
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
        let tmp = temporary_sibling(&self.path);
        let write = || -> Result<()> {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            let mut out = std::io::BufWriter::new(file);
            self.world().write_json(&mut out)?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            crate::ops::safety::sync_dir(dir)?;
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            e.context(format!(
                "cannot save state file {} (through {})",
                self.path.display(),
                tmp.display()
            ))
        })
    }

    pub fn backend(&self) -> Backend {
        let w = Arc::new(self.world().clone());
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Backend {
            name: "local",
            target: self.path.display().to_string(),
            queues: w.clone(),
            ledger: w.clone(),
            funding: w.clone(),
            publisher: w.clone(),
            triggers: w.clone(),
            clock: w,
            wall_clock: Arc::new(SystemClock),
            identity: format!("local:{user}"),
            audit_log: sibling(&self.path, "-audit.jsonl"),
            backup_dir: sibling(&self.path, "-backups"),
            pacer: Arc::new(ThreadPacer::default()),
            move_tasks: None,
            metrics: None,
            alarms: None,
            alarm_prefix: String::new(),
        }
    }
}

/// Failure injection of the demo world: a little of everything production sees.
pub fn demo_config() -> WorldConfig {
    WorldConfig {
        duplicate_rate: 0.05,
        mail_failure_rate: 0.02,
        funding_failure_rate: 0.02,
    }
}

/// `dir/.world.json.<pid>.<n>.tmp`: unique to this process and this save, so that nothing
/// else writes into it (a leftover of a crashed save is never reused).
fn temporary_sibling(path: &Path) -> PathBuf {
    static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .map_or_else(|| "world.json".into(), |s| s.to_string_lossy());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    path.with_file_name(format!(".{name}.{}.{n}.{nanos}.tmp", std::process::id()))
}

/// `dir/world.json` + `-audit.jsonl` → `dir/world-audit.jsonl`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "world".into(), |s| s.to_string_lossy());
    path.with_file_name(format!("{stem}{suffix}"))
}

/// Checks a `--failure-rate`-like share.
pub fn check_share(flag: &str, value: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&value) || value.is_nan() {
        bail!("{flag} must be between 0 and 1, got {value}");
    }
    Ok(())
}
