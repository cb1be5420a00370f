//! Frame render time of the console on TestBackend, release build: 50 queues and 10,000 DLQ
//! messages loaded, 160×48, each view. Lists build only their visible rows; the DLQ browser is
//! measured twice: moving between two rows (its detail pane cached), and scrolling down a row
//! per frame (a new message, and a new window, every frame).
//!
//! Run: `cargo bench -p crowdfund-console --bench frame [-- FRAMES [--messages=N] [SCENARIO…]]`;
//! peak RSS: `/usr/bin/time -v target/release/deps/frame-* --bench --messages=100000`. The
//! messages fail for four causes, one in ten unreadable; `dlq-groups` draws them grouped by
//! cause (the first frame groups them all). Instruction counts, steady even on a
//! busy machine: `valgrind --tool=callgrind target/release/deps/frame-* 100 dlq` (less a run
//! with 0 frames, over 5 × 100 frames).

use crowdfund_console::app::snapshot::{FunctionHealth, Snapshot, ThroughputPoint};
use crowdfund_console::app::{Action, App, View, view};
use crowdfund_console::ops::dlq::DlqMessage;
use crowdfund_console::ops::status::{PaymentCounts, ProjectStatus, Status};
use crowdfund_core::money::Currency;
use crowdfund_core::ports::QueueStats;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::collections::BTreeMap;
use std::time::Instant;

/// Four causes, with ids in them as real reasons have (grouping takes the ids out).
const CAUSES: [&str; 4] = [
    "payment {id} was declined: card declined",
    "PSP timed out after 10000 ms on {id}",
    "funding API answered HTTP 503 for {id}",
    "payment {id} was declined: attempt arrived with status 3 (failed upstream)",
];

pub fn snapshot(count: u64) -> Snapshot {
    let now = "2026-11-26T03:00:00Z".parse().unwrap_or_default();
    let queues = (0..50)
        .map(|i| QueueStats {
            name: if i == 0 {
                "etc_parked".into()
            } else {
                format!("queue_{i:02}")
            },
            visible: i * 3,
            in_flight: i,
            delayed: i % 4,
            oldest_age_seconds: i * 17,
        })
        .collect();
    let projects = (0..12)
        .map(|i| ProjectStatus {
            id: format!("prj-{i:02}"),
            title: format!("Project {i}"),
            goal: 1_000_000 * (i + 1),
            raised: 700_000 * (i + 1),
            ledger_net: 700_000 * (i + 1),
            currency: Currency::KRW,
            backers: 40,
            goal_achieved_at: None,
            deadline: now,
            projection: crowdfund_core::progress::project(
                1_000_000 * (i + 1),
                700_000 * (i + 1),
                now + chrono::Duration::days(10),
                100_000,
                now,
            ),
        })
        .collect();
    let messages: Vec<DlqMessage> = (0..count)
        .map(|i| DlqMessage {
            queue: "etc_parked".into(),
            message_id: format!("m-{i:08}"),
            kind: Some("payment_attempt".into()),
            from: Some("payment_attempt_queue".into()),
            attempts: 4,
            to_discord: false,
            declined: false,
            reason: Some(CAUSES[(i % 4) as usize].replace("{id}", &format!("pay-{i:06}"))),
            payment_id: Some(format!("pay-{i:06}")),
            ledger_state: Some("declined".into()),
            sent_at: now,
            expires_at: now + chrono::Duration::days(14),
            age_seconds: i,
            receive_count: 1,
            body: if i % 10 == 9 {
                serde_json::Value::String(format!("not an envelope {i}"))
            } else {
                serde_json::json!({"kind": "payment_attempt", "from": "payment_attempt_queue", "attempts": 4,
                    "toDiscord": false, "payload": {"paymentId": format!("pay-{i:06}"), "amount": 50000, "currency": "KRW"}})
            },
        })
        .collect();
    Snapshot {
        status: Status {
            backend: "local".into(),
            target: "bench".into(),
            now,
            queues,
            projects,
            payments: PaymentCounts::default(),
        },
        parts: crowdfund_console::app::snapshot::Parts::ready(),
        lists: BTreeMap::from([("etc_parked".to_string(), messages)]),
        loads: BTreeMap::new(),
        requests_per_minute: None,
        throughput: (0..30)
            .map(|m| ThroughputPoint {
                minute: m,
                approved: 100 + m as u64,
                declined: 5,
                cancelled: 1,
            })
            .collect(),
        functions: (0..6)
            .map(|i| FunctionHealth {
                name: format!("fn_{i}"),
                invocations: 1000,
                messages: 9000,
                errors: i,
                throttles: 0,
                duration_p99_micros: Some(400),
            })
            .collect(),
        triggers: Vec::new(),
        alarms: Vec::new(),
        late_payments: BTreeMap::new(),
        audit: Vec::new(),
        collected_at: now,
    }
}

/// What the operator does between frames.
#[derive(Clone, Copy)]
enum Motion {
    /// Down, up, down…: the selection changes every frame between two rows.
    Wiggle,
    /// Down every frame: a new message is selected each time and the window scrolls.
    Scroll,
}

fn main() {
    // Arguments: a frame count, and optionally the scenarios to run (by title, lower case);
    // `cargo bench` passes `--bench`, which is neither.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let frames: u32 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(500);
    let wanted: Vec<String> = args
        .iter()
        .filter(|a| a.parse::<u32>().is_err() && !a.starts_with('-'))
        .map(|a| a.to_lowercase())
        .collect();
    let messages: u64 = args
        .iter()
        .find_map(|a| a.strip_prefix("--messages=")?.parse().ok())
        .unwrap_or(10_000);
    let mut app = App::new("local", "bench", false);
    app.apply_snapshot(snapshot(messages));
    let mut terminal = match Terminal::new(TestBackend::new(160, 48)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot create the test terminal: {e}");
            return;
        }
    };
    println!("frame render time at 160x48, 50 queues, {messages} DLQ messages (best of 5 runs)");
    let scenarios = [
        ("overview", View::Overview, Motion::Wiggle),
        ("dlq", View::Dlq, Motion::Wiggle),
        ("dlq-scroll", View::Dlq, Motion::Scroll),
        ("dlq-groups", View::Dlq, Motion::Wiggle),
        ("projects", View::Projects, Motion::Wiggle),
        ("topology", View::Topology, Motion::Wiggle),
    ];
    for (name, v, motion) in scenarios {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == name) {
            continue;
        }
        app.update(Action::Show(v));
        if name == "dlq-groups" {
            // Grouping happens once per snapshot, on the first frame that shows the groups.
            app.update(Action::ToggleGroups);
            let started = Instant::now();
            if terminal.draw(|f| view::draw(f, &app)).is_err() {
                eprintln!("draw failed");
                return;
            }
            println!(
                "{:<10} {:>8.1} ms to group {messages} messages (first frame)",
                "grouping",
                started.elapsed().as_secs_f64() * 1e3
            );
        }
        let mut best = f64::MAX;
        for _ in 0..5 {
            app.update(Action::Top);
            let started = Instant::now();
            for i in 0..frames {
                app.update(match motion {
                    // Move the selection as a scrolling operator would.
                    Motion::Wiggle if i % 2 == 0 => Action::Down,
                    Motion::Wiggle => Action::Up,
                    Motion::Scroll => Action::Down,
                });
                if terminal.draw(|f| view::draw(f, &app)).is_err() {
                    eprintln!("draw failed");
                    return;
                }
            }
            best = best.min(started.elapsed().as_secs_f64() / f64::from(frames));
        }
        println!("{name:<10} {:>8.1} µs/frame", best * 1e6);
    }
}
