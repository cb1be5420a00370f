//! crowdfund-api against the real MariaDB on 127.0.0.1:3306: each test gets its own database.
// Test code: a failed unwrap is a failed test (helpers included, which clippy does not see as tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod broker_auth;
mod client;
mod fundings;
mod iam_on_moto;
mod outbox;
mod payments;
mod pipeline_on_moto;
mod projects;
mod route_table;
mod service;
mod terraform_ecs;
