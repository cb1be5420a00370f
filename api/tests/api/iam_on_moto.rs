//! Least privilege, proven by running: the six Lambda functions, each built from the environment
//! terraform gives it (`modules/lambdas`, evaluated with moto's ARNs) and each running as an IAM
//! user whose only policy is the one terraform gives that function, move payments end to end on
//! moto with IAM enforced and the sandbox gateway, with crowdfund-api (funding-rw, MariaDB) as the
//! funding service. The event-source mapping's receive and delete run with the function's
//! credentials too, as Lambda's do.
//!
//! A call terraform does not allow is denied by moto and fails the test, naming the function and
//! moto's message. Actions terraform grants that no call used are reported (printed), apart from
//! those the Lambda service itself uses (logs, VPC interfaces, X-Ray, KMS).

use crate::helpers::spawn_app;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::sqs::SqsEvent;
use crowdfund_api::config::Role;
use crowdfund_core::metrics::NAMESPACE;
use crowdfund_core::ports::{Clock, Metrics, SystemClock};
use crowdfund_core::topology::{self, TABLE_PAYMENTS};
use crowdfund_handlers::aws::emf::EmfMetrics;
use crowdfund_handlers::aws::lambda::{Lambda, LambdaEnv, SqsLambda, broker_response};
use crowdfund_handlers::aws::load_config;
use crowdfund_handlers::wiring;
use crowdfund_testkit::iam::{
    self, ACCOUNT, RecordingProxy, UserKeys, for_moto, granted_actions, resources_cover,
    user_with_policy,
};
use crowdfund_testkit::terraform::{Scope, attribute, block, module};
use crowdfund_testkit::{
    MAIL_FROM, ProvisionedMoto, endpoint_settings, moto_url, provisioned_moto,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

const REGION: &str = "us-east-1";
/// Actions the Lambda service uses with the function's role, not the function's code: logs, VPC
/// interfaces, X-Ray, KMS, and the event-source mapping's queue attributes and visibility.
const SERVICE_ACTIONS: &[&str] = &[
    "logs:",
    "ec2:",
    "xray:",
    "kms:",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
];
/// 500 payments: 450 before the goal, 50 after it (cancelled by the goal check).
const APPROVED: usize = 450;
const LATE: usize = 50;
/// Messages parked at once (`toDiscord`): the DLQ handler's alert and park path. (A decline is
/// retried with 30 s+ backoffs before it parks, too slow for this run.)
const PARKED: usize = 2;

fn queue_arn(queue: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}")
}

fn table_arn() -> String {
    format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE_PAYMENTS}")
}

/// Terraform's `modules/lambdas` with the test's ARNs: what each function is given.
struct LambdasModule {
    body: hcl::Body,
    scope: Scope,
    functions: serde_json::Map<String, Value>,
}

impl LambdasModule {
    async fn load(moto: &ProvisionedMoto, discord_secret: &str, funding_api_url: &str) -> Self {
        let body = module("modules/lambdas");
        let mut root_scope = Scope::new();
        root_scope
            .variable_placeholders(&module(""))
            .locals(&module(""));
        let root_functions = root_scope.eval(&hcl::Expression::from(
            hcl::Traversal::builder(hcl::Variable::unchecked("local"))
                .attr("topology")
                .attr("functions")
                .build(),
        ));
        let functions = root_functions.as_object().cloned().unwrap_or_default();
        let publisher = crowdfund_handlers::aws::sns::SnsPublisher::new(moto.clients.sns.clone());
        let queues = crowdfund_handlers::aws::sqs::SqsQueues::new(moto.clients.sqs.clone());
        let mut topic_arns = serde_json::Map::new();
        for t in topology::TOPICS {
            topic_arns.insert(t.name.into(), json!(publisher.arn(t.name).await.unwrap()));
        }
        let mut queue_arns = serde_json::Map::new();
        let mut queue_urls = serde_json::Map::new();
        for q in topology::QUEUES {
            queue_arns.insert(q.name.into(), json!(queue_arn(q.name)));
            queue_urls.insert(q.name.into(), json!(queues.url(q.name).await.unwrap()));
        }
        let mut scope = Scope::new();
        scope
            .set(&["var", "name"], json!("crowdfund-test"))
            .set(&["var", "functions"], Value::Object(functions.clone()))
            .set(&["var", "topic_arns"], Value::Object(topic_arns))
            .set(&["var", "queue_arns"], Value::Object(queue_arns))
            .set(&["var", "queue_urls"], Value::Object(queue_urls))
            .set(&["var", "table_arn"], json!(table_arn()))
            .set(&["var", "table_name"], json!(TABLE_PAYMENTS))
            .set(
                &["var", "index_name"],
                json!(topology::INDEX_PROJECT_PAID_AT),
            )
            .set(
                &["var", "ses_identity_arn"],
                json!(format!(
                    "arn:aws:ses:{REGION}:{ACCOUNT}:identity/{MAIL_FROM}"
                )),
            )
            .set(&["var", "ses_from_address"], json!(MAIL_FROM))
            .set(&["var", "funding_api_url"], json!(funding_api_url))
            .set(&["var", "metrics_namespace"], json!(NAMESPACE))
            .set(&["var", "stage"], json!("dev"))
            .set(&["var", "payment_gateway"], json!("sandbox"))
            .set(
                &["var", "kms_key_arn"],
                json!(format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/test")),
            )
            .aws_account(REGION, ACCOUNT)
            .set(
                &["aws_secretsmanager_secret", "discord_webhook", "arn"],
                json!(discord_secret),
            )
            .variable_defaults(&body)
            .variable_placeholders(&body)
            .locals(&body);
        for name in functions.keys() {
            scope.set(
                &["aws_cloudwatch_log_group", "fn", name, "arn"],
                json!(format!(
                    "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}"
                )),
            );
        }
        LambdasModule {
            body,
            scope,
            functions,
        }
    }

    fn select(&mut self, function: &str) {
        self.scope
            .set(&["each", "key"], json!(function))
            .set(&["each", "value"], self.functions[function].clone());
    }

    /// The function's policy document, as terraform renders it.
    fn policy(&mut self, function: &str) -> Value {
        self.select(function);
        let document = block(&self.body, "data", &["aws_iam_policy_document", "fn"]).clone();
        self.scope.policy_document(&document)
    }

    /// The function's environment variables, as terraform sets them.
    fn environment(&mut self, function: &str) -> HashMap<String, String> {
        self.select(function);
        let f = block(&self.body, "resource", &["aws_lambda_function", "fn"]);
        let env = block(f.body(), "environment", &[]);
        let vars = self.scope.eval(attribute(env.body(), "variables").unwrap());
        vars.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect()
    }
}

/// One function as Lambda runs it: its environment, its user's credentials, through the proxy.
async fn lambda_as(
    function: &'static str,
    env: &HashMap<String, String>,
    keys: &UserKeys,
    proxy: &str,
) -> Lambda {
    let env = LambdaEnv::from_lookup(function, |k| env.get(k).cloned())
        .unwrap_or_else(|e| panic!("{function} refuses terraform's environment: {e}"));
    let config = load_config(&endpoint_settings(proxy))
        .await
        .unwrap()
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(keys.credentials()))
        .build();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics: Arc<dyn Metrics> = Arc::new(EmfMetrics::new(
        NAMESPACE.to_string(),
        clock.clone(),
        Box::new(std::io::sink()),
    ));
    Lambda::new(env, config, clock, metrics)
}

/// The event-source mapping of one function: receives from its queue with the function's
/// credentials, invokes it, deletes what it did not report failed.
struct Mapping {
    function: &'static str,
    queue_url: String,
    queue: String,
    sqs: aws_sdk_sqs::Client,
    lambda: SqsLambda,
}

impl Mapping {
    /// One poll; how many messages it handed over.
    async fn poll(&self) -> usize {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} receiving from {}: {e:?}", self.function, self.queue));
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return 0;
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: HashMap<String, String> = m
                    .attributes
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_string(), v))
                    .collect();
                json!({"messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                    "attributes": attributes, "messageAttributes": {}, "eventSource": "aws:sqs",
                    "eventSourceARN": queue_arn(&self.queue), "awsRegion": REGION})
            })
            .collect();
        let event: SqsEvent = serde_json::from_value(json!({"Records": records})).unwrap();
        let answer = self.lambda.handle(event, None).await.unwrap();
        let failed: BTreeSet<String> = answer
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        for m in &messages {
            if !failed.contains(m.message_id().unwrap_or_default()) {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!("{} deleting from {}: {e:?}", self.function, self.queue)
                    });
            }
        }
        messages.len()
    }
}

/// A `POST /broker` as API Gateway's REST proxy integration hands it over (the handlers'
/// fixture, captured from API Gateway's documented shape).
fn apigw(body: &Value) -> ApiGatewayProxyRequest {
    let mut request: Value = serde_json::from_str(include_str!(
        "../../../handlers/tests/aws/fixtures/apigw-rest-request.json"
    ))
    .unwrap();
    request["body"] = json!(body.to_string());
    request["isBase64Encoded"] = json!(false);
    serde_json::from_value(request).unwrap()
}

async fn webhook_stub() -> String {
    let app = axum::Router::new().route(
        "/api/webhooks/1/t",
        axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/api/webhooks/1/t")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_runs_with_exactly_terraforms_policy() {
    let Some(moto) = moto_url() else { return };
    let _turn = crate::helpers::MOTO_TURN.lock().await;
    let provisioned = provisioned_moto(&moto).await;
    let api = spawn_app(Role::FundingRw).await;
    let project = api.create_project(1_000_000_000, "KRW").await;
    let secrets =
        aws_sdk_secretsmanager::Client::new(&load_config(&endpoint_settings(&moto)).await.unwrap());
    let discord_secret = secrets
        .create_secret()
        .name("crowdfund-test/discord-webhook-url")
        .secret_string(webhook_stub().await)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let mut lambdas = LambdasModule::load(&provisioned, &discord_secret, &api.address).await;
    let proxy = RecordingProxy::start(&moto).await;

    let names: Vec<&'static str> = topology::FUNCTIONS.iter().map(|f| f.name).collect();
    let mut policies = BTreeMap::new();
    let mut users: BTreeMap<&str, UserKeys> = BTreeMap::new();
    let mut envs = BTreeMap::new();
    for name in &names {
        let policy = lambdas.policy(name);
        let keys = user_with_policy(&moto, &format!("fn-{name}"), &for_moto(&policy)).await;
        proxy.knows(&keys);
        users.insert(name, keys);
        envs.insert(*name, lambdas.environment(name));
        policies.insert(*name, policy);
    }
    // The test's own reads (queue depths) run as an observer with read-only SQS.
    let observer = user_with_policy(&moto, "observer", &json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"], "Resource": "*"}]})).await;
    let _enforced = iam::enforce(&moto).await;

    let broker_lambda = lambda_as(
        topology::FN_BROKER,
        &envs[topology::FN_BROKER],
        &users[topology::FN_BROKER],
        &proxy.url,
    )
    .await;
    let broker = wiring::broker(&broker_lambda).unwrap();
    let mut mappings = Vec::new();
    for spec in topology::FUNCTIONS {
        let topology::Trigger::Queue { queue, .. } = spec.trigger else {
            continue;
        };
        let lambda = lambda_as(spec.name, &envs[spec.name], &users[spec.name], &proxy.url).await;
        let sqs_lambda = match spec.name {
            topology::FN_PG => lambda.sqs_lambda(wiring::pg),
            topology::FN_SEND_EMAIL => lambda.sqs_lambda(wiring::send_email),
            topology::FN_FUNDING_UPDATE => lambda.sqs_lambda(wiring::funding_update),
            topology::FN_TRANSACTION_CHECK => lambda.sqs_lambda(wiring::transaction_check),
            topology::FN_DLQ_HANDLER => lambda.sqs_lambda(wiring::dlq_handler),
            other => panic!("no builder for {other}"),
        }
        .unwrap_or_else(|e| {
            panic!(
                "{} cannot start with terraform's environment: {e}",
                spec.name
            )
        });
        let sqs = aws_sdk_sqs::Client::new(
            &load_config(&endpoint_settings(&proxy.url))
                .await
                .unwrap()
                .into_builder()
                .credentials_provider(SharedCredentialsProvider::new(
                    users[spec.name].credentials(),
                ))
                .build(),
        );
        let queue_url = envs[spec.name]
            .get("QUEUE_URLS")
            .and_then(|u| serde_json::from_str::<HashMap<String, String>>(u).ok())
            .and_then(|m| m.get(queue).cloned())
            .unwrap_or_else(|| format!("{}/{ACCOUNT}/{queue}", moto.trim_end_matches('/')));
        mappings.push(Mapping {
            function: spec.name,
            queue_url,
            queue: queue.to_string(),
            sqs,
            lambda: sqs_lambda,
        });
    }
    let observer_sqs = aws_sdk_sqs::Client::new(
        &load_config(&endpoint_settings(&proxy.url))
            .await
            .unwrap()
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(observer.credentials()))
            .build(),
    );
    // The goal check's second run is delayed a minute (SECOND_CHECK_DELAY_SECONDS), so the last
    // drain waits for it: that run, too, goes through transaction_check's policy.
    let drain = || async {
        let mut last = String::new();
        let give_up = std::time::Instant::now()
            + std::time::Duration::from_secs(
                u64::from(crowdfund_handlers::transaction_check::SECOND_CHECK_DELAY_SECONDS) + 60,
            );
        while std::time::Instant::now() < give_up {
            let mut moved = 0;
            for m in &mappings {
                moved += m.poll().await;
            }
            if moved == 0 {
                let mut waiting = 0;
                for m in &mappings {
                    let attrs = observer_sqs
                        .get_queue_attributes()
                        .queue_url(&m.queue_url)
                        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                        .send()
                        .await
                        .unwrap();
                    let a = attrs.attributes.unwrap_or_default();
                    for k in [
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed",
                    ] {
                        waiting += a
                            .get(&aws_sdk_sqs::types::QueueAttributeName::from(k))
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(0);
                    }
                }
                if waiting == 0 {
                    return;
                }
                last = format!("{waiting} messages waiting");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        let names: BTreeMap<String, &str> = users
            .iter()
            .map(|(f, k)| (k.access_key.clone(), *f))
            .collect();
        let denied: Vec<String> = proxy
            .calls()
            .denied
            .iter()
            .map(|(k, w)| format!("{}: {w:?}", names.get(k).unwrap_or(&"?")))
            .collect();
        panic!("the queues did not drain ({last}); denied so far: {denied:?}");
    };
    let checkout = |i: usize, card: &str| {
        json!({"destination": "payment_attempt", "paymentId": format!("pay-iam-{i}"),
        "projectId": project, "backerEmail": format!("b{i}@example.com"), "amount": 1000, "currency": "KRW", "card": card})
    };
    let submit = |body: Value| {
        let broker = &broker;
        let proxy = &proxy;
        async move {
            let answer = broker_response(broker, &apigw(&body)).await;
            assert_eq!(
                answer.status_code,
                202,
                "{:?}; denied: {:?}",
                answer.body,
                proxy.calls().denied
            );
        }
    };
    for i in 0..APPROVED {
        submit(checkout(i, "tok_approve")).await;
    }
    // pg's way to the DLQ, with pg's credentials: a final failure flagged for Discord.
    let pg_sqs = &mappings
        .iter()
        .find(|m| m.function == topology::FN_PG)
        .unwrap()
        .sqs;
    let dlq_url =
        serde_json::from_str::<HashMap<String, String>>(&envs[topology::FN_PG]["QUEUE_URLS"])
            .unwrap()[topology::QUEUE_DLQ]
            .clone();
    for i in 0..PARKED {
        let envelope = json!({"kind": "payment_attempt", "from": topology::QUEUE_PAYMENT_ATTEMPT, "attempts": 0,
            "toDiscord": true, "reason": "test: final failure", "payload": checkout(1000 + i, "tok_decline")});
        pg_sqs
            .send_message()
            .queue_url(&dlq_url)
            .message_body(envelope.to_string())
            .send()
            .await
            .unwrap();
    }
    drain().await;
    let achieved_at = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    for i in 0..LATE {
        submit(checkout(2000 + i, "tok_approve")).await;
    }
    drain().await;
    // The goal achievement, as crowdfund-api's outbox sends it.
    let goal = json!({"destination": "goal_achievement", "projectId": project, "achievedAt": achieved_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)});
    submit(goal).await;
    drain().await;
    drop(_enforced);

    let calls = proxy.calls();
    let by_user: BTreeMap<&str, &str> = users
        .iter()
        .map(|(f, k)| (k.access_key.as_str(), *f))
        .collect();
    let denied: Vec<String> = calls
        .denied
        .iter()
        .map(|(key, why)| {
            format!(
                "{}: {why:?}",
                by_user.get(key.as_str()).unwrap_or(&"observer")
            )
        })
        .collect();
    assert!(
        denied.is_empty(),
        "terraform's policies lack what the code needs:\n{}",
        denied.join("\n")
    );

    // Resources: what moto does not check (all but SQS), the test does, with the ARNs terraform
    // gave each function in its environment.
    for (function, policy) in &policies {
        let used = calls
            .allowed
            .get(&users[function].access_key)
            .cloned()
            .unwrap_or_default();
        for action in &used {
            let resources: Vec<String> = match action.split(':').next().unwrap_or("") {
                "dynamodb" if action == "dynamodb:Query" => vec![format!(
                    "{}/index/{}",
                    table_arn(),
                    topology::INDEX_PROJECT_PAID_AT
                )],
                "dynamodb" => vec![table_arn()],
                "sns" => {
                    serde_json::from_str::<HashMap<String, String>>(&envs[function]["TOPIC_ARNS"])
                        .unwrap()
                        .into_values()
                        .collect()
                }
                "secretsmanager" => vec![discord_secret.clone()],
                _ => vec![],
            };
            for r in resources {
                assert!(
                    resources_cover(policy, action, &r),
                    "{function}: {action} on {r} is not in terraform's policy"
                );
            }
        }
        let unused: Vec<String> = granted_actions(policy)
            .into_iter()
            .filter(|a| !used.contains(a) && !SERVICE_ACTIONS.iter().any(|p| a.starts_with(p)))
            .collect();
        if !unused.is_empty() {
            eprintln!(
                "IAM check: terraform grants {function} {unused:?}, which no call of this run used"
            );
        }
    }

    // The SES condition names the sender the function is configured with.
    let send_email = &policies[topology::FN_SEND_EMAIL];
    let from = send_email.to_string();
    assert!(
        from.contains(&format!(
            "\"ses:FromAddress\":[\"{}\"]",
            envs[topology::FN_SEND_EMAIL]["SES_FROM_ADDRESS"]
        )),
        "send_email's SES condition does not name its SES_FROM_ADDRESS: {send_email}"
    );

    // The money moved as without IAM: the ledger, the raise and the mails.
    let ledger = crowdfund_handlers::aws::dynamodb::DynamoLedger::new(
        provisioned.clients.dynamodb.clone(),
        TABLE_PAYMENTS,
    );
    use crowdfund_core::ports::Ledger;
    let records = ledger.payments_of_project(&project, None).await.unwrap();
    let count = |s: &str| {
        records
            .iter()
            .filter(|r| serde_json::to_value(r.status).unwrap() == s)
            .count()
    };
    assert_eq!(
        (count("approved"), count("cancelled")),
        (APPROVED, LATE),
        "{records:?}"
    );
    let (_, p) = api.get(&format!("/projects/{project}")).await;
    assert_eq!(p["raised"], json!(APPROVED * 1000), "{p}");
    let data: Value = reqwest::get(format!("{moto}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mails = data["ses"]["Message"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(
        mails,
        APPROVED + 2 * LATE,
        "a receipt per approved payment, and a refund notice per cancelled one"
    );
    let parked = crowdfund_handlers::aws::sqs::SqsQueues::new(provisioned.clients.sqs.clone());
    use crowdfund_core::ports::QueueClient;
    let stats = parked.stats(topology::QUEUE_PARKED).await.unwrap();
    assert_eq!(stats.visible as usize, PARKED, "parked: {stats:?}");
}
