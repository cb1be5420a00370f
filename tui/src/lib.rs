//! crowdfund-console: the operator's console for the crowdfund payment pipeline.
//!
//! The same operations run on the embedded local world (the whole pipeline simulated
//! in-process, kept in one state file) or, with `--aws`, on AWS; they only see ports.
//!
//! - [`app`]: the interactive console (ratatui), fed by a worker thread.
//! - [`cli`]: the command line (clap).
//! - [`commands`]: the subcommands, each written once for the local world and `--aws`: a
//!   command is handed a [`commands::Console`] (the backend, and how an operation runs there).
//! - [`backend`]: the ports an operation needs, bundled; the local world and its state file.
//! - [`ops`]: status, DLQ listing and disposal (a redrive or a delete), the goal check, and the
//!   safety net every destructive operation goes through (JSONL backup and audit line).
//! - [`metrics`]: the metrics port (function health, throughput, queue ages) a backend may have.
//! - [`dispatch`]: the one place an [`dispatch::Operation`] runs, where `--read-only` refuses
//!   it and where its confirmation question is worded. (A UI `app::Action` is what a key means.)
//! - [`render`]: human-readable tables for the terminal.
//! - `aws` (cargo feature `aws`): the `--aws` backend over the AWS adapters of
//!   crowdfund-handlers.
#![deny(clippy::todo, clippy::unimplemented)]

pub mod app;
#[cfg(feature = "aws")]
pub mod aws;
pub mod backend;
pub mod cli;
pub mod commands;
pub mod dispatch;
pub mod metrics;
pub mod ops;
pub mod render;
