//! The seams between crowdfund-api and the terraform that runs it (`terraform/modules/ecs`,
//! `modules/apigateway`): the roles whose code calls the broker are the roles terraform gives
//! BROKER_URL and `execute-api:Invoke` on exactly `POST /broker`; the role that reads the ledger
//! gets PAYMENTS_TABLE and `dynamodb:GetItem`; every variable the task definition sets is one the
//! binary reads.

use clap::{CommandFactory, ValueEnum};
use crowdfund_api::config::{Cli, Role};
use crowdfund_testkit::terraform::{Scope, attribute, block, module};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const EXECUTION_ARN: &str = "arn:aws:execute-api:ap-northeast-2:123456789012:abc123";
const TABLE_ARN: &str = "arn:aws:dynamodb:ap-northeast-2:123456789012:table/crowdfund-payments";

fn ecs_scope(ecs: &hcl::Body) -> Scope {
    let mut scope = Scope::new();
    scope
        .set(
            &["var", "broker_execute_arn"],
            json!(format!("{EXECUTION_ARN}/*/POST/broker")),
        )
        .set(&["var", "table_arn"], json!(TABLE_ARN))
        .variable_defaults(ecs)
        .variable_placeholders(ecs)
        .locals(ecs);
    for role in Role::value_variants() {
        scope.set(
            &["aws_cloudwatch_log_group", "api", role.as_str(), "name"],
            json!(format!("/crowdfund/ecs/{}", role.as_str())),
        );
    }
    scope
}

fn roles_where(pred: fn(&Role) -> bool) -> BTreeSet<String> {
    Role::value_variants()
        .iter()
        .filter(|r| pred(r))
        .map(|r| r.as_str().to_string())
        .collect()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

/// The role policy `name` is attached (for_each) to exactly `roles`, and its document allows
/// `action` on `resource`.
fn assert_grant(
    scope: &mut Scope,
    ecs: &hcl::Body,
    name: &str,
    roles: &BTreeSet<String>,
    action: &str,
    resource: &str,
) {
    let attachment = block(ecs, "resource", &["aws_iam_role_policy", name]);
    let for_each = attribute(attachment.body(), "for_each")
        .unwrap_or_else(|| panic!("aws_iam_role_policy.{name} has no for_each"));
    assert_eq!(
        &strings(&scope.eval(for_each)),
        roles,
        "terraform attaches {name} to other roles than the code needs (crowdfund_api::config::Role)"
    );
    let document = scope.policy_document(block(ecs, "data", &["aws_iam_policy_document", name]));
    let granted = document["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| {
            strings(&s["Action"]).contains(action) && strings(&s["Resource"]).contains(resource)
        });
    assert!(
        granted,
        "{name} does not allow {action} on {resource}: {document}"
    );
}

#[test]
fn the_roles_that_call_the_broker_may_invoke_exactly_post_broker() {
    let gateway = module("modules/apigateway");
    let method = block(
        &gateway,
        "resource",
        &["aws_api_gateway_method", "post_broker"],
    );
    let mut gw = Scope::new();
    gw.variable_placeholders(&gateway);
    let http_method = gw.eval(attribute(method.body(), "http_method").unwrap());
    let authorization = gw.eval(attribute(method.body(), "authorization").unwrap());
    let resource = block(
        &gateway,
        "resource",
        &["aws_api_gateway_resource", "broker"],
    );
    let path = gw.eval(attribute(resource.body(), "path_part").unwrap());
    assert_eq!(
        (http_method, authorization, path),
        (json!("POST"), json!("AWS_IAM"), json!("broker")),
        "the broker's method changed: the API's client posts and signs for AWS_IAM"
    );
    gw.set(
        &["aws_api_gateway_rest_api", "this", "execution_arn"],
        json!(EXECUTION_ARN),
    );
    let output = block(&gateway, "output", &["broker_execute_arn"]);
    let execute_arn = gw.eval(attribute(output.body(), "value").unwrap());
    assert_eq!(execute_arn, json!(format!("{EXECUTION_ARN}/*/POST/broker")));

    let ecs = module("modules/ecs");
    let mut scope = ecs_scope(&ecs);
    assert_grant(
        &mut scope,
        &ecs,
        "invoke_broker",
        &roles_where(Role::calls_broker),
        "execute-api:Invoke",
        execute_arn.as_str().unwrap_or_default(),
    );
    assert_grant(
        &mut scope,
        &ecs,
        "read_ledger",
        &roles_where(Role::reads_ledger),
        "dynamodb:GetItem",
        TABLE_ARN,
    );
}

/// Each role's container gets BROKER_URL exactly when its code calls the broker, PAYMENTS_TABLE
/// exactly when it reads the ledger, and no variable the binary does not read.
#[test]
fn the_task_definitions_set_only_variables_the_binary_reads() {
    let read: BTreeSet<String> = Cli::command()
        .get_arguments()
        .filter_map(|a| a.get_env().and_then(|e| e.to_str()).map(String::from))
        .chain(["AWS_REGION".to_string()]) // read by aws-config
        .collect();
    let ecs = module("modules/ecs");
    let task = block(&ecs, "resource", &["aws_ecs_task_definition", "api"]);
    let definitions = attribute(task.body(), "container_definitions").unwrap();
    for role in Role::value_variants() {
        let mut scope = ecs_scope(&ecs);
        scope.set(&["each", "key"], json!(role.as_str()));
        let containers: Value =
            serde_json::from_str(scope.eval(definitions).as_str().unwrap_or_default()).unwrap();
        let container = &containers[0];
        let mut names: BTreeSet<String> = BTreeSet::new();
        for list in ["environment", "secrets"] {
            for v in container[list].as_array().into_iter().flatten() {
                names.insert(v["name"].as_str().unwrap_or_default().to_string());
            }
        }
        let unknown: Vec<_> = names.difference(&read).collect();
        assert!(
            unknown.is_empty(),
            "terraform sets {unknown:?} for {} but crowdfund-api reads none of them (its variables: {read:?})",
            role.as_str()
        );
        assert_eq!(
            names.contains("BROKER_URL"),
            role.calls_broker(),
            "BROKER_URL for {}",
            role.as_str()
        );
        assert_eq!(
            names.contains("PAYMENTS_TABLE"),
            role.reads_ledger(),
            "PAYMENTS_TABLE for {}",
            role.as_str()
        );
        assert_eq!(container["command"], json!(["--role", role.as_str()]));
    }
}

/// API Gateway's request model refuses at the edge only what the broker refuses too: its string
/// limits are core's rules (a Toss paymentKey, up to 200 characters, passes both).
#[test]
fn the_broker_model_has_the_brokers_limits() {
    use crowdfund_core::rules::{MAX_CARD_TOKEN_LEN, MAX_ID_LEN};
    let gateway = module("modules/apigateway");
    let model = block(
        &gateway,
        "resource",
        &["aws_api_gateway_model", "broker_request"],
    );
    let mut scope = Scope::new();
    scope.set(
        &["var", "destinations"],
        json!(["payment_attempt", "goal_achievement"]),
    );
    let schema: Value = serde_json::from_str(
        scope
            .eval(attribute(model.body(), "schema").unwrap())
            .as_str()
            .unwrap_or_default(),
    )
    .unwrap();
    let max = |field: &str| schema["properties"][field]["maxLength"].as_u64();
    assert_eq!(max("paymentId"), Some(MAX_ID_LEN as u64), "{schema}");
    assert_eq!(max("projectId"), Some(MAX_ID_LEN as u64), "{schema}");
    assert_eq!(max("card"), Some(MAX_CARD_TOKEN_LEN as u64), "{schema}");
}
