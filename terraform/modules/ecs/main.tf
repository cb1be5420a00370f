locals {
  container = "api"
  # funding reads from the replica; funding-rw and payment write to the primary.
  db_host = {
    funding      = var.db_replica_host
    "funding-rw" = var.db_host
    payment      = var.db_host
  }
  # The roles whose code calls POST /broker (crowdfund_api::config::Role::calls_broker): payment
  # forwards checkouts, funding-rw sends the goal-achievement outbox. Only they get BROKER_URL
  # and may invoke it.
  calls_broker = ["funding-rw", "payment"]
  # GET /payments/{id} reads the payment ledger (DynamoDB): the payment role only.
  reads_ledger = ["payment"]
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "api" {
  for_each = var.services

  name              = "/${var.name}/ecs/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# --- roles ---------------------------------------------------------------------------------

data "aws_iam_policy_document" "tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Used by ECS itself: pull the image, write logs, read the DB secret into the container.
resource "aws_iam_role" "execution" {
  name               = "${var.name}-api-execution"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # the token call has no resource to scope to
  }

  statement {
    sid       = "PullImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [var.image_repository_arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for g in aws_cloudwatch_log_group.api : "${g.arn}:*"]
  }

  statement {
    sid       = "DbSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.db_secret_arn]
  }

  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-log-secret"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# Used by the application: one role per API role, each allowed only what its routes need.
resource "aws_iam_role" "task" {
  for_each = var.services

  name               = "${var.name}-api-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
}

# API Gateway's AWS_IAM authorization checks the SigV4 signature against this grant.
data "aws_iam_policy_document" "invoke_broker" {
  statement {
    sid       = "InvokeBroker"
    actions   = ["execute-api:Invoke"]
    resources = [var.broker_execute_arn]
  }
}

resource "aws_iam_role_policy" "invoke_broker" {
  for_each = toset(local.calls_broker)

  name   = "invoke-broker"
  role   = aws_iam_role.task[each.key].id
  policy = data.aws_iam_policy_document.invoke_broker.json
}

data "aws_iam_policy_document" "read_ledger" {
  statement {
    sid       = "ReadPayment"
    actions   = ["dynamodb:GetItem"]
    resources = [var.table_arn]
  }

  # The table is encrypted with the stage's key.
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "read_ledger" {
  for_each = toset(local.reads_ledger)

  name   = "read-ledger"
  role   = aws_iam_role.task[each.key].id
  policy = data.aws_iam_policy_document.read_ledger.json
}

# --- task definitions and services ----------------------------------------------------------

resource "aws_ecs_task_definition" "api" {
  for_each = var.services

  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task[each.key].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([{
    name                   = local.container
    image                  = "${var.image_repository}:${var.image_tag}"
    command                = ["--role", each.key]
    essential              = true
    readonlyRootFilesystem = true
    portMappings           = [{ containerPort = var.port, protocol = "tcp" }]
    environment = concat(
      [
        { name = "ROLE", value = each.key },
        { name = "PORT", value = tostring(var.port) },
        { name = "DB_HOST", value = local.db_host[each.key] },
        { name = "DB_NAME", value = var.db_name },
        { name = "AWS_REGION", value = var.aws_region },
      ],
      contains(local.calls_broker, each.key) ? [{ name = "BROKER_URL", value = var.broker_url }] : [],
      contains(local.reads_ledger, each.key) ? [{ name = "PAYMENTS_TABLE", value = var.table_name }] : [],
    )
    # RDS keeps {username, password} of the master user in this secret.
    secrets = [
      { name = "DB_USER", valueFrom = "${var.db_secret_arn}:username::" },
      { name = "DB_PASSWORD", valueFrom = "${var.db_secret_arn}:password::" },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.api[each.key].name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

resource "aws_ecs_service" "api" {
  for_each = var.services

  name                              = each.key
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.api[each.key].arn
  desired_count                     = each.value.desired_count
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 30
  propagate_tags                    = "SERVICE"
  enable_ecs_managed_tags           = true

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [var.security_group_id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = var.target_group_arns[each.key]
    container_name   = local.container
    container_port   = var.port
  }

  # deploy-api.yml registers new task definitions and autoscaling moves the count.
  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }
}

# --- autoscaling: by CPU and by ALB requests per task ---------------------------------------

resource "aws_appautoscaling_target" "api" {
  for_each = var.services

  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.api[each.key].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = each.value.min_count
  max_capacity       = each.value.max_count
}

resource "aws_appautoscaling_policy" "cpu" {
  for_each = var.services

  name               = "${var.name}-${each.key}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.api[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.api[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 120
    scale_out_cooldown = 30
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  for_each = var.services

  name               = "${var.name}-${each.key}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.api[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.api[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_task_target
    scale_in_cooldown  = 120
    scale_out_cooldown = 30
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${var.alb_arn_suffix}/${var.target_group_arn_suffixes[each.key]}"
    }
  }
}
