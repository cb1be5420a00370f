//! The `funding_update` function on AWS Lambda: `approve_payment_queue` batches → crowdfund-api raises or reverses.
//! Deployed as `funding_update.zip`; configuration in `crowdfund_handlers::aws::lambda`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    crowdfund_handlers::aws::lambda::run_queue_function(
        crowdfund_core::topology::FN_FUNDING_UPDATE,
        crowdfund_handlers::aws::lambda::Lambda::funding_update,
    )
    .await
}
