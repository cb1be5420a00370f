//! `crowdfund-console`: parses the command line, builds the console (local world or `--aws`)
//! and runs the subcommand; see the library's `commands` for the subcommands.

use anyhow::Result;
use clap::Parser;
use crowdfund_console::cli::Cli;
use crowdfund_console::commands::{self, Console, console};
use std::io::IsTerminal;
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
    if let (Some(place), Some(_)) = (&cli.open, &cli.command) {
        anyhow::bail!(
            "--open {place} opens the interactive console at that place; run it without a subcommand"
        );
    }
    // The interactive console when a person is at a terminal; a status table otherwise.
    let interactive =
        cli.command.is_none() && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if let Some(place) = cli.open.as_deref().filter(|_| !interactive) {
        eprintln!("--open {place} needs a terminal; printing the status instead");
    }
    if commands::points_at_aws(&cli) {
        return run_aws(cli, interactive);
    }
    let world = commands::open_world(&cli, interactive)?;
    if interactive {
        return console::local(&cli, world);
    }
    let local = Console::local(world, cli.read_only);
    commands::run(&local, cli.command)
}

/// `--aws`: on a tokio runtime (the SDK needs one; the local world does not).
#[cfg(feature = "aws")]
fn run_aws(cli: Cli, interactive: bool) -> Result<()> {
    use anyhow::Context;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime for --aws")?;
    if interactive {
        return console::aws(&cli, &runtime);
    }
    let aws = Console::aws(&cli, runtime)?;
    commands::run(&aws, cli.command)
}

#[cfg(not(feature = "aws"))]
fn run_aws(_cli: Cli, _interactive: bool) -> Result<()> {
    anyhow::bail!(
        "this crowdfund-console was built without AWS support; build it with `cargo build -p crowdfund-console --features aws`"
    )
}
