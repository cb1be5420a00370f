//! The [`Triggers`] port: every queue-triggered function has an SQS trigger that an operator can
//! pause. A paused function's queue is not polled (the runner skips it, and the clock does not
//! wait for it), so its messages stay where they are until the trigger is resumed.

use super::SimWorld;
use crate::ports::{FunctionTrigger, PortError, PortResult, QueueMapping, Triggers};
use crate::topology::{self, FUNCTIONS, Trigger};
use async_trait::async_trait;
use std::collections::BTreeSet;

/// What the simulated world says where Lambda would name a runtime.
const SIM_RUNTIME: &str = "simulated";

impl SimWorld {
    /// Functions whose trigger is paused.
    pub fn paused_triggers(&self) -> BTreeSet<String> {
        self.lock().paused_triggers.clone()
    }

    fn mapping_of(&self, function: &str) -> Option<QueueMapping> {
        let spec = topology::function(function)?;
        let Trigger::Queue { queue, batch_size } = spec.trigger else {
            return None;
        };
        let paused = self.lock().paused_triggers.contains(function);
        Some(QueueMapping {
            uuid: format!("sim-{function}"),
            queue: queue.to_string(),
            state: if paused { "Disabled" } else { "Enabled" }.to_string(),
            batch_size: u32::try_from(batch_size).unwrap_or(u32::MAX),
            last_processing_result: None,
            maximum_concurrency: None,
        })
    }
}

#[async_trait]
impl Triggers for SimWorld {
    async fn list_triggers(&self) -> PortResult<Vec<FunctionTrigger>> {
        Ok(FUNCTIONS
            .iter()
            .map(|f| FunctionTrigger {
                function: f.name.to_string(),
                runtime: Some(SIM_RUNTIME.to_string()),
                mapping: self.mapping_of(f.name),
                ..FunctionTrigger::default()
            })
            .collect())
    }

    async fn trigger_of(&self, function: &str) -> PortResult<Option<QueueMapping>> {
        Ok(self.mapping_of(function))
    }

    async fn set_trigger_enabled(&self, function: &str, enabled: bool) -> PortResult<QueueMapping> {
        if topology::function(function).is_none() {
            return Err(PortError::not_found(format!("function {function}")));
        }
        if self.mapping_of(function).is_none() {
            return Err(PortError::Rejected(format!(
                "{function} has no SQS trigger (API Gateway invokes it)"
            )));
        }
        {
            let mut s = self.lock();
            if enabled {
                s.paused_triggers.remove(function);
            } else {
                s.paused_triggers.insert(function.to_string());
            }
        }
        self.mapping_of(function)
            .ok_or_else(|| PortError::not_found(format!("the trigger of {function}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::WorldConfig;
    use futures::executor::block_on;

    #[test]
    fn pausing_a_trigger_is_seen_and_survives_the_state_file() {
        let world = SimWorld::new(1, WorldConfig::default());
        let mapping =
            block_on(world.set_trigger_enabled(topology::FN_DLQ_HANDLER, false)).expect("pause");
        assert_eq!(mapping.state, "Disabled");
        let reread = SimWorld::from_json(&world.to_json()).expect("state file");
        let listed = block_on(reread.list_triggers()).expect("list");
        let paused: Vec<&str> = listed
            .iter()
            .filter(|f| f.is_paused())
            .map(|f| f.function.as_str())
            .collect();
        assert_eq!(paused, [topology::FN_DLQ_HANDLER]);
        assert_eq!(listed.len(), FUNCTIONS.len());
        let resumed = block_on(reread.set_trigger_enabled(topology::FN_DLQ_HANDLER, true));
        assert_eq!(resumed.map(|m| m.state), Ok("Enabled".to_string()));
    }

    #[test]
    fn the_broker_and_unknown_functions_have_no_trigger_to_pause() {
        let world = SimWorld::new(1, WorldConfig::default());
        let broker = block_on(world.set_trigger_enabled(topology::FN_BROKER, false));
        assert!(matches!(broker, Err(PortError::Rejected(m)) if m.contains("API Gateway")));
        let unknown = block_on(world.set_trigger_enabled("nope", false));
        assert!(matches!(unknown, Err(PortError::NotFound { .. })));
        assert!(world.paused_triggers().is_empty());
    }
}
