//! The `dlq_handler` function on AWS Lambda: `etc_dlq` batches → retry with backoff, or park and alert Discord.
//! Deployed as `dlq_handler.zip`; configuration in `crowdfund_handlers::aws::lambda`.

use crowdfund_core::topology::FN_DLQ_HANDLER;
use crowdfund_handlers::aws::lambda::run_queue_function;
use crowdfund_handlers::wiring;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_queue_function(FN_DLQ_HANDLER, wiring::dlq_handler).await
}
