//! Command-line interface. Every action is a subcommand with `--json` for scripts and runbooks.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "crowdfund-console",
    version,
    about = "Operate the crowdfund payment pipeline: queues, DLQ, redrives, goal checks",
    long_about = "Operate the crowdfund payment pipeline. With no subcommand, shows the status \
of the embedded local world: the whole pipeline simulated in-process, kept in one state file."
)]
pub struct Cli {
    /// State file of the local world (created with a demo scenario on first use).
    #[arg(long, global = true, value_name = "PATH", env = "CROWDFUND_STATE")]
    pub state: Option<PathBuf>,

    /// Refuse every action that changes anything (status and listings still work).
    #[arg(long, global = true)]
    pub read_only: bool,

    /// Point at AWS (or a local AWS endpoint) instead of the local world: status, dlq list and
    /// dlq redrive. Needs a build with the `aws` feature.
    #[arg(long, global = true)]
    pub aws: bool,

    /// AWS endpoint, e.g. http://127.0.0.1:5000 for moto server (with --aws).
    #[arg(long, global = true, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,

    /// AWS region (with --aws).
    #[arg(long, global = true, env = "AWS_REGION")]
    pub region: Option<String>,

    /// AWS profile from the shared config files (with --aws).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// crowdfund-api base URL, for the project list (with --aws).
    #[arg(long, global = true, value_name = "URL", env = "CROWDFUND_API_URL")]
    pub api_url: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Queue depths, projects (raised vs ledger), payment counts.
    Status(JsonFlag),
    /// Drive simulated traffic through the local pipeline until the queues are idle.
    Simulate(SimulateArgs),
    /// Browse and redrive dead-lettered and parked messages.
    #[command(subcommand)]
    Dlq(DlqCommand),
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// How many payments (or failures, see --failure-rate) to generate.
    #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
    pub payments: u64,
    /// Share of the traffic that goes wrong somehow (declines, gateway errors, bad bodies), 0 to 1.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub failure_rate: f64,
    /// Seed for the world's random source (the same seed on a new world replays the same run).
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Peek at messages without consuming them.
    List(DlqListArgs),
    /// Send messages back to the queue they came from (or --to another), then process them.
    Redrive(RedriveArgs),
}

#[derive(Debug, Args)]
pub struct DlqListArgs {
    /// Queue to list (default: etc_dlq and etc_parked).
    pub queue: Option<String>,
    /// At most this many messages per queue.
    #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// Queue to redrive from (etc_dlq, etc_parked, or any queue).
    pub queue: String,
    /// Send to this queue instead of each message's `from`.
    #[arg(long, value_name = "QUEUE")]
    pub to: Option<String>,
    /// Message id to redrive (repeatable).
    #[arg(long = "id", value_name = "ID")]
    pub ids: Vec<String>,
    /// Redrive every message in the queue.
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    /// Show what would move; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}
