//! The seam between the load balancer and the API, tested from both ends against one table.
//!
//! The ALB's HTTPS listener (`terraform/modules/alb`) is read from terraform and simulated: rules
//! in ascending priority, every condition of a rule must hold (path pattern with the ALB's `*`
//! and `?` wildcards, case-sensitive; request method; source CIDR), the first rule that matches
//! wins, else the default action. Each role's real router says whether it serves a request: it
//! is probed in memory behind a route layer that answers a marker status before any handler runs
//! (no database, no broker), and the methods of a matched path come from axum's own 405 `Allow`
//! list. Both are held to `crowdfund_core::http_api::CLIENT_ROUTES`: every client's call lands on
//! a role that serves it, writes only on the read-write role and only from the VPC, and every
//! route the API serves is in the table (or is a health check, which does not pass the listener).

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use clap::ValueEnum;
use crowdfund_api::AppState;
use crowdfund_api::cache::ProjectCache;
use crowdfund_api::config::{Role, Settings};
use crowdfund_api::db::Pools;
use crowdfund_api::store::TermsCache;
use crowdfund_core::http_api::{CLIENT_ROUTES, ClientRoute, Method, Source};
use crowdfund_core::ports::SystemClock;
use crowdfund_testkit::terraform::{self, Scope, attribute, block, blocks};
use hcl::Block;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::Notify;
use tower::ServiceExt;

/// Stand-ins for the NAT gateways' addresses (`internal_source_cidrs`): two, the most the
/// network module makes, so the quota check sees the rules at their fullest.
const NAT_CIDRS: [&str; 2] = ["203.0.113.10/32", "203.0.113.11/32"];
/// A call from the private subnets, as the ALB sees it: from a NAT address.
const VPC_ADDRESS: &str = "203.0.113.11";
/// A call from anywhere else: a backer's browser, the operator's laptop.
const INTERNET_ADDRESS: &str = "198.51.100.7";

/// Routes the API serves that no client calls through the listener: the target groups' health
/// check (`/readyz`) and the liveness probe (`/healthz`) reach each task directly.
const NOT_CLIENT_FACING: [(Method, &str); 2] =
    [(Method::Get, "/healthz"), (Method::Get, "/readyz")];

/// Roles that must never serve a write: funding reads the replica.
const READ_ONLY_ROLES: [Role; 1] = [Role::Funding];
/// Roles only the VPC may write to: funding-rw changes money totals on the primary.
const VPC_ONLY_ROLES: [Role; 1] = [Role::FundingRw];

/// What the probe layer answers for a request whose path has a route (axum runs a route layer
/// only then, for any method of that path).
const SERVED: u16 = 299;
/// A method no route registers: it reaches only a path's method-not-allowed answer.
const PROBE_METHOD: &str = "ROUTE-TABLE-PROBE";

/// The ARN the simulation gives target group `key`, so an action's ARN reads back as a role.
const TARGET_GROUP_ARN: &str = "target-group/";
const LISTENER: &str = "https";

// --- the ALB, from terraform ----------------------------------------------------------------

/// What the listener does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    /// To the target group of this role (its key in `aws_lb_target_group.role`).
    Forward(String),
    /// A fixed response with this status.
    Refuse(u16),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Forward(role) => write!(f, "sends it to {role}"),
            Action::Refuse(status) => write!(f, "refuses it with a fixed {status}"),
        }
    }
}

/// A listener rule condition, by its terraform block name.
#[derive(Debug)]
struct Condition {
    kind: String,
    values: Vec<String>,
}

impl Condition {
    fn holds(&self, method: &str, path: &str, source: IpAddr) -> bool {
        match self.kind.as_str() {
            "path_pattern" => self.values.iter().any(|p| alb_wildcard_match(p, path)),
            "http_request_method" => self.values.iter().any(|m| m == method),
            "source_ip" => self.values.iter().any(|c| cidr_contains(c, source)),
            other => unreachable!("conditions are checked when read; found {other}"),
        }
    }
}

#[derive(Debug)]
struct Rule {
    /// The terraform address, e.g. `aws_lb_listener_rule.funding_rw["POST"]`.
    address: String,
    priority: u64,
    conditions: Vec<Condition>,
    action: Action,
}

struct Listener {
    /// In ascending priority, the order the ALB evaluates them.
    rules: Vec<Rule>,
    default_action: Action,
}

/// The rule that matched (or the default action) and what it does.
struct Decision<'a> {
    rule: String,
    action: &'a Action,
}

impl Listener {
    /// The HTTPS listener of `modules/alb` with `internal_source_cidrs` set to `nat_cidrs`.
    fn from_terraform(nat_cidrs: &[&str]) -> Listener {
        let module = terraform::module("modules/alb");
        let mut scope = Scope::new();
        scope.set(&["var", "internal_source_cidrs"], json!(nat_cidrs));
        scope.variable_defaults(&module).locals(&module);

        let groups = block(&module, "resource", &["aws_lb_target_group", "role"]);
        for instance in instances(&scope, groups) {
            let Some((key, _)) = instance else {
                panic!("aws_lb_target_group.role has no for_each");
            };
            scope.set(
                &["aws_lb_target_group", "role", &key, "arn"],
                json!(format!("{TARGET_GROUP_ARN}{key}")),
            );
        }
        for listener in blocks(&module, "resource", &["aws_lb_listener"]) {
            let name = listener.labels()[1].as_str();
            scope.set(&["aws_lb_listener", name, "arn"], json!(listener_arn(name)));
        }

        let listener = block(&module, "resource", &["aws_lb_listener", LISTENER]);
        let default_action = action(
            &scope,
            &format!("aws_lb_listener.{LISTENER}"),
            listener.body(),
            "default_action",
        );

        let mut rules = Vec::new();
        for resource in blocks(&module, "resource", &["aws_lb_listener_rule"]) {
            let name = resource.labels()[1].as_str();
            for instance in instances(&scope, resource) {
                bind_each(&mut scope, &instance);
                let address = match &instance {
                    Some((key, _)) => format!("aws_lb_listener_rule.{name}[\"{key}\"]"),
                    None => format!("aws_lb_listener_rule.{name}"),
                };
                let body = resource.body();
                let on = attribute(body, "listener_arn")
                    .map(|e| scope.eval(e))
                    .unwrap_or_else(|| panic!("{address} has no listener_arn"));
                if on != json!(listener_arn(LISTENER)) {
                    continue;
                }
                if body.blocks().any(|b| b.identifier() == "dynamic") {
                    panic!("{address} has dynamic blocks, which this simulation does not read");
                }
                let priority = attribute(body, "priority")
                    .map(|e| scope.eval(e))
                    .and_then(|v| v.as_u64())
                    .unwrap_or_else(|| panic!("{address} has no numeric priority"));
                let conditions = blocks(body, "condition", &[])
                    .into_iter()
                    .map(|c| condition(&scope, &address, c))
                    .collect();
                let action = action(&scope, &address, body, "action");
                rules.push(Rule {
                    address,
                    priority,
                    conditions,
                    action,
                });
            }
        }
        bind_each(&mut scope, &None);
        rules.sort_by_key(|r| r.priority);
        Listener {
            rules,
            default_action,
        }
    }

    fn decide(&self, method: Method, path: &str, source: IpAddr) -> Decision<'_> {
        self.rules
            .iter()
            .find(|r| {
                r.conditions
                    .iter()
                    .all(|c| c.holds(method.as_str(), path, source))
            })
            .map_or(
                Decision {
                    rule: "the default action".into(),
                    action: &self.default_action,
                },
                |r| Decision {
                    rule: format!("{} (priority {})", r.address, r.priority),
                    action: &r.action,
                },
            )
    }
}

fn listener_arn(name: &str) -> String {
    format!("listener/{name}")
}

/// A resource's instances: `(each.key, each.value)` per `for_each` item, or one `None` for a
/// resource without `for_each`. The caller binds `each` (see [`bind_each`]) before reading one.
fn instances(scope: &Scope, resource: &Block) -> Vec<Option<(String, Value)>> {
    let body = resource.body();
    if attribute(body, "count").is_some() {
        panic!(
            "{:?} uses count, which this simulation does not read",
            resource.labels()
        );
    }
    let Some(for_each) = attribute(body, "for_each") else {
        return vec![None];
    };
    match scope.eval(for_each) {
        Value::Object(map) => map.into_iter().map(Some).collect(),
        // A set: each.key and each.value are the item.
        Value::Array(set) => set
            .into_iter()
            .map(|v| Some((v.as_str().map_or_else(|| v.to_string(), str::to_string), v)))
            .collect(),
        other => panic!("for_each of {:?} is {other}", resource.labels()),
    }
}

/// Sets `each` for the instance about to be read (`Null` for a resource without `for_each`).
fn bind_each(scope: &mut Scope, instance: &Option<(String, Value)>) {
    let each = match instance {
        Some((key, value)) => json!({"key": key, "value": value}),
        None => Value::Null,
    };
    scope.set(&["each"], each);
}

fn condition(scope: &Scope, address: &str, block: &Block) -> Condition {
    let inner: Vec<&Block> = block.body().blocks().collect();
    let [inner] = inner[..] else {
        panic!(
            "{address}: a condition holds one block, found {}",
            inner.len()
        );
    };
    let kind = inner.identifier().to_string();
    if !["path_pattern", "http_request_method", "source_ip"].contains(&kind.as_str()) {
        panic!("{address}: condition {kind} is not simulated; teach route_table.rs first");
    }
    let values = attribute(inner.body(), "values")
        .map(|e| scope.eval(e))
        .unwrap_or_else(|| panic!("{address}: {kind} has no values"));
    let values = match values {
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => panic!("{address}: {kind} value {other} is not a string"),
            })
            .collect(),
        other => panic!("{address}: {kind} values are {other}, not a list"),
    };
    Condition { kind, values }
}

fn action(scope: &Scope, address: &str, body: &hcl::Body, ident: &str) -> Action {
    let [action] = blocks(body, ident, &[])[..] else {
        panic!("{address}: expected one {ident} block (others are not simulated)");
    };
    let text = |b: &hcl::Body, name: &str| -> String {
        let value = attribute(b, name)
            .map(|e| scope.eval(e))
            .unwrap_or_else(|| panic!("{address}: {ident} has no {name}"));
        match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            other => panic!("{address}: {ident}.{name} is {other}"),
        }
    };
    match text(action.body(), "type").as_str() {
        "forward" => {
            let arn = text(action.body(), "target_group_arn");
            let role = arn.strip_prefix(TARGET_GROUP_ARN).unwrap_or_else(|| {
                panic!("{address}: forwards to {arn}, not one of aws_lb_target_group.role")
            });
            Action::Forward(role.to_string())
        }
        "fixed-response" => {
            let fixed = block(action.body(), "fixed_response", &[]);
            let status = text(fixed.body(), "status_code");
            Action::Refuse(
                status
                    .parse()
                    .unwrap_or_else(|_| panic!("{address}: status_code {status}")),
            )
        }
        other => panic!("{address}: action type {other} is not simulated"),
    }
}

/// ALB path patterns: `*` is any run of characters (slashes too), `?` exactly one; the rest
/// matches itself, case-sensitively, against the whole path.
fn alb_wildcard_match(pattern: &str, path: &str) -> bool {
    let (pattern, path) = (pattern.as_bytes(), path.as_bytes());
    let (mut p, mut t) = (0, 0);
    // The last `*` seen and the path position it has swallowed up to, to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while t < path.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == path[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

fn cidr_contains(cidr: &str, address: IpAddr) -> bool {
    let (network, bits) = cidr
        .split_once('/')
        .unwrap_or_else(|| panic!("source_ip {cidr} is not in CIDR form"));
    let network: IpAddr = network
        .parse()
        .unwrap_or_else(|e| panic!("source_ip {cidr}: {e}"));
    let bits: u32 = bits
        .parse()
        .unwrap_or_else(|e| panic!("source_ip {cidr}: {e}"));
    match (network, address) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

fn address_of(source: Source) -> (IpAddr, &'static str) {
    match source {
        Source::Vpc => (VPC_ADDRESS.parse().unwrap(), "the VPC"),
        Source::Internet => (INTERNET_ADDRESS.parse().unwrap(), "the internet"),
    }
}

// --- the API's routers ----------------------------------------------------------------------

/// What a role's router does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Served,
    NoRoute,
    WrongMethod,
    Other(u16),
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Served => write!(f, "serves it"),
            Answer::NoRoute => write!(f, "answers 404 (no such route)"),
            Answer::WrongMethod => write!(f, "answers 405 (serves the path, not this method)"),
            Answer::Other(status) => write!(f, "answers {status}"),
        }
    }
}

/// Each role's real routes, behind a layer that answers [`SERVED`] instead of any handler.
struct Routers(Vec<(Role, Router)>);

impl Routers {
    fn new() -> Routers {
        Routers(
            Role::value_variants()
                .iter()
                .map(|&role| {
                    let router = crowdfund_api::routes::routes(role)
                        .route_layer(middleware::from_fn(answer_served))
                        .with_state(state_that_never_connects(role));
                    (role, router)
                })
                .collect(),
        )
    }

    fn role(name: &str) -> Option<Role> {
        Role::value_variants()
            .iter()
            .copied()
            .find(|r| r.as_str() == name)
    }

    /// Asks `role`'s router about `method path` in two requests, neither of which runs a handler.
    async fn probe(&self, role: Role, method: Method, path: &str) -> Answer {
        let router = self
            .0
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, router)| router.clone())
            .unwrap();
        // Is there a route for this path? axum runs a route layer on the whole method router of
        // a matched path, its 405 answer included, so the marker says "path", not "method".
        match send(&router, method.as_str(), path).await.status().as_u16() {
            SERVED => {}
            404 => return Answer::NoRoute,
            other => return Answer::Other(other),
        }
        // Which methods? A method no route registers passes the marker and reaches only the
        // method router's own 405, whose Allow header lists the methods the path serves.
        let response = send(&router, PROBE_METHOD, path).await;
        let allow = response
            .headers()
            .get(axum::http::header::ALLOW)
            .and_then(|v| v.to_str().ok());
        match (response.status().as_u16(), allow) {
            (405, Some(allow)) if allow.split(',').any(|m| m.trim() == method.as_str()) => {
                Answer::Served
            }
            (405, Some(_)) => Answer::WrongMethod,
            // A method fallback (`any(...)`) answered: this probe cannot tell what it serves.
            (other, _) => Answer::Other(other),
        }
    }

    /// The roles whose router serves `method path`.
    async fn serving(&self, method: Method, path: &str) -> Vec<Role> {
        let mut roles = Vec::new();
        for (role, _) in &self.0 {
            match self.probe(*role, method, path).await {
                Answer::Served => roles.push(*role),
                Answer::NoRoute | Answer::WrongMethod => {}
                // Not knowing must not read as "not served".
                Answer::Other(status) => panic!(
                    "{}'s router answers {status} to {} {path}; route_table.rs cannot tell \
                     whether it serves it",
                    role.as_str(),
                    method.as_str()
                ),
            }
        }
        roles
    }
}

/// Answers [`SERVED`] in place of the handler; lets [`PROBE_METHOD`] through to axum's 405.
async fn answer_served(request: Request, next: Next) -> Response {
    if request.method().as_str() == PROBE_METHOD {
        return next.run(request).await;
    }
    StatusCode::from_u16(SERVED).unwrap().into_response()
}

async fn send(router: &Router, method: &str, path: &str) -> Response {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    router.clone().oneshot(request).await.unwrap()
}

/// An `AppState` whose pools are lazy and point nowhere: the probe layer answers before any
/// handler could use them.
fn state_that_never_connects(role: Role) -> AppState {
    let url = "mysql://route-table@127.0.0.1:9/never_connected";
    let settings = Settings::new(role, url, url);
    AppState {
        role,
        pools: Pools::connect_lazy(&settings).unwrap(),
        clock: Arc::new(SystemClock),
        ledger: None,
        broker: None,
        outbox_wakeup: Arc::new(Notify::new()),
        project_cache: Arc::new(ProjectCache::new(settings.project_cache_ttl)),
        terms: Arc::new(TermsCache::default()),
    }
}

// --- routes ---------------------------------------------------------------------------------

/// A template with its placeholders' names dropped: `/projects/{id}` (the table) and
/// `/projects/{project_id}` (axum) are one route.
fn shape(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// A request path for a template: placeholders become sample ids.
fn concrete(template: &str) -> String {
    let mut n = 0;
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                n += 1;
                format!("id-{n}")
            } else {
                s.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn describe(route: &ClientRoute) -> String {
    format!(
        "{} {} ({}, from {})",
        route.method.as_str(),
        route.template,
        route.client,
        address_of(route.source).1
    )
}

/// The path literals of every `.route(...)` in the API's source. An axum router cannot list its
/// routes, so this is where a new path is noticed; whether it is served, and by which role and
/// method, is then asked of the routers themselves.
fn paths_registered_in_api_source() -> BTreeSet<String> {
    fn walk(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for unread in [".nest(", ".nest_service(", ".route_service("] {
                assert!(
                    !source.contains(unread),
                    "{} uses {unread}..., whose paths route_table.rs does not read",
                    path.display()
                );
            }
            for (at, _) in source.match_indices(".route(") {
                let rest = source[at + ".route(".len()..].trim_start();
                let literal = rest
                    .strip_prefix('"')
                    .and_then(|r| r.split_once('"'))
                    .map(|(literal, _)| literal)
                    .unwrap_or_else(|| {
                        panic!(
                            "{}: a .route( whose path is not a string literal",
                            path.display()
                        )
                    });
                found.insert(literal.to_string());
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(!found.is_empty(), "no .route( found in the API's source");
    found
}

/// Every path template worth asking the routers about, one per shape: the table's, the
/// probes', then any the source registers that neither names.
fn candidate_templates() -> Vec<String> {
    let mut by_shape = std::collections::BTreeMap::new();
    let listed = CLIENT_ROUTES
        .iter()
        .map(|r| r.template)
        .chain(NOT_CLIENT_FACING.iter().map(|(_, t)| *t))
        .map(str::to_string);
    for template in listed.chain(paths_registered_in_api_source()) {
        by_shape.entry(shape(&template)).or_insert(template);
    }
    by_shape.into_values().collect()
}

fn report(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{what}:\n  - {}\n(the table: crowdfund_core::http_api::CLIENT_ROUTES; the rules: \
         terraform/modules/alb; the routers: api/src/routes.rs)",
        failures.join("\n  - ")
    );
}

// --- tests ----------------------------------------------------------------------------------

#[tokio::test]
async fn every_client_route_reaches_a_role_that_serves_it() {
    let listener = Listener::from_terraform(&NAT_CIDRS);
    let routers = Routers::new();
    assert!(!CLIENT_ROUTES.is_empty(), "the route table is empty");
    let mut failures = Vec::new();
    for route in CLIENT_ROUTES {
        let path = concrete(route.template);
        let (source, _) = address_of(route.source);
        let decision = listener.decide(route.method, &path, source);
        let Action::Forward(role_name) = decision.action else {
            failures.push(format!(
                "{}: {} {}",
                describe(route),
                decision.rule,
                decision.action
            ));
            continue;
        };
        let Some(role) = Routers::role(role_name) else {
            failures.push(format!(
                "{}: {} sends it to target group {role_name}, which is no crowdfund-api role",
                describe(route),
                decision.rule
            ));
            continue;
        };
        let answer = routers.probe(role, route.method, &path).await;
        if answer != Answer::Served {
            failures.push(format!(
                "{}: {} {}, whose router {answer}",
                describe(route),
                decision.rule,
                decision.action
            ));
        }
    }
    report(
        "client routes the load balancer sends to a role that does not serve them",
        &failures,
    );
}

#[tokio::test]
async fn writes_reach_only_the_read_write_role_and_only_from_the_vpc() {
    let listener = Listener::from_terraform(&NAT_CIDRS);
    let routers = Routers::new();
    let (internet, _) = address_of(Source::Internet);
    let mut failures = Vec::new();
    let mut vpc_only_writes = 0;
    for template in candidate_templates() {
        let path = concrete(&template);
        for method in Method::ALL.into_iter().filter(|m| m.is_write()) {
            let route = format!("{} {template}", method.as_str());
            let serving = routers.serving(method, &path).await;
            for role in serving.iter().filter(|r| READ_ONLY_ROLES.contains(r)) {
                failures.push(format!(
                    "{route}: served by {}, a read-only role",
                    role.as_str()
                ));
            }
            let decision = listener.decide(method, &path, internet);
            if let Action::Forward(to) = decision.action
                && VPC_ONLY_ROLES.iter().any(|r| r.as_str() == to)
            {
                failures.push(format!(
                    "{route} from the internet: {} {}, which only the VPC may reach",
                    decision.rule, decision.action
                ));
            }
            // What the VPC-only role serves must be refused outright from outside, not handed
            // to a role that might answer it.
            if serving.iter().any(|r| VPC_ONLY_ROLES.contains(r)) {
                vpc_only_writes += 1;
                if !matches!(decision.action, Action::Refuse(_)) {
                    failures.push(format!(
                        "{route} from the internet: {} {}; a write {} serves must be refused",
                        decision.rule,
                        decision.action,
                        VPC_ONLY_ROLES.map(|r| r.as_str()).join("/")
                    ));
                }
            }
        }
    }
    assert!(
        vpc_only_writes > 0,
        "no write served by a VPC-only role was found, so nothing was checked"
    );
    report("writes that reach the wrong role", &failures);
}

#[tokio::test]
async fn every_served_route_is_in_the_route_table() {
    let routers = Routers::new();
    let listed: BTreeSet<(&str, String)> = CLIENT_ROUTES
        .iter()
        .map(|r| (r.method.as_str(), shape(r.template)))
        .chain(
            NOT_CLIENT_FACING
                .iter()
                .map(|(m, t)| (m.as_str(), shape(t))),
        )
        .collect();
    let mut served = BTreeSet::new();
    let mut failures = Vec::new();
    for template in candidate_templates() {
        let path = concrete(&template);
        for method in Method::ALL {
            for role in routers.serving(method, &path).await {
                let route = (method.as_str(), shape(&template));
                if !listed.contains(&route) {
                    failures.push(format!(
                        "{} serves {} {template}, which is neither in CLIENT_ROUTES nor \
                         NOT_CLIENT_FACING: decide who calls it, from where, and where the ALB \
                         sends it",
                        role.as_str(),
                        method.as_str()
                    ));
                }
                served.insert(route);
            }
        }
    }
    for (method, template) in NOT_CLIENT_FACING {
        if !served.contains(&(method.as_str(), shape(template))) {
            failures.push(format!(
                "NOT_CLIENT_FACING lists {} {template}, which no role serves",
                method.as_str()
            ));
        }
    }
    report("routes served but not in the route table", &failures);
}

/// Limits the ALB enforces only when terraform applies (a plan passes): at least one condition
/// and at most one of each kind per rule, 1 to 3 values per condition, 5 condition values and 5
/// wildcards per rule, and no two rules of a listener at one priority.
#[test]
fn listener_rules_fit_the_alb_quotas() {
    let listener = Listener::from_terraform(&NAT_CIDRS);
    assert!(!listener.rules.is_empty(), "the listener has no rules");
    let mut failures = Vec::new();
    let mut priorities = BTreeSet::new();
    for rule in &listener.rules {
        let at = format!("{} (priority {})", rule.address, rule.priority);
        if !priorities.insert(rule.priority) || !(1..=50_000).contains(&rule.priority) {
            failures.push(format!("{at}: priority taken or outside 1..=50000"));
        }
        if rule.conditions.is_empty() {
            failures.push(format!("{at}: no conditions (a rule needs at least one)"));
        }
        let kinds: BTreeSet<&str> = rule.conditions.iter().map(|c| c.kind.as_str()).collect();
        if kinds.len() != rule.conditions.len() {
            failures.push(format!("{at}: two conditions of one kind"));
        }
        for c in &rule.conditions {
            if c.values.is_empty() || c.values.len() > 3 {
                failures.push(format!(
                    "{at}: {} has {} values (1 to 3)",
                    c.kind,
                    c.values.len()
                ));
            }
        }
        let values: usize = rule.conditions.iter().map(|c| c.values.len()).sum();
        if values > 5 {
            failures.push(format!("{at}: {values} condition values (at most 5)"));
        }
        let wildcards: usize = rule
            .conditions
            .iter()
            .filter(|c| c.kind == "path_pattern")
            .flat_map(|c| &c.values)
            .map(|p| p.matches(['*', '?']).count())
            .sum();
        if wildcards > 5 {
            failures.push(format!("{at}: {wildcards} wildcards (at most 5)"));
        }
    }
    report("listener rules the ALB would refuse", &failures);
}

/// The simulation's matching, against the ALB's documented semantics.
#[test]
fn simulated_alb_matches_paths_and_sources_as_documented() {
    assert!(alb_wildcard_match("/projects", "/projects"));
    assert!(!alb_wildcard_match("/projects", "/projects/"));
    assert!(!alb_wildcard_match("/projects/*", "/projects"));
    assert!(alb_wildcard_match("/projects/*", "/projects/"));
    assert!(alb_wildcard_match("/projects/*", "/projects/a/fundings/b"));
    assert!(!alb_wildcard_match("/projects/*", "/Projects/a"));
    assert!(alb_wildcard_match("/payments*", "/paymentsX"));
    assert!(alb_wildcard_match("/p?y", "/pay"));
    assert!(!alb_wildcard_match("/p?y", "/py"));
    assert!(alb_wildcard_match("/a*b*c", "/aXbYbZc"));
    assert!(!alb_wildcard_match("/a*b*c", "/aXbYbZ"));

    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert!(cidr_contains("203.0.113.10/32", ip("203.0.113.10")));
    assert!(!cidr_contains("203.0.113.10/32", ip("203.0.113.11")));
    assert!(cidr_contains("10.0.0.0/8", ip("10.200.1.2")));
    assert!(cidr_contains("0.0.0.0/0", ip("198.51.100.7")));
    assert!(!cidr_contains("10.0.0.0/8", ip("2001:db8::1")));
    assert!(cidr_contains("2001:db8::/32", ip("2001:db8::1")));
    assert!(NAT_CIDRS.iter().any(|c| cidr_contains(c, ip(VPC_ADDRESS))));
    assert!(
        !NAT_CIDRS
            .iter()
            .any(|c| cidr_contains(c, ip(INTERNET_ADDRESS)))
    );
}
