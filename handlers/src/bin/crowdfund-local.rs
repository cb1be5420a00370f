//! `crowdfund-local`: the pipeline on any AWS endpoint (moto server, LocalStack, or AWS).
//!
//! - `provision --endpoint-url URL`: creates the topology from `crowdfund_core::topology`;
//!   running it again changes nothing and says so. `--lambda-functions` adds the six functions
//!   (placeholder code) and their SQS triggers, disabled, for the console's trigger views.
//! - `run --endpoint-url URL [--broker-port P] [--until-idle]`: polls every function's queue
//!   like Lambda's event-source mapping and serves `POST /broker` on 127.0.0.1:P.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use crowdfund_core::sim::traffic::seed_demo_projects;
use crowdfund_handlers::aws::pipeline::{AwsPipeline, PipelineOptions};
use crowdfund_handlers::aws::provision::{provision, provision_functions};
use crowdfund_handlers::aws::ses::DEFAULT_MAIL_FROM;
use crowdfund_handlers::aws::{AwsClients, AwsSettings, broker_http};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "crowdfund-local",
    version,
    about = "Provision and run the crowdfund pipeline on an AWS endpoint (e.g. moto server)"
)]
struct Cli {
    #[command(flatten)]
    aws: AwsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct AwsArgs {
    /// AWS endpoint, e.g. http://127.0.0.1:5000 for moto server.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    endpoint_url: Option<String>,
    #[arg(long, global = true, env = "AWS_REGION")]
    region: Option<String>,
    #[arg(long, global = true, env = "AWS_PROFILE")]
    profile: Option<String>,
    /// SES sender address (provisioned as an email identity).
    #[arg(long, global = true, env = "CROWDFUND_MAIL_FROM", default_value = DEFAULT_MAIL_FROM)]
    mail_from: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the topics, queues, subscriptions, table and SES identity (idempotent).
    Provision {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also create the six functions (placeholder code, never run) and their SQS triggers,
        /// disabled: moto would invoke an enabled trigger's function on every send, and without
        /// Docker that fails. `run` plays the triggers itself, whatever their state.
        #[arg(long)]
        lambda_functions: bool,
    },
    /// Run the handlers as queue pollers and serve the broker.
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Port of `POST /broker` on 127.0.0.1 (0 picks a free one; it is logged).
    #[arg(long, default_value_t = 8080)]
    broker_port: u16,
    /// Stop once every queue the functions drain is empty (parked messages stay).
    #[arg(long)]
    until_idle: bool,
    /// With --until-idle: give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    idle_timeout_seconds: u64,
    /// Discord webhook for alerts (without one, alerts go to the log). Never logged.
    #[arg(
        long,
        env = "CROWDFUND_WEBHOOK_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    webhook_url: Option<String>,
    /// crowdfund-api (funding-rw) base URL; without one, an in-memory funding store with the
    /// demo projects.
    #[arg(long, env = "CROWDFUND_FUNDING_API_URL", value_name = "URL")]
    funding_api_url: Option<String>,
    /// Cap the DLQ handler's retry delays (production: 30 s, 60 s, 120 s), e.g. 0 on moto.
    #[arg(long, value_name = "SECONDS")]
    max_retry_delay: Option<u32>,
    /// Do not put the handlers' metrics into CloudWatch (PutMetricData after each round).
    #[arg(long)]
    pub no_metrics: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let settings = AwsSettings {
        profile: cli.aws.profile.clone(),
        region: cli.aws.region.clone(),
        endpoint_url: cli.aws.endpoint_url.clone(),
    };
    let clients = AwsClients::load(&settings).await?;
    let target = settings.describe(&clients.region);
    match cli.command {
        Command::Provision {
            json,
            lambda_functions,
        } => {
            let mut report = provision(&clients, &cli.aws.mail_from)
                .await
                .with_context(|| format!("provisioning {target}"))?;
            if lambda_functions {
                let functions = provision_functions(&clients)
                    .await
                    .with_context(|| format!("creating the functions on {target}"))?;
                report.steps.extend(functions.steps);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for step in &report.steps {
                    println!("{step}");
                }
                match report.changed() {
                    0 => println!("{target}: everything was in place; nothing changed"),
                    n => println!("{target}: {n} resource(s) created or updated"),
                }
            }
            Ok(())
        }
        Command::Run(args) => run_pipeline(&clients, &target, &cli.aws.mail_from, args).await,
    }
}

async fn run_pipeline(
    clients: &AwsClients,
    target: &str,
    mail_from: &str,
    args: RunArgs,
) -> Result<()> {
    let options = PipelineOptions {
        webhook_url: args.webhook_url.clone(),
        funding_api_url: args.funding_api_url.clone(),
        mail_from: mail_from.to_string(),
        max_retry_delay_seconds: args.max_retry_delay,
        put_metrics: !args.no_metrics,
    };
    let pipeline = AwsPipeline::new(clients, &options)?;
    if pipeline.in_memory_funding {
        seed_demo_projects(&pipeline.world);
        tracing::info!(
            "no --funding-api-url: funding goes to an in-memory store with the demo projects ({})",
            pipeline
                .world
                .project_list()
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if args.webhook_url.is_none() {
        tracing::info!("no --webhook-url: alerts are written to this log");
    }
    // Fail early, with the fix, when the endpoint has not been provisioned.
    pipeline.pending().await.with_context(|| {
        format!("reading the queues on {target}; run `crowdfund-local provision` first")
    })?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (addr, server) = broker_http::serve(pipeline.broker.clone(), args.broker_port, async {
        let _ = stop_rx.await;
    })
    .await
    .with_context(|| {
        format!(
            "cannot listen on 127.0.0.1:{}; pick another --broker-port",
            args.broker_port
        )
    })?;
    tracing::info!("broker: POST http://{addr}/broker; polling queues on {target}");
    let pipeline = Arc::new(pipeline);
    let result = if args.until_idle {
        let handled = pipeline
            .run_until_idle(Duration::from_secs(args.idle_timeout_seconds))
            .await?;
        tracing::info!("idle after handling {handled} message(s)");
        Ok(())
    } else {
        poll_forever(&pipeline).await
    };
    let _ = stop_tx.send(());
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => bail!("the broker server failed: {e}"),
        Err(e) => bail!("the broker server task failed: {e}"),
    }
    result
}

/// Polls until Ctrl-C; a failed round is logged and retried after a pause.
async fn poll_forever(pipeline: &AwsPipeline) -> Result<()> {
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let round = tokio::select! {
            _ = &mut ctrl_c => {
                tracing::info!("stopping");
                return Ok(());
            }
            r = pipeline.poll_once() => r,
        };
        let pause = match round {
            Ok(r) if r.received > 0 => {
                tracing::info!(received = r.received, failed = r.failed, "polled");
                Duration::ZERO
            }
            Ok(_) => Duration::from_millis(500),
            Err(e) => {
                tracing::warn!("polling failed, retrying in 5 s: {e}");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = &mut ctrl_c => {
                tracing::info!("stopping");
                return Ok(());
            }
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
