//! The one place actions run. `--read-only` is enforced here and nowhere else, so no path
//! around it exists; the TUI and the subcommands both come through.

use crate::backend::{Backend, LocalWorld};
use crate::ops::dlq::{self, RedriveReport, RedriveRequest};
use anyhow::{Context, Result};
use crowdfund_handlers::local::{DrainReport, TrafficReport};
use futures::executor::block_on;

/// Everything that changes the system.
#[derive(Debug, Clone)]
pub enum Action {
    Simulate { payments: u64, failure_rate: f64 },
    Redrive(RedriveRequest),
}

impl Action {
    /// False only for what is explicitly harmless (a dry run).
    pub fn changes_state(&self) -> bool {
        match self {
            Action::Simulate { .. } => true,
            Action::Redrive(r) => !r.dry_run,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Action::Simulate { payments, .. } => format!("simulate {payments} payments"),
            Action::Redrive(r) => format!("redrive messages from {}", r.source),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("--read-only: refusing to {0}; run without --read-only to change anything")]
pub struct ReadOnlyRefusal(pub String);

/// Refuses any action that changes state when the console is read-only.
pub fn authorize(action: &Action, read_only: bool) -> Result<(), ReadOnlyRefusal> {
    if read_only && action.changes_state() {
        return Err(ReadOnlyRefusal(action.describe()));
    }
    Ok(())
}

#[derive(Debug)]
pub enum Outcome {
    Simulated(TrafficReport),
    Redriven {
        report: RedriveReport,
        /// What the local pipeline processed after the redrive.
        processed: Option<DrainReport>,
    },
}

/// Runs an action on the local world and saves the world when it changed.
pub fn run_local(
    world: &LocalWorld,
    action: Action,
    read_only: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome> {
    authorize(&action, read_only)?;
    let outcome = match action {
        Action::Simulate {
            payments,
            failure_rate,
        } => {
            let report = world
                .pipeline
                .run_traffic(payments, failure_rate, progress)
                .context("simulating traffic")?;
            Outcome::Simulated(report)
        }
        Action::Redrive(request) => {
            let report = block_on(dlq::redrive(&world.backend(), &request, progress))?;
            // The functions keep running in the local world as they would on AWS.
            let processed = if request.dry_run {
                None
            } else {
                Some(
                    world
                        .pipeline
                        .drain()
                        .context("processing redriven messages")?,
                )
            };
            Outcome::Redriven { report, processed }
        }
    };
    world.save()?;
    Ok(outcome)
}

/// Runs an action on any backend (the `--aws` path): no local pipeline runs afterwards, the
/// deployed functions (or `crowdfund-local run`) process what was moved.
pub async fn run_on(
    backend: &Backend,
    action: Action,
    read_only: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome> {
    authorize(&action, read_only)?;
    match action {
        Action::Simulate { .. } => {
            anyhow::bail!("simulate drives the local world only; run it without --aws")
        }
        Action::Redrive(request) => {
            let report = dlq::redrive(backend, &request, progress).await?;
            Ok(Outcome::Redriven {
                report,
                processed: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::dlq::Selection;

    /// Every action that changes state is refused when read-only; a dry run is not.
    #[test]
    fn read_only_refuses_every_changing_action() {
        let redrive = |dry_run| {
            Action::Redrive(RedriveRequest {
                source: "etc_parked".into(),
                selection: Selection::All,
                to: None,
                dry_run,
            })
        };
        let changing = [
            Action::Simulate {
                payments: 1,
                failure_rate: 0.0,
            },
            redrive(false),
        ];
        for a in &changing {
            let e = authorize(a, true).expect_err("refused");
            assert!(e.to_string().contains("--read-only"));
            assert!(authorize(a, false).is_ok());
        }
        assert!(authorize(&redrive(true), true).is_ok());
    }
}
