//! `simulate`: traffic through the local pipeline until the queues are idle.

use super::{Console, print_json, progress_bar};
use crate::cli::SimulateArgs;
use crate::dispatch::{Operation, Outcome};
use crate::ops::status::collect_status;
use crate::render;
use anyhow::{Result, bail};

pub fn run(console: &Console, args: SimulateArgs) -> Result<()> {
    if console.world().is_none() {
        bail!("simulate drives the local world only; run it without --aws");
    }
    let bar = progress_bar(args.payments, "simulating");
    let action = Operation::Simulate {
        payments: args.payments,
        failure_rate: args.failure_rate,
    };
    let outcome = console.run(action, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    let Outcome::Simulated(r) = outcome else {
        bail!("simulate returned another outcome");
    };
    let s = console.block_on(collect_status(&console.backend))?;
    if args.json {
        return print_json(&serde_json::json!({
            "submitted": r.submitted,
            "accepted": r.accepted,
            "refused": r.refused,
            "rawInjected": r.raw_injected,
            "messagesProcessed": r.messages_processed,
            "status": s,
        }));
    }
    println!(
        "simulated {} items: {} accepted by the broker, {} refused, {} put straight on queues by bad producers; {} messages processed",
        r.submitted, r.accepted, r.refused, r.raw_injected, r.messages_processed
    );
    print!("{}", render::status(&s));
    Ok(())
}
