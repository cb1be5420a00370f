//! The `transaction_check` function on AWS Lambda: `goal_achievement_queue` batches → a cancel per late payment.
//! Deployed as `transaction_check.zip`; configuration in `crowdfund_handlers::aws::lambda`.

use crowdfund_core::topology::FN_TRANSACTION_CHECK;
use crowdfund_handlers::aws::lambda::run_queue_function;
use crowdfund_handlers::wiring;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_queue_function(FN_TRANSACTION_CHECK, wiring::transaction_check).await
}
