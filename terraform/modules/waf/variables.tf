variable "name" {
  description = "Name of the web ACL."
  type        = string
}

variable "rate_limit_per_5_minutes" {
  description = "Requests one IP may send in 5 minutes before it is blocked."
  type        = number
  default     = 2000
}

variable "internal_cidrs" {
  description = "The NAT gateways' addresses (/32): calls from inside the VPC."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "Key that encrypts the WAF log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the WAF log group."
  type        = number
}
