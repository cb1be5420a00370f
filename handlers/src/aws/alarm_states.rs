//! The [`AlarmStates`] port over CloudWatch: the alarms in ALARM state, for the console's
//! health view.
//!
//! One DescribeAlarms listing (every page, at most [`PAGE_SIZE`] alarms a request) with the
//! name prefix, `StateValue=ALARM` and both alarm types: without `AlarmTypes` CloudWatch
//! returns only metric alarms.

use super::cloudwatch::CloudWatch;
use super::port_error;
use async_trait::async_trait;
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{AlarmType, CompositeAlarm, MetricAlarm, StateValue};
use crowdfund_core::domain::Timestamp;
use crowdfund_core::ports::{AlarmStates, FiringAlarm, PortError, PortResult};

const SERVICE: &str = "CloudWatch";
/// DescribeAlarms returns at most this many alarms a page (its `MaxRecords` limit).
pub const PAGE_SIZE: i32 = 100;

#[async_trait]
impl AlarmStates for CloudWatch {
    async fn firing_alarms(&self, prefix: &str) -> PortResult<Vec<FiringAlarm>> {
        let what = format!("DescribeAlarms {prefix}* in ALARM");
        let pages = self
            .client
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .state_value(StateValue::Alarm)
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .max_records(PAGE_SIZE)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| {
                if e.code().is_some_and(is_access_denied) {
                    // AWS's own message names the caller and the policy that denied it.
                    let why = e.message().unwrap_or("access denied");
                    PortError::Rejected(format!(
                        "{SERVICE}: {what}: not allowed ({why}); the console needs \
                         cloudwatch:DescribeAlarms on alarms {prefix}*, which terraform's \
                         console_read_only_operator_policy_arn and console_operator_policy_arn \
                         grant"
                    ))
                } else {
                    port_error(SERVICE, &what, e)
                }
            })?;
        // The state is checked again: moto ignores StateValue next to AlarmNamePrefix, and an
        // alarm that is not firing must never show as one.
        let metric = pages
            .iter()
            .flat_map(|p| p.metric_alarms())
            .filter(|a| a.state_value() == Some(&StateValue::Alarm))
            .map(from_metric);
        let composite = pages
            .iter()
            .flat_map(|p| p.composite_alarms())
            .filter(|a| a.state_value() == Some(&StateValue::Alarm))
            .map(from_composite);
        let mut out: Vec<FiringAlarm> = metric.chain(composite).collect();
        // Longest firing first, then by name: a stable order between refreshes.
        out.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.name.cmp(&b.name)));
        Ok(out)
    }
}

fn is_access_denied(code: &str) -> bool {
    code.starts_with("AccessDenied") || code == "UnauthorizedOperation"
}

/// When the state last changed (into ALARM, since it is in ALARM now). CloudWatch's
/// `StateTransitionedTimestamp`; `StateUpdatedTimestamp` (which moves with the reason too)
/// where it is absent, as on moto.
fn since(transitioned: Option<&DateTime>, updated: Option<&DateTime>) -> Option<Timestamp> {
    transitioned
        .or(updated)
        .and_then(|t| Timestamp::from_timestamp(t.secs(), t.subsec_nanos()))
}

fn text(s: Option<&str>) -> String {
    s.unwrap_or_default().to_string()
}

/// Metric and composite alarms carry these fields alike, but share no trait.
macro_rules! firing {
    ($a:expr, $composite:expr) => {
        FiringAlarm {
            name: text($a.alarm_name()),
            description: text($a.alarm_description()),
            reason: text($a.state_reason()),
            since: since(
                $a.state_transitioned_timestamp(),
                $a.state_updated_timestamp(),
            ),
            composite: $composite,
        }
    };
}

fn from_metric(a: &MetricAlarm) -> FiringAlarm {
    firing!(a, false)
}

fn from_composite(a: &CompositeAlarm) -> FiringAlarm {
    firing!(a, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both kinds map name, description, reason and the time of the transition; without a
    /// transition time the last update stands in.
    #[test]
    fn metric_and_composite_alarms_map_alike() {
        let metric = MetricAlarm::builder()
            .alarm_name("crowdfund-dev-parked-not-empty")
            .alarm_description("Parked. Console: `crowdfund-console --aws --open etc_parked`")
            .state_value(StateValue::Alarm)
            .state_reason("Threshold Crossed")
            .state_updated_timestamp(DateTime::from_secs(1_800_000_100))
            .state_transitioned_timestamp(DateTime::from_secs(1_800_000_000))
            .build();
        let m = from_metric(&metric);
        assert_eq!(m.name, "crowdfund-dev-parked-not-empty");
        assert!(m.description.ends_with("--open etc_parked`"));
        assert_eq!(m.reason, "Threshold Crossed");
        assert_eq!(m.since.map(|t| t.timestamp()), Some(1_800_000_000));
        assert!(!m.composite);

        let composite = CompositeAlarm::builder()
            .alarm_name("crowdfund-dev-pipeline")
            .alarm_rule("ALARM(crowdfund-dev-parked-not-empty)")
            .state_value(StateValue::Alarm)
            .state_updated_timestamp(DateTime::from_secs(1_800_000_200))
            .build();
        let c = from_composite(&composite);
        assert_eq!(
            (c.name.as_str(), c.reason.as_str()),
            ("crowdfund-dev-pipeline", "")
        );
        assert_eq!(c.since.map(|t| t.timestamp()), Some(1_800_000_200));
        assert!(c.composite);
    }

    #[test]
    fn access_denied_codes_are_recognised() {
        assert!(is_access_denied("AccessDenied"));
        assert!(is_access_denied("AccessDeniedException"));
        assert!(!is_access_denied("Throttling"));
    }
}
