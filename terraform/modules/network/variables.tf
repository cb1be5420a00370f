variable "name" {
  description = "Name prefix of the network resources."
  type        = string
}

variable "availability_zones" {
  description = "The two AZs to spread over, named explicitly so a new AZ never reshuffles subnets."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 2
    error_message = "availability_zones must name exactly two zones."
  }
}

variable "cidr" {
  description = "VPC CIDR block."
  type        = string
}

variable "single_nat_gateway" {
  description = "Share one NAT gateway between both AZs."
  type        = bool
  default     = false
}

variable "api_port" {
  description = "Container port of crowdfund-api."
  type        = number
  default     = 8080
}

variable "kms_key_arn" {
  description = "Key that encrypts the flow log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the flow log group."
  type        = number
}
