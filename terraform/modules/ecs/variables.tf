variable "name" {
  description = "Name prefix of the cluster, families and roles."
  type        = string
}

variable "aws_region" {
  description = "Region, for the log driver."
  type        = string
}

variable "image_repository" {
  description = "ECR repository URL of crowdfund-api."
  type        = string
}

variable "image_repository_arn" {
  description = "ECR repository ARN, for the pull permission."
  type        = string
}

variable "image_tag" {
  description = "Image tag of the first task definitions."
  type        = string
}

variable "cpu_architecture" {
  description = "CPU architecture the image is built for (X86_64 or ARM64)."
  type        = string
  default     = "ARM64"
}

variable "port" {
  description = "Container port."
  type        = number
  default     = 8080
}

variable "services" {
  description = "Role (funding, funding-rw, payment) => sizing."
  type = map(object({
    cpu           = number
    memory        = number
    desired_count = number
    min_count     = number
    max_count     = number
  }))

  validation {
    condition     = toset(keys(var.services)) == toset(["funding", "funding-rw", "payment"])
    error_message = "services must size exactly funding, funding-rw and payment."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the tasks."
  type        = string
}

variable "target_group_arns" {
  description = "Role => ALB target group ARN."
  type        = map(string)
}

variable "alb_arn_suffix" {
  description = "ALB ARN suffix, for request-count scaling."
  type        = string
}

variable "target_group_arn_suffixes" {
  description = "Role => target group ARN suffix, for request-count scaling."
  type        = map(string)
}

variable "db_host" {
  description = "Host of the writable primary."
  type        = string
}

variable "db_replica_host" {
  description = "Host of the read replica."
  type        = string
}

variable "db_name" {
  description = "Schema name."
  type        = string
}

variable "db_secret_arn" {
  description = "Secret with the DB username and password."
  type        = string
}

variable "broker_url" {
  description = "URL of API Gateway POST /broker (checkouts from payment, the outbox of funding-rw)."
  type        = string
}

variable "broker_execute_arn" {
  description = "execute-api ARN of POST /broker, which the roles that call the broker may invoke."
  type        = string
}

variable "table_arn" {
  description = "ARN of the payment ledger (DynamoDB), read by GET /payments/{id}."
  type        = string
}

variable "table_name" {
  description = "Name of the payment ledger (DynamoDB)."
  type        = string
}

variable "kms_key_arn" {
  description = "Key of the log groups and the DB secret."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the task log groups."
  type        = number
}

variable "cpu_target_percent" {
  description = "Average CPU the CPU policy keeps."
  type        = number
  default     = 60
}

variable "requests_per_task_target" {
  description = "ALB requests per task (per minute) the request policy keeps."
  type        = number
  default     = 1000
}
