//! The `send_email` function on AWS Lambda: `send_email_queue` batches → one SES mail per payment.
//! Deployed as `send_email.zip`; configuration in `crowdfund_handlers::aws::lambda`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    crowdfund_handlers::aws::lambda::run_queue_function(
        crowdfund_core::topology::FN_SEND_EMAIL,
        crowdfund_handlers::aws::lambda::Lambda::send_email,
    )
    .await
}
