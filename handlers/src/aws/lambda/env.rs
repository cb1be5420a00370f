//! The function's configuration as terraform sets it (`terraform/modules/lambdas`), read and
//! checked at start-up; each refusal names the variable to fix.

use crate::aws::ConfigError;
use crowdfund_core::metrics::NAMESPACE;
use crowdfund_core::topology::INDEX_PROJECT_PAID_AT;
use std::collections::HashMap;

/// Why a function cannot start. Each names the variable (or setting) to fix.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "environment variable {var} is not set; function {function} needs it (terraform/modules/lambdas sets it)"
    )]
    Missing {
        var: &'static str,
        function: &'static str,
    },
    #[error("environment variable {var} is not a JSON object of names to strings: {detail}")]
    BadMap { var: &'static str, detail: String },
    #[error(
        "environment variable {var} has no entry for {name}; function {function} publishes there (add it to the function's grants in terraform/modules/lambdas)"
    )]
    MissingEntry {
        var: &'static str,
        name: &'static str,
        function: &'static str,
    },
    #[error(
        "this is the {binary} binary but CROWDFUND_FUNCTION says {configured}: deploy {configured}.zip to this function"
    )]
    WrongFunction {
        binary: &'static str,
        configured: String,
    },
    #[error(
        "PAYMENTS_INDEX is {0:?}, but the ledger queries the index {INDEX_PROJECT_PAID_AT:?}; align terraform's table with crowdfund_core::topology"
    )]
    WrongIndex(String),
    #[error(
        "PAYMENT_GATEWAY=sandbox with CROWDFUND_STAGE={stage}: the sandbox charges nothing; set PAYMENT_GATEWAY=toss (and PSP_SECRET_ARN) for this stage"
    )]
    SandboxInProduction { stage: String },
    #[error(
        "PAYMENT_GATEWAY is {0:?}; it must be `sandbox` (test stages) or `toss` (Toss Payments)"
    )]
    UnknownGateway(String),
    #[error("the Toss gateway cannot start: {0}")]
    Toss(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot build the HTTP client for {what}: {source}")]
    Http {
        what: &'static str,
        source: reqwest::Error,
    },
}

/// The function's configuration, as terraform sets it. Empty values count as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LambdaEnv {
    pub function: &'static str,
    pub topic_arns: HashMap<String, String>,
    pub queue_urls: HashMap<String, String>,
    pub payments_table: Option<String>,
    pub metrics_namespace: String,
    pub ses_from_address: Option<String>,
    pub funding_api_url: Option<String>,
    pub discord_webhook_secret_arn: Option<String>,
    /// `sandbox` or `toss` (pg only).
    pub payment_gateway: Option<String>,
    /// The deployment's stage (`dev`, `staging`, `prod`); prod refuses the sandbox gateway.
    pub stage: Option<String>,
    pub psp_secret_arn: Option<String>,
    pub psp_base_url: Option<String>,
}

/// Which payment gateway pg charges through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayChoice {
    /// Test cards, charges in the payments table.
    Sandbox,
    /// Toss Payments, the secret key in Secrets Manager.
    Toss,
}

/// The stage names that move real money: the sandbox may not run there.
pub const PRODUCTION_STAGES: &[&str] = &["prod", "production"];

impl LambdaEnv {
    /// Reads the process environment.
    pub fn from_env(function: &'static str) -> Result<Self, SetupError> {
        LambdaEnv::from_lookup(function, |var| std::env::var(var).ok())
    }

    /// Reads variables through `get` (the process environment, or a map in tests).
    pub fn from_lookup(
        function: &'static str,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SetupError> {
        let get = |var: &str| get(var).filter(|v| !v.trim().is_empty());
        if let Some(configured) = get("CROWDFUND_FUNCTION")
            && configured != function
        {
            return Err(SetupError::WrongFunction {
                binary: function,
                configured,
            });
        }
        if let Some(index) = get("PAYMENTS_INDEX")
            && index != INDEX_PROJECT_PAID_AT
        {
            return Err(SetupError::WrongIndex(index));
        }
        Ok(LambdaEnv {
            function,
            topic_arns: name_map("TOPIC_ARNS", get("TOPIC_ARNS"))?,
            queue_urls: name_map("QUEUE_URLS", get("QUEUE_URLS"))?,
            payments_table: get("PAYMENTS_TABLE"),
            metrics_namespace: get("METRICS_NAMESPACE").unwrap_or_else(|| NAMESPACE.to_string()),
            ses_from_address: get("SES_FROM_ADDRESS"),
            funding_api_url: get("FUNDING_API_URL"),
            discord_webhook_secret_arn: get("DISCORD_WEBHOOK_SECRET_ARN"),
            payment_gateway: get("PAYMENT_GATEWAY"),
            stage: get("CROWDFUND_STAGE"),
            psp_secret_arn: get("PSP_SECRET_ARN"),
            psp_base_url: get("PSP_BASE_URL"),
        })
    }

    /// The gateway `PAYMENT_GATEWAY` names; the sandbox is refused on a production stage.
    pub fn gateway_choice(&self) -> Result<GatewayChoice, SetupError> {
        let name = self.require("PAYMENT_GATEWAY", &self.payment_gateway)?;
        match name.trim().to_ascii_lowercase().as_str() {
            "toss" => Ok(GatewayChoice::Toss),
            "sandbox" => match &self.stage {
                Some(stage)
                    if PRODUCTION_STAGES.contains(&stage.trim().to_ascii_lowercase().as_str()) =>
                {
                    Err(SetupError::SandboxInProduction {
                        stage: stage.clone(),
                    })
                }
                _ => Ok(GatewayChoice::Sandbox),
            },
            _ => Err(SetupError::UnknownGateway(name.to_string())),
        }
    }

    pub(super) fn require<'a>(
        &self,
        var: &'static str,
        value: &'a Option<String>,
    ) -> Result<&'a str, SetupError> {
        value.as_deref().ok_or(SetupError::Missing {
            var,
            function: self.function,
        })
    }

    /// Every topic the function publishes to must have its ARN: a Lambda may not list topics.
    pub(super) fn require_topics(&self, topics: &[&'static str]) -> Result<(), SetupError> {
        match topics.iter().find(|t| !self.topic_arns.contains_key(**t)) {
            Some(name) => Err(SetupError::MissingEntry {
                var: "TOPIC_ARNS",
                name,
                function: self.function,
            }),
            None => Ok(()),
        }
    }
}

fn name_map(
    var: &'static str,
    value: Option<String>,
) -> Result<HashMap<String, String>, SetupError> {
    match value {
        None => Ok(HashMap::new()),
        Some(v) => serde_json::from_str(&v).map_err(|e| SetupError::BadMap {
            var,
            detail: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crowdfund_core::topology::{FN_PG, TOPIC_SEND_EMAIL};

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// Terraform's variables are read as it writes them: JSON maps, empty values as unset.
    #[test]
    fn reads_terraforms_environment() {
        let env = LambdaEnv::from_lookup(
            FN_PG,
            env_of(&[
                ("CROWDFUND_FUNCTION", "pg"),
                (
                    "TOPIC_ARNS",
                    r#"{"send_email":"arn:aws:sns:r:1:send_email"}"#,
                ),
                ("QUEUE_URLS", "{}"),
                ("PAYMENTS_TABLE", "payments"),
                ("PAYMENTS_INDEX", "project_paid_at"),
                ("METRICS_NAMESPACE", "Crowdfund"),
                ("FUNDING_API_URL", ""),
            ]),
        )
        .unwrap();
        assert_eq!(env.topic_arns["send_email"], "arn:aws:sns:r:1:send_email");
        assert!(env.queue_urls.is_empty());
        assert_eq!(env.payments_table.as_deref(), Some("payments"));
        assert_eq!(env.funding_api_url, None);
    }

    /// PAYMENT_GATEWAY picks the gateway; prod refuses the sandbox naming both variables.
    #[test]
    fn the_gateway_is_chosen_by_configuration_and_prod_refuses_the_sandbox() {
        let choice = |pairs: &[(&str, &str)]| {
            LambdaEnv::from_lookup(FN_PG, env_of(pairs))
                .unwrap()
                .gateway_choice()
        };
        assert_eq!(
            choice(&[("PAYMENT_GATEWAY", "sandbox"), ("CROWDFUND_STAGE", "dev")]).unwrap(),
            GatewayChoice::Sandbox
        );
        assert_eq!(
            choice(&[("PAYMENT_GATEWAY", "toss"), ("CROWDFUND_STAGE", "prod")]).unwrap(),
            GatewayChoice::Toss
        );
        let refused = choice(&[("PAYMENT_GATEWAY", "sandbox"), ("CROWDFUND_STAGE", "prod")])
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("PAYMENT_GATEWAY=sandbox") && refused.contains("CROWDFUND_STAGE=prod"),
            "{refused}"
        );
        let missing = choice(&[]).unwrap_err().to_string();
        assert!(missing.contains("PAYMENT_GATEWAY is not set"), "{missing}");
        let unknown = choice(&[("PAYMENT_GATEWAY", "stripe")])
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("\"stripe\""), "{unknown}");
    }

    /// A zip deployed to the wrong function, a foreign index or a malformed map stop the
    /// function at start-up with the variable named.
    #[test]
    fn refuses_a_wrong_environment_naming_the_variable() {
        let wrong = LambdaEnv::from_lookup(FN_PG, env_of(&[("CROWDFUND_FUNCTION", "broker")]));
        assert!(wrong.unwrap_err().to_string().contains("deploy broker.zip"));
        let index = LambdaEnv::from_lookup(FN_PG, env_of(&[("PAYMENTS_INDEX", "by_project")]));
        assert!(index.unwrap_err().to_string().contains("PAYMENTS_INDEX"));
        let map = LambdaEnv::from_lookup(FN_PG, env_of(&[("TOPIC_ARNS", "[1]")]));
        assert!(map.unwrap_err().to_string().contains("TOPIC_ARNS"));
        let env = LambdaEnv::from_lookup(FN_PG, env_of(&[])).unwrap();
        let missing = env.require_topics(&[TOPIC_SEND_EMAIL]).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("TOPIC_ARNS has no entry for send_email")
        );
        let table = env
            .require("PAYMENTS_TABLE", &env.payments_table)
            .unwrap_err();
        assert!(
            table
                .to_string()
                .contains("PAYMENTS_TABLE is not set; function pg")
        );
    }
}
