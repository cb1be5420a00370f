//! The subcommands, each written once for both backends: a command is handed a [`Console`] (the
//! ports of the local world or of AWS, and how an operation runs there) and prints its result.

pub mod console;
pub mod dashboards;
pub mod dlq;
pub mod goal;
pub mod simulate;
pub mod status;
pub mod triggers;

use crate::backend::lock::StateLock;
use crate::backend::{Backend, LocalWorld, check_share, default_state_path};
use crate::cli::{
    Cli, Command, DashboardsCommand, DlqCommand, ReportArgs, ReportSource, TriggersArgs,
    TriggersCommand,
};
use crate::dispatch::{self, Operation, Outcome};
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};

/// What a command runs against: the ports, and where they lead.
pub struct Console {
    pub backend: Backend,
    pub place: Place,
    pub read_only: bool,
}

/// Where the console points, for what only that place has.
pub enum Place {
    /// The local world: an operation is followed by the pipeline running until idle, then the
    /// state file is saved. Its pipeline blocks on its own, outside any executor.
    Local(Box<LocalWorld>),
    /// AWS (or a local endpoint), on a tokio runtime (the SDK needs one): the deployed
    /// functions process what an operation changed; CloudWatch is read through the same
    /// settings.
    #[cfg(feature = "aws")]
    Aws {
        target: crate::aws::AwsTarget,
        runtime: tokio::runtime::Runtime,
    },
}

impl Console {
    pub fn local(world: LocalWorld, read_only: bool) -> Self {
        Console {
            backend: world.backend(),
            place: Place::Local(Box::new(world)),
            read_only,
        }
    }

    /// The `--aws` console; its backups and audit log go beside the state file.
    #[cfg(feature = "aws")]
    pub fn aws(cli: &Cli, runtime: tokio::runtime::Runtime) -> Result<Self> {
        let (target, data_dir) = aws_target(cli)?;
        let backend = runtime.block_on(crate::aws::backend(&target, &data_dir))?;
        Ok(Console {
            backend,
            place: Place::Aws { target, runtime },
            read_only: cli.read_only,
        })
    }

    /// The local world, when the console points at it.
    pub fn world(&self) -> Option<&LocalWorld> {
        match &self.place {
            Place::Local(world) => Some(world),
            #[cfg(feature = "aws")]
            Place::Aws { .. } => None,
        }
    }

    /// Waits for a read over the ports: on the tokio runtime for AWS, in place locally.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        match &self.place {
            Place::Local(_) => futures::executor::block_on(future),
            #[cfg(feature = "aws")]
            Place::Aws { runtime, .. } => runtime.block_on(future),
        }
    }

    /// Runs an operation through the dispatcher (which refuses it when read-only).
    pub fn run(&self, operation: Operation, progress: &mut dyn FnMut(u64)) -> Result<Outcome> {
        match &self.place {
            Place::Local(world) => {
                dispatch::run_local(world, operation, self.read_only, true, progress)
            }
            #[cfg(feature = "aws")]
            Place::Aws { runtime, .. } => {
                // Ctrl-C stops a disposal after the batch in flight (or cancels the SQS move
                // task); nothing is lost.
                let watcher = match &operation {
                    Operation::Dispose(request) => {
                        let cancel = request.cancel.clone();
                        Some(runtime.spawn(async move {
                            if tokio::signal::ctrl_c().await.is_ok() {
                                eprintln!(
                                    "cancelling: finishing the batch in flight, then stopping"
                                );
                                cancel.cancel();
                            }
                        }))
                    }
                    _ => None,
                };
                let outcome = runtime.block_on(dispatch::run_on(
                    &self.backend,
                    operation,
                    self.read_only,
                    progress,
                ));
                if let Some(w) = watcher {
                    w.abort();
                }
                outcome
            }
        }
    }
}

/// True when the command line points at AWS: `--aws`, or a report drawn from CloudWatch.
pub fn points_at_aws(cli: &Cli) -> bool {
    cli.aws
        || matches!(
            &cli.command,
            Some(Command::Dashboards(DashboardsCommand::Report(ReportArgs {
                source: Some(ReportSource::Cloudwatch),
                ..
            })))
        )
}

/// Opens the local world of `--state`: under its lock when this process will write it (see
/// [`writer`]), else only to read it. A missing file is created with the demo world and saved,
/// under the lock, unless read-only.
pub fn open_world(cli: &Cli, interactive: bool) -> Result<LocalWorld> {
    let path = match &cli.state {
        Some(p) => p.clone(),
        None => default_state_path()?,
    };
    let seed = match &cli.command {
        Some(Command::Simulate(a)) => {
            check_share("--failure-rate", a.failure_rate)?;
            a.seed
        }
        _ => None,
    };
    // A reader that finds no file creates it, so it writes too (the lock tells it whether
    // another process created the file meanwhile: it reads that one instead).
    let writer = writer(cli, interactive).or_else(|| {
        (!cli.read_only && !path.exists())
            .then(|| "crowdfund-console (creating the state file)".into())
    });
    let world = match writer {
        Some(command) => {
            let lock = StateLock::acquire(&path, &command, cli.lock_wait, &mut |holder| {
                eprintln!(
                    "waiting up to {} for state file {}: in use by {holder}",
                    humantime::format_duration(cli.lock_wait),
                    path.display()
                );
            })?;
            LocalWorld::open_locked(&path, seed, lock)?
        }
        None => LocalWorld::open(&path, seed)?,
    };
    if world.created && world.writable() {
        world.save()?;
        eprintln!("created a demo world in {}", path.display());
    }
    Ok(world)
}

/// What this process does, for the state file's lock, when it will change the local world;
/// `None` when it only reads it (listings, exports, dry runs, `--read-only`), so it needs no
/// lock. Every command is named here, so a new one has to say which it is.
pub fn writer(cli: &Cli, interactive: bool) -> Option<String> {
    if cli.read_only {
        return None;
    }
    let unless_dry =
        |dry_run: bool, what: &str| (!dry_run).then(|| format!("crowdfund-console {what}"));
    match &cli.command {
        None if interactive => Some("crowdfund-console (TUI)".into()),
        None => None,
        Some(Command::Simulate(_)) => Some("crowdfund-console simulate".into()),
        Some(Command::Dlq(DlqCommand::Redrive(a))) => {
            unless_dry(a.chosen.act.dry_run, "dlq redrive")
        }
        Some(Command::Dlq(DlqCommand::Delete(a))) => unless_dry(a.chosen.act.dry_run, "dlq delete"),
        Some(Command::GoalCheck(a)) => unless_dry(a.act.dry_run, "goal-check"),
        Some(Command::Triggers(TriggersArgs {
            command: Some(TriggersCommand::Pause(_) | TriggersCommand::Resume(_)),
            ..
        })) => Some("crowdfund-console triggers".into()),
        Some(
            Command::Status(_)
            | Command::Dlq(DlqCommand::List(_) | DlqCommand::Groups(_) | DlqCommand::Export(_))
            | Command::Dashboards(_)
            | Command::Triggers(TriggersArgs { command: None, .. }),
        ) => None,
    }
}

/// Where `--aws` points, and where its backups and audit log go (beside the state file).
#[cfg(feature = "aws")]
pub fn aws_target(cli: &Cli) -> Result<(crate::aws::AwsTarget, std::path::PathBuf)> {
    let state = match &cli.state {
        Some(p) => p.clone(),
        None => default_state_path()?,
    };
    let data_dir = state
        .parent()
        .map_or_else(|| std::path::PathBuf::from("."), |d| d.to_path_buf());
    let target = crate::aws::AwsTarget {
        settings: crowdfund_handlers::aws::AwsSettings {
            profile: cli.profile.clone(),
            region: cli.region.clone(),
            endpoint_url: cli.endpoint_url.clone(),
        },
        api_url: cli.api_url.clone(),
        env_name: cli.env_name.clone(),
    };
    Ok((target, data_dir))
}

/// Runs one subcommand; no subcommand (and no terminal for the interactive console) is `status`.
pub fn run(console: &Console, command: Option<Command>) -> Result<()> {
    match command {
        None => status::run(console, false),
        Some(Command::Status(a)) => status::run(console, a.json),
        Some(Command::Simulate(a)) => simulate::run(console, a),
        Some(Command::Dlq(DlqCommand::List(a))) => dlq::list(console, a),
        Some(Command::Dlq(DlqCommand::Groups(a))) => dlq::groups(console, a),
        Some(Command::Dlq(DlqCommand::Redrive(a))) => {
            dlq::dispose(console, dlq::redrive_request(&a)?)
        }
        Some(Command::Dlq(DlqCommand::Delete(a))) => {
            dlq::dispose(console, dlq::delete_request(&a)?)
        }
        Some(Command::Dlq(DlqCommand::Export(a))) => dlq::export(console, a),
        Some(Command::GoalCheck(a)) => goal::run(console, a),
        Some(Command::Dashboards(DashboardsCommand::Generate(a))) => {
            dashboards::generate(console, a)
        }
        Some(Command::Dashboards(DashboardsCommand::Report(a))) => dashboards::report(console, a),
        Some(Command::Dashboards(DashboardsCommand::Deploy(a))) => dashboards::deploy(console, a),
        Some(Command::Triggers(a)) => triggers::run(console, a),
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style =
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta})")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

/// Asks on the terminal; without one, refuses and says how to confirm non-interactively.
fn confirm(question: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "{question} Refusing without confirmation: pass --yes (a redrive, delete or goal check also takes --dry-run, to see what it would do)"
        );
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        bail!("not confirmed; nothing was changed")
    }
}
