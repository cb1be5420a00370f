variable "name" {
  description = "Name prefix of the deploy role."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows deploy."
  type        = string
}

variable "github_environment" {
  description = "GitHub environment the deploy jobs run in (dev, prod)."
  type        = string
}

variable "ecr_repository_arn" {
  description = "Repository the image is pushed to."
  type        = string
}

variable "ecs_cluster_name" {
  description = "Cluster of the API services."
  type        = string
}

variable "ecs_service_names" {
  description = "Role => ECS service name."
  type        = map(string)
}

variable "ecs_execution_role_arn" {
  description = "Task execution role that new task definitions name."
  type        = string
}

variable "ecs_task_role_arns" {
  description = "Role => task role that new task definitions name."
  type        = map(string)
}

variable "lambda_function_arns" {
  description = "Topology name => function ARN."
  type        = map(string)
}
