//! `crowdfund-api`: see the library's overview.

use anyhow::{Context, bail};
use clap::Parser;
use crowdfund_api::config::{Cli, Command, Settings};
use crowdfund_api::{Application, Dependencies, db, shutdown_signal, telemetry};
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck) = cli.command {
        return healthcheck(cli.port).await;
    }
    telemetry::init("info");
    let settings = Settings::from_cli(&cli).context(
        "DATABASE_URL is required (e.g. mysql://root@127.0.0.1:3306/crowdfund), \
         or DB_HOST, DB_NAME, DB_USER and DB_PASSWORD",
    )?;
    if let Some(Command::Migrate) = cli.command {
        let pools = db::Pools::connect_lazy(&settings)?;
        db::migrate(&pools.primary)
            .await
            .context("applying migrations to DATABASE_URL")?;
        let applied = db::MIGRATOR.iter().count();
        tracing::info!(migrations = applied, "database is up to date");
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", cli.port))
        .await
        .with_context(|| format!("binding port {}", cli.port))?;
    let role = settings.role;
    let app = Application::build(settings, listener, Dependencies::default()).await?;
    tracing::info!(role = role.as_str(), addr = %app.local_addr()?, "listening");
    app.run(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn healthcheck(port: u16) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let url = format!("http://127.0.0.1:{port}/healthz");
    let status = client
        .get(&url)
        .send()
        .await
        .with_context(|| url.clone())?
        .status();
    if !status.is_success() {
        bail!("{url} answered {status}");
    }
    Ok(())
}
