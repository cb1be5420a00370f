//! The `send_email` function on AWS Lambda: `send_email_queue` batches → one SES mail per payment.
//! Deployed as `send_email.zip`; configuration in `crowdfund_handlers::aws::lambda`.

use crowdfund_core::topology::FN_SEND_EMAIL;
use crowdfund_handlers::aws::lambda::run_queue_function;
use crowdfund_handlers::wiring;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_queue_function(FN_SEND_EMAIL, wiring::send_email).await
}
