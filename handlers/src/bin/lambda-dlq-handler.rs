//! The `dlq_handler` function on AWS Lambda: `etc_dlq` batches → retry with backoff, or park and alert Discord.
//! Deployed as `dlq_handler.zip`; configuration in `crowdfund_handlers::aws::lambda`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    crowdfund_handlers::aws::lambda::run_queue_function(
        crowdfund_core::topology::FN_DLQ_HANDLER,
        crowdfund_handlers::aws::lambda::Lambda::dlq_handler,
    )
    .await
}
