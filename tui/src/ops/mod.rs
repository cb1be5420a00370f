//! Operations over a [`Backend`](crate::backend::Backend): what the subcommands (and later the
//! TUI) run. They see only ports, so the local world and AWS share them.

pub mod dlq;
pub mod goal;
pub mod history;
pub mod safety;
pub mod status;
pub mod triggers;
