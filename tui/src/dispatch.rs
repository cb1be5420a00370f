//! The one place operations run. A key in the TUI means a UI `Action` (`app`); what changes
//! the system is an [`Operation`], run here for the TUI and the subcommands alike. `--read-only`
//! is enforced here and nowhere else, so no path around it exists, and the confirmation an
//! operator answers is built here from the operation itself ([`Operation::question`]).

use crate::backend::{Backend, LocalWorld};
use crate::ops::dlq::{self, Disposal, DisposalReport, DisposalRequest, Selection};
use crate::ops::goal::{self, GoalPlan};
use crate::ops::triggers;
use anyhow::{Context, Result};
use crowdfund_core::domain::Timestamp;
use crowdfund_core::ports::QueueMapping;
use crowdfund_handlers::local::{DrainReport, TrafficReport};
use futures::executor::block_on;
use std::path::PathBuf;

/// Everything an operator can do to the system. Listings and previews are not operations.
#[derive(Debug, Clone)]
pub enum Operation {
    Simulate {
        payments: u64,
        failure_rate: f64,
    },
    /// Redrive or delete (see [`dlq::Disposal`]).
    Dispose(DisposalRequest),
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
    /// Pause or resume the live console's generated traffic (its worker carries it out).
    SetTraffic {
        live: bool,
    },
    /// Read up to `limit` messages of a work queue once. On SQS that receives them: it raises
    /// their receive counts, so it is confirmed like anything else that changes the system.
    Look {
        queue: String,
        limit: usize,
    },
    /// Put the generated dashboards and alarms into CloudWatch. Authorized here like every
    /// operation; `dashboards deploy` carries it out (it needs CloudWatch, not the ports).
    DeployDashboards {
        env_name: String,
        dry_run: bool,
    },
    /// Pause (`enabled` false) or resume a function's SQS trigger.
    SetTrigger {
        function: String,
        enabled: bool,
    },
}

impl Operation {
    /// False only for what is explicitly harmless (a dry run).
    pub fn is_dry_run(&self) -> bool {
        match self {
            Operation::Dispose(r) => r.dry_run,
            Operation::GoalCheck { dry_run, .. } | Operation::DeployDashboards { dry_run, .. } => {
                *dry_run
            }
            Operation::Simulate { .. }
            | Operation::Export { .. }
            | Operation::SetTraffic { .. }
            | Operation::Look { .. }
            | Operation::SetTrigger { .. } => false,
        }
    }

    /// True when running it changes the local world, so the world must be saved afterwards
    /// (by the process holding the state file's lock). An export reads; a deploy and a traffic
    /// switch change no state file.
    pub fn changes_world(&self) -> bool {
        match self {
            Operation::Simulate { .. } | Operation::SetTrigger { .. } => true,
            Operation::Dispose(_) | Operation::GoalCheck { .. } => !self.is_dry_run(),
            Operation::Export { .. }
            | Operation::SetTraffic { .. }
            | Operation::DeployDashboards { .. }
            | Operation::Look { .. } => false,
        }
    }

    /// The confirmation an operator answers before it runs: built here, once, from the
    /// operation and what it would touch, for the TUI and the command line alike.
    pub fn question(&self, extent: &Extent) -> String {
        let count = extent.count;
        match self {
            Operation::Dispose(r) => {
                let pace = r
                    .rate
                    .map_or_else(String::new, |r| format!(" at most {r}/s"));
                let whither = match (&r.disposal, r.native) {
                    (Disposal::Delete, _) => "for good".to_string(),
                    (Disposal::Redrive { to: Some(t) }, _) => format!("to {t}"),
                    (Disposal::Redrive { to: None }, true) => {
                        "to the source queues SQS dead-lettered them from (SQS move task)".into()
                    }
                    (Disposal::Redrive { to: None }, false) => {
                        "to each message's `from` queue".into()
                    }
                };
                let chosen = r
                    .chosen_by
                    .as_ref()
                    .map_or_else(String::new, |f| format!(" where {f}"));
                let ledger = extent
                    .ledger
                    .as_ref()
                    .map_or_else(String::new, |l| format!(" The ledger: {l}."));
                let paused = r.pause_trigger.as_ref().map_or_else(String::new, |f| {
                    format!(" {f}'s trigger is paused while it runs and resumed at the end.")
                });
                format!(
                    "{} {count} message(s){chosen} from {} {whither}{pace}?{ledger}{paused} A \
                     backup is written first.",
                    capitalized(r.verb()),
                    r.source
                )
            }
            Operation::Export { queue, out, .. } => {
                format!("Export {count} message(s) of {queue} to {}?", out.display())
            }
            Operation::GoalCheck { project_id, .. } => {
                let after = extent.after.map_or_else(
                    || "its goal was reached".to_string(),
                    |at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                );
                format!(
                    "Run the goal check for {project_id}: cancel and refund its {count} payment(s) made after {after}?"
                )
            }
            Operation::Simulate { payments, .. } => {
                format!("Simulate {payments} payments through the local pipeline?")
            }
            Operation::SetTraffic { live: true } => "Resume the local world's traffic?".into(),
            Operation::SetTraffic { live: false } => "Pause the local world's traffic?".into(),
            Operation::Look { queue, limit } => look_question(queue, *limit),
            Operation::DeployDashboards { env_name, .. } => format!(
                "Put the dashboards and alarms of {env_name} into CloudWatch ({count} put(s))?"
            ),
            Operation::SetTrigger { function, enabled } => trigger_question(function, *enabled),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Operation::Simulate { payments, .. } => format!("simulate {payments} payments"),
            Operation::Dispose(r) => format!("{} messages from {}", r.verb(), r.source),
            Operation::Export { queue, .. } => format!("export messages from {queue}"),
            Operation::GoalCheck { project_id, .. } => format!("run a goal check on {project_id}"),
            Operation::SetTraffic { .. } => "pause or resume traffic".into(),
            Operation::Look { queue, .. } => format!("look into {queue}"),
            Operation::DeployDashboards { env_name, .. } => {
                format!("deploy the dashboards and alarms of {env_name}")
            }
            Operation::SetTrigger { function, enabled } => format!(
                "{} the trigger of {function}",
                if *enabled { "resume" } else { "pause" }
            ),
        }
    }
}

/// What an operation would touch, as its confirmation states it: counted by whoever proposes
/// it (the marked ids, the queue's depth, a goal check's preview).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extent {
    pub count: u64,
    /// A goal check's cut-off: payments after it are cancelled.
    pub after: Option<Timestamp>,
    /// What the ledger says a redrive would do with them (`LedgerCheck::summary`).
    pub ledger: Option<String>,
}

impl Extent {
    pub fn messages(count: u64) -> Self {
        Extent {
            count,
            ..Extent::default()
        }
    }

    /// With what the ledger says of the messages.
    pub fn with_ledger(mut self, summary: String) -> Self {
        self.ledger = Some(summary);
        self
    }
}

/// What a look into a work queue does on SQS, said before it is done.
fn look_question(queue: &str, limit: usize) -> String {
    let receives = crowdfund_core::topology::queue(queue)
        .and_then(|q| q.redrive.as_ref().map(|r| r.max_receive_count))
        .map_or_else(String::new, |n| {
            format!(" A message received {n} times goes to etc_dlq instead of its function.")
        });
    format!(
        "Look into {queue} once? SQS shows a message only by receiving it: up to {limit} \
         message(s) get their receive count raised by 1 and are held from their function for \
         up to {}s.{receives}",
        dlq::hold_seconds(queue)
    )
}

/// What pausing or resuming a trigger does, said before it is done.
fn trigger_question(function: &str, enabled: bool) -> String {
    let queue = triggers::queue_of(function).unwrap_or("its queue");
    if enabled {
        format!(
            "Resume {function}'s SQS trigger? Lambda polls {queue} again and handles what waited there."
        )
    } else {
        format!(
            "Pause {function}'s SQS trigger? Lambda stops polling {queue}: its messages wait \
             there (nothing is lost, and they keep counting toward the queue's retention) until \
             the trigger is resumed."
        )
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

#[derive(Debug, thiserror::Error)]
#[error("--read-only: refusing to {0}; run without --read-only to change anything")]
pub struct ReadOnlyRefusal(pub String);

/// Refuses every operation but a dry run when the console is read-only.
pub fn authorize(operation: &Operation, read_only: bool) -> Result<(), ReadOnlyRefusal> {
    if read_only && !operation.is_dry_run() {
        return Err(ReadOnlyRefusal(operation.describe()));
    }
    Ok(())
}

#[derive(Debug)]
pub enum Outcome {
    Simulated(TrafficReport),
    Disposed {
        report: Box<DisposalReport>,
        /// What the local pipeline processed afterwards (the functions keep running).
        processed: Option<DrainReport>,
    },
    Exported {
        count: u64,
        out: PathBuf,
    },
    Looked {
        queue: String,
        messages: Vec<dlq::DlqMessage>,
    },
    GoalChecked {
        plan: GoalPlan,
        processed: Option<DrainReport>,
    },
    TriggerSet {
        function: String,
        mapping: QueueMapping,
    },
}

/// Runs an action on the local world and saves the world when it changed. With `settle`, the
/// pipeline then runs until idle (the CLI's frozen world); the live TUI world keeps ticking
/// instead.
pub fn run_local(
    world: &LocalWorld,
    operation: Operation,
    read_only: bool,
    settle: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome> {
    authorize(&operation, read_only)?;
    let dry_run = operation.is_dry_run();
    let changes_world = operation.changes_world();
    let mut outcome = match operation {
        Operation::Simulate {
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
    if let Outcome::Disposed { processed, .. } | Outcome::GoalChecked { processed, .. } =
        &mut outcome
    {
        *processed = settle_unless(world, dry_run || !settle)?;
    }
    if changes_world {
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
    operation: Operation,
    read_only: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome> {
    authorize(&operation, read_only)?;
    match operation {
        Operation::Simulate { .. } => {
            anyhow::bail!("simulate drives the local world only; run it without --aws")
        }
        Operation::SetTraffic { .. } => {
            anyhow::bail!("only the live console's worker pauses or resumes its traffic")
        }
        Operation::DeployDashboards { .. } => {
            anyhow::bail!("dashboards are deployed by `crowdfund-console --aws dashboards deploy`")
        }
        Operation::Dispose(request) => {
            let report = match request.pause_trigger.as_deref() {
                Some(function) if !request.dry_run => {
                    let disposal = dlq::dispose(backend, &request, progress);
                    let (mut report, paused) =
                        triggers::while_paused(backend, function, disposal, |r| match r {
                            Ok(report) if report.cancelled => "the disposal was cancelled".into(),
                            Ok(_) => "the disposal finished".into(),
                            Err(e) => format!("the disposal failed ({e})"),
                        })
                        .await?;
                    report.paused_trigger = paused.then(|| function.to_string());
                    report
                }
                _ => dlq::dispose(backend, &request, progress).await?,
            };
            Ok(Outcome::Disposed {
                report: Box::new(report),
                processed: None,
            })
        }
        Operation::SetTrigger { function, enabled } => {
            let mapping = triggers::set(backend, &function, enabled).await?;
            Ok(Outcome::TriggerSet { function, mapping })
        }
        Operation::Export {
            queue,
            selection,
            out,
        } => {
            let count = dlq::export_messages(backend, &queue, &selection, &out).await?;
            Ok(Outcome::Exported { count, out })
        }
        Operation::Look { queue, limit } => {
            let messages = dlq::look_messages(backend, &queue, limit).await?;
            Ok(Outcome::Looked { queue, messages })
        }
        Operation::GoalCheck {
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

    fn every_operation(dry_run: bool) -> Vec<Operation> {
        let take = |disposal| {
            Operation::Dispose(DisposalRequest::new(
                "etc_parked",
                Selection::All,
                disposal,
                dry_run,
            ))
        };
        vec![
            Operation::Simulate {
                payments: 1,
                failure_rate: 0.0,
            },
            take(Disposal::Redrive { to: None }),
            take(Disposal::Delete),
            Operation::Export {
                queue: "etc_parked".into(),
                selection: Selection::All,
                out: "x.jsonl".into(),
            },
            Operation::GoalCheck {
                project_id: "p".into(),
                at: None,
                dry_run,
            },
            Operation::SetTraffic { live: false },
            Operation::DeployDashboards {
                env_name: "dev".into(),
                dry_run,
            },
            Operation::SetTrigger {
                function: "dlq_handler".into(),
                enabled: false,
            },
        ]
    }

    /// Every action is refused when read-only; only dry runs pass.
    #[test]
    fn read_only_refuses_every_operation() {
        for a in every_operation(false) {
            let e = authorize(&a, true).expect_err("refused");
            assert!(e.to_string().contains("--read-only"), "{e}");
            assert!(authorize(&a, false).is_ok());
        }
        for a in every_operation(true)
            .into_iter()
            .filter(Operation::is_dry_run)
        {
            assert!(authorize(&a, true).is_ok(), "{a:?}");
        }
    }
}
