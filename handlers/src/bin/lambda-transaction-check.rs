//! The `transaction_check` function on AWS Lambda: `goal_achievement_queue` batches → a cancel per late payment.
//! Deployed as `transaction_check.zip`; configuration in `crowdfund_handlers::aws::lambda`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    crowdfund_handlers::aws::lambda::run_queue_function(
        crowdfund_core::topology::FN_TRANSACTION_CHECK,
        crowdfund_handlers::aws::lambda::Lambda::transaction_check,
    )
    .await
}
