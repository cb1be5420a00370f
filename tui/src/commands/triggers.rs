//! `triggers`: each function and its SQS trigger; `triggers pause|resume FUNCTION`.

use super::{Console, confirm, print_json};
use crate::cli::{TriggerArgs, TriggersArgs, TriggersCommand};
use crate::dispatch::{self, Extent, Operation, Outcome};
use crate::ops::triggers;
use crate::render;
use anyhow::{Context, Result, bail};

pub fn run(console: &Console, args: TriggersArgs) -> Result<()> {
    match args.command {
        None => list(console, args.json),
        Some(TriggersCommand::Pause(a)) => set(console, a, false),
        Some(TriggersCommand::Resume(a)) => set(console, a, true),
    }
}

fn list(console: &Console, json: bool) -> Result<()> {
    let functions = console
        .block_on(triggers::list(&console.backend))
        .with_context(|| format!("reading the functions on {}", console.backend.target))?;
    if json {
        return print_json(&functions);
    }
    print!("{}", render::triggers(&functions));
    Ok(())
}

fn set(console: &Console, args: TriggerArgs, enabled: bool) -> Result<()> {
    // An unknown function or one without a trigger is refused before anything is asked.
    triggers::queue_of(&args.function)?;
    let operation = Operation::SetTrigger {
        function: args.function.clone(),
        enabled,
    };
    if args.act.dry_run {
        bail!("--dry-run: a trigger change has nothing to preview; `triggers` shows the state");
    }
    dispatch::authorize(&operation, console.read_only)?;
    if !args.act.yes {
        confirm(&operation.question(&Extent::default()))?;
    }
    match console.run(operation, &mut |_| {})? {
        Outcome::TriggerSet { function, mapping } => {
            if args.act.json {
                return print_json(&mapping);
            }
            println!(
                "{function}: trigger on {} is {} (mapping {})",
                mapping.queue, mapping.state, mapping.uuid
            );
            Ok(())
        }
        _ => bail!("a trigger change returned another outcome"),
    }
}
