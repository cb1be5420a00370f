locals {
  # (topic, queue) pairs of the raw-delivery subscriptions.
  subscriptions = merge([
    for topic, queues in var.topics : {
      for queue in queues : "${topic}>${queue}" => { topic = topic, queue = queue }
    }
  ]...)

  # The topics that may deliver into each queue.
  publishers_of = {
    for queue, _ in var.queues : queue => [for s in local.subscriptions : s.topic if s.queue == queue]
  }

  redriven = { for name, q in var.queues : name => q if q.redrive_target != null }
}

resource "aws_sns_topic" "this" {
  for_each = var.topics

  name              = each.key
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sqs_queue" "this" {
  for_each = var.queues

  name                              = each.key
  visibility_timeout_seconds        = each.value.visibility_timeout_seconds
  message_retention_seconds         = each.value.retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
}

# A separate resource, because a queue in this for_each cannot name its sibling DLQ's ARN.
resource "aws_sqs_queue_redrive_policy" "this" {
  for_each = local.redriven

  queue_url = aws_sqs_queue.this[each.key].id
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.this[each.value.redrive_target].arn
    maxReceiveCount     = each.value.max_receive_count
  })
}

# A dead-letter queue accepts redrives only from the queues that name it.
resource "aws_sqs_queue_redrive_allow_policy" "this" {
  for_each = toset(distinct([for q in local.redriven : q.redrive_target]))

  queue_url = aws_sqs_queue.this[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [for name, q in local.redriven : aws_sqs_queue.this[name].arn if q.redrive_target == each.key]
  })
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.subscriptions

  topic_arn            = aws_sns_topic.this[each.value.topic].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.this[each.value.queue].arn
  raw_message_delivery = true
}

# Each queue accepts SNS deliveries only from its own topics, and nothing over plain HTTP.
resource "aws_sqs_queue_policy" "this" {
  for_each = var.queues

  queue_url = aws_sqs_queue.this[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      length(local.publishers_of[each.key]) == 0 ? [] : [{
        Sid       = "FromOwnTopics"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.this[each.key].arn
        Condition = {
          ArnEquals = { "aws:SourceArn" = [for t in local.publishers_of[each.key] : aws_sns_topic.this[t].arn] }
        }
      }],
      [{
        Sid       = "TlsOnly"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.this[each.key].arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }],
    )
  })
}

# Topics accept publishes from this account's principals only, and only over TLS.
resource "aws_sns_topic_policy" "this" {
  for_each = var.topics

  arn = aws_sns_topic.this[each.key].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountPublishes"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes"]
        Resource  = aws_sns_topic.this[each.key].arn
      },
      {
        Sid       = "TlsOnly"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.this[each.key].arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
