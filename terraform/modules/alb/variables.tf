variable "name" {
  description = "Name prefix of the ALB and its target groups (ALB names are at most 32 characters)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the target groups."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets of the ALB, one per AZ."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the ALB."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener."
  type        = string
}

variable "api_port" {
  description = "Container port of crowdfund-api."
  type        = number
  default     = 8080
}

variable "funding_rw_paths" {
  description = "Paths served by the funding-rw role (writes to project totals)."
  type        = list(string)
  default     = ["/internal/*"]
}

variable "payment_paths" {
  description = "Paths served by the payment role."
  type        = list(string)
  default     = ["/payments", "/payments/*", "/checkout", "/checkout/*"]
}

variable "internal_source_cidrs" {
  description = "Source CIDRs allowed to reach funding-rw (the NAT gateways' addresses)."
  type        = list(string)
}

variable "waf_acl_arn" {
  description = "Web ACL associated with the ALB."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the ALB from deletion."
  type        = bool
}

variable "log_retention_days" {
  description = "Days the access logs are kept."
  type        = number
  default     = 365
}
