//! The goal check's ledger read, timed and counted, for `scripts/bench-goal-check.py`.
//!
//! Runs [`DynamoLedger::query_project`] — the Query on the project/time index that the goal
//! check (`plan_goal_check`) and `status` go through — against an AWS endpoint, and prints one
//! JSON line per repetition: payments returned, items DynamoDB read for them (ScannedCount summed
//! over the pages), pages, and the query's wall time. The client is built before the clock starts.
//!
//! ```sh
//! cargo run -p crowdfund-handlers --features aws --example bench_goal_check -- \
//!     --endpoint-url http://127.0.0.1:5000 --project prj-007 --after 2026-11-01T12:00:00Z
//! ```

use anyhow::{Context, Result};
use clap::Parser;
use crowdfund_core::domain::Timestamp;
use crowdfund_core::topology::TABLE_PAYMENTS;
use crowdfund_handlers::aws::dynamodb::DynamoLedger;
use crowdfund_handlers::aws::{AwsClients, AwsSettings};
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(about = "Time and count the goal check's Query on the payments table")]
struct Args {
    /// AWS endpoint, e.g. moto server's URL.
    #[arg(long, env = "CROWDFUND_MOTO_URL")]
    endpoint_url: Option<String>,
    /// The project whose payments are read.
    #[arg(long)]
    project: String,
    /// Read only payments made after this time (RFC 3339), as a goal check at that time does;
    /// without it, all of the project's payments (what `status` reads).
    #[arg(long)]
    after: Option<Timestamp>,
    /// How many times to run the query.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let settings = AwsSettings {
        endpoint_url: args.endpoint_url,
        ..AwsSettings::default()
    };
    let clients = AwsClients::load(&settings)
        .await
        .context("loading the AWS configuration")?;
    let ledger = DynamoLedger::new(clients.dynamodb, TABLE_PAYMENTS);
    for _ in 0..args.repeat {
        let started = Instant::now();
        let read = ledger
            .query_project(&args.project, args.after)
            .await
            .with_context(|| format!("querying the payments of {}", args.project))?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "project": args.project,
                "after": args.after,
                "items": read.records.len(),
                "scannedCount": read.scanned_count,
                "pages": read.pages,
                "seconds": seconds,
            })
        );
    }
    Ok(())
}
