variable "name" {
  description = "Name prefix of the dashboards and the alarm topic."
  type        = string
}

variable "dashboards_dir" {
  description = "Directory with ops.json, stakeholders.json and alarms.json from the dashboards generator."
  type        = string
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic; empty for none."
  type        = string
  default     = ""
}

variable "kms_key_arn" {
  description = "Key of the alarm topic."
  type        = string
}
