//! crowdfund core: the shared picture of the payment pipeline, in code.
//!
//! Everything here is free of I/O; the outside world is reached through [`ports`].
//!
//! - [`topology`]: topic, queue, function and table names and their wiring, written once.
//! - [`http_api`]: crowdfund-api's routes as clients call them (paths, builders, who calls what).
//! - [`money`]: integer minor units with a currency code.
//! - [`domain`]: projects, payments, cancels, goal achievements, mails, alerts.
//! - [`envelope`]: the JSON envelope every queued message travels in.
//! - [`reasons`]: failure reasons grouped into causes, and redacted of backers' details.
//! - [`rules`]: broker validation, the DLQ decision, late-payment selection (pure functions).
//! - [`ports`]: the traits handlers depend on (queue, publisher, ledger, funding API, mailer,
//!   alerter, payment gateway, idempotency, clock, metrics).
//! - [`metrics`]: custom metric names and dimensions, shared by handlers and dashboards.
//! - [`progress`]: a project's progress against its goal and its projection at the recent pace.
//! - [`console_view`]: the places in crowdfund-console an alarm links to.
//! - [`sandbox`]: the sandbox gateway's test cards.
//! - [`sim`]: the simulated AWS world behind the same ports, with a virtual clock.
#![deny(clippy::todo, clippy::unimplemented)]

pub mod console_view;
pub mod domain;
pub mod envelope;
pub mod http_api;
pub mod metrics;
pub mod money;
pub mod ports;
pub mod progress;
pub mod reasons;
pub mod rules;
pub mod sandbox;
pub mod sim;
pub mod topology;
