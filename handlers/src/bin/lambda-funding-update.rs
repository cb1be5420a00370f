//! The `funding_update` function on AWS Lambda: `approve_payment_queue` batches → crowdfund-api raises or reverses.
//! Deployed as `funding_update.zip`; configuration in `crowdfund_handlers::aws::lambda`.

use crowdfund_core::topology::FN_FUNDING_UPDATE;
use crowdfund_handlers::aws::lambda::run_queue_function;
use crowdfund_handlers::wiring;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_queue_function(FN_FUNDING_UPDATE, wiring::funding_update).await
}
