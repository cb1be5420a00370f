//! Where in crowdfund-console the cause of an alarm is looked at and fixed.
//!
//! A place is a jump target, the same word the console takes after `:` and on its command line
//! after `--open`: a view (`overview`, `topology`, `projects`), or a queue name (which opens the
//! DLQ browser on that queue). Every generated alarm's description ends with the command that
//! opens its place, and the console's health view reads the place back from the description of
//! an alarm in ALARM state, so the link and the jump cannot drift apart.

use crate::topology;

/// The view of the whole pipeline: depths, throughput, functions.
pub const OVERVIEW: &str = "overview";
/// The functions, their triggers and their health.
pub const TOPOLOGY: &str = "topology";
/// The projects against their goals.
pub const PROJECTS: &str = "projects";

/// The flag that opens the console at a place.
pub const OPEN_FLAG: &str = "--open";

/// The place for a queue: its messages, in the DLQ browser.
pub fn for_queue(queue: &str) -> &str {
    queue
}

/// The place for a function: the topology, where its trigger, errors and throttles are.
pub fn for_function(_function: &str) -> &'static str {
    TOPOLOGY
}

/// The command that opens the console on AWS at `place`.
pub fn command(place: &str) -> String {
    format!("crowdfund-console --aws {OPEN_FLAG} {place}")
}

/// The sentence an alarm description ends with.
pub fn link(place: &str) -> String {
    format!("Console: `{}`", command(place))
}

/// The place an alarm description links to (the word after `--open`), when it is one the
/// console knows: a view named here or a queue of the topology.
pub fn place_in(description: &str) -> Option<&str> {
    let rest = description.split(OPEN_FLAG).nth(1)?;
    let place = rest
        .trim_start()
        .split(|c: char| c.is_whitespace() || c == '`')
        .next()?;
    let known = [OVERVIEW, TOPOLOGY, PROJECTS].contains(&place) || topology::queue(place).is_some();
    known.then_some(place)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{FN_PG, QUEUE_PARKED};

    #[test]
    fn a_link_reads_back_as_its_place() {
        for place in [
            for_queue(QUEUE_PARKED),
            for_function(FN_PG),
            OVERVIEW,
            PROJECTS,
        ] {
            let description = format!("Something is wrong. {}", link(place));
            assert_eq!(place_in(&description), Some(place), "{description}");
        }
    }

    #[test]
    fn an_unknown_or_missing_place_is_none() {
        assert_eq!(place_in("no link here"), None);
        assert_eq!(place_in("`crowdfund-console --open nowhere`"), None);
        assert_eq!(place_in("ends with --open"), None);
    }
}
