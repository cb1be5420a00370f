variable "name" {
  description = "Name prefix of the configuration set."
  type        = string
}

variable "domain" {
  description = "Sending domain."
  type        = string
}

variable "route53_zone_id" {
  description = "Hosted zone of the domain; empty to publish the DKIM records by hand."
  type        = string
  default     = ""
}
