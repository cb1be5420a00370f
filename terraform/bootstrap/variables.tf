variable "project" {
  description = "Prefix of the bucket and table names."
  type        = string
  default     = "crowdfund"
}

variable "environment" {
  description = "Environment the state belongs to (dev, prod)."
  type        = string
}

variable "aws_region" {
  description = "Region of the state bucket and lock table."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose terraform.yml plans and applies."
  type        = string
}
