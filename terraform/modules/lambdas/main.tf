data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  alias = "live"

  # What each function may touch, by topology name. A function missing here fails the plan.
  grants = {
    broker = {
      publish    = ["payment_attempt", "goal_achievement"]
      send_to    = []
      ledger     = []
      query_idx  = false
      send_email = false
      discord    = false
    }
    pg = {
      publish = ["send_email", "approve_payment"]
      send_to = ["etc_dlq"]
      # The sandbox gateway keeps its charges in the same table ("sandbox#" keys).
      ledger     = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
      query_idx  = false
      send_email = false
      discord    = false
    }
    send_email = {
      publish = []
      # Every queue-triggered handler dead-letters what can never succeed to etc_dlq itself.
      send_to = ["etc_dlq"]
      # The mail's idempotency claim lives in the payments table under "idem#" keys.
      ledger     = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
      query_idx  = false
      send_email = true
      discord    = false
    }
    funding_update = {
      publish    = []
      send_to    = ["etc_dlq"]
      ledger     = []
      query_idx  = false
      send_email = false
      discord    = false
    }
    transaction_check = {
      publish = ["payment_attempt"]
      # The second goal check, delayed until the ledger's index has settled.
      send_to    = ["etc_dlq", "goal_achievement_queue"]
      ledger     = []
      query_idx  = true
      send_email = false
      discord    = false
    }
    dlq_handler = {
      publish = []
      # Retries go back to the queue named in the envelope's `from`; give-ups are parked; the
      # alert digests go to etc_dlq itself, delayed by the alert window.
      send_to = keys(var.queue_arns)
      # Parking and alerting run once per message: idempotency items in the payments table.
      ledger     = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
      query_idx  = false
      send_email = false
      discord    = true
    }
  }

  zip = { for name, _ in var.functions : name => "${var.lambda_zip_dir}/${name}.zip" }
}

# The webhook URL is a credential: it lives in Secrets Manager, never in an environment variable.
resource "aws_secretsmanager_secret" "discord_webhook" {
  #checkov:skip=CKV2_AWS_57:a Discord webhook URL is rotated in Discord by a person, then put here
  name        = "${var.name}/discord-webhook-url"
  description = "Discord webhook URL of the DLQ alerts; set the value with put-secret-value"
  kms_key_id  = var.kms_key_arn
}

# The payment provider's secret key (PAYMENT_GATEWAY=toss): only pg reads it.
resource "aws_secretsmanager_secret" "psp_secret_key" {
  #checkov:skip=CKV2_AWS_57:the PSP issues the key; it is rotated in the PSP's console by a person, then put here
  count = var.payment_gateway == "toss" ? 1 : 0

  name        = "${var.name}/psp-secret-key"
  description = "Toss Payments secret key (live_sk_... or test_sk_...) pg charges with; set the value with put-secret-value"
  kms_key_id  = var.kms_key_arn
}

resource "aws_cloudwatch_log_group" "fn" {
  for_each = var.functions

  name              = "/aws/lambda/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "fn" {
  for_each = var.functions

  name               = "${var.name}-${replace(each.key, "_", "-")}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "fn" {
  #checkov:skip=CKV_AWS_111:only the X-Ray writes and the VPC ENI calls Lambda makes with this role have Resource "*", as in AWSXRayDaemonWriteAccess and AWSLambdaVPCAccessExecutionRole; every data action is scoped
  #checkov:skip=CKV_AWS_356:"*" only for X-Ray (no resource-level permissions) and the VPC ENI calls Lambda makes with this role
  for_each = var.functions

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.fn[each.key].arn}:*"]
  }

  # The Lambda service manages a VPC function's ENIs with the function's role; these are the
  # calls of AWSLambdaVPCAccessExecutionRole, without its account-wide log permissions.
  statement {
    sid = "VpcNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  # Queues, topics, the table and the environment variables are all under the one key.
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  dynamic "statement" {
    for_each = each.value.trigger_queue == null ? [] : [each.value.trigger_queue]
    content {
      sid = "ConsumeTriggerQueue"
      actions = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
      ]
      resources = [var.queue_arns[statement.value]]
    }
  }

  dynamic "statement" {
    for_each = length(local.grants[each.key].publish) == 0 ? [] : [1]
    content {
      sid       = "Publish"
      actions   = ["sns:Publish"]
      resources = [for t in local.grants[each.key].publish : var.topic_arns[t]]
    }
  }

  dynamic "statement" {
    for_each = length(local.grants[each.key].send_to) == 0 ? [] : [1]
    content {
      sid       = "SendToQueues"
      # QUEUE_URLS names every queue it sends to, so it never asks for a URL.
      actions   = ["sqs:SendMessage"]
      resources = [for q in local.grants[each.key].send_to : var.queue_arns[q]]
    }
  }

  dynamic "statement" {
    for_each = length(local.grants[each.key].ledger) == 0 ? [] : [1]
    content {
      sid       = "Ledger"
      actions   = local.grants[each.key].ledger
      resources = [var.table_arn]
    }
  }

  dynamic "statement" {
    for_each = local.grants[each.key].query_idx ? [1] : []
    content {
      sid       = "QueryProjectIndex"
      actions   = ["dynamodb:Query"]
      resources = ["${var.table_arn}/index/${var.index_name}"]
    }
  }

  dynamic "statement" {
    for_each = local.grants[each.key].send_email ? [1] : []
    content {
      sid       = "SendReceipts"
      # SES v2 SendEmail (simple and raw content alike) is authorised as ses:SendEmail.
      actions   = ["ses:SendEmail"]
      resources = [var.ses_identity_arn, "arn:${data.aws_partition.current.partition}:ses:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:configuration-set/${var.ses_configuration_set}"]
      condition {
        test     = "StringEquals"
        variable = "ses:FromAddress"
        values   = [var.ses_from_address]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "pg" && var.payment_gateway == "toss" ? [1] : []
    content {
      sid       = "PspSecretKey"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [aws_secretsmanager_secret.psp_secret_key[0].arn]
    }
  }

  dynamic "statement" {
    for_each = local.grants[each.key].discord ? [1] : []
    content {
      sid       = "DiscordWebhook"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [aws_secretsmanager_secret.discord_webhook.arn]
    }
  }
}

resource "aws_iam_role_policy" "fn" {
  for_each = var.functions

  name   = "least-privilege"
  role   = aws_iam_role.fn[each.key].id
  policy = data.aws_iam_policy_document.fn[each.key].json
}

resource "aws_lambda_function" "fn" {
  #checkov:skip=CKV_AWS_116:failures are caught by the SQS redrive to etc_dlq (queue functions) or returned to API Gateway (broker); an async DLQ would never fire
  #checkov:skip=CKV_AWS_272:zips are built and deployed by CI from the reviewed main branch; no Signer profile exists yet
  for_each = var.functions

  function_name = each.key
  description   = "crowdfund ${each.key}"
  role          = aws_iam_role.fn[each.key].arn
  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = ["arm64"]
  memory_size   = var.memory_mb
  # A sixth of the trigger queue's visibility timeout at most (topology.tf; the drift test checks).
  timeout                        = each.value.timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency
  filename                       = local.zip[each.key]
  source_code_hash               = filebase64sha256(local.zip[each.key])
  # The first version backs the `live` alias; deploy-lambdas.yml publishes the next ones.
  publish     = true
  kms_key_arn = var.kms_key_arn

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [var.security_group_id]
  }

  tracing_config {
    mode = "Active"
  }

  # JSON logs: Lambda sets AWS_LAMBDA_LOG_FORMAT=JSON, and the functions' tracing lines follow it.
  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.fn[each.key].name
  }

  environment {
    variables = {
      CROWDFUND_FUNCTION         = each.key
      TOPIC_ARNS                 = jsonencode({ for t in local.grants[each.key].publish : t => var.topic_arns[t] })
      QUEUE_URLS                 = jsonencode({ for q in local.grants[each.key].send_to : q => var.queue_urls[q] })
      PAYMENTS_TABLE             = var.table_name
      PAYMENTS_INDEX             = var.index_name
      METRICS_NAMESPACE          = var.metrics_namespace
      SES_FROM_ADDRESS           = var.ses_from_address
      SES_CONFIGURATION_SET      = var.ses_configuration_set
      FUNDING_API_URL            = var.funding_api_url
      DISCORD_WEBHOOK_SECRET_ARN = aws_secretsmanager_secret.discord_webhook.arn
      CROWDFUND_STAGE            = var.stage
      PAYMENT_GATEWAY            = var.payment_gateway
      PSP_SECRET_ARN             = var.payment_gateway == "toss" ? aws_secretsmanager_secret.psp_secret_key[0].arn : ""
    }
  }

  # After creation CI owns the code: terraform must not roll back a newer deployed zip.
  lifecycle {
    ignore_changes = [filename, source_code_hash]

    # pg refuses this at start-up too; failing the plan says it before anything is deployed.
    precondition {
      condition     = !(contains(["prod", "production"], var.stage) && var.payment_gateway == "sandbox")
      error_message = "payment_gateway = \"sandbox\" on stage ${var.stage}: the sandbox charges nothing; set payment_gateway = \"toss\"."
    }
  }

  depends_on = [aws_cloudwatch_log_group.fn, aws_iam_role_policy.fn]
}

resource "aws_lambda_alias" "live" {
  for_each = var.functions

  name             = local.alias
  function_name    = aws_lambda_function.fn[each.key].function_name
  function_version = aws_lambda_function.fn[each.key].version

  # deploy-lambdas.yml moves the alias to each newly published version.
  lifecycle {
    ignore_changes = [function_version]
  }
}

resource "aws_lambda_event_source_mapping" "queue" {
  for_each = { for name, f in var.functions : name => f if f.trigger_queue != null }

  event_source_arn        = var.queue_arns[each.value.trigger_queue]
  function_name           = aws_lambda_alias.live[each.key].arn
  batch_size              = each.value.batch_size
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.reserved_concurrency
  }
}
