//! The functions' SQS triggers: listed, paused and resumed (each change audited), and held
//! paused around a piece of work, such as dlq_handler's around a redrive.

use super::safety::{AuditEntry, AuditTrail, Ending, SafetyError};
use crate::backend::Backend;
use crowdfund_core::ports::{FunctionTrigger, PortError, QueueMapping};
use crowdfund_core::topology::{self, Trigger};
use std::future::Future;

pub const PAUSE_ACTION: &str = "pause-trigger";
pub const RESUME_ACTION: &str = "resume-trigger";

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("unknown function {0:?}; functions: {known}", known = function_names())]
    UnknownFunction(String),
    #[error("{0} has no SQS trigger (API Gateway invokes it); pick a queue function: {known}", known = function_names())]
    NoTrigger(String),
    #[error("{function}: {source}")]
    Port { function: String, source: PortError },
    #[error("audit failed, the trigger was not changed: {0}")]
    Safety(#[from] SafetyError),
    #[error(
        "{work}, but resuming {function}'s trigger failed: {reason}; it is still paused: run `crowdfund-console triggers resume {function}`"
    )]
    NotResumed {
        work: String,
        function: String,
        reason: String,
    },
}

fn function_names() -> String {
    topology::FUNCTIONS
        .iter()
        .filter(|f| matches!(f.trigger, Trigger::Queue { .. }))
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The queue `function`'s trigger reads, or why it has none.
pub fn queue_of(function: &str) -> Result<&'static str, TriggerError> {
    match topology::function(function).map(|f| f.trigger) {
        None => Err(TriggerError::UnknownFunction(function.to_string())),
        Some(Trigger::HttpPost { .. }) => Err(TriggerError::NoTrigger(function.to_string())),
        Some(Trigger::Queue { queue, .. }) => Ok(queue),
    }
}

pub async fn list(b: &Backend) -> Result<Vec<FunctionTrigger>, PortError> {
    b.triggers.list_triggers().await
}

/// Enables or disables `function`'s trigger, between an intent and a result line in the audit
/// log (`queue` is the queue the trigger reads).
pub async fn set(b: &Backend, function: &str, enabled: bool) -> Result<QueueMapping, TriggerError> {
    let queue = queue_of(function)?;
    let action = if enabled { RESUME_ACTION } else { PAUSE_ACTION };
    let mut intent = AuditEntry::intent(b.wall_clock.now(), &b.identity, action, queue);
    intent.function = Some(function.to_string());
    let trail = AuditTrail::begin(&b.audit_log, intent)?;
    let changed = b.triggers.set_trigger_enabled(function, enabled).await;
    let ending = match &changed {
        Ok(_) => Ending::Ok,
        Err(e) => Ending::Failed(e),
    };
    trail.finish(b.wall_clock.now(), ending, |_| {})?;
    changed.map_err(|source| TriggerError::Port {
        function: function.to_string(),
        source,
    })
}

/// Runs `work` with `function`'s trigger paused, then resumes it, however `work` ended. A
/// trigger that was paused before is left paused (someone paused it for a reason). `describe`
/// names how the work ended, for the error when the resume fails. Also says whether this
/// paused (and resumed) the trigger.
pub async fn while_paused<T, E, F>(
    b: &Backend,
    function: &str,
    work: F,
    describe: impl FnOnce(&Result<T, E>) -> String,
) -> anyhow::Result<(T, bool)>
where
    F: Future<Output = Result<T, E>>,
    E: Into<anyhow::Error>,
{
    queue_of(function)?;
    let before = b
        .triggers
        .trigger_of(function)
        .await
        .map_err(|source| TriggerError::Port {
            function: function.to_string(),
            source,
        })?;
    let running = before.as_ref().is_some_and(QueueMapping::is_enabled);
    if running {
        set(b, function, false).await?;
    }
    let result = work.await;
    if running && let Err(e) = set(b, function, true).await {
        return Err(TriggerError::NotResumed {
            work: describe(&result),
            function: function.to_string(),
            reason: e.to_string(),
        }
        .into());
    }
    result.map(|r| (r, running)).map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crowdfund_core::sim::{SimWorld, WorldConfig};
    use crowdfund_core::topology::FN_DLQ_HANDLER;
    use futures::executor::block_on;
    use std::sync::Arc;

    /// However the work ends, a trigger paused for it is running again afterwards, and the
    /// work's own failure is what the caller sees.
    #[test]
    fn a_failed_work_still_resumes_the_trigger() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let world = Arc::new(SimWorld::new(1, WorldConfig::default()));
        let b = Backend::over_world(world.clone(), dir.path());
        let seen_paused = std::sync::Mutex::new(None);
        let work = async {
            *seen_paused.lock().expect("lock") = Some(world.paused_triggers());
            Err::<(), _>(anyhow::anyhow!("SQS went away"))
        };
        let result = block_on(while_paused(&b, FN_DLQ_HANDLER, work, |_| "failed".into()));
        let error = result.expect_err("the work's failure comes back");
        assert!(error.to_string().contains("SQS went away"), "{error}");
        let during = seen_paused
            .lock()
            .expect("lock")
            .clone()
            .unwrap_or_default();
        assert!(during.contains(FN_DLQ_HANDLER), "paused while the work ran");
        assert!(world.paused_triggers().is_empty(), "resumed after it");
    }

    #[test]
    fn only_queue_functions_have_a_trigger() {
        assert_eq!(queue_of("dlq_handler").ok(), Some("etc_dlq"));
        assert!(matches!(
            queue_of("broker"),
            Err(TriggerError::NoTrigger(_))
        ));
        assert!(matches!(
            queue_of("dlq-handler"),
            Err(TriggerError::UnknownFunction(_))
        ));
    }
}
