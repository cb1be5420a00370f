//! A project's progress against its goal, and where its recent pace takes it: the figures the
//! console's `status`, the stakeholder dashboard and the PNG report show, defined once.
//!
//! The pace is the net raised (approved − refunded) over the last [`PACE_WINDOW_DAYS`] days;
//! the projection is the remaining amount at that pace. The dashboard computes the same in
//! CloudWatch metric math (`crowdfund_dashboards::stakeholders`); a test holds the two equal.

use crate::domain::Timestamp;
use serde::Serialize;

/// How far back the pace looks.
pub const PACE_WINDOW_DAYS: i64 = 7;
pub const SECONDS_PER_DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Projection {
    /// Raised as a percentage of the goal (display only; money stays in minor units).
    pub percent_of_goal: f64,
    /// Days until the deadline, in fractions of a day; negative once it has passed.
    pub days_left: f64,
    /// Approved minus refunded in the last [`PACE_WINDOW_DAYS`] days, in minor units.
    pub net_last_7_days: i64,
    /// Days until the goal at that pace: 0 once reached, `None` when the pace is not positive
    /// (at this pace the goal is never reached).
    pub days_to_goal: Option<f64>,
    /// When the goal is reached at that pace (`None` as for `days_to_goal`).
    pub reaches_goal_at: Option<Timestamp>,
    /// The goal is reached, or is reached by the deadline at this pace.
    pub on_track: bool,
}

/// The projection of a project with `goal` and `raised` whose last 7 days netted
/// `net_last_7_days`, seen at `now`.
pub fn project(
    goal: i64,
    raised: i64,
    deadline: Timestamp,
    net_last_7_days: i64,
    now: Timestamp,
) -> Projection {
    let percent_of_goal = if goal > 0 {
        100.0 * raised as f64 / goal as f64
    } else {
        0.0
    };
    let days_left = (deadline - now).num_seconds() as f64 / SECONDS_PER_DAY as f64;
    let days_to_goal = if raised >= goal {
        Some(0.0)
    } else if net_last_7_days > 0 {
        Some((goal - raised) as f64 * PACE_WINDOW_DAYS as f64 / net_last_7_days as f64)
    } else {
        None
    };
    let reaches_goal_at = days_to_goal.and_then(|d| {
        // Capped at ten years: a pace of one won a week does not overflow a timestamp.
        let seconds = (d * SECONDS_PER_DAY as f64).min(3650.0 * SECONDS_PER_DAY as f64);
        now.checked_add_signed(chrono::Duration::seconds(seconds.ceil() as i64))
    });
    Projection {
        percent_of_goal,
        days_left,
        net_last_7_days,
        days_to_goal,
        reaches_goal_at,
        on_track: days_to_goal.is_some_and(|d| d <= days_left.max(0.0)),
    }
}

/// Whether `at` falls in the pace window that ends at `now`.
pub fn in_pace_window(at: Timestamp, now: Timestamp) -> bool {
    at <= now && now - at < chrono::Duration::days(PACE_WINDOW_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2026, 12, day, 0, 0, 0)
            .unwrap()
    }

    #[test]
    fn the_remaining_amount_at_the_weekly_pace() {
        // 300,000 to go at 700,000 a week (100,000 a day): 3 days, before the deadline.
        let p = project(1_000_000, 700_000, at(20), 700_000, at(1));
        assert_eq!(p.percent_of_goal, 70.0);
        assert_eq!(p.days_left, 19.0);
        assert_eq!(p.days_to_goal, Some(3.0));
        assert_eq!(p.reaches_goal_at, Some(at(4)));
        assert!(p.on_track);
    }

    #[test]
    fn a_slow_pace_misses_the_deadline_and_no_pace_never_arrives() {
        let slow = project(1_000_000, 0, at(3), 70_000, at(1));
        assert_eq!(slow.days_to_goal, Some(100.0));
        assert!(!slow.on_track);
        let none = project(1_000_000, 0, at(3), -5, at(1));
        assert_eq!(none.days_to_goal, None);
        assert_eq!(none.reaches_goal_at, None);
        assert!(!none.on_track);
    }

    #[test]
    fn a_reached_goal_is_zero_days_away_even_after_the_deadline() {
        let p = project(100, 150, at(1), 0, at(2));
        assert_eq!(p.percent_of_goal, 150.0);
        assert_eq!(p.days_to_goal, Some(0.0));
        assert!(p.days_left < 0.0);
        assert!(p.on_track);
    }

    #[test]
    fn the_window_is_the_last_seven_days() {
        assert!(in_pace_window(at(2), at(8)));
        assert!(!in_pace_window(at(1), at(8)));
        assert!(!in_pace_window(at(9), at(8)));
    }
}
