# What `crowdfund-console --aws` needs, and nothing more: one managed policy for on-call
# operators (read, redrive, delete, goal check, dashboards deploy, pausing triggers) and one for read-only
# operators (status, DLQ listing, previews, reports). Attach them to the SSO permission sets or
# roles people assume. `tui/tests/aws/iam.rs` runs the console with exactly these on moto.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  # `dashboards generate` names them crowdfund-<env>-ops, -stakeholders and crowdfund-<env>-*.
  dashboards = "arn:${data.aws_partition.current.partition}:cloudwatch::${data.aws_caller_identity.current.account_id}:dashboard/${var.name}-*"
  alarms     = "arn:${data.aws_partition.current.partition}:cloudwatch:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:alarm:${var.name}-*"
  # The functions carry the topology's names; their triggers are attached to the `live` alias.
  function_arns = [for f in var.function_names : "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:function:${f}"]
  mappings      = "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:event-source-mapping:*"
}

data "aws_iam_policy_document" "read_only_operator" {
  # Queue depths and ages (status, overview).
  statement {
    sid       = "QueueDepths"
    actions   = ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
    resources = values(var.queue_arns)
  }

  # Reading parked and dead-lettered messages (dlq list, export). A receive raises the
  # message's receive count; the queues it may read are only the failure queues.
  statement {
    sid       = "PeekFailureQueues"
    actions   = ["sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"]
    resources = [for q in var.failure_queues : var.queue_arns[q]]
  }

  # Payment state next to each message (BatchGetItem, 100 payments a request), and the goal
  # check's preview.
  statement {
    sid       = "ReadLedger"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:Query"]
    resources = [var.table_arn, "${var.table_arn}/index/${var.index_name}"]
  }

  # Lambda health, queue ages, charts (`dashboards report --source cloudwatch` lists metrics);
  # CloudWatch has no resource-level permissions for these reads.
  statement {
    sid       = "ReadMetrics"
    actions   = ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"]
    resources = ["*"]
  }

  # What `dashboards deploy` compares with.
  statement {
    sid       = "ReadDashboards"
    actions   = ["cloudwatch:GetDashboard"]
    resources = [local.dashboards]
  }

  statement {
    sid       = "ReadAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = [local.alarms]
  }

  # The functions and their SQS triggers (topology and health views, `triggers`). Listing
  # mappings has no resource-level permission in IAM.
  statement {
    sid       = "ReadTriggers"
    actions   = ["lambda:ListEventSourceMappings"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadFunctions"
    actions   = ["lambda:GetFunction"]
    resources = local.function_arns
  }
}

data "aws_iam_policy_document" "operator" {
  source_policy_documents = [data.aws_iam_policy_document.read_only_operator.json]

  # Redrive: send the message back to the queue it came from, then delete it from the failure
  # queue; delete on its own; SQS's own move task for `dlq redrive --native`.
  statement {
    sid       = "Redrive"
    actions   = ["sqs:SendMessage"]
    resources = values(var.queue_arns)
  }

  statement {
    sid       = "DisposeFailures"
    actions   = ["sqs:DeleteMessage", "sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks"]
    resources = [for q in var.failure_queues : var.queue_arns[q]]
  }

  # A goal check triggered by hand publishes one goal_achievement (the console builds the
  # topic's ARN from the caller's account, so it needs no sns:ListTopics).
  statement {
    sid       = "TriggerGoalCheck"
    actions   = ["sns:Publish"]
    resources = [var.topic_arns["goal_achievement"]]
  }

  # dashboards deploy, only the stage's own.
  statement {
    sid       = "DeployDashboards"
    actions   = ["cloudwatch:PutDashboard"]
    resources = [local.dashboards]
  }

  statement {
    sid       = "DeployAlarms"
    actions   = ["cloudwatch:PutMetricAlarm", "cloudwatch:PutCompositeAlarm"]
    resources = [local.alarms]
  }

  # `triggers pause|resume`, and dlq_handler's trigger held during a redrive: only the
  # mappings of this stack's functions.
  statement {
    sid       = "PauseTriggers"
    actions   = ["lambda:UpdateEventSourceMapping"]
    resources = [local.mappings]

    condition {
      test     = "ArnLike"
      variable = "lambda:FunctionArn"
      values   = concat(local.function_arns, [for f in local.function_arns : "${f}:*"])
    }
  }
}

resource "aws_iam_policy" "read_only_operator" {
  name        = "${var.name}-console-read-only"
  description = "crowdfund-console --aws --read-only: status, DLQ listing, previews, reports"
  policy      = data.aws_iam_policy_document.read_only_operator.json
}

resource "aws_iam_policy" "operator" {
  name        = "${var.name}-console-operator"
  description = "crowdfund-console --aws: read, redrive, delete, goal checks, dashboards deploy"
  policy      = data.aws_iam_policy_document.operator.json
}
