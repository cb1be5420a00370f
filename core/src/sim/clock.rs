//! The [`Clock`] port: virtual time, moved by hand or to the next visible message.

use super::metrics::METRIC_MINUTES_KEPT;
use super::{SimWorld, WorldState};
use crate::domain::Timestamp;
use crate::ports::Clock;
use crate::topology;

impl WorldState {
    /// Moves the clock, sampling every queue's depth when a minute boundary is crossed.
    fn set_now(&mut self, now: Timestamp) {
        let before = self.now.timestamp().div_euclid(60);
        self.now = now;
        let minute = now.timestamp().div_euclid(60);
        if minute != before {
            let sample = self
                .queues
                .iter()
                .map(|(n, q)| (n.clone(), q.len() as u64))
                .collect();
            self.depth_history.insert(minute, sample);
            while self.depth_history.len() > METRIC_MINUTES_KEPT {
                self.depth_history.pop_first();
            }
        }
    }
}

impl SimWorld {
    pub fn now(&self) -> Timestamp {
        self.lock().now
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut s = self.lock();
        let now = s.now + by;
        s.set_now(now);
    }

    /// Moves the clock to when the next consumable message becomes visible. False when nothing
    /// waits (etc_parked has no consumer, so its messages never count).
    pub fn advance_to_next_event(&self) -> bool {
        let mut s = self.lock();
        let now = s.now;
        let next = s
            .queues
            .iter()
            .filter(|(name, _)| {
                topology::function_of_queue(name)
                    .is_some_and(|f| !s.paused_triggers.contains(f.name))
            })
            .filter_map(|(_, q)| q.next_visible_at(now))
            .min();
        match next {
            Some(at) if at > now => {
                s.set_now(at);
                true
            }
            Some(_) => true,
            None => false,
        }
    }
}

impl Clock for SimWorld {
    fn now(&self) -> Timestamp {
        self.lock().now
    }
}
