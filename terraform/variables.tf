variable "project" {
  description = "Prefix of every name that is not a topology name."
  type        = string
  default     = "crowdfund"
}

variable "environment" {
  description = "Environment name (dev, prod). One AWS account per environment: topology names are not prefixed."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be lower-case letters, digits and dashes, 2-16 characters."
  }
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows deploy and apply."
  type        = string
}

variable "aws_region" {
  description = "AWS region of the whole stack."
  type        = string
}

variable "availability_zones" {
  description = "The two AZs of the VPC."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; split into two public and two private subnets."
  type        = string
  default     = "10.40.0.0/16"
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per AZ (cheaper, not AZ fault tolerant)."
  type        = bool
  default     = false
}

variable "acm_certificate_arn" {
  description = "ACM certificate for the ALB's HTTPS listener."
  type        = string
}

variable "api_domain_name" {
  description = "DNS name that points at the ALB (covered by the ACM certificate)."
  type        = string
}

variable "api_image_tag" {
  description = "crowdfund-api image tag used when the task definitions are first created; deploy-api.yml rolls later tags."
  type        = string
  default     = "bootstrap"
}

variable "api_services" {
  description = "Sizing of the three crowdfund-api roles."
  type = map(object({
    cpu           = number
    memory        = number
    desired_count = number
    min_count     = number
    max_count     = number
  }))
}

variable "db_instance_class" {
  description = "RDS instance class of the primary and the read replica."
  type        = string
}

variable "db_allocated_storage" {
  description = "Initial RDS storage in GiB (autoscaling up to 4x)."
  type        = number
  default     = 20
}

variable "deletion_protection" {
  description = "Protect the ALB, RDS and DynamoDB from deletion."
  type        = bool
  default     = true
}

variable "lambda_zip_dir" {
  description = "Directory holding <function>.zip for each of the six Lambdas (scripts/build-lambda-zips.sh), relative to this directory or absolute."
  type        = string
}

variable "lambda_memory_mb" {
  description = "Memory of each Lambda."
  type        = number
  default     = 256
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency per Lambda, so one runaway function cannot starve the others."
  type        = number
  default     = 20
}

variable "dashboards_dir" {
  description = "Directory holding ops.json, stakeholders.json and alarms.json written by the dashboards generator."
  type        = string
}

variable "ses_domain" {
  description = "Domain verified in SES that the receipts are sent from."
  type        = string
}

variable "ses_from_address" {
  description = "Sender address of the receipts (inside ses_domain)."
  type        = string
}

variable "route53_zone_id" {
  description = "Hosted zone of ses_domain; when set, the DKIM records are created there. Empty: add them by hand."
  type        = string
  default     = ""
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic. Empty: no subscription."
  type        = string
  default     = ""
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group."
  type        = number
  default     = 365
}

variable "broker_throttle_rate" {
  description = "API Gateway steady-state requests per second for POST /broker."
  type        = number
  default     = 100
}

variable "broker_throttle_burst" {
  description = "API Gateway burst for POST /broker."
  type        = number
  default     = 200
}

variable "payment_gateway" {
  description = "What the pg function charges through: sandbox (test cards; refused on prod) or toss (Toss Payments; put the secret key in the <name>/psp-secret-key secret)."
  type        = string
  default     = "sandbox"

  validation {
    condition     = contains(["sandbox", "toss"], var.payment_gateway)
    error_message = "payment_gateway must be sandbox or toss."
  }
}
