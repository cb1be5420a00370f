//! In-process pipeline throughput: payments per second through all six handlers on the
//! simulated world (broker → pg → send_email + funding_update, with goal checks, declines,
//! transient errors and DLQ retries in the failing share). One thread, release build.
//!
//! Run: `cargo bench -p crowdfund-handlers --bench pipeline` (optionally `-- 200000` payments).

use crowdfund_core::sim::traffic::seed_demo_projects;
use crowdfund_core::sim::{SimWorld, WorldConfig};
use crowdfund_handlers::local::LocalPipeline;
use std::time::Instant;

fn main() {
    let payments: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    println!("pipeline throughput, {payments} payments per run, best of 3");
    for (label, failure_rate, duplicate_rate) in [
        ("all approved", 0.0, 0.0),
        ("5% failures, 2% duplicates", 0.05, 0.02),
    ] {
        let mut best = f64::MAX;
        let mut messages = 0;
        for run in 0..3u64 {
            let world = SimWorld::new(
                run + 1,
                WorldConfig {
                    duplicate_rate,
                    ..WorldConfig::default()
                },
            );
            seed_demo_projects(&world);
            let pipeline = LocalPipeline::new(world);
            let started = Instant::now();
            let report = pipeline
                .run_traffic(payments, failure_rate, &mut |_| {})
                .unwrap_or_else(|e| panic!("pipeline failed: {e}"));
            best = best.min(started.elapsed().as_secs_f64());
            messages = report.messages_processed;
        }
        println!(
            "{label:<28} {:>9.0} payments/s  {:>9.0} messages/s  ({best:.3} s, {messages} messages)",
            payments as f64 / best,
            messages as f64 / best,
        );
    }
}
