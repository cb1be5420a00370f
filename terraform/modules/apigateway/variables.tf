variable "name" {
  description = "Name prefix of the REST API."
  type        = string
}

variable "stage_name" {
  description = "Stage name."
  type        = string
  default     = "v1"
}

variable "function_name" {
  description = "Name of the broker function."
  type        = string
}

variable "alias_name" {
  description = "Alias of the broker that API Gateway invokes."
  type        = string
}

variable "invoke_arn" {
  description = "Invoke ARN of the broker's alias."
  type        = string
}

variable "destinations" {
  description = "Topics a request may name as destination."
  type        = list(string)
}

variable "throttle_rate" {
  description = "Steady-state requests per second."
  type        = number
}

variable "throttle_burst" {
  description = "Burst of requests."
  type        = number
}

variable "waf_acl_arn" {
  description = "Web ACL associated with the stage."
  type        = string
}

variable "kms_key_arn" {
  description = "Key of the access log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the access log group."
  type        = number
}
