//! `dlq list`, `dlq redrive`, `dlq delete`, `dlq export`.

use super::{Console, confirm, print_json, progress_bar};
use crate::backend::Backend;
use crate::cli::{DeleteArgs, DlqListArgs, ExportArgs, RedriveArgs};
use crate::dispatch::{self, Extent, Operation, Outcome};
use crate::ops::dlq::{self, Disposal, DisposalRequest, FAILURE_QUEUES, Selection};
use crate::render;
use anyhow::{Result, bail};
use crowdfund_handlers::local::DrainReport;

pub fn list(console: &Console, args: DlqListArgs) -> Result<()> {
    let queues = match &args.queue {
        Some(q) => vec![dlq::check_queue(q)?.to_string()],
        None => FAILURE_QUEUES.iter().map(|q| q.to_string()).collect(),
    };
    let mut all = Vec::new();
    for q in &queues {
        if !dlq::browsable(&console.backend, q) {
            all.extend(look(console, q, &args)?);
            continue;
        }
        let listed = dlq::list_messages(&console.backend, q, args.limit, !args.no_ledger);
        all.extend(console.block_on(listed)?);
    }
    if args.json {
        print_json(&all)
    } else {
        print!("{}", render::messages(&all));
        Ok(())
    }
}

/// A work queue on SQS: reading its messages receives them, so it is an operation, asked for.
fn look(console: &Console, queue: &str, args: &DlqListArgs) -> Result<Vec<dlq::DlqMessage>> {
    let action = Operation::Look {
        queue: queue.to_string(),
        limit: args.limit,
    };
    dispatch::authorize(&action, console.read_only)?;
    if !args.yes {
        confirm(&action.question(&Extent::messages(args.limit as u64)))?;
    }
    match console.run(action, &mut |_| {})? {
        Outcome::Looked { messages, .. } => Ok(messages),
        _ => bail!("a look into {queue} returned another outcome"),
    }
}

fn selection(queue: &str, all: bool, ids: &[String], verb: &str) -> Result<Selection> {
    if all {
        Ok(Selection::All)
    } else if ids.is_empty() {
        bail!(
            "say which messages to {verb}: --all, or --id ID (repeatable); see `dlq list {queue}`"
        )
    } else {
        Ok(Selection::Ids(ids.to_vec()))
    }
}

/// A redrive or delete as the command line asked for it.
pub struct DisposalCommand {
    request: DisposalRequest,
    yes: bool,
    json: bool,
}

pub fn redrive_request(args: &RedriveArgs) -> Result<DisposalCommand> {
    let t = &args.chosen;
    let selection = selection(&t.queue, t.all, &t.ids, "redrive")?;
    let mut request = DisposalRequest::redrive(&t.queue, selection, args.to.clone(), t.act.dry_run)
        .with_rate(args.rate);
    request.native = args.native;
    Ok(DisposalCommand {
        request,
        yes: t.act.yes,
        json: t.act.json,
    })
}

pub fn delete_request(args: &DeleteArgs) -> Result<DisposalCommand> {
    let t = &args.chosen;
    let request = DisposalRequest::new(
        &t.queue,
        selection(&t.queue, t.all, &t.ids, "delete")?,
        Disposal::Delete,
        t.act.dry_run,
    );
    Ok(DisposalCommand {
        request,
        yes: t.act.yes,
        json: t.act.json,
    })
}

/// Redrive or delete: confirm, run with a progress bar, report.
pub fn dispose(console: &Console, t: DisposalCommand) -> Result<()> {
    let DisposalCommand { request, yes, json } = t;
    let action = Operation::Dispose(request.clone());
    dispatch::authorize(&action, console.read_only)?;
    let total = console.block_on(confirm_disposal(&console.backend, &action, &request, yes))?;
    let bar = progress_bar(total, request.verb());
    let outcome = console.run(action, &mut |n| {
        bar.set_length(bar.length().unwrap_or(0).max(n));
        bar.set_position(n)
    });
    bar.finish_and_clear();
    let Outcome::Disposed { report, processed } = outcome? else {
        bail!("{} returned another outcome", request.verb());
    };
    print_disposal(&report, processed, json)
}

fn print_disposal(
    report: &dlq::DisposalReport,
    processed: Option<DrainReport>,
    json: bool,
) -> Result<()> {
    if json {
        print_json(&serde_json::json!({
            "moved": report.moved_count(),
            "failed": report.failed.len(),
            "skipped": report.skipped.len(),
            "duplicated": report.duplicated.len(),
            "notFound": report.not_found,
            "report": report,
            "processedAfter": processed.map(|p| p.messages),
        }))?;
    } else {
        print!("{}", render::disposal(report));
        if let Some(p) = processed {
            println!(
                "the local pipeline then processed {} message(s); see `crowdfund-console status`",
                p.messages
            );
        }
    }
    if !report.failed.is_empty() {
        bail!(
            "{} message(s) could not be handled; they are still in {}",
            report.failed.len(),
            report.source
        );
    }
    if !report.duplicated.is_empty() {
        bail!(
            "{} message(s) were redriven but their originals are still in {} (the delete failed); delete those ids (listed above)",
            report.duplicated.len(),
            report.source
        );
    }
    Ok(())
}

/// Asks before a redrive or delete, naming how many messages and where (unless `--yes` or a
/// dry run). The count is the queue's (approximate, on SQS) depth, or the ids given; it is
/// returned as the progress bar's length.
async fn confirm_disposal(
    b: &Backend,
    operation: &Operation,
    request: &DisposalRequest,
    yes: bool,
) -> Result<u64> {
    if request.dry_run {
        return Ok(0);
    }
    dlq::check_queue(&request.source)?;
    let count = match &request.selection {
        Selection::All => {
            let q = b.queues.stats(&request.source).await?;
            q.visible + q.in_flight + q.delayed
        }
        Selection::Ids(ids) => ids.len() as u64,
    };
    if !yes {
        confirm(&operation.question(&Extent::messages(count)))?;
    }
    Ok(count)
}

pub fn export(console: &Console, args: ExportArgs) -> Result<()> {
    let selection = if args.ids.is_empty() {
        Selection::All
    } else {
        Selection::Ids(args.ids)
    };
    let action = Operation::Export {
        queue: args.queue,
        selection,
        out: args.out,
    };
    match console.run(action, &mut |_| {})? {
        Outcome::Exported { count, out } => {
            println!("exported {count} message(s) to {}", out.display());
            Ok(())
        }
        _ => bail!("export returned another outcome"),
    }
}
