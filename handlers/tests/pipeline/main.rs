//! The seed's flows, end to end through all six handlers on the simulated world.
//! One test binary: helpers, the flow tests, the metrics read back, and the property test over
//! random traffic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flows;
mod helpers;
mod metrics;
mod property;
