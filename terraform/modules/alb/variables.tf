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
  description = "Paths whose writes (POST, PUT, PATCH, DELETE) go to funding-rw from the VPC and are refused from elsewhere; their reads stay on funding."
  type        = list(string)
  default     = ["/projects", "/projects/*"]

  validation {
    # A funding-rw rule holds these, one method and up to two NAT addresses: at most 5 values.
    condition     = length(var.funding_rw_paths) >= 1 && length(var.funding_rw_paths) <= 2
    error_message = "funding_rw_paths takes one or two path patterns (an ALB rule holds at most 5 condition values)."
  }
}

variable "payment_paths" {
  description = "Paths served by the payment role."
  type        = list(string)
  default     = ["/payments", "/payments/*"]

  validation {
    condition     = length(var.payment_paths) >= 1 && length(var.payment_paths) <= 3
    error_message = "payment_paths takes one to three path patterns (an ALB condition holds at most 3 values)."
  }
}

variable "internal_source_cidrs" {
  description = "Source CIDRs allowed to reach funding-rw (the NAT gateways' addresses)."
  type        = list(string)

  validation {
    # One per NAT gateway (the network module makes one or two).
    condition     = length(var.internal_source_cidrs) >= 1 && length(var.internal_source_cidrs) <= 2
    error_message = "internal_source_cidrs takes one or two CIDRs (an ALB rule holds at most 5 condition values)."
  }
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
