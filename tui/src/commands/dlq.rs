//! `dlq list`, `dlq groups`, `dlq redrive`, `dlq delete`, `dlq export`. A `--reason` or
//! `--grep` reads the queue whole and acts on exactly the ids that match.

use super::{Console, confirm, print_json, progress_bar};
use crate::backend::Backend;
use crate::cli::{DeleteArgs, DisposalArgs, DlqListArgs, ExportArgs, GroupsArgs, RedriveArgs};
use crate::dispatch::{self, Extent, Operation, Outcome};
use crate::ops::dlq::check;
use crate::ops::dlq::groups::{MessageFilter, group_by_cause};
use crate::ops::dlq::{self, Disposal, DisposalRequest, FAILURE_QUEUES, Selection};
use crate::render;
use anyhow::{Result, bail};
use crowdfund_handlers::local::DrainReport;

pub fn list(console: &Console, args: DlqListArgs) -> Result<()> {
    let queues = match &args.queue {
        Some(q) => vec![dlq::check_queue(q)?.to_string()],
        None => FAILURE_QUEUES.iter().map(|q| q.to_string()).collect(),
    };
    let filter = args.matching.filter();
    let matcher = filter.matcher();
    let mut all = Vec::new();
    for q in &queues {
        let mut listed = if !dlq::browsable(&console.backend, q) {
            look(console, q, &args)?
        } else if filter.is_empty() {
            let listed =
                dlq::list_messages(&console.backend, q, args.limit, !args.no_ledger, &|_| {});
            console.block_on(listed)?
        } else {
            // The matches can be anywhere in the queue: read it whole, then keep `limit`.
            read_queue(console, q, dlq::DEFAULT_MAX_MESSAGES, !args.no_ledger)?
        };
        listed.retain(|m| matcher.matches(m));
        listed.truncate(args.limit);
        all.extend(listed);
    }
    if args.json {
        print_json(&all)
    } else {
        print!("{}", render::messages(&all));
        Ok(())
    }
}

/// `dlq groups`: the failure causes of a failure queue, read whole (up to `--limit`).
pub fn groups(console: &Console, args: GroupsArgs) -> Result<()> {
    let queue = dlq::check_queue(&args.queue)?;
    if !dlq::browsable(&console.backend, queue) {
        bail!(
            "{queue} is a work queue: on SQS reading it receives its messages and raises their \
             receive counts, so it is not grouped; group etc_dlq or etc_parked, or look at it \
             with `dlq list {queue}`"
        );
    }
    let mut messages = read_queue(console, queue, args.limit, false)?;
    let read = messages.len();
    let matcher = args.matching.filter().matcher();
    messages.retain(|m| matcher.matches(m));
    let groups = group_by_cause(&messages);
    if args.json {
        print_json(&serde_json::json!({ "queue": queue, "read": read, "groups": groups }))
    } else {
        print!("{}", render::groups(queue, read, &groups));
        Ok(())
    }
}

/// Reads up to `max` messages of `queue` with a progress bar: grouping and filtering need the
/// whole queue, and on SQS with thousands of messages that takes a while.
fn read_queue(
    console: &Console,
    queue: &str,
    max: usize,
    with_ledger: bool,
) -> Result<Vec<dlq::DlqMessage>> {
    let depth = console
        .block_on(console.backend.queues.stats(queue))
        .map_or(0, |q| q.visible + q.in_flight + q.delayed);
    let bar = progress_bar(depth.min(max as u64), &format!("reading {queue}"));
    let read = |n: usize| {
        let n = n as u64;
        bar.set_length(bar.length().unwrap_or(0).max(n));
        bar.set_position(n);
    };
    let listed = dlq::list_messages(&console.backend, queue, max, with_ledger, &read);
    let listed = console.block_on(listed);
    bar.finish_and_clear();
    Ok(listed?)
}

/// The messages of `queue` that `filter` takes (the queue read once); none is an error that
/// changes nothing.
fn matching_messages(
    console: &Console,
    queue: &str,
    filter: &MessageFilter,
) -> Result<Vec<dlq::DlqMessage>> {
    let queue = dlq::check_queue(queue)?;
    let matcher = filter.matcher();
    let mut messages = read_queue(console, queue, dlq::MAX_MESSAGES_LIMIT, false)?;
    messages.retain(|m| matcher.matches(m));
    if messages.is_empty() {
        bail!(
            "no message of {queue} matches {}; nothing was changed (see `crowdfund-console dlq groups {queue}`)",
            filter.describe().unwrap_or_default()
        );
    }
    Ok(messages)
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

fn selection(t: &DisposalArgs, verb: &str) -> Result<Selection> {
    if t.all || !t.matching.filter().is_empty() {
        // With a filter, the matching ids replace `All` once the queue is read.
        Ok(Selection::All)
    } else if t.ids.is_empty() {
        bail!(
            "say which messages to {verb}: --all, --id ID (repeatable), --reason TEXT or --grep \
             TEXT; see `dlq list {q}` and `dlq groups {q}`",
            q = t.queue
        )
    } else {
        Ok(Selection::Ids(t.ids.to_vec()))
    }
}

/// What a redrive does with the messages the ledger says are already done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DoneOnes {
    Redrive,
    Skip,
    Delete,
}

/// A redrive or delete as the command line asked for it.
pub struct DisposalCommand {
    request: DisposalRequest,
    /// What to do with the messages the ledger says are done (a redrive only).
    done: DoneOnes,
    /// Chooses the ids when the command line gave a cause or a text.
    filter: MessageFilter,
    yes: bool,
    json: bool,
}

pub fn redrive_request(args: &RedriveArgs) -> Result<DisposalCommand> {
    let t = &args.chosen;
    let selection = selection(t, "redrive")?;
    let mut request = DisposalRequest::redrive(&t.queue, selection, args.to.clone(), t.act.dry_run)
        .with_rate(args.rate);
    request.native = args.native;
    request.pause_trigger = args
        .pause_dlq_handler
        .then(|| crowdfund_core::topology::FN_DLQ_HANDLER.to_string());
    let done = match (args.skip_done, args.delete_done) {
        (true, _) => DoneOnes::Skip,
        (_, true) => DoneOnes::Delete,
        _ => DoneOnes::Redrive,
    };
    Ok(DisposalCommand {
        request,
        done,
        filter: t.matching.filter(),
        yes: t.act.yes,
        json: t.act.json,
    })
}

pub fn delete_request(args: &DeleteArgs) -> Result<DisposalCommand> {
    let t = &args.chosen;
    let request = DisposalRequest::new(
        &t.queue,
        selection(t, "delete")?,
        Disposal::Delete,
        t.act.dry_run,
    );
    Ok(DisposalCommand {
        request,
        done: DoneOnes::Redrive,
        filter: t.matching.filter(),
        yes: t.act.yes,
        json: t.act.json,
    })
}

/// Redrive or delete: confirm, run with a progress bar, report.
pub fn dispose(console: &Console, t: DisposalCommand) -> Result<()> {
    let DisposalCommand {
        mut request,
        done,
        filter,
        yes,
        json,
    } = t;
    dispatch::authorize(&Operation::Dispose(request.clone()), console.read_only)?;
    if !filter.is_empty() && request.native {
        bail!("--native moves the whole queue; it cannot take --reason or --grep");
    }
    // A filter reads the queue once; the ledger check reuses what it read.
    let matched = if filter.is_empty() {
        None
    } else {
        let messages = matching_messages(console, &request.source, &filter)?;
        request.selection = Selection::Ids(messages.iter().map(|m| m.message_id.clone()).collect());
        request = request.chosen_by(filter.describe());
        Some(messages)
    };
    let (ledger, done_ids) = check_ledger(console, &mut request, done, matched)?;
    if matches!(&request.selection, Selection::Ids(ids) if ids.is_empty()) {
        // --delete-done, and every chosen message is done: only the delete is left.
        return delete_done(console, &request, done_ids, !yes, json);
    }
    let action = Operation::Dispose(request.clone());
    let total = console.block_on(confirm_disposal(
        &console.backend,
        &action,
        &request,
        yes,
        ledger,
    ))?;
    let bar = progress_bar(total, request.verb());
    let outcome = console.run(action, &mut |n| {
        bar.set_length(bar.length().unwrap_or(0).max(n));
        bar.set_position(n)
    });
    bar.finish_and_clear();
    let Outcome::Disposed { report, processed } = outcome? else {
        bail!("{} returned another outcome", request.verb());
    };
    print_disposal(&report, processed, json)?;
    if done == DoneOnes::Delete {
        // The redrive's question named the delete too.
        delete_done(console, &request, done_ids, false, json)?;
    }
    Ok(())
}

/// `--delete-done`: deletes the messages the ledger says are done, after a backup.
fn delete_done(
    console: &Console,
    redrive: &DisposalRequest,
    done_ids: Vec<String>,
    ask: bool,
    json: bool,
) -> Result<()> {
    if done_ids.is_empty() {
        return Ok(());
    }
    let count = done_ids.len() as u64;
    let delete = DisposalRequest::new(
        &redrive.source,
        Selection::Ids(done_ids),
        Disposal::Delete,
        redrive.dry_run,
    )
    .chosen_by(Some("ledger: already done".into()));
    let action = Operation::Dispose(delete);
    if ask && !redrive.dry_run {
        confirm(&action.question(&Extent::messages(count)))?;
    }
    let Outcome::Disposed { report, processed } = console.run(action, &mut |_| {})? else {
        bail!("delete returned another outcome");
    };
    print_disposal(&report, processed, json)
}

/// Before a redrive of many (all, a filter, or with `--skip-done`/`--delete-done`): reads the
/// chosen messages and asks the ledger (in batches) what the redrive would do with them, for
/// the confirmation; with `--skip-done`/`--delete-done` the done ones leave the selection and
/// their ids are returned. A redrive of ids named one by one is not checked: finding them
/// means reading the whole queue.
fn check_ledger(
    console: &Console,
    request: &mut DisposalRequest,
    done: DoneOnes,
    matched: Option<Vec<dlq::DlqMessage>>,
) -> Result<(Option<String>, Vec<String>)> {
    let by_ids = matches!(request.selection, Selection::Ids(_)) && matched.is_none();
    let redrive = matches!(request.disposal, Disposal::Redrive { .. });
    if !redrive || request.native || (done == DoneOnes::Redrive && (by_ids || request.dry_run)) {
        return Ok((None, Vec::new()));
    }
    let mut messages = match matched {
        Some(messages) => messages,
        None => {
            let mut all = read_queue(console, &request.source, dlq::MAX_MESSAGES_LIMIT, false)?;
            if let Selection::Ids(ids) = &request.selection {
                let chosen: std::collections::HashSet<&str> =
                    ids.iter().map(String::as_str).collect();
                all.retain(|m| chosen.contains(m.message_id.as_str()));
            }
            all
        }
    };
    let check = console.block_on(check::check_before_redrive(&console.backend, &mut messages))?;
    let mut summary = check.summary();
    if done == DoneOnes::Redrive {
        return Ok((Some(summary), Vec::new()));
    }
    let done_ids: std::collections::HashSet<&str> = check.done.iter().map(String::as_str).collect();
    let rest: Vec<String> = messages
        .iter()
        .map(|m| m.message_id.clone())
        .filter(|id| !done_ids.contains(id.as_str()))
        .collect();
    summary.push_str(&match done {
        DoneOnes::Skip => format!("; the {} done one(s) stay", check.done.len()),
        _ => format!(
            "; then the {} done one(s) are deleted, after a backup",
            check.done.len()
        ),
    });
    if rest.is_empty() && done == DoneOnes::Skip {
        bail!(
            "all {} chosen message(s) of {} are already done in the ledger: nothing to redrive \
             (--delete-done removes them); nothing was changed",
            messages.len(),
            request.source
        );
    }
    request.selection = Selection::Ids(rest);
    let skipped = "done ones left out".to_string();
    request.chosen_by = Some(match request.chosen_by.take() {
        Some(f) => format!("{f}, {skipped}"),
        None => skipped,
    });
    Ok((Some(summary), check.done))
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
    ledger: Option<String>,
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
        let mut extent = Extent::messages(count);
        extent.ledger = ledger;
        confirm(&operation.question(&extent))?;
    } else if let Some(l) = ledger {
        eprintln!("the ledger: {l}");
    }
    Ok(count)
}

pub fn export(console: &Console, args: ExportArgs) -> Result<()> {
    let filter = args.matching.filter();
    let selection = if !filter.is_empty() {
        let messages = matching_messages(console, &args.queue, &filter)?;
        Selection::Ids(messages.into_iter().map(|m| m.message_id).collect())
    } else if args.ids.is_empty() {
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
