# The pipeline's names and wiring, mirrored from crowdfund_core::topology (core/src/topology.rs).
# core/tests/terraform_topology.rs parses this file and fails on any difference, so edit both
# together. Keep every value here a literal: the test reads them without evaluating terraform.
locals {
  topology = {
    # SNS topic => the SQS queues subscribed to it (raw message delivery).
    topics = {
      payment_attempt  = ["payment_attempt_queue"]
      send_email       = ["send_email_queue"]
      approve_payment  = ["approve_payment_queue"]
      goal_achievement = ["goal_achievement_queue"]
    }

    # SQS queues. visibility_timeout_seconds is at least 6x the timeout of the function the queue
    # triggers (AWS's advice; the drift test checks it). redrive_target/max_receive_count are null for the queues that hold failures.
    queues = {
      payment_attempt_queue = {
        visibility_timeout_seconds = 150
        retention_seconds          = 345600
        redrive_target             = "etc_dlq"
        max_receive_count          = 3
      }
      send_email_queue = {
        visibility_timeout_seconds = 150
        retention_seconds          = 345600
        redrive_target             = "etc_dlq"
        max_receive_count          = 3
      }
      approve_payment_queue = {
        visibility_timeout_seconds = 150
        retention_seconds          = 345600
        redrive_target             = "etc_dlq"
        max_receive_count          = 3
      }
      goal_achievement_queue = {
        visibility_timeout_seconds = 150
        retention_seconds          = 345600
        redrive_target             = "etc_dlq"
        max_receive_count          = 3
      }
      etc_dlq = {
        visibility_timeout_seconds = 150
        retention_seconds          = 1209600
        redrive_target             = null
        max_receive_count          = null
      }
      etc_parked = {
        visibility_timeout_seconds = 150
        retention_seconds          = 1209600
        redrive_target             = null
        max_receive_count          = null
      }
    }

    # Lambda functions. trigger_queue null means API Gateway POST /broker invokes it.
    # timeout_seconds is Lambda's timeout; the SQS functions stop taking messages 10 s before it.
    functions = {
      broker = {
        trigger_queue   = null
        batch_size      = null
        timeout_seconds = 25
      }
      pg = {
        trigger_queue   = "payment_attempt_queue"
        batch_size      = 10
        timeout_seconds = 25
      }
      send_email = {
        trigger_queue   = "send_email_queue"
        batch_size      = 10
        timeout_seconds = 25
      }
      funding_update = {
        trigger_queue   = "approve_payment_queue"
        batch_size      = 10
        timeout_seconds = 25
      }
      transaction_check = {
        trigger_queue   = "goal_achievement_queue"
        batch_size      = 10
        timeout_seconds = 25
      }
      dlq_handler = {
        trigger_queue   = "etc_dlq"
        batch_size      = 10
        timeout_seconds = 25
      }
    }

    # Topics a POST /broker body may name as destination (crowdfund_core::rules::BROKER_DESTINATIONS);
    # the others are internal.
    broker_destinations = ["payment_attempt", "goal_achievement"]

    # DynamoDB payment ledger and its "payments of project P after time T" index.
    payments_table = {
      name                = "payments"
      partition_key       = "paymentId"
      index_name          = "project_paid_at"
      index_partition_key = "projectId"
      index_sort_key      = "paidAt"
    }
  }

  # CloudWatch namespace of the custom metrics (crowdfund_core::metrics::NAMESPACE).
  metrics_namespace = "Crowdfund"
}
