variable "name" {
  description = "Identifier prefix of the instances."
  type        = string
}

variable "engine_version" {
  description = "MySQL major/minor version."
  type        = string
  default     = "8.0"
}

variable "instance_class" {
  description = "Instance class of the primary and the replica."
  type        = string
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
}

variable "database_name" {
  description = "Schema crowdfund-api uses."
  type        = string
  default     = "crowdfund"
}

variable "username" {
  description = "Master user name (its password lives in Secrets Manager)."
  type        = string
  default     = "crowdfund"
}

variable "backup_retention_days" {
  description = "Automated backup retention."
  type        = number
  default     = 14
}

variable "subnet_ids" {
  description = "Private subnets, one per AZ."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of MySQL."
  type        = string
}

variable "kms_key_arn" {
  description = "Key for storage, the secret and Performance Insights."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the primary from deletion."
  type        = bool
}
