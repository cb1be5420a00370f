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

    /// How long a command that changes the local world waits for the state file when another
    /// process (an open console, another command) holds it, e.g. 0, 5s, 1m.
    #[arg(long, global = true, value_name = "DURATION", env = "CROWDFUND_LOCK_WAIT", default_value = "5s", value_parser = parse_wait)]
    pub lock_wait: std::time::Duration,

    /// In the interactive console: redrives move at most N messages per second.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub redrive_rate: Option<u32>,

    /// How often the console refreshes its data, e.g. 2s or 500ms (default 1s on the local
    /// world, 10s on AWS, where SQS's counts settle over about a minute; ctrl-r refreshes now).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub refresh: Option<std::time::Duration>,

    /// In the interactive console: load at most N messages of one queue into the DLQ browser
    /// (at most 110000: a load holds what it read in flight, and SQS allows 120000).
    #[arg(long, value_name = "N", default_value_t = crate::ops::dlq::DEFAULT_MAX_MESSAGES,
          value_parser = parse_max_messages)]
    pub max_messages: usize,

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

    /// Environment name, as in terraform's envs/ENV.tfvars. Its alarms are named
    /// `crowdfund-ENV-*`: the health view lists those in ALARM (with --aws), and `dashboards`
    /// generates and deploys them with dashboards `crowdfund-ENV-ops` and
    /// `crowdfund-ENV-stakeholders`.
    #[arg(long = "env", global = true, value_name = "ENV", env = "CROWDFUND_ENV",
          default_value = DEFAULT_ENV)]
    pub env_name: String,

    /// The interactive console opens at PLACE: a view (overview, dlq, goal, projects, topology,
    /// health, audit) or a queue (`parked` for etc_parked). Alarm descriptions end with the
    /// command that opens theirs.
    #[arg(long = "open", value_name = "PLACE", value_parser = parse_place)]
    pub open: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Queue depths, projects (raised vs ledger), payment counts.
    Status(JsonFlag),
    /// Drive simulated traffic through the local pipeline until the queues are idle.
    Simulate(SimulateArgs),
    /// Browse, redrive, delete and export dead-lettered and parked messages.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Cancel a project's payments made after it reached its goal (preview with --dry-run).
    GoalCheck(GoalCheckArgs),
    /// CloudWatch dashboards and alarms, and charts for stakeholders.
    #[command(subcommand)]
    Dashboards(DashboardsCommand),
    /// The functions and their SQS triggers; pause or resume a trigger (its queue waits).
    Triggers(TriggersArgs),
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TriggersArgs {
    #[command(subcommand)]
    pub command: Option<TriggersCommand>,
    /// Print JSON instead of a table (the listing).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TriggersCommand {
    /// Stop FUNCTION's SQS trigger: Lambda stops polling its queue, whose messages wait.
    Pause(TriggerArgs),
    /// Start FUNCTION's SQS trigger again.
    Resume(TriggerArgs),
}

#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// pg, send_email, funding_update, transaction_check or dlq_handler.
    pub function: String,
    #[command(flatten)]
    pub act: ActArgs,
}

#[derive(Debug, Subcommand)]
pub enum DashboardsCommand {
    /// Write ops.json, stakeholders.json and alarms.json (what terraform loads).
    Generate(GenerateArgs),
    /// Show what differs from the deployed dashboards and alarms, then put them (with --aws).
    Deploy(DeployArgs),
    /// Draw throughput, funding and queue-depth charts from the local world's history, or from
    /// CloudWatch (--source cloudwatch, or --aws).
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The global `--env` (also accepted after the subcommand), so that the console and
    /// `dashboards` name the same alarms.
    #[arg(from_global)]
    pub env_name: String,
    /// SNS topic ARN every alarm notifies (added to the actions an alarm already has).
    #[arg(long, value_name = "ARN")]
    pub alarm_topic: Option<String>,
    /// Show the differences; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Where the report's history comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportSource {
    /// The local world's history (its simulated clock).
    Local,
    /// CloudWatch GetMetricData (the custom metrics and SQS), on AWS or the --endpoint-url.
    Cloudwatch,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory to write into (default: target/dashboards/ENV, where terraform looks).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// AWS region the widgets read from.
    #[arg(long, env = "AWS_REGION", default_value = "ap-northeast-2")]
    pub region: String,
    /// The global `--env`.
    #[arg(from_global)]
    pub env_name: String,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Directory for the charts.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// png or svg.
    #[arg(long, default_value = "png", value_parser = ["png", "svg"])]
    pub format: String,
    /// How far back, in the world's clock: e.g. 30m, 1h, 6h.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub since: std::time::Duration,
    /// Where the history comes from (default: cloudwatch with --aws, local otherwise).
    #[arg(long, value_enum)]
    pub source: Option<ReportSource>,
}

#[derive(Debug, Args)]
pub struct GoalCheckArgs {
    /// The project to check.
    pub project_id: String,
    /// Cancel payments after this time (RFC 3339); default: when the project reached its goal.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    #[command(flatten)]
    pub act: ActArgs,
}

/// The environment when neither `--env` nor `CROWDFUND_ENV` names one.
pub const DEFAULT_ENV: &str = "dev";

/// A place the console can open: refused here, before the terminal starts, when unknown.
fn parse_place(s: &str) -> Result<String, String> {
    crate::app::JumpTarget::parse(s).map(|_| s.trim().to_string())
}

/// `500ms`, `2s`, `1m`, `1h 30m`: humantime's durations; a bare number is seconds.
pub fn parse_max_messages(s: &str) -> Result<usize, String> {
    let limit = crate::ops::dlq::MAX_MESSAGES_LIMIT;
    match s.parse::<usize>() {
        Ok(0) => Err("0 would load nothing; give 1 or more".into()),
        Ok(n) if n > limit => Err(format!(
            "{n} is more than {limit}: a load holds every message it read in flight until it \
             ends, and SQS allows 120000 in flight per queue"
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a number of messages")),
    }
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s)
        // A bare number is seconds, as it always was here.
        .or_else(|e| s.parse().map(std::time::Duration::from_secs).map_err(|_| e))
        .map_err(|e| format!("{s:?} is not a duration such as 500ms, 2s or 1m: {e}"))?;
    if d < std::time::Duration::from_millis(100) {
        return Err(format!("{s} is too short; refresh at most every 100ms"));
    }
    Ok(d)
}

/// A wait: humantime's durations, a bare number of seconds, or 0 (do not wait).
fn parse_wait(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s)
        .or_else(|e| s.parse().map(std::time::Duration::from_secs).map_err(|_| e))
        .map_err(|e| format!("{s:?} is not a duration such as 0, 500ms or 10s: {e}"))
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| format!("{e}; expected a time such as 2026-11-20T12:00:00Z"))
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
    /// List messages (on SQS a browse: each is received once and released; see the README).
    List(DlqListArgs),
    /// The failure causes in a queue: count, kinds, first and last seen, sample ids.
    Groups(GroupsArgs),
    /// Send messages back to the queue they came from (or --to another), then process them.
    Redrive(RedriveArgs),
    /// Delete messages (after writing them to a backup file).
    Delete(DeleteArgs),
    /// Write messages to a JSONL file without touching them.
    Export(ExportArgs),
}

/// Which messages of which queue a redrive or delete takes, and how it runs.
#[derive(Debug, Args)]
pub struct DisposalArgs {
    /// Queue to take from (etc_dlq, etc_parked, or any queue).
    pub queue: String,
    /// Message id (repeatable).
    #[arg(long = "id", value_name = "ID", conflicts_with_all = ["reason", "grep"])]
    pub ids: Vec<String>,
    /// Every message in the queue (with --reason or --grep: every one that matches).
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    #[command(flatten)]
    pub matching: MatchArgs,
    #[command(flatten)]
    pub act: ActArgs,
}

/// Messages by failure cause or by text: the same rules as the console's groups and `/`.
#[derive(Debug, Clone, Default, Args)]
pub struct MatchArgs {
    /// Only messages of this failure cause, as `dlq groups` names it (ids, amounts and times
    /// in TEXT are ignored, so a reason copied from one message takes its whole group).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Only messages whose body, id or ledger state contains TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
}

impl MatchArgs {
    pub fn filter(&self) -> crate::ops::dlq::groups::MessageFilter {
        crate::ops::dlq::groups::MessageFilter::new(self.reason.clone(), self.grep.clone())
    }
}

/// How an operation that changes something is run from the command line.
#[derive(Debug, Args)]
pub struct ActArgs {
    /// Show what would happen; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub chosen: DisposalArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub queue: String,
    /// File to write (JSONL, one message per line).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Only these message ids (default: all).
    #[arg(long = "id", value_name = "ID", conflicts_with_all = ["reason", "grep"])]
    pub ids: Vec<String>,
    #[command(flatten)]
    pub matching: MatchArgs,
}

#[derive(Debug, Args)]
pub struct GroupsArgs {
    /// Queue to group (etc_dlq or etc_parked).
    pub queue: String,
    /// Read at most this many messages (on SQS each is received once, then released).
    #[arg(long, default_value_t = crate::ops::dlq::DEFAULT_MAX_MESSAGES,
          value_parser = parse_max_messages)]
    pub limit: usize,
    #[command(flatten)]
    pub matching: MatchArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DlqListArgs {
    /// Queue to list (default: etc_dlq and etc_parked).
    pub queue: Option<String>,
    /// At most this many messages per queue (with --reason or --grep: this many that match).
    #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
    pub limit: usize,
    #[command(flatten)]
    pub matching: MatchArgs,
    /// Leave out each payment's state in the ledger (one read per payment).
    #[arg(long)]
    pub no_ledger: bool,
    /// With --aws, list a work queue without asking: reading it receives its messages, which
    /// raises their receive counts (after 3, SQS moves a message to etc_dlq).
    #[arg(long)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RedriveArgs {
    #[command(flatten)]
    pub chosen: DisposalArgs,
    /// Send to this queue instead of each message's `from`.
    #[arg(long, value_name = "QUEUE")]
    pub to: Option<String>,
    /// At most N messages per second, so the handlers downstream are not flooded.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
    /// With --aws and --all on etc_dlq: let SQS move the queue itself (StartMessageMoveTask),
    /// back to each message's source queue or to --to. Bodies are not rewritten.
    #[arg(long, requires = "all")]
    pub native: bool,
    /// Leave the messages the ledger says are already done (approved or cancelled: a redrive
    /// would do nothing) where they are.
    #[arg(long, conflicts_with_all = ["native", "delete_done"])]
    pub skip_done: bool,
    /// Redrive the rest, then delete the done ones (after a backup).
    #[arg(long, conflicts_with = "native")]
    pub delete_done: bool,
    /// Pause dlq_handler's SQS trigger while the redrive runs, and resume it at the end however
    /// the redrive ends (done, failed, cancelled). A trigger paused already stays paused.
    #[arg(long)]
    pub pause_dlq_handler: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_parse_as_before() {
        for (text, secs) in [
            ("1h", 3600),
            ("30m", 1800),
            ("90s", 90),
            ("2", 2),
            ("1h 30m", 5400),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("50ms").is_err_and(|e| e.contains("too short")));
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("crowdfund-console").chain(args.iter().copied()))
    }

    /// `--open` takes what `:` takes (a view, `parked`, a queue) and refuses anything else,
    /// naming it and the places there are.
    #[test]
    fn open_takes_a_known_place() {
        for place in [
            "etc_parked",
            "parked",
            "overview",
            "topology",
            "send_email_queue",
        ] {
            let cli = parse(&["--aws", "--open", place]).expect("a known place");
            assert_eq!(cli.open.as_deref(), Some(place));
        }
        let e = parse(&["--open", "nowhere"])
            .expect_err("refused")
            .to_string();
        for part in ["--open", "\"nowhere\"", "overview", "projects", "etc_dlq"] {
            assert!(e.contains(part), "{part}: {e}");
        }
    }

    /// One `--env` for the console and `dashboards`, before or after the subcommand.
    #[test]
    fn env_is_global_and_dashboards_take_it() {
        let deploy_env = |args: &[&str]| match parse(args).expect("parses").command {
            Some(Command::Dashboards(DashboardsCommand::Deploy(a))) => a.env_name,
            other => panic!("not a deploy: {other:?}"),
        };
        assert_eq!(deploy_env(&["dashboards", "deploy"]), DEFAULT_ENV);
        assert_eq!(
            deploy_env(&["dashboards", "deploy", "--env", "prod"]),
            "prod"
        );
        assert_eq!(
            deploy_env(&["--env", "prod", "dashboards", "deploy"]),
            "prod"
        );
        match parse(&["dashboards", "generate", "--env", "stage"]).map(|c| c.command) {
            Ok(Some(Command::Dashboards(DashboardsCommand::Generate(a)))) => {
                assert_eq!(a.env_name, "stage")
            }
            other => panic!("not a generate: {other:?}"),
        }
        let cli = parse(&["--aws", "--env", "prod"]).expect("parses");
        assert_eq!(cli.env_name, "prod");
    }

    /// A bad duration is refused by clap, naming the flag.
    #[test]
    fn a_bad_duration_names_its_flag() {
        for (flag, args) in [
            ("--refresh", vec!["--refresh", "2x", "status"]),
            (
                "--since",
                vec!["dashboards", "report", "--out", "c", "--since", "soon"],
            ),
        ] {
            let e = Cli::try_parse_from(std::iter::once("crowdfund-console").chain(args))
                .expect_err("refused")
                .to_string();
            assert!(e.contains(flag), "{e}");
        }
    }
}
