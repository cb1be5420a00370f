//! Terraform read as data, for the tests that hold the code and terraform to one another.
//!
//! A module is all its `*.tf` files parsed into one HCL body (no terraform binary). Expressions
//! are evaluated with hcl-rs against a [`Scope`] the test fills in (`var`, `local`, `data`, `each`
//! and resource attributes as test ARNs), so an IAM policy document renders to the JSON AWS would
//! get, with the test's ARNs in it. Anything the scope lacks fails the test, naming it.

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::{Block, Body, Expression, Value};
use serde_json::{Map, json};
use std::path::{Path, PathBuf};

/// The repository's `terraform/` directory.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../terraform")
}

/// Every `*.tf` file of `terraform/<relative>` as one body (`""` is the root module).
pub fn module(relative: &str) -> Body {
    let path = dir().join(relative);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tf"))
        .collect();
    files.sort();
    let mut structures = Vec::new();
    for file in files {
        let src = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let body: Body =
            hcl::parse(&src).unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
        structures.extend(body.into_inner());
    }
    Body::from(structures)
}

/// The blocks `ident "label0" "label1" ...` whose first labels are `labels`.
pub fn blocks<'a>(body: &'a Body, ident: &str, labels: &[&str]) -> Vec<&'a Block> {
    body.blocks()
        .filter(|b| b.identifier() == ident)
        .filter(|b| {
            labels
                .iter()
                .zip(b.labels())
                .all(|(want, have)| *want == have.as_str())
                && b.labels().len() >= labels.len()
        })
        .collect()
}

/// The one block `ident "labels"...`, or a failure naming it.
pub fn block<'a>(body: &'a Body, ident: &str, labels: &[&str]) -> &'a Block {
    match blocks(body, ident, labels)[..] {
        [one] => one,
        ref found => panic!(
            "expected one {ident} {labels:?} in terraform, found {}",
            found.len()
        ),
    }
}

pub fn attribute<'a>(body: &'a Body, name: &str) -> Option<&'a Expression> {
    body.attributes()
        .find(|a| a.key() == name)
        .map(|a| a.expr())
}

/// The names a scope resolves: `var`, `local`, `data`, `each`, and resource types, each an
/// object the test fills. Unset names fail evaluation with hcl's "undefined variable".
pub struct Scope {
    roots: Map<String, serde_json::Value>,
}

impl Default for Scope {
    fn default() -> Self {
        Scope::new()
    }
}

impl Scope {
    pub fn new() -> Self {
        Scope { roots: Map::new() }
    }

    /// Sets `root.path...` (e.g. `set(&["var", "table_arn"], json!("arn:..."))`).
    pub fn set(&mut self, path: &[&str], value: serde_json::Value) -> &mut Self {
        let mut node = self
            .roots
            .entry(path[0].to_string())
            .or_insert_with(|| json!({}));
        for key in &path[1..] {
            if !node.is_object() {
                *node = json!({});
            }
            node = node
                .as_object_mut()
                .map(|o| o.entry(key.to_string()).or_insert_with(|| json!({})))
                .unwrap_or_else(|| unreachable!("made an object above"));
        }
        *node = value;
        self
    }

    /// The `aws_partition`, `aws_region` and `aws_caller_identity` data sources (`current`).
    pub fn aws_account(&mut self, region: &str, account: &str) -> &mut Self {
        self.set(
            &["data", "aws_partition", "current", "partition"],
            json!("aws"),
        )
        .set(&["data", "aws_region", "current", "name"], json!(region))
        .set(
            &["data", "aws_caller_identity", "current", "account_id"],
            json!(account),
        )
    }

    /// Every variable's `default` in `body`, under `var`, unless set already.
    pub fn variable_defaults(&mut self, body: &Body) -> &mut Self {
        for v in blocks(body, "variable", &[]) {
            let name = v.labels()[0].as_str();
            let already = self.roots.get("var").and_then(|o| o.get(name)).is_some();
            if let (false, Some(default)) = (already, attribute(v.body(), "default")) {
                let value = self.eval(default);
                self.set(&["var", name], value);
            }
        }
        self
    }

    /// Every variable without a default (and not set already) as the string `var.<name>`: for
    /// reading what a module does with a value, when the value itself does not matter.
    pub fn variable_placeholders(&mut self, body: &Body) -> &mut Self {
        for v in blocks(body, "variable", &[]) {
            let name = v.labels()[0].as_str();
            let already = self.roots.get("var").and_then(|o| o.get(name)).is_some();
            if !already && attribute(v.body(), "default").is_none() {
                self.set(&["var", name], json!(format!("var.{name}")));
            }
        }
        self
    }

    /// Evaluates the module's `locals` (in as many passes as their references need).
    pub fn locals(&mut self, body: &Body) -> &mut Self {
        let attrs: Vec<_> = blocks(body, "locals", &[])
            .into_iter()
            .flat_map(|b| b.body().attributes())
            .collect();
        for _ in 0..=attrs.len() {
            for a in &attrs {
                if let Ok(value) = self.try_eval(a.expr()) {
                    self.set(&["local", a.key()], value);
                }
            }
        }
        self
    }

    fn context(&self) -> Context<'static> {
        let mut ctx = Context::new();
        for (name, value) in &self.roots {
            ctx.declare_var(name.as_str(), to_hcl(value));
        }
        ctx.declare_func(
            "length",
            FuncDef::builder().param(ParamType::Any).build(length),
        );
        ctx.declare_func(
            "tostring",
            FuncDef::builder().param(ParamType::Any).build(tostring),
        );
        ctx.declare_func(
            "toset",
            FuncDef::builder().param(ParamType::Any).build(toset),
        );
        ctx.declare_func(
            "contains",
            FuncDef::builder()
                .params([ParamType::Any, ParamType::Any])
                .build(contains),
        );
        ctx.declare_func(
            "concat",
            FuncDef::builder()
                .variadic_param(ParamType::Any)
                .build(concat),
        );
        ctx.declare_func(
            "values",
            FuncDef::builder().param(ParamType::Any).build(values),
        );
        ctx.declare_func("keys", FuncDef::builder().param(ParamType::Any).build(keys));
        ctx.declare_func(
            "jsonencode",
            FuncDef::builder().param(ParamType::Any).build(jsonencode),
        );
        ctx
    }

    pub fn try_eval(&self, expr: &Expression) -> Result<serde_json::Value, String> {
        let value = expr.evaluate(&self.context()).map_err(|e| e.to_string())?;
        serde_json::to_value(value).map_err(|e| e.to_string())
    }

    /// The expression's value, or a failure naming the expression and what is missing.
    pub fn eval(&self, expr: &Expression) -> serde_json::Value {
        self.try_eval(expr)
            .unwrap_or_else(|e| panic!("cannot evaluate terraform expression `{expr}`: {e}"))
    }

    /// An `aws_iam_policy_document` block rendered to IAM's JSON: `statement` blocks and
    /// `dynamic "statement"` blocks (their `for_each` evaluated, `<name>.value` bound per item).
    /// `source_policy_documents` are merged in first (set their `.json` in the scope).
    pub fn policy_document(&mut self, document: &Block) -> serde_json::Value {
        let mut statements = Vec::new();
        if let Some(sources) = attribute(document.body(), "source_policy_documents") {
            for source in self.eval(sources).as_array().into_iter().flatten() {
                let doc: serde_json::Value = serde_json::from_str(source.as_str().unwrap_or(""))
                    .unwrap_or_else(|e| panic!("source policy document is not JSON: {e}"));
                statements.extend(doc["Statement"].as_array().cloned().unwrap_or_default());
            }
        }
        for b in document.body().blocks() {
            match (b.identifier(), b.labels().first().map(|l| l.as_str())) {
                ("statement", _) => statements.push(self.statement(b.body())),
                ("dynamic", Some("statement")) => {
                    let items = attribute(b.body(), "for_each")
                        .map(|e| self.eval(e))
                        .unwrap_or_else(|| json!([]));
                    let items: Vec<serde_json::Value> = match items {
                        serde_json::Value::Array(a) => a,
                        serde_json::Value::Object(o) => o.into_values().collect(),
                        other => panic!("dynamic statement for_each is {other}"),
                    };
                    let content = block(b.body(), "content", &[]);
                    for item in items {
                        self.set(&["statement", "value"], item);
                        statements.push(self.statement(content.body()));
                    }
                    self.roots.remove("statement");
                }
                _ => {}
            }
        }
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    fn statement(&self, body: &Body) -> serde_json::Value {
        let mut s = Map::new();
        if let Some(sid) = attribute(body, "sid") {
            s.insert("Sid".into(), self.eval(sid));
        }
        let effect = attribute(body, "effect")
            .map(|e| self.eval(e))
            .unwrap_or_else(|| json!("Allow"));
        s.insert("Effect".into(), effect);
        for (attr, key) in [("actions", "Action"), ("resources", "Resource")] {
            if let Some(e) = attribute(body, attr) {
                s.insert(key.into(), self.eval(e));
            }
        }
        let mut conditions = Map::new();
        for c in body.blocks().filter(|b| b.identifier() == "condition") {
            let field = |name: &str| {
                attribute(c.body(), name)
                    .map(|e| self.eval(e))
                    .unwrap_or_else(|| panic!("a policy condition without {name}"))
            };
            let (test, variable) = (field("test"), field("variable"));
            let entry = conditions
                .entry(test.as_str().unwrap_or_default().to_string())
                .or_insert_with(|| json!({}));
            entry[variable.as_str().unwrap_or_default()] = field("values");
        }
        if !conditions.is_empty() {
            s.insert("Condition".into(), serde_json::Value::Object(conditions));
        }
        serde_json::Value::Object(s)
    }
}

fn to_hcl(value: &serde_json::Value) -> Value {
    hcl::to_value(value).unwrap_or(Value::Null)
}

fn length(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Array(a) => Ok(Value::from(a.len() as u64)),
        Value::Object(o) => Ok(Value::from(o.len() as u64)),
        Value::String(s) => Ok(Value::from(s.chars().count() as u64)),
        other => Err(format!("length of {other:?}")),
    }
}

/// A map's keys in order (terraform's `keys`).
fn keys(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Ok(Value::Array(
                keys.into_iter().map(|k| Value::String(k.clone())).collect(),
            ))
        }
        other => Err(format!("keys of {other:?}")),
    }
}

/// A map's values in key order (terraform's `values`).
fn values(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Ok(Value::Array(
                keys.into_iter().filter_map(|k| o.get(k).cloned()).collect(),
            ))
        }
        other => Err(format!("values of {other:?}")),
    }
}

fn jsonencode(args: FuncArgs) -> Result<Value, String> {
    serde_json::to_string(&args[0])
        .map(Value::String)
        .map_err(|e| e.to_string())
}

fn toset(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Array(a) => {
            let mut out: Vec<Value> = Vec::new();
            for v in a {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        other => Err(format!("toset of {other:?}")),
    }
}

fn contains(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Array(a) => Ok(Value::Bool(a.contains(&args[1]))),
        other => Err(format!("contains on {other:?}")),
    }
}

fn concat(args: FuncArgs) -> Result<Value, String> {
    let mut out = Vec::new();
    for list in args.iter() {
        match list {
            Value::Array(a) => out.extend(a.iter().cloned()),
            other => return Err(format!("concat of {other:?}")),
        }
    }
    Ok(Value::Array(out))
}

fn tostring(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::String(s) => Ok(Value::String(s.clone())),
        Value::Number(n) => Ok(Value::String(n.to_string())),
        Value::Bool(b) => Ok(Value::String(b.to_string())),
        other => Err(format!("tostring of {other:?}")),
    }
}
