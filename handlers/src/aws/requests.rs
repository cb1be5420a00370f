//! Counting the HTTP requests the SDK clients make, for an operator tool that must show (and
//! keep within) its request budget. Every attempt counts, retries included: that is what the
//! service bills and throttles.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The window [`RequestCounter::last_minute`] looks at.
const WINDOW: Duration = Duration::from_secs(60);

/// Requests sent, in total and over the last minute. Cheap to clone; clones count together.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    inner: Arc<Mutex<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    total: u64,
    /// When each request of the last minute went out (monotonic, not domain time).
    recent: VecDeque<Instant>,
}

impl Counts {
    fn forget_before(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > WINDOW)
        {
            self.recent.pop_front();
        }
    }
}

impl RequestCounter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&self) {
        let now = Instant::now();
        if let Ok(mut c) = self.inner.lock() {
            c.total += 1;
            c.recent.push_back(now);
            c.forget_before(now);
        }
    }

    /// Requests since the counter was made.
    pub fn total(&self) -> u64 {
        self.inner.lock().map_or(0, |c| c.total)
    }

    /// Requests in the last 60 seconds.
    pub fn last_minute(&self) -> u64 {
        let now = Instant::now();
        self.inner.lock().map_or(0, |mut c| {
            c.forget_before(now);
            c.recent.len() as u64
        })
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.record();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_count_together_and_the_minute_holds_what_was_just_sent() {
        let counter = RequestCounter::new();
        let clone = counter.clone();
        counter.record();
        clone.record();
        assert_eq!(counter.total(), 2);
        assert_eq!(clone.last_minute(), 2);
    }
}
