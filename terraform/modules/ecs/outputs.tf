output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "service_names" {
  description = "Role => ECS service name."
  value       = { for role, s in aws_ecs_service.api : role => s.name }
}

output "task_families" {
  description = "Role => task definition family (deploy-api.yml renders new revisions of these)."
  value       = { for role, t in aws_ecs_task_definition.api : role => t.family }
}

output "container_name" {
  description = "Container name inside every task definition."
  value       = local.container
}

output "execution_role_arn" {
  description = "Task execution role (the deploy role passes it)."
  value       = aws_iam_role.execution.arn
}

output "task_role_arns" {
  description = "Role => task role ARN (the deploy role passes them)."
  value       = { for role, r in aws_iam_role.task : role => r.arn }
}
