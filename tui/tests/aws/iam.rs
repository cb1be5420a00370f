//! `crowdfund-console --aws` as the two operator policies terraform ships
//! (`terraform/modules/operators`), on moto with IAM enforced: the operator can do what on-call
//! does (status, list, redrive, delete, dashboards deploy) without a single denied call, and the
//! read-only operator can look but not change anything, even without `--read-only`. The
//! listing looks its payments up in the ledger (BatchGetItem), so a grant missing there fails
//! the test naming the denied action.

use crate::SUITE;
use crowdfund_core::domain::{PaymentRecord, PaymentStatus};
use crowdfund_core::money::{Currency, Money};
use crowdfund_core::ports::Ledger;
use crowdfund_core::topology::{self, QUEUE_PARKED, QUEUE_PAYMENT_ATTEMPT, TABLE_PAYMENTS};
use crowdfund_handlers::aws::dynamodb::DynamoLedger;
use crowdfund_handlers::aws::provision::provision_functions;
use crowdfund_handlers::aws::sns::SnsPublisher;
use crowdfund_handlers::aws::sqs::SqsQueues;
use crowdfund_testkit::iam::{
    self, ACCOUNT, RecordingProxy, UserKeys, for_moto, granted_actions, user_with_policy,
};
use crowdfund_testkit::terraform::{Scope, block, module};
use crowdfund_testkit::{ProvisionedMoto, moto_url, provisioned_moto};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::Output;

const REGION: &str = "us-east-1";

/// The two documents, rendered with moto's ARNs: (operator, read-only operator).
async fn operator_policies(moto: &ProvisionedMoto) -> (Value, Value) {
    let body = module("modules/operators");
    let publisher = SnsPublisher::new(moto.clients.sns.clone());
    let mut topics = serde_json::Map::new();
    for t in topology::TOPICS {
        topics.insert(t.name.into(), json!(publisher.arn(t.name).await.unwrap()));
    }
    let queues: serde_json::Map<String, Value> = topology::QUEUES
        .iter()
        .map(|q| {
            (
                q.name.to_string(),
                json!(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{}", q.name)),
            )
        })
        .collect();
    let mut scope = Scope::new();
    scope
        .set(&["var", "queue_arns"], Value::Object(queues))
        .set(&["var", "topic_arns"], Value::Object(topics))
        .set(
            &["var", "table_arn"],
            json!(format!(
                "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE_PAYMENTS}"
            )),
        )
        .set(
            &["var", "index_name"],
            json!(topology::INDEX_PROJECT_PAID_AT),
        )
        .set(&["var", "name"], json!("crowdfund-dev"))
        .set(
            &["var", "function_names"],
            json!(
                topology::FUNCTIONS
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
            ),
        )
        .aws_account(REGION, ACCOUNT)
        .variable_defaults(&body)
        .variable_placeholders(&body)
        .locals(&body);
    let read_only = scope.policy_document(block(
        &body,
        "data",
        &["aws_iam_policy_document", "read_only_operator"],
    ));
    scope.set(
        &[
            "data",
            "aws_iam_policy_document",
            "read_only_operator",
            "json",
        ],
        json!(read_only.to_string()),
    );
    let operator = scope.policy_document(block(
        &body,
        "data",
        &["aws_iam_policy_document", "operator"],
    ));
    (operator, read_only)
}

/// crowdfund-api's project list (the console's `--api-url`), with the one project the goal
/// checks name: only the project list matters here, not the API.
async fn project_list() -> String {
    super::serve_project_list(json!([{"id": "prj-1", "title": "Pens", "goal": 1000, "currency": "KRW", "raised": 1000,
        "backers": 1, "deadline": "2999-01-01T00:00:00Z", "goalAchievedAt": "2026-01-01T00:00:00Z"}]))
    .await
}

/// One console invocation after another, as different users, on one state directory.
struct Session {
    proxy: RecordingProxy,
    state: std::path::PathBuf,
    api_url: String,
}

impl Session {
    fn run(&self, keys: &UserKeys, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_crowdfund-console"))
            .arg("--state")
            .arg(&self.state)
            .args([
                "--aws",
                "--endpoint-url",
                &self.proxy.url,
                "--region",
                REGION,
            ])
            .args(["--api-url", &self.api_url])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", &keys.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &keys.secret)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs and expects success; the JSON it printed.
    fn ok(&self, keys: &UserKeys, args: &[&str]) -> Value {
        let out = self.run(keys, args);
        assert!(
            out.status.success(),
            "{} {args:?}: {}\ndenied: {:?}",
            keys.user,
            String::from_utf8_lossy(&out.stderr)
                .chars()
                .take(400)
                .collect::<String>(),
            self.proxy.calls().denied
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }
}

/// The console's Lambda calls, judged against the policies by the test itself: moto cannot
/// verify SigV4 on Lambda's REST calls (it recomputes their signature over the parsed query as
/// a body, and boto3's own calls fail there alike), so these run before enforcement is on and
/// the proxy only records them. Each action is checked on the resource IAM would check.
fn lambda_calls_are_granted(
    session: &Session,
    operator_policy: &Value,
    read_only_policy: &Value,
    operator: &UserKeys,
    read_only: &UserKeys,
) {
    let functions = session.ok(read_only, &["triggers", "--json"]);
    let listed = functions.as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), topology::FUNCTIONS.len(), "{functions}");
    let mapping = listed
        .iter()
        .find(|f| f["function"] == topology::FN_DLQ_HANDLER)
        .and_then(|f| f["mapping"]["uuid"].as_str())
        .map(|uuid| format!("arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{uuid}"))
        .unwrap_or_else(|| panic!("dlq_handler has a trigger: {functions}"));
    let resumed = session.ok(
        operator,
        &["triggers", "resume", "dlq_handler", "--yes", "--json"],
    );
    assert_eq!(resumed["state"], "Enabled", "{resumed}");
    let paused = session.ok(
        operator,
        &["triggers", "pause", "dlq_handler", "--yes", "--json"],
    );
    assert_eq!(paused["state"], "Disabled", "{paused}");
    let resource_of = |action: &str| match action {
        "lambda:GetFunction" => format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
            topology::FN_DLQ_HANDLER
        ),
        "lambda:UpdateEventSourceMapping" => mapping.clone(),
        _ => "*".to_string(),
    };
    let calls = session.proxy.calls();
    for (keys, policy, who) in [
        (read_only, read_only_policy, "read-only operator"),
        (operator, operator_policy, "operator"),
    ] {
        let made: Vec<&String> = calls
            .allowed
            .get(&keys.access_key)
            .into_iter()
            .flatten()
            .filter(|a| a.starts_with("lambda:"))
            .collect();
        assert!(!made.is_empty(), "the {who} made no Lambda call");
        for action in made {
            assert!(
                iam::resources_cover(policy, action, &resource_of(action)),
                "terraform's {who} policy does not grant {action} on {}",
                resource_of(action)
            );
        }
    }
    assert!(
        !iam::resources_cover(
            read_only_policy,
            "lambda:UpdateEventSourceMapping",
            &mapping
        ),
        "the read-only operator must not pause triggers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_policies_are_what_the_console_needs() {
    let Some(moto) = moto_url() else { return };
    let _suite = SUITE.lock().await;
    let provisioned = provisioned_moto(&moto).await;
    let sqs = SqsQueues::new(provisioned.clients.sqs.clone());
    use crowdfund_core::ports::{MessageSender, QueueClient};
    for id in ["pay-a", "pay-b", "pay-c"] {
        let body = json!({"kind": "payment_attempt", "from": QUEUE_PAYMENT_ATTEMPT, "attempts": 4,
            "toDiscord": false, "payload": {"paymentId": id, "projectId": "prj-1"}});
        MessageSender::send(&sqs, QUEUE_PARKED, &body.to_string(), 0)
            .await
            .unwrap();
    }
    // One of them is in the ledger: the listing's lookups (BatchGetItem) must find it.
    let ledger = DynamoLedger::new(provisioned.clients.dynamodb.clone(), TABLE_PAYMENTS);
    let declined = PaymentRecord {
        payment_id: "pay-a".into(),
        project_id: "prj-1".into(),
        backer_email: "a@example.com".into(),
        amount: Money::new(1_000, Currency::KRW),
        status: PaymentStatus::Declined,
        paid_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        charge_id: None,
        decline_reason: Some("card declined".into()),
        cancel_id: None,
        cancelled_at: None,
    };
    ledger.put_payment(&declined).await.unwrap();
    provision_functions(&provisioned.clients).await.unwrap();
    let (operator_policy, read_only_policy) = operator_policies(&provisioned).await;
    let proxy = RecordingProxy::start(&moto).await;
    let operator = user_with_policy(&moto, "operator", &for_moto(&operator_policy)).await;
    let read_only =
        user_with_policy(&moto, "read-only-operator", &for_moto(&read_only_policy)).await;
    proxy.knows(&operator);
    proxy.knows(&read_only);
    let dir = tempfile::tempdir().unwrap();
    let session = Session {
        proxy: proxy.clone(),
        state: dir.path().join("world.json"),
        api_url: project_list().await,
    };
    lambda_calls_are_granted(
        &session,
        &operator_policy,
        &read_only_policy,
        &operator,
        &read_only,
    );
    let enforced = iam::enforce(&moto).await;

    // Read-only: status and listing work; a redrive is refused by IAM even without --read-only.
    session.ok(&read_only, &["status", "--json"]);
    let list = session.ok(&read_only, &["dlq", "list", QUEUE_PARKED, "--json"]);
    assert_eq!(list.as_array().map(Vec::len), Some(3), "{list}");
    let mut states: Vec<(String, String)> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let text = |k: &str| m[k].as_str().unwrap_or("?").to_string();
            (text("paymentId"), text("ledgerState"))
        })
        .collect();
    states.sort();
    assert_eq!(
        states,
        [("pay-a", "declined"), ("pay-b", "none"), ("pay-c", "none")]
            .map(|(p, s)| (p.to_string(), s.to_string())),
        "the listing looked each payment up in the ledger: {list}"
    );
    let read_only_denied_before = proxy.denied_to(&read_only);
    assert!(
        read_only_denied_before.is_empty(),
        "read-only operator denied while reading: {read_only_denied_before:?}"
    );
    session.ok(
        &read_only,
        &[
            "goal-check",
            "prj-1",
            "--at",
            "2026-01-01T00:00:00Z",
            "--dry-run",
            "--json",
        ],
    );
    let refused = session.run(
        &read_only,
        &["dlq", "redrive", QUEUE_PARKED, "--all", "--yes", "--json"],
    );
    let denied = proxy.denied_to(&read_only);
    assert!(
        denied.iter().any(|d| d.contains("sqs:SendMessage")),
        "a read-only redrive must be denied by IAM: {denied:?}; console said {}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let status = session.ok(&read_only, &["status", "--json"]);
    let parked = status["queues"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|q| q["name"] == QUEUE_PARKED)
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        parked["visible"].as_u64().unwrap_or(0) + parked["inFlight"].as_u64().unwrap_or(0),
        3,
        "the refused redrive moved nothing: {parked}"
    );

    // Operator: status, list, redrive one, delete one, deploy the dashboards.
    session.ok(&operator, &["status", "--json"]);
    let list = session.ok(&operator, &["dlq", "list", QUEUE_PARKED, "--json"]);
    let ids: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["messageId"].as_str().map(String::from))
        .collect();
    assert_eq!(ids.len(), 3, "{list}");
    session.ok(
        &operator,
        &[
            "dlq",
            "redrive",
            QUEUE_PARKED,
            "--id",
            &ids[0],
            "--yes",
            "--json",
        ],
    );
    session.ok(
        &operator,
        &[
            "dlq",
            "delete",
            QUEUE_PARKED,
            "--id",
            &ids[1],
            "--yes",
            "--json",
        ],
    );
    // The same report as on the local world: the plan with its payments, and the project.
    let checked = session.ok(
        &operator,
        &[
            "goal-check",
            "prj-1",
            "--at",
            "2026-01-01T00:00:00Z",
            "--yes",
            "--json",
        ],
    );
    assert!(checked["plan"]["payments"].is_array(), "{checked}");
    assert_eq!(checked["project"]["id"], "prj-1", "{checked}");
    let audit = std::fs::read_to_string(dir.path().join("aws-audit.jsonl")).unwrap();
    let goal_lines: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["action"] == "goal-check")
        .collect();
    assert_eq!(goal_lines.len(), 2, "an intent and a result: {audit}");

    for l in &goal_lines {
        assert_eq!(l["at"], "2026-01-01T00:00:00Z", "{l}");
        assert_eq!(l["selected"].as_u64(), Some(0), "{l}");
    }
    session.ok(&operator, &["dashboards", "deploy", "--json"]);
    drop(enforced);

    assert_eq!(
        sqs.stats(QUEUE_PAYMENT_ATTEMPT).await.unwrap().visible,
        1,
        "one redriven"
    );
    assert_eq!(
        sqs.stats(topology::QUEUE_GOAL_ACHIEVEMENT)
            .await
            .unwrap()
            .visible,
        1,
        "one goal check triggered by hand"
    );
    let parked = sqs.stats(QUEUE_PARKED).await.unwrap();
    assert_eq!(
        parked.visible + parked.in_flight,
        1,
        "one redriven, one deleted, one left"
    );

    // CloudWatch's resources, which moto does not check: the dashboards and alarms `deploy`
    // writes (env dev) are the stage's own, and nothing else.
    let dashboard = format!("arn:aws:cloudwatch::{ACCOUNT}:dashboard/crowdfund-dev-ops");
    let alarm =
        format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:crowdfund-dev-etc-parked-not-empty");
    assert!(iam::resources_cover(
        &operator_policy,
        "cloudwatch:PutDashboard",
        &dashboard
    ));
    assert!(iam::resources_cover(
        &operator_policy,
        "cloudwatch:PutMetricAlarm",
        &alarm
    ));
    let other = format!("arn:aws:cloudwatch::{ACCOUNT}:dashboard/billing");
    assert!(!iam::resources_cover(
        &operator_policy,
        "cloudwatch:PutDashboard",
        &other
    ));
    assert!(!iam::resources_cover(
        &read_only_policy,
        "cloudwatch:PutDashboard",
        &dashboard
    ));

    let calls = proxy.calls();
    let operator_denied = proxy.denied_to(&operator);
    assert!(
        operator_denied.is_empty(),
        "terraform's operator policy lacks what the console needs: {operator_denied:?}"
    );
    let used: BTreeSet<String> = calls
        .allowed
        .get(&operator.access_key)
        .cloned()
        .unwrap_or_default();
    let unused: Vec<String> = granted_actions(&operator_policy)
        .into_iter()
        .filter(|a| !used.contains(a))
        .collect();
    if !unused.is_empty() {
        eprintln!(
            "IAM check: terraform grants the operator {unused:?}, which no console call of this run used"
        );
    }
}
