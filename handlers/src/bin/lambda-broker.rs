//! The `broker` function on AWS Lambda: API Gateway `POST /broker` (REST API proxy events)
//! → validation → the SNS topic named by `destination`. Deployed as `broker.zip`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    crowdfund_handlers::aws::lambda::run_broker().await
}
