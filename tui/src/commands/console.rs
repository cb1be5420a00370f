//! The interactive console (no subcommand, at a terminal), launched on either backend.

use crate::app::worker::{AWS_REFRESH, LOCAL_REFRESH, WorkerConfig};
use crate::app::{App, terminal};
use crate::backend::LocalWorld;
use crate::cli::Cli;
use anyhow::Result;

/// The console's state and its worker's settings, from the command line.
fn app(cli: &Cli, backend: &str, target: &str) -> (App, WorkerConfig) {
    let mut app = App::new(backend, target, cli.read_only);
    app.redrive_rate = cli.redrive_rate;
    // Checked when the command line was parsed, so this jump is not refused.
    if let Some(place) = &cli.open {
        app.jump(place);
    }
    let default_refresh = if backend == "aws" {
        AWS_REFRESH
    } else {
        LOCAL_REFRESH
    };
    let config = WorkerConfig {
        refresh: cli.refresh.unwrap_or(default_refresh),
        read_only: cli.read_only,
        max_messages: cli.max_messages,
        ..WorkerConfig::default()
    };
    (app, config)
}

/// The interactive console on the local world, which the worker thread keeps ticking.
pub fn local(cli: &Cli, world: LocalWorld) -> Result<()> {
    let (app, config) = app(cli, "local", &world.path.display().to_string());
    terminal::run(app, world, config)
}

/// The interactive console on AWS: the worker thread drives the runtime, the UI never waits.
#[cfg(feature = "aws")]
pub fn aws(cli: &Cli, runtime: &tokio::runtime::Runtime) -> Result<()> {
    let (target, data_dir) = super::aws_target(cli)?;
    let (b, requests) = runtime.block_on(crate::aws::counted_backend(&target, &data_dir))?;
    let (app, config) = app(cli, "aws", &b.target);
    terminal::run_remote(app, b, requests, runtime.handle().clone(), config)
}
