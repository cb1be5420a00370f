//! The one place actions run. `--read-only` is enforced here and nowhere else, so no path
//! around it exists; the TUI and the subcommands both come through.

use crate::backend::{Backend, LocalWorld};
use crate::ops::dlq::{self, RedriveReport, RedriveRequest, Selection};
use crate::ops::goal::{self, GoalPlan};
use anyhow::{Context, Result};
use crowdfund_core::domain::Timestamp;
use crowdfund_handlers::local::{DrainReport, TrafficReport};
use futures::executor::block_on;
use std::path::PathBuf;

/// Everything an operator can do. Listings and previews are not actions.
#[derive(Debug, Clone)]
pub enum Action {
    Simulate {
        payments: u64,
        failure_rate: f64,
    },
    /// Redrive or delete (see [`dlq::Disposal`]).
    Redrive(RedriveRequest),
    Export {
        queue: String,
        selection: Selection,
        out: PathBuf,
    },
    GoalCheck {
        project_id: String,
        at: Option<Timestamp>,
        dry_run: bool,
    },
}

impl Action {
    /// False only for what is explicitly harmless (a dry run).
    pub fn is_dry_run(&self) -> bool {
        match self {
            Action::Redrive(r) => r.dry_run,
            Action::GoalCheck { dry_run, .. } => *dry_run,
            Action::Simulate { .. } | Action::Export { .. } => false,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Action::Simulate { payments, .. } => format!("simulate {payments} payments"),
            Action::Redrive(r) => format!("{} messages from {}", r.verb(), r.source),
            Action::Export { queue, .. } => format!("export messages from {queue}"),
            Action::GoalCheck { project_id, .. } => format!("run a goal check on {project_id}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("--read-only: refusing to {0}; run without --read-only to change anything")]
pub struct ReadOnlyRefusal(pub String);

/// Refuses every action but a dry run when the console is read-only.
pub fn authorize(action: &Action, read_only: bool) -> Result<(), ReadOnlyRefusal> {
    if read_only && !action.is_dry_run() {
        return Err(ReadOnlyRefusal(action.describe()));
    }
    Ok(())
}

#[derive(Debug)]
pub enum Outcome {
    Simulated(TrafficReport),
    Redriven {
        report: RedriveReport,
        /// What the local pipeline processed afterwards (the functions keep running).
        processed: Option<DrainReport>,
    },
    Exported {
        count: u64,
        out: PathBuf,
    },
    GoalChecked {
        plan: GoalPlan,
        processed: Option<DrainReport>,
    },
}

/// Runs an action on the local world and saves the world when it changed. With `settle`, the
/// pipeline then runs until idle (the CLI's frozen world); the live TUI world keeps ticking
/// instead.
pub fn run_local(
    world: &LocalWorld,
    action: Action,
    read_only: bool,
    settle: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome> {
    authorize(&action, read_only)?;
    let dry_run = action.is_dry_run();
    let mut outcome = match action {
        Action::Simulate {
            payments,
            failure_rate,
        } => Outcome::Simulated(
            world
                .pipeline
                .run_traffic(payments, failure_rate, progress)
                .context("simulating traffic")?,
        ),
        // Everything else is the same over any backend; only settling is the local world's.
        other => block_on(run_on(&world.backend(), other, read_only, progress))?,
    };
    if let Outcome::Redriven { processed, .. } | Outcome::GoalChecked { processed, .. } =
        &mut outcome
    {
        *processed = settle_unless(world, dry_run || !settle)?;
    }
    if !dry_run {
        world.save()?;
    }
    Ok(outcome)
}

fn settle_unless(world: &LocalWorld, skip: bool) -> Result<Option<DrainReport>> {
    if skip {
        return Ok(None);
    }
    Ok(Some(
        world
            .pipeline
            .drain()
            .context("processing after the action")?,
    ))
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
        Action::Export {
            queue,
            selection,
            out,
        } => {
            let count = dlq::export_messages(backend, &queue, &selection, &out).await?;
            Ok(Outcome::Exported { count, out })
        }
        Action::GoalCheck {
            project_id,
            at,
            dry_run,
        } => {
            let plan = if dry_run {
                goal::plan(backend, &project_id, at).await?
            } else {
                goal::trigger(backend, &project_id, at).await?
            };
            Ok(Outcome::GoalChecked {
                plan,
                processed: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::dlq::Disposal;

    fn every_action(dry_run: bool) -> Vec<Action> {
        let take = |disposal| {
            Action::Redrive(RedriveRequest::new(
                "etc_parked",
                Selection::All,
                disposal,
                dry_run,
            ))
        };
        vec![
            Action::Simulate {
                payments: 1,
                failure_rate: 0.0,
            },
            take(Disposal::Redrive { to: None }),
            take(Disposal::Delete),
            Action::Export {
                queue: "etc_parked".into(),
                selection: Selection::All,
                out: "x.jsonl".into(),
            },
            Action::GoalCheck {
                project_id: "p".into(),
                at: None,
                dry_run,
            },
        ]
    }

    /// Every action is refused when read-only; only dry runs pass.
    #[test]
    fn read_only_refuses_every_action() {
        for a in every_action(false) {
            let e = authorize(&a, true).expect_err("refused");
            assert!(e.to_string().contains("--read-only"), "{e}");
            assert!(authorize(&a, false).is_ok());
        }
        for a in every_action(true).into_iter().filter(Action::is_dry_run) {
            assert!(authorize(&a, true).is_ok(), "{a:?}");
        }
    }
}
