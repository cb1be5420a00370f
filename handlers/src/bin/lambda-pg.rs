//! The `pg` function on AWS Lambda: `payment_attempt_queue` batches → charges and refunds, the ledger.
//! Deployed as `pg.zip`; configuration in `crowdfund_handlers::aws::lambda`.

use crowdfund_core::topology::FN_PG;
use crowdfund_handlers::aws::lambda::run_queue_function;
use crowdfund_handlers::wiring;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_queue_function(FN_PG, wiring::pg).await
}
