//! The `pg` function on AWS Lambda: `payment_attempt_queue` batches → charges and refunds, the ledger.
//! Deployed as `pg.zip`; configuration in `crowdfund_handlers::aws::lambda`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    crowdfund_handlers::aws::lambda::run_queue_function(
        crowdfund_core::topology::FN_PG,
        crowdfund_handlers::aws::lambda::Lambda::pg,
    )
    .await
}
