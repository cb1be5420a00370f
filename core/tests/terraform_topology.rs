//! Drift test: terraform describes the same pipeline as `crowdfund_core::topology`.
//!
//! `terraform/topology.tf` holds the names and wiring as literals in `local.topology`; this test
//! parses it (no terraform binary needed) and compares every topic, subscription, queue, redrive
//! target, maxReceiveCount, retention, function, trigger queue, batch size, the table's keys and
//! index, and the broker's destinations with core. It also checks that the modules build their
//! resources from those lists (named after the topology keys), so the literals cannot silently
//! stop mattering.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crowdfund_core::topology::{self, Trigger};
use crowdfund_core::{metrics, rules};
use hcl::{Block, Body, Expression, ObjectKey};

fn terraform_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../terraform")
}

fn read(relative: &str) -> String {
    let path = terraform_dir().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn parse(relative: &str, src: &str) -> Body {
    hcl::parse(src).unwrap_or_else(|e| panic!("terraform/{relative} does not parse: {e}"))
}

/// Text of an expression without whitespace, so `a = b` formatting never matters.
fn text(expr: &Expression) -> String {
    expr.to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn as_str(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(s) => Some(s.clone()),
        Expression::TemplateExpr(t) => match t.as_ref() {
            hcl::TemplateExpr::QuotedString(s) if !s.contains("${") => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn as_u64(expr: &Expression) -> Option<u64> {
    match expr {
        Expression::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn key_name(key: &ObjectKey) -> String {
    match key {
        ObjectKey::Identifier(id) => id.as_str().to_owned(),
        ObjectKey::Expression(e) => as_str(e).unwrap_or_else(|| text(e)),
        other => other.to_string(),
    }
}

/// The entries of an object expression, in file order.
fn entries<'a>(expr: &'a Expression, what: &str) -> Vec<(String, &'a Expression)> {
    match expr {
        Expression::Object(obj) => obj.iter().map(|(k, v)| (key_name(k), v)).collect(),
        other => panic!("{what} must be an object literal, found `{other}`"),
    }
}

fn field<'a>(expr: &'a Expression, name: &str, what: &str) -> &'a Expression {
    entries(expr, what)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{what} has no `{name}`"))
}

fn attr<'a>(body: &'a Body, name: &str) -> Option<&'a Expression> {
    body.attributes()
        .find(|a| a.key() == name)
        .map(|a| a.expr())
}

fn local<'a>(body: &'a Body, name: &str) -> Option<&'a Expression> {
    body.blocks()
        .filter(|b| b.identifier() == "locals")
        .find_map(|b| attr(b.body(), name))
}

fn block<'a>(body: &'a Body, kind: &str, labels: &[&str]) -> Option<&'a Block> {
    body.blocks().find(|b| {
        b.identifier() == kind
            && b.labels().len() == labels.len()
            && b.labels()
                .iter()
                .zip(labels)
                .all(|(l, want)| l.as_str() == *want)
    })
}

/// Collects differences as readable sentences instead of stopping at the first.
#[derive(Default)]
struct Drift(Vec<String>);

impl Drift {
    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, terraform: T, core: T) {
        if terraform != core {
            self.0.push(format!(
                "{what}: terraform has {terraform:?}, core has {core:?}"
            ));
        }
    }

    fn names(&mut self, what: &str, terraform: BTreeSet<String>, core: BTreeSet<String>) {
        self.names_in("terraform", what, terraform, core);
    }

    /// Names found in `side` compared with core's.
    fn names_in(
        &mut self,
        side: &str,
        what: &str,
        found: BTreeSet<String>,
        core: BTreeSet<String>,
    ) {
        let missing: Vec<_> = core.difference(&found).collect();
        let extra: Vec<_> = found.difference(&core).collect();
        if !missing.is_empty() {
            self.0
                .push(format!("{what} missing from {side}: {missing:?}"));
        }
        if !extra.is_empty() {
            self.0
                .push(format!("{what} in {side} but not in core: {extra:?}"));
        }
    }

    fn expect_attr(
        &mut self,
        file: &str,
        b: Option<&Block>,
        resource: &str,
        name: &str,
        want: &str,
    ) {
        let Some(b) = b else {
            self.0.push(format!("terraform/{file}: no {resource}"));
            return;
        };
        match attr(b.body(), name) {
            Some(e) if text(e) == want => {}
            Some(e) => self.0.push(format!(
                "terraform/{file}: {resource}.{name} is `{e}`, expected `{want}`"
            )),
            None => self
                .0
                .push(format!("terraform/{file}: {resource} has no `{name}`")),
        }
    }

    fn report(self, fix: &str) -> Result<(), String> {
        self.report_for("terraform", fix)
    }

    fn report_for(self, what: &str, fix: &str) -> Result<(), String> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut msg = format!("{what} drifted from crowdfund_core::topology:\n");
        for line in &self.0 {
            let _ = writeln!(msg, "  - {line}");
        }
        msg.push_str(fix);
        Err(msg)
    }
}

/// Compares the literals of `terraform/topology.tf` (given as source) with core.
fn topology_drift(topology_tf: &str) -> Result<(), String> {
    let body = parse("topology.tf", topology_tf);
    let topo = local(&body, "topology").expect("terraform/topology.tf has no local.topology");
    let mut d = Drift::default();

    // Topics and their subscriptions (topic -> queue).
    let topics = entries(
        field(topo, "topics", "local.topology"),
        "local.topology.topics",
    );
    d.names(
        "topics",
        topics.iter().map(|(k, _)| k.clone()).collect(),
        topology::TOPICS.iter().map(|t| t.name.to_owned()).collect(),
    );
    for (name, subs) in &topics {
        let Some(spec) = topology::topic(name) else {
            continue;
        };
        let tf: Vec<String> = match subs {
            Expression::Array(items) => items.iter().filter_map(as_str).collect(),
            other => {
                d.0.push(format!(
                    "topic {name}: subscribers must be a list, found `{other}`"
                ));
                continue;
            }
        };
        let core: Vec<String> = spec.subscribers.iter().map(|s| (*s).to_owned()).collect();
        d.eq(&format!("topic {name} subscriptions"), tf, core);
    }

    // Queues, redrive targets, maxReceiveCount, retention.
    let queues = entries(
        field(topo, "queues", "local.topology"),
        "local.topology.queues",
    );
    d.names(
        "queues",
        queues.iter().map(|(k, _)| k.clone()).collect(),
        topology::QUEUES.iter().map(|q| q.name.to_owned()).collect(),
    );
    for (name, q) in &queues {
        let Some(spec) = topology::queue(name) else {
            continue;
        };
        let what = format!("local.topology.queues.{name}");
        d.eq(
            &format!("queue {name} visibility_timeout_seconds"),
            as_u64(field(q, "visibility_timeout_seconds", &what)),
            Some(u64::from(spec.visibility_timeout_seconds)),
        );
        d.eq(
            &format!("queue {name} retention_seconds"),
            as_u64(field(q, "retention_seconds", &what)),
            Some(u64::from(spec.retention_seconds)),
        );
        d.eq(
            &format!("queue {name} redrive_target"),
            as_str(field(q, "redrive_target", &what)),
            spec.redrive.map(|r| r.target.to_owned()),
        );
        d.eq(
            &format!("queue {name} max_receive_count"),
            as_u64(field(q, "max_receive_count", &what)),
            spec.redrive.map(|r| u64::from(r.max_receive_count)),
        );
    }

    // Functions, trigger queues, batch sizes.
    let functions = entries(
        field(topo, "functions", "local.topology"),
        "local.topology.functions",
    );
    d.names(
        "functions",
        functions.iter().map(|(k, _)| k.clone()).collect(),
        topology::FUNCTIONS
            .iter()
            .map(|f| f.name.to_owned())
            .collect(),
    );
    for (name, f) in &functions {
        let Some(spec) = topology::function(name) else {
            continue;
        };
        let what = format!("local.topology.functions.{name}");
        let (queue, batch) = match spec.trigger {
            Trigger::Queue { queue, batch_size } => {
                (Some(queue.to_owned()), Some(batch_size as u64))
            }
            Trigger::HttpPost { .. } => (None, None),
        };
        d.eq(
            &format!("function {name} trigger_queue"),
            as_str(field(f, "trigger_queue", &what)),
            queue,
        );
        d.eq(
            &format!("function {name} batch_size"),
            as_u64(field(f, "batch_size", &what)),
            batch,
        );
        d.eq(
            &format!("function {name} timeout_seconds"),
            as_u64(field(f, "timeout_seconds", &what)),
            Some(u64::from(spec.timeout_seconds)),
        );
    }

    // Terraform's own values keep each trigger queue's visibility >= 6x its function's timeout.
    let number_of = |entries: &[(String, &Expression)], name: &str, key: &str| {
        entries
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, e)| as_u64(field(e, key, name)))
            .and_then(|n| u32::try_from(n).ok())
    };
    for shortfall in topology::visibility_shortfalls(
        |q| number_of(&queues, q, "visibility_timeout_seconds"),
        |f| number_of(&functions, f, "timeout_seconds"),
    ) {
        d.0.push(format!("terraform/topology.tf: {shortfall}"));
    }

    // The payments table and its project/time index.
    let t = field(topo, "payments_table", "local.topology");
    let what = "local.topology.payments_table";
    let spec = topology::PAYMENTS_TABLE;
    for (key, core) in [
        ("name", spec.name),
        ("partition_key", spec.partition_key),
        ("index_name", spec.index_name),
        ("index_partition_key", spec.index_partition_key),
        ("index_sort_key", spec.index_sort_key),
    ] {
        d.eq(
            &format!("payments table {key}"),
            as_str(field(t, key, what)),
            Some(core.to_owned()),
        );
    }

    let destinations = match field(topo, "broker_destinations", "local.topology") {
        Expression::Array(items) => items.iter().filter_map(as_str).collect(),
        other => vec![other.to_string()],
    };
    d.eq(
        "broker destinations",
        destinations,
        rules::BROKER_DESTINATIONS
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>(),
    );

    d.eq(
        "metrics namespace",
        local(&body, "metrics_namespace").and_then(as_str),
        Some(metrics::NAMESPACE.to_owned()),
    );

    d.report("edit terraform/topology.tf (or core/src/topology.rs) so both say the same")
}

/// The modules build resources from the topology lists, named after their keys.
fn wiring_drift() -> Result<(), String> {
    let mut d = Drift::default();

    let root = parse("main.tf", &read("main.tf"));
    for (module, arg, want) in [
        ("messaging", "topics", "local.topology.topics"),
        ("messaging", "queues", "local.topology.queues"),
        ("lambdas", "functions", "local.topology.functions"),
        ("dynamodb", "table", "local.topology.payments_table"),
        (
            "apigateway",
            "destinations",
            "local.topology.broker_destinations",
        ),
    ] {
        let b = block(&root, "module", &[module]);
        d.expect_attr("main.tf", b, &format!("module.{module}"), arg, want);
    }

    let file = "modules/messaging/main.tf";
    let m = parse(file, &read(file));
    let topic = block(&m, "resource", &["aws_sns_topic", "this"]);
    d.expect_attr(file, topic, "aws_sns_topic.this", "for_each", "var.topics");
    d.expect_attr(file, topic, "aws_sns_topic.this", "name", "each.key");
    let queue = block(&m, "resource", &["aws_sqs_queue", "this"]);
    d.expect_attr(file, queue, "aws_sqs_queue.this", "for_each", "var.queues");
    d.expect_attr(file, queue, "aws_sqs_queue.this", "name", "each.key");
    d.expect_attr(
        file,
        queue,
        "aws_sqs_queue.this",
        "message_retention_seconds",
        "each.value.retention_seconds",
    );
    let redrive = block(&m, "resource", &["aws_sqs_queue_redrive_policy", "this"]);
    d.expect_attr(
        file,
        redrive,
        "aws_sqs_queue_redrive_policy.this",
        "redrive_policy",
        "jsonencode({deadLetterTargetArn=aws_sqs_queue.this[each.value.redrive_target].arn,maxReceiveCount=each.value.max_receive_count})",
    );
    let sub = block(&m, "resource", &["aws_sns_topic_subscription", "this"]);
    d.expect_attr(
        file,
        sub,
        "aws_sns_topic_subscription.this",
        "for_each",
        "local.subscriptions",
    );
    d.expect_attr(
        file,
        sub,
        "aws_sns_topic_subscription.this",
        "protocol",
        "\"sqs\"",
    );
    d.expect_attr(
        file,
        sub,
        "aws_sns_topic_subscription.this",
        "raw_message_delivery",
        "true",
    );

    let file = "modules/lambdas/main.tf";
    let l = parse(file, &read(file));
    let f = block(&l, "resource", &["aws_lambda_function", "fn"]);
    d.expect_attr(
        file,
        f,
        "aws_lambda_function.fn",
        "for_each",
        "var.functions",
    );
    d.expect_attr(
        file,
        f,
        "aws_lambda_function.fn",
        "function_name",
        "each.key",
    );
    d.expect_attr(
        file,
        f,
        "aws_lambda_function.fn",
        "timeout",
        "each.value.timeout_seconds",
    );
    d.expect_attr(
        file,
        f,
        "aws_lambda_function.fn",
        "runtime",
        "\"provided.al2023\"",
    );
    d.expect_attr(
        file,
        f,
        "aws_lambda_function.fn",
        "architectures",
        "[\"arm64\"]",
    );
    let esm = block(
        &l,
        "resource",
        &["aws_lambda_event_source_mapping", "queue"],
    );
    let what = "aws_lambda_event_source_mapping.queue";
    d.expect_attr(
        file,
        esm,
        what,
        "event_source_arn",
        "var.queue_arns[each.value.trigger_queue]",
    );
    d.expect_attr(file, esm, what, "batch_size", "each.value.batch_size");
    d.expect_attr(
        file,
        esm,
        what,
        "function_response_types",
        "[\"ReportBatchItemFailures\"]",
    );
    // Every function has a least-privilege grant entry, and only those functions do.
    match local(&l, "grants") {
        Some(grants) => d.names(
            "functions with IAM grants (modules/lambdas local.grants)",
            entries(grants, "local.grants")
                .into_iter()
                .map(|(k, _)| k)
                .collect(),
            topology::FUNCTIONS
                .iter()
                .map(|f| f.name.to_owned())
                .collect(),
        ),
        None => d.0.push(format!("terraform/{file}: no local.grants")),
    }
    // The broker may publish to exactly the destinations a request may name.
    let broker_publish: Vec<String> = local(&l, "grants")
        .and_then(|g| {
            entries(g, "local.grants")
                .into_iter()
                .find(|(k, _)| k == "broker")
        })
        .map(|(_, b)| match field(b, "publish", "local.grants.broker") {
            Expression::Array(items) => items.iter().filter_map(as_str).collect(),
            _ => Vec::new(),
        })
        .unwrap_or_default();
    d.eq(
        "topics the broker may publish to (modules/lambdas local.grants.broker.publish)",
        broker_publish,
        rules::BROKER_DESTINATIONS
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    );

    let file = "modules/dynamodb/main.tf";
    let t = parse(file, &read(file));
    let table = block(&t, "resource", &["aws_dynamodb_table", "payments"]);
    d.expect_attr(
        file,
        table,
        "aws_dynamodb_table.payments",
        "name",
        "var.table.name",
    );
    d.expect_attr(
        file,
        table,
        "aws_dynamodb_table.payments",
        "hash_key",
        "var.table.partition_key",
    );
    match table.and_then(|b| block(b.body(), "global_secondary_index", &[])) {
        Some(gsi) => {
            let gsi = Some(gsi);
            d.expect_attr(
                file,
                gsi,
                "global_secondary_index",
                "name",
                "var.table.index_name",
            );
            d.expect_attr(
                file,
                gsi,
                "global_secondary_index",
                "hash_key",
                "var.table.index_partition_key",
            );
            d.expect_attr(
                file,
                gsi,
                "global_secondary_index",
                "range_key",
                "var.table.index_sort_key",
            );
        }
        None => d.0.push(format!(
            "terraform/{file}: the payments table has no global_secondary_index"
        )),
    }

    d.report("the modules must build these resources from local.topology, named by its keys")
}

#[test]
fn terraform_topology_equals_core() {
    if let Err(msg) = topology_drift(&read("topology.tf")) {
        panic!("{msg}");
    }
}

#[test]
fn terraform_modules_build_from_the_topology() {
    if let Err(msg) = wiring_drift() {
        panic!("{msg}");
    }
}

/// GitHub's CI runs `.ci/run` itself, not a copy of its steps that could drift from it, on a
/// machine that gives it what it expects: MariaDB on 3306 with root and no password (the API
/// tests' default), Python for the project-local venvs.
#[test]
fn github_ci_runs_the_ci_script() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/ci.yml");
    let workflow = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let runs: Vec<&str> = workflow
        .lines()
        .filter_map(|l| l.trim().strip_prefix("run: "))
        .collect();
    assert!(
        runs.contains(&"bash .ci/run"),
        "{} must run `bash .ci/run`; its run steps are {runs:?}",
        path.display()
    );
    let copies: Vec<&&str> = runs.iter().filter(|r| r.contains("cargo ")).collect();
    assert!(
        copies.is_empty(),
        "{} repeats .ci/run's cargo steps {copies:?}: change .ci/run instead",
        path.display()
    );
    for needed in [
        "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD",
        "3306:3306",
        "actions/setup-python",
    ] {
        assert!(
            workflow.contains(needed),
            "{} lacks {needed}, which .ci/run expects of the machine",
            path.display()
        );
    }
}

/// deploy-lambdas.yml deploys exactly the topology's functions.
#[test]
fn lambda_deploy_workflow_covers_every_function() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/deploy-lambdas.yml");
    let workflow = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let line = workflow
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("function: ["))
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("{} has no `function: [...]` matrix", path.display()));
    let mut d = Drift::default();
    d.names_in(
        "the deploy matrix",
        "functions",
        line.split(',').map(|f| f.trim().to_owned()).collect(),
        topology::FUNCTIONS
            .iter()
            .map(|f| f.name.to_owned())
            .collect(),
    );
    let fix = "edit the function matrix in .github/workflows/deploy-lambdas.yml";
    if let Err(msg) = d.report_for(".github/workflows/deploy-lambdas.yml", fix) {
        panic!("{msg}");
    }
}

/// The comparison really catches drift, and says what differs.
#[test]
fn drift_is_reported_by_name() {
    let src = read("topology.tf");

    let renamed = src.replacen("send_email_queue", "send_mail_queue", 1);
    let err = topology_drift(&renamed).expect_err("a renamed subscription must be drift");
    assert!(err.contains("topic send_email subscriptions"), "{err}");

    let fewer_receives = src.replacen(
        "max_receive_count          = 3",
        "max_receive_count          = 5",
        1,
    );
    let err = topology_drift(&fewer_receives).expect_err("a changed maxReceiveCount must be drift");
    assert!(
        err.contains("queue payment_attempt_queue max_receive_count"),
        "{err}"
    );
    assert!(err.contains("Some(5)") && err.contains("Some(3)"), "{err}");

    let short_parking = src.replacen("1209600", "345600", 2);
    let err = topology_drift(&short_parking).expect_err("etc_parked's 14 days must be checked");
    assert!(err.contains("queue etc_parked retention_seconds"), "{err}");

    // pg's timeout raised to 30 s in terraform alone: drift, and a queue that no longer outlasts it.
    let slow_pg = src.replacen("timeout_seconds = 25", "timeout_seconds = 30", 2);
    let err = topology_drift(&slow_pg).expect_err("a changed function timeout must be drift");
    assert!(err.contains("function pg timeout_seconds"), "{err}");
    assert!(
        err.contains(
            "payment_attempt_queue's visibility timeout is 150 s, below 6 x pg's 30 s timeout"
        ),
        "{err}"
    );

    let no_function = src.replacen("dlq_handler = {", "dlq_worker = {", 1);
    let err = topology_drift(&no_function).expect_err("a renamed function must be drift");
    assert!(
        err.contains("functions missing from terraform: [\"dlq_handler\"]"),
        "{err}"
    );
    assert!(err.contains("not in core: [\"dlq_worker\"]"), "{err}");
}
