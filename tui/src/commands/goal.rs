//! `goal-check`: preview the payments a goal check would cancel, confirm, run.

use super::{Console, confirm, print_json};
use crate::cli::GoalCheckArgs;
use crate::dispatch::{self, Extent, Operation, Outcome};
use crate::ops::goal::GoalPlan;
use crate::ops::status::project_status;
use crate::render;
use anyhow::{Result, bail};

pub fn run(console: &Console, args: GoalCheckArgs) -> Result<()> {
    let check = |dry_run| Operation::GoalCheck {
        project_id: args.project_id.clone(),
        at: args.at,
        dry_run,
    };
    let (plan, _) = goal_check(console, check(true))?;
    if args.act.dry_run {
        return print_plan(&plan, args.act.json);
    }
    let action = check(false);
    dispatch::authorize(&action, console.read_only)?;
    if !args.act.yes {
        confirm(&action.question(&Extent {
            count: plan.payments.len() as u64,
            after: Some(plan.achieved_at),
            ledger: None,
        }))?;
    }
    let (done, processed) = goal_check(console, action)?;
    // One report on both backends: the plan (how many payments it cancels), what the local
    // pipeline processed afterwards (on AWS the deployed functions process it later, so none),
    // and the project as the funding API now shows it, where one answers.
    let project = match console.block_on(project_status(&console.backend, &done.project_id)) {
        Ok(project) => project,
        Err(e) => {
            eprintln!("warning: the goal check was published, but the project cannot be read: {e}");
            None
        }
    };
    if args.act.json {
        return print_json(&serde_json::json!({
            "plan": done,
            "processedAfter": processed.map(|p| p.messages),
            "project": project,
        }));
    }
    print!("{}", render::goal_plan(&done));
    if let Some(p) = project {
        println!(
            "{}: raised {} · ledger net {}",
            p.id, p.raised, p.ledger_net
        );
    }
    Ok(())
}

fn goal_check(
    console: &Console,
    check: Operation,
) -> Result<(GoalPlan, Option<crowdfund_handlers::local::DrainReport>)> {
    match console.run(check, &mut |_| {})? {
        Outcome::GoalChecked { plan, processed } => Ok((plan, processed)),
        _ => bail!("goal check returned another outcome"),
    }
}

fn print_plan(plan: &GoalPlan, json: bool) -> Result<()> {
    if json {
        return print_json(plan);
    }
    print!("{}", render::goal_plan(plan));
    Ok(())
}
