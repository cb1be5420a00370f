//! `status` (and no subcommand without a terminal): queue depths, projects, payment counts.

use super::{Console, Place, print_json};
use crate::ops::status::{Status, collect_status};
use crate::render;
use anyhow::{Context, Result};

pub fn run(console: &Console, json: bool) -> Result<()> {
    let s = console.block_on(read(console))?;
    if json {
        print_json(&s)
    } else {
        print!("{}", render::status(&s));
        Ok(())
    }
}

async fn read(console: &Console) -> Result<Status> {
    match &console.place {
        Place::Local(_) => collect_status(&console.backend)
            .await
            .context("reading status"),
        #[cfg(feature = "aws")]
        Place::Aws { target, .. } => {
            if target.api_url.is_none() {
                eprintln!("no --api-url: projects are not listed");
            }
            let mut s = collect_status(&console.backend)
                .await
                .with_context(|| format!("reading status from {}", console.backend.target))?;
            fill_ages(console, &mut s).await;
            Ok(s)
        }
    }
}

/// SQS has no age-of-oldest attribute; CloudWatch (the backend's metrics port) has it.
/// Without it, say so.
#[cfg(feature = "aws")]
async fn fill_ages(console: &Console, s: &mut Status) {
    if let Some(metrics) = &console.backend.metrics
        && let Err(e) = metrics.queue_ages(&mut s.queues, s.now.timestamp()).await
    {
        eprintln!("warning: ages of oldest messages unknown: {e}");
    }
}
