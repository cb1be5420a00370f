//! CloudWatch dashboards, alarms and stakeholder charts for crowdfund, generated from the
//! topology and the metric definitions in `crowdfund-core`, so a queue or function added there
//! appears here without anyone editing JSON by hand.
//!
//! - [`grid`]: places widgets on CloudWatch's 24-column grid.
//! - [`widgets`]: metric, expression and text widgets in PutDashboard's form.
//! - [`ops`]: the on-call dashboard (queues, DLQ, Lambdas, ECS, ALB, RDS, DynamoDB, API Gateway,
//!   with the runbook beside the graphs).
//! - [`stakeholders`]: one progress row per project (goal %, backers, days left, projection),
//!   then payments, amounts and success rate.
//! - [`alarms`]: PutMetricAlarm and PutCompositeAlarm requests (camelCase, as terraform's
//!   monitoring module reads them), each linking to its place in the console.
//! - [`metric_math`]: the widgets' metric math evaluated over a metric history, so the PNG
//!   report and the tests compute a project's figures by the dashboard's own expressions.
//! - [`diff`]: what a deploy changes, widget by widget and alarm by alarm.
//! - [`deploy`]: `dashboards deploy` over the `DashboardStore` port: read what is deployed, plan
//!   the puts, show them, apply them.
//! - [`validate`]: the limits PutDashboard and PutMetricAlarm enforce, checked before deploying.
//! - [`report`]: plotters charts (PNG or SVG) from a metric history.
//! - [`source`]: that history from CloudWatch (which GetMetricData queries, and their answers),
//!   read over the `MetricReader` port.

pub mod alarms;
pub mod deploy;
pub mod diff;
pub mod grid;
pub mod metric_math;
pub mod ops;
pub mod report;
pub mod source;
pub mod stakeholders;
pub mod validate;
pub mod widgets;

use crowdfund_core::domain::Project;
use std::path::{Path, PathBuf};

/// Where and for whom the dashboards are generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub region: String,
    /// Environment (dev, prod): part of resource names such as the ECS cluster.
    pub env: String,
    /// Project prefix of resource names (`crowdfund`), as terraform's `var.project`.
    pub project: String,
}

impl Target {
    pub fn new(region: &str, env: &str) -> Self {
        Target {
            region: region.to_string(),
            env: env.to_string(),
            project: "crowdfund".to_string(),
        }
    }

    /// `crowdfund-dev`: the name terraform gives the ECS cluster, the ALB and the database.
    pub fn stack(&self) -> String {
        format!("{}-{}", self.project, self.env)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("generated {file} is not valid: {problems}")]
    Invalid {
        file: &'static str,
        problems: String,
    },
}

/// The generated, validated dashboards and alarms of one target.
#[derive(Debug, Clone)]
pub struct Generated {
    pub ops: serde_json::Value,
    pub stakeholders: serde_json::Value,
    /// PutMetricAlarm requests in the `alarms.json` shape.
    pub alarms: Vec<serde_json::Value>,
    /// PutCompositeAlarm requests in the `composite-alarms.json` shape.
    pub composite_alarms: Vec<serde_json::Value>,
}

impl Generated {
    /// (dashboard name, body), named as terraform's monitoring module names them.
    pub fn dashboards(&self, target: &Target) -> [(String, &serde_json::Value); 2] {
        [
            (target.dashboard_name("ops"), &self.ops),
            (target.dashboard_name("stakeholders"), &self.stakeholders),
        ]
    }
}

impl Target {
    /// `crowdfund-dev-ops`, as terraform's monitoring module names the dashboard.
    pub fn dashboard_name(&self, kind: &str) -> String {
        format!("{}-{kind}", self.stack())
    }

    /// What every generated alarm's name starts with: `crowdfund-dev-`.
    pub fn alarm_prefix(&self) -> String {
        format!("{}-", self.stack())
    }
}

/// Generates the dashboards (the stakeholders' with a row per project in `projects`) and the
/// alarms, and checks them against CloudWatch's limits.
pub fn generate(target: &Target, projects: &[Project]) -> Result<Generated, GenerateError> {
    let generated = Generated {
        ops: ops::dashboard(target),
        stakeholders: stakeholders::dashboard(target, projects),
        alarms: alarms::alarms(target),
        composite_alarms: alarms::composite_alarms(target),
    };
    for (file, body) in [
        ("ops.json", &generated.ops),
        ("stakeholders.json", &generated.stakeholders),
    ] {
        validate::dashboard(body).map_err(|p| GenerateError::Invalid {
            file,
            problems: p.join("; "),
        })?;
    }
    validate::alarms(&serde_json::Value::Array(generated.alarms.clone())).map_err(|p| {
        GenerateError::Invalid {
            file: "alarms.json",
            problems: p.join("; "),
        }
    })?;
    validate::composite_alarms(&generated.composite_alarms, &generated.alarms).map_err(|p| {
        GenerateError::Invalid {
            file: "composite-alarms.json",
            problems: p.join("; "),
        }
    })?;
    Ok(generated)
}

/// Writes `ops.json`, `stakeholders.json`, `alarms.json` and `composite-alarms.json` into
/// `dir`, after validating them.
pub fn write_all(
    dir: &Path,
    target: &Target,
    projects: &[Project],
) -> Result<Vec<PathBuf>, GenerateError> {
    let Generated {
        ops,
        stakeholders,
        alarms,
        composite_alarms,
    } = generate(target, projects)?;
    std::fs::create_dir_all(dir).map_err(|source| GenerateError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let mut written = Vec::new();
    for (file, body) in [
        ("ops.json", ops),
        ("stakeholders.json", stakeholders),
        ("alarms.json", serde_json::Value::Array(alarms)),
        (
            "composite-alarms.json",
            serde_json::Value::Array(composite_alarms),
        ),
    ] {
        let path = dir.join(file);
        let text = serde_json::to_string_pretty(&body).unwrap_or_default() + "\n";
        std::fs::write(&path, text).map_err(|source| GenerateError::Write {
            path: path.display().to_string(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}
