//! `crowdfund-console`: parses the command line and runs it; see the library for the parts.

use anyhow::{Context, Result, bail};
use clap::Parser;
use crowdfund_console::app::worker::WorkerConfig;
use crowdfund_console::app::{App, terminal};
use crowdfund_console::backend::{LocalWorld, check_share, default_state_path};
use crowdfund_console::cli::{
    Cli, Command, DashboardsCommand, DeleteArgs, DlqCommand, DlqListArgs, ExportArgs, GenerateArgs,
    GoalCheckArgs, RedriveArgs, ReportArgs, ReportSource, SimulateArgs,
};
use crowdfund_console::dispatch::{self, Extent, Operation, Outcome};
use crowdfund_console::ops::dlq::{self, Disposal, DisposalRequest, FAILURE_QUEUES, Selection};
use crowdfund_console::ops::status::{Status, collect_status};
use crowdfund_console::render;
use crowdfund_dashboards::report::{Format, write_report};
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
    let from_cloudwatch = matches!(
        &cli.command,
        Some(Command::Dashboards(DashboardsCommand::Report(ReportArgs {
            source: Some(ReportSource::Cloudwatch),
            ..
        })))
    );
    if cli.aws || from_cloudwatch {
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
        // The interactive console when a person is at a terminal; a status table otherwise.
        None if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => {
            let mut app = App::new("local", &path.display().to_string(), cli.read_only);
            app.redrive_rate = cli.redrive_rate;
            let config = WorkerConfig {
                refresh: cli.refresh,
                read_only: cli.read_only,
                ..WorkerConfig::default()
            };
            terminal::run(app, world, config)
        }
        None | Some(Command::Status(_)) => {
            let json = matches!(&cli.command, Some(Command::Status(a)) if a.json);
            status(&world, json)
        }
        Some(Command::Simulate(args)) => simulate(&world, args, cli.read_only),
        Some(Command::Dlq(DlqCommand::List(args))) => dlq_list(&world, args),
        Some(Command::Dlq(DlqCommand::Redrive(args))) => {
            dispose(&world, redrive_request(&args)?, cli.read_only)
        }
        Some(Command::Dlq(DlqCommand::Delete(args))) => {
            dispose(&world, delete_request(&args)?, cli.read_only)
        }
        Some(Command::Dlq(DlqCommand::Export(args))) => export(&world, args, cli.read_only),
        Some(Command::GoalCheck(args)) => goal_check(&world, args, cli.read_only),
        Some(Command::Dashboards(DashboardsCommand::Generate(args))) => generate(args),
        Some(Command::Dashboards(DashboardsCommand::Report(args))) => report(&world, args),
        Some(Command::Dashboards(DashboardsCommand::Deploy(_))) => bail!(
            "dashboards deploy puts the dashboards and alarms into CloudWatch: run it with --aws (and --endpoint-url for a local endpoint)"
        ),
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
    let action = Operation::Simulate {
        payments: args.payments,
        failure_rate: args.failure_rate,
    };
    let outcome =
        dispatch::run_local(world, action, read_only, true, &mut |n| bar.set_position(n))?;
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
    let backend = world.backend();
    let mut all = Vec::new();
    for q in &list_queues(&args) {
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

fn selection(queue: &str, all: bool, ids: &[String], verb: &str) -> Result<Selection> {
    if all {
        Ok(Selection::All)
    } else if ids.is_empty() {
        bail!(
            "say which messages to {verb}: --all, or --id ID (repeatable); see `dlq list {queue}`"
        )
    } else {
        Ok(Selection::Ids(ids.to_vec()))
    }
}

/// A redrive or delete as the command line asked for it.
struct DisposalCommand {
    request: DisposalRequest,
    yes: bool,
    json: bool,
}

fn redrive_request(args: &RedriveArgs) -> Result<DisposalCommand> {
    let t = &args.chosen;
    let selection = selection(&t.queue, t.all, &t.ids, "redrive")?;
    let mut request = DisposalRequest::redrive(&t.queue, selection, args.to.clone(), t.dry_run)
        .with_rate(args.rate);
    request.native = args.native;
    Ok(DisposalCommand {
        request,
        yes: t.yes,
        json: t.json,
    })
}

fn delete_request(args: &DeleteArgs) -> Result<DisposalCommand> {
    let t = &args.chosen;
    let request = DisposalRequest::new(
        &t.queue,
        selection(&t.queue, t.all, &t.ids, "delete")?,
        Disposal::Delete,
        t.dry_run,
    );
    Ok(DisposalCommand {
        request,
        yes: t.yes,
        json: t.json,
    })
}

/// Redrive or delete: confirm, run with a progress bar, report.
fn dispose(world: &LocalWorld, t: DisposalCommand, read_only: bool) -> Result<()> {
    let DisposalCommand { request, yes, json } = t;
    let action = Operation::Dispose(request.clone());
    dispatch::authorize(&action, read_only)?;
    let total = block_on(confirm_take(&world.backend(), &action, &request, yes))?;
    let bar = progress_bar(total, request.verb());
    let outcome = dispatch::run_local(world, action, read_only, true, &mut |n| {
        bar.set_length(bar.length().unwrap_or(0).max(n));
        bar.set_position(n)
    })?;
    bar.finish_and_clear();
    let Outcome::Disposed { report, processed } = outcome else {
        bail!("{} returned another outcome", request.verb());
    };
    print_take(&report, processed, json)
}

fn print_take(
    report: &dlq::DisposalReport,
    processed: Option<crowdfund_handlers::local::DrainReport>,
    json: bool,
) -> Result<()> {
    if json {
        print_json(&serde_json::json!({
            "moved": report.moved_count(),
            "failed": report.failed.len(),
            "skipped": report.skipped.len(),
            "notFound": report.not_found,
            "report": report,
            "processedAfter": processed.map(|p| p.messages),
        }))?;
    } else {
        print!("{}", render::disposal(report));
        if let Some(p) = processed {
            println!(
                "the local pipeline then processed {} message(s); see `crowdfund-console status`",
                p.messages
            );
        }
    }
    if !report.failed.is_empty() {
        bail!(
            "{} message(s) could not be handled; they are still in {}",
            report.failed.len(),
            report.source
        );
    }
    Ok(())
}

/// Asks before a redrive or delete, naming how many messages and where (unless `--yes` or a
/// dry run). The count is the queue's (approximate, on SQS) depth, or the ids given; it is
/// returned as the progress bar's length.
async fn confirm_take(
    b: &crowdfund_console::backend::Backend,
    operation: &Operation,
    request: &DisposalRequest,
    yes: bool,
) -> Result<u64> {
    if request.dry_run {
        return Ok(0);
    }
    dlq::check_queue(&request.source)?;
    let count = match &request.selection {
        Selection::All => {
            let q = b.queues.stats(&request.source).await?;
            q.visible + q.in_flight + q.delayed
        }
        Selection::Ids(ids) => ids.len() as u64,
    };
    if !yes {
        confirm(&operation.question(&Extent::messages(count)))?;
    }
    Ok(count)
}

fn export(world: &LocalWorld, args: ExportArgs, read_only: bool) -> Result<()> {
    print_exported(dispatch::run_local(
        world,
        export_action(args),
        read_only,
        true,
        &mut |_| {},
    )?)
}

fn export_action(args: ExportArgs) -> Operation {
    let selection = if args.ids.is_empty() {
        Selection::All
    } else {
        Selection::Ids(args.ids)
    };
    Operation::Export {
        queue: args.queue,
        selection,
        out: args.out,
    }
}

fn print_exported(outcome: Outcome) -> Result<()> {
    match outcome {
        Outcome::Exported { count, out } => {
            println!("exported {count} message(s) to {}", out.display());
            Ok(())
        }
        _ => bail!("export returned another outcome"),
    }
}

fn goal_check(world: &LocalWorld, args: GoalCheckArgs, read_only: bool) -> Result<()> {
    let preview = Operation::GoalCheck {
        project_id: args.project_id.clone(),
        at: args.at,
        dry_run: true,
    };
    let Outcome::GoalChecked { plan, .. } =
        dispatch::run_local(world, preview, read_only, true, &mut |_| {})?
    else {
        bail!("goal check returned another outcome");
    };
    if !args.dry_run {
        let action = Operation::GoalCheck {
            project_id: args.project_id.clone(),
            at: args.at,
            dry_run: false,
        };
        dispatch::authorize(&action, read_only)?;
        if !args.yes {
            confirm(&action.question(&Extent {
                count: plan.payments.len() as u64,
                after: Some(plan.achieved_at),
            }))?;
        }
        let Outcome::GoalChecked {
            plan: done,
            processed,
        } = dispatch::run_local(world, action, read_only, true, &mut |_| {})?
        else {
            bail!("goal check returned another outcome");
        };
        let status = block_on(collect_status(&world.backend()))?;
        let project = status.projects.iter().find(|p| p.id == done.project_id);
        if args.json {
            return print_json(
                &serde_json::json!({"plan": done, "processedAfter": processed.map(|p| p.messages), "project": project}),
            );
        }
        print!("{}", render::goal_plan(&done));
        if let Some(p) = project {
            println!(
                "{}: raised {} · ledger net {}",
                p.id, p.raised, p.ledger_net
            );
        }
        return Ok(());
    }
    if args.json {
        return print_json(&plan);
    }
    print!("{}", render::goal_plan(&plan));
    Ok(())
}

fn generate(args: GenerateArgs) -> Result<()> {
    let out = args
        .out
        .unwrap_or_else(|| format!("target/dashboards/{}", args.env_name).into());
    let target = crowdfund_dashboards::Target::new(&args.region, &args.env_name);
    for path in crowdfund_dashboards::write_all(&out, &target)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn report(world: &LocalWorld, args: ReportArgs) -> Result<()> {
    let history = crowdfund_console::ops::history::local_history(world, args.since)?;
    write_charts(&args, &history)
}

fn write_charts(args: &ReportArgs, history: &crowdfund_dashboards::report::History) -> Result<()> {
    let format = if args.format == "svg" {
        Format::Svg
    } else {
        Format::Png
    };
    for path in write_report(&args.out, history, format)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// `dashboards report` from CloudWatch: GetMetricData for the charts, the funding API for goals.
#[cfg(feature = "aws")]
async fn cloudwatch_report(
    target: &crowdfund_console::aws::AwsTarget,
    b: &crowdfund_console::backend::Backend,
    args: ReportArgs,
) -> Result<()> {
    let clients = crowdfund_handlers::aws::AwsClients::load(&target.settings).await?;
    let cw = crowdfund_handlers::aws::cloudwatch::CloudWatch::new(clients.cloudwatch);
    let history = crowdfund_dashboards::source::cloudwatch_history(
        &cw,
        b.funding.as_ref(),
        b.wall_clock.now().timestamp(),
        args.since,
        &b.target,
    )
    .await?;
    write_charts(&args, &history)
}

/// `dashboards deploy`: the differences first, then (unless --dry-run) the puts.
#[cfg(feature = "aws")]
async fn deploy(
    target: &crowdfund_console::aws::AwsTarget,
    args: crowdfund_console::cli::DeployArgs,
) -> Result<()> {
    use crowdfund_dashboards::deploy::{apply, plan_deploy, render_plan};
    let clients = crowdfund_handlers::aws::AwsClients::load(&target.settings).await?;
    let where_to = target.settings.describe(&clients.region);
    let cw = crowdfund_handlers::aws::cloudwatch::CloudWatch::new(clients.cloudwatch);
    let dashboards = crowdfund_dashboards::Target::new(&clients.region, &args.env_name);
    let plan = plan_deploy(&cw, &dashboards, args.alarm_topic.as_deref())
        .await
        .with_context(|| format!("reading the deployed dashboards and alarms from {where_to}"))?;
    let puts = plan.puts();
    let (warnings, applied) = if args.dry_run || puts == 0 {
        (Vec::new(), 0)
    } else {
        let bar = progress_bar(puts as u64, "put");
        let warnings = apply(&cw, &plan, |name| {
            bar.set_message(name.to_string());
            bar.inc(1);
        })
        .await;
        bar.finish_and_clear();
        (warnings?, puts)
    };
    if args.json {
        return print_json(&serde_json::json!({
            "target": where_to,
            "dryRun": args.dry_run,
            "plan": plan,
            "put": applied,
            "warnings": warnings,
        }));
    }
    println!("deploy to {where_to}");
    print!("{}", render_plan(&plan, &dashboards));
    for w in &warnings {
        println!("warning: {w}");
    }
    match (puts, args.dry_run) {
        (0, _) => println!("no change: what is deployed is what is generated"),
        (n, true) => println!("dry run: {n} puts would be made; nothing was changed"),
        (n, false) => println!(
            "put {} dashboards and {} alarms",
            plan.dashboards_to_put().count(),
            n - plan.dashboards_to_put().count()
        ),
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

/// `--aws`: status and every action over the AWS adapters, on a tokio runtime (the SDK needs
/// one; the local world does not).
#[cfg(feature = "aws")]
fn run_aws(cli: Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime for --aws")?;
    let interactive =
        cli.command.is_none() && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if !interactive {
        return runtime.block_on(aws_main(cli));
    }
    // The interactive console on AWS: the worker thread drives the runtime, the UI never waits.
    let (target, data_dir) = aws_target(&cli)?;
    let b = runtime.block_on(crowdfund_console::aws::backend(&target, &data_dir))?;
    let mut app = App::new("aws", &b.target, cli.read_only);
    app.redrive_rate = cli.redrive_rate;
    let config = WorkerConfig {
        refresh: cli.refresh,
        read_only: cli.read_only,
        ..WorkerConfig::default()
    };
    terminal::run_remote(app, b, runtime.handle().clone(), config)
}

/// Where `--aws` points, and where its backups and audit log go (beside the state file).
#[cfg(feature = "aws")]
fn aws_target(cli: &Cli) -> Result<(crowdfund_console::aws::AwsTarget, std::path::PathBuf)> {
    let state = match &cli.state {
        Some(p) => p.clone(),
        None => default_state_path()?,
    };
    let data_dir = state
        .parent()
        .map_or_else(|| std::path::PathBuf::from("."), |d| d.to_path_buf());
    let target = crowdfund_console::aws::AwsTarget {
        settings: crowdfund_handlers::aws::AwsSettings {
            profile: cli.profile.clone(),
            region: cli.region.clone(),
            endpoint_url: cli.endpoint_url.clone(),
        },
        api_url: cli.api_url.clone(),
    };
    Ok((target, data_dir))
}

#[cfg(not(feature = "aws"))]
fn run_aws(_cli: Cli) -> Result<()> {
    bail!(
        "this crowdfund-console was built without AWS support; build it with `cargo build -p crowdfund-console --features aws`"
    )
}

#[cfg(feature = "aws")]
async fn aws_main(cli: Cli) -> Result<()> {
    let (target, data_dir) = aws_target(&cli)?;
    let b = crowdfund_console::aws::backend(&target, &data_dir).await?;
    let read_only = cli.read_only;
    match cli.command {
        None | Some(Command::Status(_)) => {
            let json = matches!(&cli.command, Some(Command::Status(a)) if a.json);
            if target.api_url.is_none() {
                eprintln!("no --api-url: projects are not listed");
            }
            let mut s = collect_status(&b)
                .await
                .with_context(|| format!("reading status from {}", b.target))?;
            // SQS has no age-of-oldest attribute; CloudWatch has it. Without it, say so.
            if let Some(metrics) = &b.metrics
                && let Err(e) = metrics.queue_ages(&mut s.queues, s.now.timestamp()).await
            {
                eprintln!("warning: ages of oldest messages unknown: {e}");
            }
            print_status(&s, json)
        }
        Some(Command::Simulate(_)) => {
            bail!("simulate drives the local world only; run it without --aws")
        }
        Some(Command::Dashboards(DashboardsCommand::Report(args))) => {
            if args.source == Some(ReportSource::Local) {
                bail!("--source local draws from the local world: run it without --aws");
            }
            cloudwatch_report(&target, &b, args).await
        }
        Some(Command::Dashboards(DashboardsCommand::Deploy(args))) => deploy(&target, args).await,
        Some(Command::Dashboards(DashboardsCommand::Generate(args))) => generate(args),
        Some(Command::Dlq(DlqCommand::List(args))) => {
            let mut all = Vec::new();
            for q in &list_queues(&args) {
                all.extend(dlq::list_messages(&b, q, args.limit).await?);
            }
            print_messages(&all, args.json)
        }
        Some(Command::Dlq(DlqCommand::Redrive(args))) => {
            aws_dispose(&b, redrive_request(&args)?, read_only).await
        }
        Some(Command::Dlq(DlqCommand::Delete(args))) => {
            aws_dispose(&b, delete_request(&args)?, read_only).await
        }
        Some(Command::Dlq(DlqCommand::Export(args))) => {
            print_exported(dispatch::run_on(&b, export_action(args), read_only, &mut |_| {}).await?)
        }
        Some(Command::GoalCheck(args)) => {
            let preview = Operation::GoalCheck {
                project_id: args.project_id.clone(),
                at: args.at,
                dry_run: args.dry_run,
            };
            if !args.dry_run && !args.yes {
                dispatch::authorize(&preview, read_only)?;
                confirm(&format!(
                    "Publish a goal check for {} (its late payments are cancelled)?",
                    args.project_id
                ))?;
            }
            let Outcome::GoalChecked { plan, .. } =
                dispatch::run_on(&b, preview, read_only, &mut |_| {}).await?
            else {
                bail!("goal check returned another outcome");
            };
            if args.json {
                return print_json(&plan);
            }
            print!("{}", render::goal_plan(&plan));
            Ok(())
        }
    }
}

/// Redrive or delete on AWS: confirm with the queue's approximate count, run, report.
#[cfg(feature = "aws")]
async fn aws_dispose(
    b: &crowdfund_console::backend::Backend,
    t: DisposalCommand,
    read_only: bool,
) -> Result<()> {
    let DisposalCommand { request, yes, json } = t;
    let action = Operation::Dispose(request.clone());
    dispatch::authorize(&action, read_only)?;
    let total = confirm_take(b, &action, &request, yes).await?;
    // Ctrl-C stops after the batch in flight (or cancels the SQS move task); nothing is lost.
    let cancel = request.cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("cancelling: finishing the batch in flight, then stopping");
            cancel.cancel();
        }
    });
    let bar = progress_bar(total, request.verb());
    let outcome = dispatch::run_on(b, action, read_only, &mut |n| {
        bar.set_length(bar.length().unwrap_or(0).max(n));
        bar.set_position(n)
    })
    .await;
    watcher.abort();
    bar.finish_and_clear();
    let outcome = outcome?;
    let Outcome::Disposed { report, processed } = outcome else {
        bail!("{} returned another outcome", request.verb());
    };
    print_take(&report, processed, json)
}
