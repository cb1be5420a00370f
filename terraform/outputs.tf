output "alb_dns_name" {
  description = "Point api_domain_name at this (CNAME or alias)."
  value       = module.alb.dns_name
}

output "ecr_repository_url" {
  description = "Push crowdfund-api images here."
  value       = module.ecr.repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster of the three API services."
  value       = module.ecs.cluster_name
}

output "ecs_service_names" {
  description = "API role => ECS service."
  value       = module.ecs.service_names
}

output "ecs_task_families" {
  description = "API role => task definition family."
  value       = module.ecs.task_families
}

output "broker_url" {
  description = "API Gateway POST /broker (SigV4-signed)."
  value       = module.apigateway.broker_url
}

output "lambda_function_names" {
  description = "Topology name => Lambda function name."
  value       = module.lambdas.function_names
}

output "discord_webhook_secret_arn" {
  description = "Put the Discord webhook URL into this secret."
  value       = module.lambdas.discord_webhook_secret_arn
}

output "topic_arns" {
  description = "Topic name => ARN."
  value       = module.messaging.topic_arns
}

output "queue_urls" {
  description = "Queue name => URL (crowdfund-console --aws finds them by name too)."
  value       = module.messaging.queue_urls
}

output "payments_table" {
  description = "DynamoDB payments table."
  value       = module.dynamodb.table_name
}

output "db_primary_address" {
  description = "MySQL primary host."
  value       = module.rds.primary_address
}

output "db_replica_address" {
  description = "MySQL read replica host."
  value       = module.rds.replica_address
}

output "db_secret_arn" {
  description = "Secret with the MySQL master credentials."
  value       = module.rds.master_secret_arn
}

output "ses_dkim_tokens" {
  description = "DKIM tokens to publish when route53_zone_id is empty."
  value       = module.ses.dkim_tokens
}

output "alarm_topic_arn" {
  description = "Topic every alarm notifies."
  value       = module.monitoring.alarm_topic_arn
}

output "github_deploy_role_arn" {
  description = "GitHub environment variable AWS_DEPLOY_ROLE_ARN of this environment."
  value       = module.cicd.deploy_role_arn
}

output "console_operator_policy_arn" {
  description = "Attach to on-call operators' roles: what crowdfund-console --aws needs."
  value       = module.operators.operator_policy_arn
}

output "console_read_only_operator_policy_arn" {
  description = "Attach to read-only operators' roles (crowdfund-console --aws --read-only)."
  value       = module.operators.read_only_operator_policy_arn
}
