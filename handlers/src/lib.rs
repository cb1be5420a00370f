//! The six crowdfund Lambda handlers as plain async functions over ports, and the runner that
//! feeds them from queues the way Lambda's SQS event-source mapping does.
//!
//! - [`sqs`]: batch semantics shared by the queue-triggered functions (ReportBatchItemFailures,
//!   dead-lettering of permanent failures with the reason attached).
//! - [`broker`]: `POST /broker` → the SNS topic named by `destination`.
//! - [`pg`]: charges and refunds through the payment gateway; writes the ledger.
//! - [`send_email`]: one mail per payment and template, however often it is delivered.
//! - [`funding_update`]: raises or reverses the project's amount through the funding API.
//! - [`transaction_check`]: cancels the payments a project got after reaching its goal.
//! - [`dlq_handler`]: retries with backoff, then parks in `etc_parked` and alerts Discord.
//! - [`wiring`]: the broker and the five queue functions built from their ports, in one place,
//!   for the local pipeline, the AWS pipeline and the Lambda entrypoints alike.
//! - [`runner`]: event-source mapping over any [`QueueClient`](crowdfund_core::ports::QueueClient).
//! - [`local`]: the whole pipeline wired to the simulated world, with traffic.
//! - `aws` (cargo feature `aws`): AWS and HTTP adapters for the ports, provisioning, the broker
//!   over HTTP, the `aws::pipeline` that `crowdfund-local` runs, and (feature `lambda`) the
//!   Lambda entrypoints in `aws::lambda`.
#![deny(clippy::todo, clippy::unimplemented)]

#[cfg(feature = "aws")]
pub mod aws;
pub mod broker;
pub mod dlq_handler;
pub mod funding_update;
pub mod local;
pub mod pg;
pub mod runner;
pub mod send_email;
pub mod sqs;
pub mod transaction_check;
pub mod wiring;
