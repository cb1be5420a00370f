//! `crowdfund-console`: parses the command line and runs it; see the library for the parts.

use anyhow::{Context, Result, bail};
use clap::Parser;
use crowdfund_console::backend::{LocalWorld, check_share, default_state_path};
use crowdfund_console::cli::{Cli, Command, DlqCommand, DlqListArgs, RedriveArgs, SimulateArgs};
use crowdfund_console::dispatch::{self, Action, Outcome};
use crowdfund_console::ops::dlq::{self, FAILURE_QUEUES, RedriveRequest, Selection};
use crowdfund_console::ops::status::{Status, collect_status};
use crowdfund_console::render;
use futures::executor::block_on;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    if cli.aws {
        return run_aws(cli);
    }
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
    let world = LocalWorld::open(&path, seed)?;
    if world.created && !cli.read_only {
        world.save()?;
        eprintln!("created a demo world in {}", path.display());
    }
    match cli.command {
        None | Some(Command::Status(_)) => {
            let json = matches!(&cli.command, Some(Command::Status(a)) if a.json);
            status(&world, json)
        }
        Some(Command::Simulate(args)) => simulate(&world, args, cli.read_only),
        Some(Command::Dlq(DlqCommand::List(args))) => dlq_list(&world, args),
        Some(Command::Dlq(DlqCommand::Redrive(args))) => redrive(&world, args, cli.read_only),
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn status(world: &LocalWorld, json: bool) -> Result<()> {
    let s = block_on(collect_status(&world.backend())).context("reading status")?;
    print_status(&s, json)
}

fn print_status(s: &Status, json: bool) -> Result<()> {
    if json {
        print_json(s)
    } else {
        print!("{}", render::status(s));
        Ok(())
    }
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

fn simulate(world: &LocalWorld, args: SimulateArgs, read_only: bool) -> Result<()> {
    let bar = progress_bar(args.payments, "simulating");
    let action = Action::Simulate {
        payments: args.payments,
        failure_rate: args.failure_rate,
    };
    let outcome = dispatch::run_local(world, action, read_only, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    let Outcome::Simulated(r) = outcome else {
        bail!("simulate returned another outcome");
    };
    let s = block_on(collect_status(&world.backend()))?;
    if args.json {
        return print_json(&serde_json::json!({
            "submitted": r.submitted,
            "accepted": r.accepted,
            "refused": r.refused,
            "rawInjected": r.raw_injected,
            "messagesProcessed": r.messages_processed,
            "status": s,
        }));
    }
    println!(
        "simulated {} items: {} accepted by the broker, {} refused, {} put straight on queues by bad producers; {} messages processed",
        r.submitted, r.accepted, r.refused, r.raw_injected, r.messages_processed
    );
    print!("{}", render::status(&s));
    Ok(())
}

fn dlq_list(world: &LocalWorld, args: DlqListArgs) -> Result<()> {
    let queues = list_queues(&args);
    let backend = world.backend();
    let mut all = Vec::new();
    for q in &queues {
        all.extend(block_on(dlq::list_messages(&backend, q, args.limit))?);
    }
    print_messages(&all, args.json)
}

fn list_queues(args: &DlqListArgs) -> Vec<String> {
    match &args.queue {
        Some(q) => vec![q.clone()],
        None => FAILURE_QUEUES.iter().map(|q| q.to_string()).collect(),
    }
}

fn print_messages(all: &[dlq::DlqMessage], json: bool) -> Result<()> {
    if json {
        print_json(&all)
    } else {
        print!("{}", render::messages(all));
        Ok(())
    }
}

fn redrive_request(args: &RedriveArgs) -> Result<RedriveRequest> {
    let selection = if args.all {
        Selection::All
    } else if args.ids.is_empty() {
        bail!(
            "say which messages to redrive: --all, or --id ID (repeatable); see `dlq list {}`",
            args.queue
        );
    } else {
        Selection::Ids(args.ids.clone())
    };
    Ok(RedriveRequest {
        source: args.queue.clone(),
        selection,
        to: args.to.clone(),
        dry_run: args.dry_run,
    })
}

fn redrive(world: &LocalWorld, args: RedriveArgs, read_only: bool) -> Result<()> {
    let request = redrive_request(&args)?;
    let action = Action::Redrive(request.clone());
    dispatch::authorize(&action, read_only)?;
    if !args.dry_run && !args.yes {
        dlq::check_queue(&args.queue)?;
        let count = match &request.selection {
            Selection::All => world.world().peek_queue(&args.queue, usize::MAX)?.len(),
            Selection::Ids(ids) => ids.len(),
        };
        let target = args.to.as_deref().unwrap_or("each message's `from` queue");
        confirm(&format!(
            "Redrive {count} message(s) from {} to {target}?",
            args.queue
        ))?;
    }
    let bar = progress_bar(0, "redriving");
    let outcome = dispatch::run_local(world, action, read_only, &mut |n| {
        bar.set_length(n);
        bar.set_position(n)
    })?;
    bar.finish_and_clear();
    let Outcome::Redriven { report, processed } = outcome else {
        bail!("redrive returned another outcome");
    };
    print_redrive(&report, processed, args.json)
}

fn print_redrive(
    report: &dlq::RedriveReport,
    processed: Option<crowdfund_handlers::local::DrainReport>,
    json: bool,
) -> Result<()> {
    if json {
        return print_json(&serde_json::json!({
            "moved": report.moved.len(),
            "failed": report.failed.len(),
            "skipped": report.skipped.len(),
            "notFound": report.not_found,
            "report": report,
            "processedAfter": processed.map(|p| p.messages),
        }));
    }
    print!("{}", render::redrive(report));
    if let Some(p) = processed {
        println!(
            "the local pipeline then processed {} message(s); see `crowdfund-console status`",
            p.messages
        );
    }
    if !report.failed.is_empty() {
        bail!(
            "{} message(s) could not be moved; they are still in {}",
            report.failed.len(),
            report.source
        );
    }
    Ok(())
}

/// Asks on the terminal; without one, refuses and says how to confirm non-interactively.
fn confirm(question: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "{question} Refusing without confirmation: pass --yes, or --dry-run to see what would move"
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

/// `--aws`: status and the DLQ operations over the AWS adapters, on a tokio runtime (the SDK
/// needs one; the local world does not).
#[cfg(feature = "aws")]
fn run_aws(cli: Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime for --aws")?;
    runtime.block_on(aws_main(cli))
}

#[cfg(not(feature = "aws"))]
fn run_aws(_cli: Cli) -> Result<()> {
    bail!(
        "this crowdfund-console was built without AWS support; build it with `cargo build -p crowdfund-console --features aws`"
    )
}

#[cfg(feature = "aws")]
async fn aws_main(cli: Cli) -> Result<()> {
    use crowdfund_console::aws::{AwsTarget, backend};
    use crowdfund_handlers::aws::AwsSettings;
    let state = match &cli.state {
        Some(p) => p.clone(),
        None => default_state_path()?,
    };
    let data_dir = state
        .parent()
        .map_or_else(|| std::path::PathBuf::from("."), |d| d.to_path_buf());
    let target = AwsTarget {
        settings: AwsSettings {
            profile: cli.profile.clone(),
            region: cli.region.clone(),
            endpoint_url: cli.endpoint_url.clone(),
        },
        api_url: cli.api_url.clone(),
    };
    let b = backend(&target, &data_dir).await?;
    match cli.command {
        None | Some(Command::Status(_)) => {
            let json = matches!(&cli.command, Some(Command::Status(a)) if a.json);
            if target.api_url.is_none() {
                eprintln!("no --api-url: projects are not listed");
            }
            let s = collect_status(&b)
                .await
                .with_context(|| format!("reading status from {}", b.target))?;
            print_status(&s, json)
        }
        Some(Command::Simulate(_)) => {
            bail!("simulate drives the local world only; run it without --aws")
        }
        Some(Command::Dlq(DlqCommand::List(args))) => {
            let mut all = Vec::new();
            for q in &list_queues(&args) {
                all.extend(dlq::list_messages(&b, q, args.limit).await?);
            }
            print_messages(&all, args.json)
        }
        Some(Command::Dlq(DlqCommand::Redrive(args))) => {
            let request = redrive_request(&args)?;
            let action = Action::Redrive(request.clone());
            dispatch::authorize(&action, cli.read_only)?;
            if !args.dry_run && !args.yes {
                dlq::check_queue(&args.queue)?;
                let count = match &request.selection {
                    Selection::All => b.queues.stats(&args.queue).await?.visible as usize,
                    Selection::Ids(ids) => ids.len(),
                };
                let target = args.to.as_deref().unwrap_or("each message's `from` queue");
                confirm(&format!(
                    "Redrive about {count} message(s) from {} to {target}?",
                    args.queue
                ))?;
            }
            let bar = progress_bar(0, "redriving");
            let outcome = dispatch::run_on(&b, action, cli.read_only, &mut |n| {
                bar.set_length(n);
                bar.set_position(n)
            })
            .await?;
            bar.finish_and_clear();
            let Outcome::Redriven { report, processed } = outcome else {
                bail!("redrive returned another outcome");
            };
            print_redrive(&report, processed, args.json)
        }
    }
}
