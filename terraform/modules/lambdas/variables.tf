variable "name" {
  description = "Name prefix of roles and secrets (function names are the topology's)."
  type        = string
}

variable "functions" {
  description = "Function name => trigger queue, batch size and timeout (the topology's functions); trigger_queue null for the HTTP-triggered broker."
  type = map(object({
    trigger_queue   = optional(string)
    batch_size      = optional(number)
    timeout_seconds = number
  }))
}

variable "lambda_zip_dir" {
  description = "Directory holding <function>.zip for every function."
  type        = string
}

variable "memory_mb" {
  description = "Memory of each function."
  type        = number
  default     = 256
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of each function, and the event-source mappings' maximum concurrency."
  type        = number
  default     = 20
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups."
  type        = number
}

variable "kms_key_arn" {
  description = "Key of logs, environment variables, queues, topics and the table."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the functions run in."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the functions."
  type        = string
}

variable "topic_arns" {
  description = "Topic name => ARN."
  type        = map(string)
}

variable "queue_arns" {
  description = "Queue name => ARN."
  type        = map(string)
}

variable "queue_urls" {
  description = "Queue name => URL."
  type        = map(string)
}

variable "table_arn" {
  description = "ARN of the payments table."
  type        = string
}

variable "table_name" {
  description = "Name of the payments table."
  type        = string
}

variable "index_name" {
  description = "Name of the project/time index."
  type        = string
}

variable "ses_identity_arn" {
  description = "SES identity the receipts are sent from."
  type        = string
}

variable "ses_configuration_set" {
  description = "SES configuration set of the receipts."
  type        = string
}

variable "ses_from_address" {
  description = "Sender address of the receipts."
  type        = string
}

variable "funding_api_url" {
  description = "Base URL of crowdfund-api (the funding-rw role is reached through it)."
  type        = string
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the Embedded Metric Format metrics."
  type        = string
}

variable "stage" {
  description = "The environment's name (CROWDFUND_STAGE); prod refuses the sandbox gateway."
  type        = string
}

variable "payment_gateway" {
  description = "What pg charges through: sandbox (test cards, charges in the payments table) or toss (Toss Payments)."
  type        = string

  validation {
    condition     = contains(["sandbox", "toss"], var.payment_gateway)
    error_message = "payment_gateway must be sandbox or toss."
  }
}
