output "function_names" {
  description = "Topology name => function name."
  value       = { for name, f in aws_lambda_function.fn : name => f.function_name }
}

output "function_arns" {
  description = "Topology name => function ARN."
  value       = { for name, f in aws_lambda_function.fn : name => f.arn }
}

output "alias_name" {
  description = "Alias that triggers invoke and deploy-lambdas.yml moves."
  value       = local.alias
}

output "live_invoke_arns" {
  description = "Topology name => invoke ARN of the live alias."
  value       = { for name, a in aws_lambda_alias.live : name => a.invoke_arn }
}

output "role_arns" {
  description = "Topology name => execution role ARN."
  value       = { for name, r in aws_iam_role.fn : name => r.arn }
}

output "discord_webhook_secret_arn" {
  description = "Secret to put the Discord webhook URL into."
  value       = aws_secretsmanager_secret.discord_webhook.arn
}
