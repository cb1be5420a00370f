//! `dashboards generate`, `dashboards report` (from the local world or CloudWatch) and
//! `dashboards deploy` (with `--aws`).

use super::{Console, Place};
use crate::cli::{DeployArgs, GenerateArgs, ReportArgs};
use crate::dispatch::{self, Operation};
use anyhow::{Result, bail};
use crowdfund_dashboards::report::{Format, write_report};

/// Writes the dashboards and alarms; the stakeholder dashboard gets a progress row for every
/// project the funding API (`--api-url`) or the local world lists.
pub fn generate(console: &Console, args: GenerateArgs) -> Result<()> {
    let out = args
        .out
        .unwrap_or_else(|| format!("target/dashboards/{}", args.env_name).into());
    let target = crowdfund_dashboards::Target::new(&args.region, &args.env_name);
    let projects = project_list(console)?;
    for path in crowdfund_dashboards::write_all(&out, &target, &projects)? {
        println!("wrote {}", path.display());
    }
    println!(
        "stakeholders.json has {} project progress row(s)",
        projects.len()
    );
    Ok(())
}

/// The projects the stakeholder dashboard shows, with a warning when there are none.
fn project_list(console: &Console) -> Result<Vec<crowdfund_core::domain::Project>> {
    use anyhow::Context;
    let projects = console
        .block_on(console.backend.funding.projects())
        .with_context(|| {
            format!(
                "reading the project list from {} for the stakeholder dashboard",
                console.backend.target
            )
        })?;
    if projects.is_empty() {
        eprintln!(
            "warning: no projects listed by {}: the stakeholder dashboard gets no progress rows (on AWS, pass --api-url with the funding API's URL)",
            console.backend.target
        );
    }
    Ok(projects)
}

pub fn report(console: &Console, args: ReportArgs) -> Result<()> {
    match &console.place {
        Place::Local(world) => {
            let history = crate::ops::history::local_history(world, args.since)?;
            write_charts(&args, &history)
        }
        #[cfg(feature = "aws")]
        Place::Aws { target, .. } => {
            if args.source == Some(crate::cli::ReportSource::Local) {
                bail!("--source local draws from the local world: run it without --aws");
            }
            console.block_on(cloudwatch_report(target, &console.backend, args))
        }
    }
}

/// `dashboards deploy`: refused by the dispatcher when read-only (a dry run passes), like
/// every other operation, before anything is read.
pub fn deploy(console: &Console, args: DeployArgs) -> Result<()> {
    dispatch::authorize(
        &Operation::DeployDashboards {
            env_name: args.env_name.clone(),
            dry_run: args.dry_run,
        },
        console.read_only,
    )?;
    match &console.place {
        Place::Local(_) => bail!(
            "dashboards deploy puts the dashboards and alarms into CloudWatch: run it with --aws (and --endpoint-url for a local endpoint)"
        ),
        #[cfg(feature = "aws")]
        Place::Aws { target, .. } => console.block_on(deploy_to(target, &console.backend, args)),
    }
}

fn write_charts(args: &ReportArgs, history: &crowdfund_dashboards::report::History) -> Result<()> {
    let format = if args.format == "svg" {
        Format::Svg
    } else {
        Format::Png
    };
    for path in write_report(&args.out, history, format)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// `dashboards report` from CloudWatch: GetMetricData for the charts, the funding API for goals.
#[cfg(feature = "aws")]
async fn cloudwatch_report(
    target: &crate::aws::AwsTarget,
    b: &crate::backend::Backend,
    args: ReportArgs,
) -> Result<()> {
    let clients = crowdfund_handlers::aws::AwsClients::load(&target.settings).await?;
    let cw = crowdfund_handlers::aws::cloudwatch::CloudWatch::new(clients.cloudwatch);
    let history = crowdfund_dashboards::source::cloudwatch_history(
        &cw,
        b.funding.as_ref(),
        b.wall_clock.now().timestamp(),
        args.since,
        &b.target,
    )
    .await?;
    write_charts(&args, &history)
}

/// `dashboards deploy`: the differences first, then (unless --dry-run) the puts.
#[cfg(feature = "aws")]
async fn deploy_to(
    target: &crate::aws::AwsTarget,
    b: &crate::backend::Backend,
    args: crate::cli::DeployArgs,
) -> Result<()> {
    use crate::ops::safety::{AuditEntry, AuditTrail, Ending};
    use anyhow::Context;
    use crowdfund_dashboards::deploy::{Composites, apply, plan_deploy, render_plan};
    let clients = crowdfund_handlers::aws::AwsClients::load(&target.settings).await?;
    let where_to = target.settings.describe(&clients.region);
    let cw = crowdfund_handlers::aws::cloudwatch::CloudWatch::new(clients.cloudwatch);
    let dashboards = crowdfund_dashboards::Target::new(&clients.region, &args.env_name);
    let projects = b.funding.projects().await.with_context(|| {
        format!(
            "reading the project list from {} for the stakeholder dashboard",
            b.target
        )
    })?;
    if projects.is_empty() {
        eprintln!(
            "warning: no projects listed: the stakeholder dashboard gets no progress rows (pass --api-url with the funding API's URL)"
        );
    }
    // A local endpoint (moto) does not implement PutCompositeAlarm: say so and go on; on AWS
    // a refused composite fails the deploy.
    let composites = if target.settings.endpoint_url.is_some() {
        Composites::SkipRefused
    } else {
        Composites::Required
    };
    let plan = plan_deploy(&cw, &dashboards, &projects, args.alarm_topic.as_deref())
        .await
        .with_context(|| format!("reading the deployed dashboards and alarms from {where_to}"))?;
    let puts = plan.puts();
    let (warnings, applied) = if args.dry_run || puts == 0 {
        (Vec::new(), 0)
    } else {
        // Audited like the queue actions: the intent before the first put, the result after.
        let mut intent = AuditEntry::intent(
            b.wall_clock.now(),
            &b.identity,
            "dashboards-deploy",
            &format!("crowdfund-{}", args.env_name),
        );
        intent.to = Some(where_to.clone());
        intent.selected = puts as u64;
        let trail = AuditTrail::begin(&b.audit_log, intent)?;
        let bar = super::progress_bar(puts as u64, "put");
        let warnings = apply(&cw, &plan, composites, |name| {
            bar.set_message(name.to_string());
            bar.inc(1);
        })
        .await;
        let done = bar.position();
        bar.finish_and_clear();
        let ending = match &warnings {
            Ok(_) => Ending::Ok,
            Err(e) => Ending::Failed(e),
        };
        trail.finish(b.wall_clock.now(), ending, |e| e.moved = done)?;
        (warnings?, done as usize)
    };
    if args.json {
        return super::print_json(&serde_json::json!({
            "target": where_to,
            "dryRun": args.dry_run,
            "plan": plan,
            "put": applied,
            "warnings": warnings,
        }));
    }
    println!("deploy to {where_to}");
    print!("{}", render_plan(&plan, &dashboards));
    for w in &warnings {
        println!("warning: {w}");
    }
    match (puts, args.dry_run) {
        (0, _) => println!("no change: what is deployed is what is generated"),
        (n, true) => println!("dry run: {n} puts would be made; nothing was changed"),
        (n, false) => println!(
            "put {} dashboards and {} alarms{}",
            plan.dashboards_to_put().count(),
            applied.saturating_sub(plan.dashboards_to_put().count()),
            if applied < n {
                format!("; {} skipped (see the warnings)", n - applied)
            } else {
                String::new()
            }
        ),
    }
    Ok(())
}
